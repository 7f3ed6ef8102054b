//! Fault tests with real processes (issue 15, "Fault tests in the suite"):
//!
//! - (a) `kill -9` of a real `vouch serve` process while 20 agents deliver 5,000 snapshots, on
//!   SQLite and on PostgreSQL + S3: every snapshot an agent holds a receipt for is in the
//!   restarted server, and the agents then deliver the rest, every chain ending complete
//!   (sequence 1..N, each link naming its predecessor), no duplicate, no gap, nothing refused;
//! - (b) the server down for a while as agents keep collecting on their schedule: everything
//!   they collected meanwhile arrives once it is back;
//! - (c) a real `vouch-agent` whose state directory (its spool) is on a full file system (a small
//!   tmpfs, root only): it says "No space left on device", keeps every spooled envelope byte
//!   for byte, and once space returns spools and delivers again, its chain without a gap.
//!
//! The agents of (a) and (b) are the agent library (`vouch_agent::Agent`, each with its own
//! state directory, enrolled with `vouch_agent::enroll`, delivering with its daemon loop
//! `Agent::run`); the agent of (c) is the `vouch-agent` binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use vouch_agent::Agent;
use vouch_agent::config::{AgentConfig, AgentSection, CollectorsSection, ServerSection};
use vouch_collectors::Collected;
use vouch_collectors::host::HostConfig;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{
    Asset, AssetKind, ChainKey, CollectorRun, Digest, EvidenceItem, PublicKey, Receipt, RunOutcome,
    Snapshot, Source, Timestamp,
};
use vouch_tests::process::{KillOnDrop, ServeProcess, binary};
use vouch_tests::server::{TestServer, https_client};

/// A schedule that never fires while a test runs: only what the test spools is delivered.
const NEVER: &str = "0 0 0 1 1 * 2099";
/// Every second.
const EVERY_SECOND: &str = "* * * * * *";

/// An agent's configuration: `url` and its CA, state in `state`, the host collector on `root`
/// with `schedule`; short backoff (at most a second between attempts).
fn agent_config(url: &str, ca: &Path, state: &Path, root: PathBuf, schedule: &str) -> AgentConfig {
    AgentConfig {
        server: ServerSection {
            url: url.into(),
            ca_cert: Some(ca.to_path_buf()),
        },
        agent: AgentSection {
            state_dir: state.to_path_buf(),
            request_timeout_secs: 10,
            backoff_initial_ms: 50,
            backoff_max_secs: 1,
            ..AgentSection::default()
        },
        collectors: CollectorsSection {
            host: HostConfig {
                schedule: schedule.into(),
                root,
                ..HostConfig::default()
            },
            ..CollectorsSection::default()
        },
    }
}

/// A host root holding only `/etc/machine-id` (`id`, the asset the agent declares at enrolment)
/// and `/etc/hostname`.
fn tiny_host(dir: &Path, id: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::write(dir.join("etc/machine-id"), format!("{id}\n")).unwrap();
    std::fs::write(dir.join("etc/hostname"), format!("{id}\n")).unwrap();
    dir.to_path_buf()
}

/// A small collection of host `id`, the `n`th: collected `n` milliseconds after `base` (the
/// test's start: the server refuses what was collected before the agent enrolled, or ahead of
/// its clock).
fn collected(id: &str, base: Timestamp, n: u64) -> Collected {
    let at = Timestamp::from_unix_micros(base.unix_micros() + n as i64 * 1_000).unwrap();
    let mut evidence = BTreeMap::new();
    evidence.insert(
        "host.kernel.release".to_string(),
        EvidenceItem::ok(
            format!("6.1.{n}"),
            Source::File("/proc/sys/kernel/osrelease".into()),
        ),
    );
    Collected {
        asset: Asset {
            kind: AssetKind::Host,
            id: id.into(),
            name: id.into(),
        },
        collected_at: at,
        collectors: vec![CollectorRun {
            name: "host".into(),
            version: "0.1.0".into(),
            started_at: at,
            finished_at: at,
            outcome: RunOutcome::Ok,
        }],
        evidence,
    }
}

/// `count` one-time enrolment tokens for one host each, issued through the API.
async fn enroll_tokens(
    client: &reqwest::Client,
    url: &str,
    admin: &str,
    count: usize,
) -> Vec<String> {
    let resp = client
        .post(format!("{url}/v1/enroll-tokens"))
        .bearer_auth(admin)
        .json(&serde_json::json!({
            "count": count, "ttl_secs": 3600, "scope": ["host"], "label": "faults"
        }))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "enroll-tokens: {}",
        resp.status()
    );
    let body: Value = resp.json().await.unwrap();
    let tokens: Vec<String> = body["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(tokens.len(), count);
    tokens
}

/// Enrols an agent (the library's own enrolment: a new key, the host it declares from `root`)
/// and opens it.
async fn enrolled_agent(config: AgentConfig, token: &str) -> Arc<Agent> {
    vouch_agent::enroll(&config, token, false)
        .await
        .expect("enrolled");
    Arc::new(Agent::open(config).expect("agent opens"))
}

/// The receipts an agent holds: sequence → digest, for the chain of host `host`. Two receipts
/// for one sequence fail the test. The agent verified each with the server's key before saving
/// it; here only the newest is verified again (an Ed25519 verification costs milliseconds in a
/// debug build, and there are thousands).
fn receipts(agent: &Agent, host: &str) -> BTreeMap<u64, Digest> {
    let enrollment = agent.state().load_enrollment().unwrap();
    let server_key = PublicKey::from_base64(&enrollment.server_key).unwrap();
    let chain = ChainKey {
        agent_id: agent.agent_id().to_string(),
        asset_kind: AssetKind::Host,
        asset_id: host.to_string(),
    };
    let mut out = BTreeMap::new();
    let mut newest: Option<(u64, Envelope)> = None;
    for entry in std::fs::read_dir(agent.state().root().join("receipts")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue; // a receipt being written
        }
        let bytes = std::fs::read(&path).unwrap();
        let envelope = Envelope::from_slice(&bytes).unwrap();
        let receipt: Receipt = serde_json::from_slice(&envelope.payload_bytes().unwrap()).unwrap();
        if newest.as_ref().is_none_or(|(s, _)| *s < receipt.sequence) {
            newest = Some((receipt.sequence, envelope));
        }
        assert_eq!(receipt.chain, chain, "{}", path.display());
        if let Some(other) = out.insert(receipt.sequence, receipt.digest) {
            assert_eq!(
                other, receipt.digest,
                "two receipts for sequence {} of {chain}",
                receipt.sequence
            );
        }
    }
    if let Some((sequence, envelope)) = newest {
        let receipt = Receipt::verify(&envelope, &server_key).expect("a receipt the server signed");
        assert_eq!(out.get(&sequence), Some(&receipt.digest));
    }
    out
}

/// How many receipts the agents hold together.
fn receipt_total(agents: &[Arc<Agent>]) -> usize {
    agents
        .iter()
        .map(|a| a.state().receipt_count().unwrap())
        .sum()
}

/// The snapshots the server holds of host `host` (sequence, digest, previous digest), checked
/// to be one complete chain: sequences 1..N each once, each naming its predecessor's digest,
/// all of `agent_id`.
async fn server_chain(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    host: &str,
    agent_id: &str,
) -> BTreeMap<u64, Digest> {
    let resp = client
        .get(format!("{url}/v1/assets/host/{host}/snapshots?limit=10000"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    if resp.status() == 404 {
        return BTreeMap::new();
    }
    assert_eq!(resp.status(), 200, "snapshots of {host}");
    let list: Vec<Value> = resp.json().await.unwrap();
    let mut chain: BTreeMap<u64, Digest> = BTreeMap::new();
    let mut previous: Option<Digest> = None;
    for (i, s) in list.iter().enumerate() {
        let sequence = s["sequence"].as_u64().unwrap();
        let digest: Digest = s["digest"].as_str().unwrap().parse().unwrap();
        let prev: Option<Digest> = s["previous_digest"].as_str().map(|d| d.parse().unwrap());
        assert_eq!(s["agent_id"], agent_id, "{host}: {s}");
        assert_eq!(
            sequence,
            i as u64 + 1,
            "{host}: a gap or a duplicate sequence in the stored chain at position {i}"
        );
        assert_eq!(
            prev, previous,
            "{host}: sequence {sequence} does not name its predecessor"
        );
        chain.insert(sequence, digest);
        previous = Some(digest);
    }
    let distinct: BTreeSet<&Digest> = chain.values().collect();
    assert_eq!(
        distinct.len(),
        chain.len(),
        "{host}: a snapshot stored twice"
    );
    chain
}

/// Runs every agent's daemon until the token is cancelled.
fn run_daemons(agents: &[Arc<Agent>]) -> (CancellationToken, JoinSet<()>) {
    let stop = CancellationToken::new();
    let mut set = JoinSet::new();
    for a in agents {
        let (a, stop) = (a.clone(), stop.clone());
        set.spawn(async move { a.run(stop).await.expect("the daemon stops cleanly") });
    }
    (stop, set)
}

async fn stop_daemons((stop, mut set): (CancellationToken, JoinSet<()>)) {
    stop.cancel();
    while let Some(r) = set.join_next().await {
        r.expect("the daemon did not panic");
    }
}

/// Waits up to `limit` for `done`, checking every 100 ms (the checks read the agents' state
/// directories, on the runtime the agents run on); fails with `what` and the server log.
async fn wait_for(
    limit: Duration,
    what: &str,
    log: impl Fn() -> String,
    mut done: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            let log = log();
            let lines: Vec<&str> = log.lines().collect();
            panic!(
                "{what}: not within {limit:?}; the log's last lines:\n{}",
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A temporary directory for agents' state on tmpfs (`/dev/shm`) when there is one: the agents
/// of (a) fsync every spool file, head and receipt, tens of thousands of times, and what is
/// under test there is the server's durability, not the agents' disk.
fn agents_tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap())
}

/// A policy pack of one policy over the one fact of [`collected`], written in `dir`, and the
/// `[policies]` table naming it: every snapshot is still judged, but a debug build judging
/// 5,000 snapshots with the 110 built-in policies on two cores would take minutes, and the
/// pack is not what these tests are about.
fn small_pack(dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("reported.rego"),
        "# METADATA\n# title: kernel reported\n# description: the kernel release is reported\n# custom:\n#   id: faults.kernel_reported\n#   severity: low\n#   controls: [iso27001-2022:A.8.9]\n#   asset_kinds: [host]\n#   evidence: [host.kernel.release]\n#   remediation: report it\n#   freshness: 24h\npackage vouch.policies.faults.kernel_reported\n\nrelease := input.evidence[\"host.kernel.release\"]\n\ndeny contains \"no kernel release\" if release == \"\"\nallow := \"reported\" if release != \"\"\n",
    )
    .unwrap();
    format!(
        "\n[policies]\nbuiltin = false\ndir = {:?}\n",
        dir.display().to_string()
    )
}

/// The two kill -9 tests each keep two cores busy for a minute: they take turns.
static LOAD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const AGENTS: usize = 20;
const PER_AGENT: u64 = 250;
/// Receipts the agents hold together when the server is killed.
const KILL_AFTER: usize = 1_500;

/// (a): 20 agents deliver 250 snapshots each to `server`; it is killed with SIGKILL once they
/// hold `KILL_AFTER` receipts, and started again.
async fn kill9_during_load(mut server: ServeProcess, label: &str) {
    let _turn = LOAD.lock().await;
    let started = Instant::now();
    let base = vouch_evidence::Clock::System.now();
    let admin = server.token("admin", &[]);
    let client = https_client(&server.ca_pem());
    let tokens = enroll_tokens(&client, &server.url, &admin, AGENTS).await;
    eprintln!(
        "{label}: server up, tokens issued at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let work = agents_tempdir();
    let mut agents = Vec::new();
    let mut hosts = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let host = format!("faults-{label}-{i:02}");
        let root = tiny_host(&work.path().join(format!("host-{i}")), &host);
        let state = work.path().join(format!("agent-{i}"));
        let config = agent_config(&server.url, &server.ca_path(), &state, root, NEVER);
        agents.push(enrolled_agent(config, token).await);
        hosts.push(host);
    }
    // Each agent signs and spools its whole load (the agent library's chain, signature, spool).
    let mut spooling = JoinSet::new();
    for (a, host) in agents.iter().zip(&hosts) {
        let (a, host) = (a.clone(), host.clone());
        spooling.spawn(async move {
            for n in 1..=PER_AGENT {
                a.spool_collected(collected(&host, base, n)).await.unwrap();
            }
        });
    }
    while let Some(r) = spooling.join_next().await {
        r.unwrap();
    }
    eprintln!(
        "{label}: enrolled and spooled at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let total = AGENTS * PER_AGENT as usize;
    assert_eq!(
        agents
            .iter()
            .map(|a| a.state().spool_depth().unwrap())
            .sum::<usize>(),
        total
    );
    let spooled_in = started.elapsed();

    // The daemons deliver; the server is killed under them.
    let load_started = Instant::now();
    let daemons = run_daemons(&agents);
    wait_for(
        Duration::from_secs(180),
        "receipts before the kill",
        || server.log(),
        || receipt_total(&agents) >= KILL_AFTER,
    )
    .await;
    let pid = server.pid().unwrap();
    server.kill9();
    let killed_after = load_started.elapsed();
    // The agents meet a dead server (refused connections, backoff); then they are paused so
    // that what the restarted server holds is measured before any of them sends again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop_daemons(daemons).await;
    let acknowledged: Vec<BTreeMap<u64, Digest>> = agents
        .iter()
        .zip(&hosts)
        .map(|(a, h)| receipts(a, h))
        .collect();
    let acked_total: usize = acknowledged.iter().map(BTreeMap::len).sum();
    assert!(
        (KILL_AFTER..total).contains(&acked_total),
        "killed during the load: {acked_total} of {total} acknowledged"
    );

    server.restart().await;
    eprintln!(
        "{label}: restarted at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Every snapshot an agent holds a receipt for is there, at its sequence, in a complete
    // chain; its envelope is served and is the snapshot receipted.
    let mut present = 0;
    for ((a, host), acked) in agents.iter().zip(&hosts).zip(&acknowledged) {
        let chain = server_chain(&client, &server.url, &admin, host, a.agent_id()).await;
        present += chain.len();
        for (seq, digest) in acked {
            assert_eq!(
                chain.get(seq),
                Some(digest),
                "{label}: {host} sequence {seq} was acknowledged before the kill and is not in the restarted server"
            );
        }
        if let Some((_, newest)) = acked.last_key_value() {
            let resp = client
                .get(format!("{}/v1/snapshots/{newest}", server.url))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let envelope = Envelope::from_slice(&resp.bytes().await.unwrap()).unwrap();
            assert_eq!(Digest::of(&envelope.payload_bytes().unwrap()), *newest);
        }
    }
    assert!(present >= acked_total);

    eprintln!(
        "{label}: presence checked at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The agents deliver the rest.
    let resumed = Instant::now();
    let daemons = run_daemons(&agents);
    wait_for(
        Duration::from_secs(300),
        "the rest delivered",
        || server.log(),
        || agents.iter().all(|a| a.state().spool_depth().unwrap() == 0),
    )
    .await;
    stop_daemons(daemons).await;
    let rest_in = resumed.elapsed();
    let mut digests = BTreeSet::new();
    for (a, host) in agents.iter().zip(&hosts) {
        let held = receipts(a, host);
        let chain = server_chain(&client, &server.url, &admin, host, a.agent_id()).await;
        assert_eq!(chain.len() as u64, PER_AGENT, "{label}: {host} complete");
        assert_eq!(
            held, chain,
            "{label}: {host}: a receipt for every stored snapshot, the same"
        );
        assert_eq!(
            a.state().rejected_count().unwrap(),
            0,
            "{host}: nothing refused"
        );
        assert_eq!(
            a.state().corrupt_count().unwrap(),
            0,
            "{host}: nothing set aside"
        );
        // The chain the agent signed is the one stored: its head is the stored last link.
        let head = a
            .state()
            .head(&ChainKey {
                agent_id: a.agent_id().to_string(),
                asset_kind: AssetKind::Host,
                asset_id: host.clone(),
            })
            .unwrap()
            .unwrap();
        assert_eq!((head.sequence, head.digest), (PER_AGENT, chain[&PER_AGENT]));
        digests.extend(chain.into_values());
    }
    assert_eq!(
        digests.len(),
        total,
        "{label}: {total} distinct snapshots stored"
    );
    let assets: Vec<Value> = client
        .get(format!("{}/v1/assets", server.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: u64 = assets
        .iter()
        .filter(|c| hosts.iter().any(|h| c["id"] == h.as_str()))
        .map(|c| c["snapshot_count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        stored, total as u64,
        "{label}: the server counts {total} snapshots"
    );
    // What the server answered to the submissions, from its request log.
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    for line in server.log().lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let fields = &entry["fields"];
        let text = |v: &Value| v.as_str().unwrap_or("").trim_matches('"').to_string();
        if text(&fields["method"]) == "POST" && text(&fields["path"]) == "/v1/snapshots" {
            *answers.entry(fields["status"].to_string()).or_default() += 1;
        }
    }
    println!(
        "kill -9 run ({label}): submissions answered other than 200/201 (the server logs those only): {answers:?}"
    );
    println!(
        "kill -9 run ({label}): server pid {pid} killed {:.1} s into the load; {acked_total} snapshots acknowledged before the kill, {present} present after restart ({} stored whose receipt was lost in flight), {total} delivered in total from {AGENTS} agents, no duplicate, no gap; spooling {:.1} s, the rest delivered in {:.1} s after restart, whole test {:.1} s",
        killed_after.as_secs_f64(),
        present - acked_total,
        spooled_in.as_secs_f64(),
        rest_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_of_the_server_during_a_load_loses_no_receipted_snapshot_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let pack = small_pack(&dir.path().join("pack"));
    let server = ServeProcess::start(dir.path(), &pack, &[]).await;
    kill9_during_load(server, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_of_the_server_during_a_load_loses_no_receipted_snapshot_postgres_s3() {
    let base = std::env::var("VOUCH_TEST_POSTGRES_URL")
        .expect("VOUCH_TEST_POSTGRES_URL is not set: run the tests under `bash .ci/with-services`");
    let url = vouch_server::store::postgres::create_test_database(&base)
        .await
        .unwrap();
    let bucket = vouch_tests::objects::bucket(Some(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let pack = small_pack(&dir.path().join("pack"));
    let extra = format!(
        "database_url = {url:?}\n{pack}\n[objects]\nbucket = {:?}\nregion = \"us-east-1\"\nendpoint_url = {:?}\npath_style = true\n\n[objects.lock]\nmode = \"compliance\"\ndays = 1\n",
        bucket.bucket,
        vouch_tests::objects::moto_url()
    );
    let env = [
        ("VOUCH_DATABASE_URL", url.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ];
    let server = ServeProcess::start(dir.path(), &extra, &env).await;
    kill9_during_load(server, "postgres-s3").await;
}

/// (b): three agents collect every second (fixture hosts) and deliver; the server is stopped
/// for several seconds while they keep collecting, then started again: everything they
/// collected meanwhile arrives, each chain complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_collected_while_the_server_is_down_all_arrive_afterwards() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServeProcess::start(&dir.path().join("server"), "", &[]).await;
    let admin = server.token("admin", &[]);
    let client = https_client(&server.ca_pem());
    let fixtures = ["debian12-hardened", "debian12-weak", "rhel9"];
    let tokens = enroll_tokens(&client, &server.url, &admin, fixtures.len()).await;
    let mut agents = Vec::new();
    let mut hosts = Vec::new();
    for (fixture, token) in fixtures.iter().zip(&tokens) {
        let root = vouch_collectors::fixtures::fixture_host(fixture);
        let host = std::fs::read_to_string(root.join("etc/machine-id"))
            .unwrap()
            .trim()
            .to_string();
        let state = dir.path().join(format!("agent-{fixture}"));
        let config = agent_config(&server.url, &server.ca_path(), &state, root, EVERY_SECOND);
        agents.push(enrolled_agent(config, token).await);
        hosts.push(host);
    }
    let daemons = run_daemons(&agents);
    wait_for(
        Duration::from_secs(120),
        "first deliveries",
        || server.log(),
        || {
            agents
                .iter()
                .all(|a| a.state().receipt_count().unwrap() >= 2)
        },
    )
    .await;

    server.stop();
    let down = Instant::now();
    // They keep collecting: at least three snapshots each wait in their spools.
    wait_for(
        Duration::from_secs(90),
        "collections while down",
        || server.log(),
        || agents.iter().all(|a| a.state().spool_depth().unwrap() >= 3),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut during: Vec<BTreeMap<u64, Digest>> = Vec::new();
    for a in &agents {
        let mut spooled = BTreeMap::new();
        for chain in a.state().spooled_chains().unwrap() {
            for (seq, path) in a.state().spooled(&chain).unwrap() {
                spooled.insert(seq, vouch_agent::state::envelope_digest(&path).unwrap());
            }
        }
        during.push(spooled);
    }
    let outage = down.elapsed();
    server.restart().await;

    // Everything collected during the outage arrives, and delivery goes on after it.
    wait_for(
        Duration::from_secs(120),
        "the outage's snapshots delivered",
        || server.log(),
        || {
            agents.iter().zip(&hosts).zip(&during).all(|((a, h), d)| {
                let held = receipts(a, h);
                d.iter().all(|(s, digest)| held.get(s) == Some(digest))
                    && held.keys().max() > d.keys().max()
            })
        },
    )
    .await;
    stop_daemons(daemons).await;
    let mut figures = Vec::new();
    for ((a, host), d) in agents.iter().zip(&hosts).zip(&during) {
        let chain = server_chain(&client, &server.url, &admin, host, a.agent_id()).await;
        for (seq, digest) in d {
            assert_eq!(
                chain.get(seq),
                Some(digest),
                "{host}: sequence {seq}, collected while the server was down"
            );
        }
        assert_eq!(
            receipts(a, host),
            chain,
            "{host}: the receipts held are the chain stored"
        );
        assert_eq!(a.state().rejected_count().unwrap(), 0);
        // What is not stored is still spooled (a collection the daemon's stop overtook): the
        // agent's chain is the stored one and its spool, without a gap.
        let head = a
            .state()
            .head(&ChainKey {
                agent_id: a.agent_id().to_string(),
                asset_kind: AssetKind::Host,
                asset_id: host.clone(),
            })
            .unwrap()
            .unwrap();
        assert_eq!(
            head.sequence,
            chain.len() as u64 + a.state().spool_depth().unwrap() as u64,
            "{host}"
        );
        figures.push(format!(
            "{host}: {} collected while down, {} stored",
            d.len(),
            chain.len()
        ));
    }
    println!(
        "server down {:.1} s: {}; whole test {:.1} s",
        outage.as_secs_f64(),
        figures.join("; "),
        started.elapsed().as_secs_f64()
    );
}

/// The effective user id.
fn euid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|u| u.parse().ok())
        .expect("effective uid from /proc/self/status")
}

/// A tmpfs mounted on a directory, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mount -t tmpfs failed as root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system under `path` with the file `path`: writes until `ENOSPC`. Its size.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0xa5u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    written
}

/// The spooled envelopes under a state directory: path → bytes.
fn spool_files(state: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for dir in std::fs::read_dir(state.join("spool")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() || dir.ends_with("rejected") || dir.ends_with("corrupt") {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let path = f.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name
                .strip_suffix(".json")
                .is_some_and(|s| s.parse::<u64>().is_ok())
            {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn occurrences(text: &str, what: &str) -> usize {
    text.matches(what).count()
}

/// (c): a real `vouch-agent run` whose state directory is on a 1 MiB tmpfs. The server is
/// stopped so that snapshots wait in the spool; the file system is then filled. The agent
/// logs "No space left on device" for each collection it cannot spool (and, once the server is
/// back, for each receipt it cannot save), keeps running, keeps every spooled envelope byte
/// for byte; when the filler is deleted it spools again and delivers everything, the chain
/// complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_file_system_is_reported_loses_nothing_and_delivery_resumes() {
    if euid() != 0 {
        eprintln!(
            "skipped: mounting the small tmpfs this test fills needs root (CI runs as root); this user is uid {}",
            euid()
        );
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("agent-fs");
    let fs = Tmpfs::mount(&mnt, "1m");
    let mut server = TestServer::start(&dir.path().join("server")).await;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let fixture = vouch_collectors::fixtures::fixture_host("debian12-hardened");
    let host = std::fs::read_to_string(fixture.join("etc/machine-id"))
        .unwrap()
        .trim()
        .to_string();
    let state = mnt.join("state");
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nurl = {:?}\nca_cert = {:?}\n[agent]\nstate_dir = {:?}\nrequest_timeout_secs = 5\nbackoff_initial_ms = 50\nbackoff_max_secs = 1\n[collectors.host]\nroot = {:?}\nschedule = {EVERY_SECOND:?}\n",
            server.url,
            ca.display().to_string(),
            state.display().to_string(),
            fixture.display().to_string(),
        ),
    )
    .unwrap();
    let agent_bin = binary("vouch-agent", "vouch-agent");
    let out = Command::new(&agent_bin)
        .arg("--config")
        .arg(&config)
        .args(["enroll", "--token", &server.enroll_token().await])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "enrol: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log_path = dir.path().join("agent.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut agent = KillOnDrop(
        Command::new(&agent_bin)
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let agent_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let receipts_held = || {
        std::fs::read_dir(state.join("receipts"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().and_then(|x| x.to_str()) == Some("json"))
                    .count()
            })
            .unwrap_or(0)
    };
    wait_for(
        Duration::from_secs(90),
        "first deliveries",
        agent_log,
        || receipts_held() >= 2,
    )
    .await;

    // The server goes away: snapshots wait in the spool.
    server.stop().await;
    wait_for(
        Duration::from_secs(90),
        "snapshots spooled",
        agent_log,
        || spool_files(&state).len() >= 3,
    )
    .await;
    // Then the file system fills up.
    let filler = mnt.join("filler");
    let filled = fill(&filler);
    let before = spool_files(&state);
    let last_before = before
        .keys()
        .filter_map(|p| p.file_stem()?.to_str()?.parse::<u64>().ok())
        .max()
        .unwrap();
    let mark = agent_log().len();
    wait_for(
        Duration::from_secs(90),
        "the agent reports the full file system",
        agent_log,
        || occurrences(&agent_log()[mark..], "No space left on device") >= 3,
    )
    .await;
    assert!(
        agent.running(),
        "the agent keeps running; its log:\n{}",
        agent_log()
    );
    let full_log = agent_log()[mark..].to_string();
    assert!(
        full_log.contains("cannot sign or spool"),
        "the failed collection is named: {full_log}"
    );
    // Nothing spooled is lost, truncated or added half-written.
    assert_eq!(
        spool_files(&state),
        before,
        "the spool is unchanged while the disk is full"
    );

    // The server comes back while the disk is still full: deliveries whose receipts cannot be
    // saved leave their envelopes spooled.
    server.restart().await;
    let mark = agent_log().len();
    wait_for(
        Duration::from_secs(90),
        "delivery attempts on a full disk",
        agent_log,
        || occurrences(&agent_log()[mark..], "No space left on device") >= 2,
    )
    .await;
    assert!(
        agent.running(),
        "the agent keeps running; its log:\n{}",
        agent_log()
    );
    let now = spool_files(&state);
    let held = receipts_held();
    for (path, bytes) in &now {
        assert_eq!(
            before.get(path),
            Some(bytes),
            "{}: unchanged",
            path.display()
        );
    }

    // Space returns: it spools and delivers again.
    std::fs::remove_file(&filler).unwrap();
    let client = https_client(&server.ca_pem);
    let agent_id: String =
        serde_json::from_slice::<Value>(&std::fs::read(state.join("enrollment.json")).unwrap())
            .unwrap()["agent_id"]
            .as_str()
            .unwrap()
            .to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    let chain = loop {
        let chain = server_chain(&client, &server.url, &server.admin_token, &host, &agent_id).await;
        if chain.len() as u64 >= last_before + 2 && spool_files(&state).is_empty() {
            break chain;
        }
        assert!(
            Instant::now() < deadline,
            "delivery did not resume: {} stored, {} spooled; agent log:\n{}",
            chain.len(),
            spool_files(&state).len(),
            agent_log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        agent.terminate(Duration::from_secs(10)),
        "the agent stops on SIGTERM"
    );
    for (path, bytes) in &before {
        let payload = Envelope::from_slice(bytes)
            .unwrap()
            .payload_bytes()
            .unwrap();
        let snapshot = Snapshot::from_payload(&payload).unwrap();
        assert_eq!(
            chain.get(&snapshot.sequence),
            Some(&Digest::of(&payload)),
            "{}: spooled before the disk filled, stored at its sequence",
            path.display()
        );
    }
    let rejected = std::fs::read_dir(state.join("spool/rejected"))
        .unwrap()
        .count();
    let corrupt = std::fs::read_dir(state.join("spool/corrupt"))
        .unwrap()
        .count();
    assert_eq!((rejected, corrupt), (0, 0), "nothing refused or set aside");
    let said = full_log
        .lines()
        .find(|l| l.contains("No space left on device"))
        .unwrap_or_default();
    println!("full spool file system: the agent said: {said}");
    println!(
        "full spool file system: filled with {filled} bytes, {} envelopes spooled kept intact (up to sequence {last_before}), {held} receipts held while full; after space returned the chain reached sequence {} complete; {:.1} s",
        before.len(),
        chain.len(),
        started.elapsed().as_secs_f64()
    );
    drop(fs);
}
