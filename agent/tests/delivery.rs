//! Delivery against a stand-in server (plain HTTP on loopback, one scripted answer per
//! request): what the agent keeps, retries, quarantines and sets aside (issue 15, defect 3,
//! "the agent throws evidence away").

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use vouch_agent::Agent;
use vouch_agent::config::{AgentConfig, AgentSection, CollectorsSection, ServerSection};
use vouch_agent::state::{Enrollment, StateDir};
use vouch_collectors::Collected;
use vouch_collectors::host::HostConfig;
use vouch_evidence::api::{EnrollRequest, EnrollResponse, SubmitResponse};
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{
    Asset, AssetKind, CollectorRun, PublicKey, Receipt, RunOutcome, SigningKey, Snapshot, Timestamp,
};

/// The stand-in server's receipt key.
fn server_key() -> SigningKey {
    SigningKey::from_seed(&[9; 32])
}

/// One request the stand-in received.
#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    path: String,
    body: Vec<u8>,
}

/// An answer: status, extra headers, body.
type Reply = (u16, Vec<(&'static str, String)>, Vec<u8>);

/// A stand-in server on 127.0.0.1: each request is answered by `answer(index, path, body)`,
/// then the connection is closed.
struct StandIn {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    fn start(mut answer: impl FnMut(usize, &str, &[u8]) -> Reply + Send + 'static) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.is_empty() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(Seen {
                        at: Instant::now(),
                        path: path.clone(),
                        body: body.clone(),
                    });
                    log.len() - 1
                };
                let (status, headers, reply) = answer(index, &path, &body);
                let mut head = format!(
                    "HTTP/1.1 {status} Stand-in\r\nContent-Length: {}\r\nConnection: close\r\n",
                    reply.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&reply);
                let _ = stream.flush();
            }
        });
        StandIn { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// The server's acceptance of the envelope `body`: 201 with a receipt signed by
/// [`server_key`].
fn accept(body: &[u8]) -> Reply {
    let envelope = Envelope::from_slice(body).unwrap();
    let payload = envelope.payload_bytes().unwrap();
    let snapshot = Snapshot::from_payload(&payload).unwrap();
    let digest = vouch_evidence::Digest::of(&payload);
    let receipt = Receipt {
        digest,
        chain: snapshot.chain_key(),
        sequence: snapshot.sequence,
        received_at: "2026-11-24T00:00:00Z".parse().unwrap(),
    }
    .sign(&server_key());
    // The stand-in answers as a server from before the transparency log: no proofs.
    let answer = SubmitResponse {
        digest,
        duplicate: false,
        receipt,
        log: None,
    };
    (
        201,
        vec![("Content-Type", "application/json".into())],
        serde_json::to_vec(&answer).unwrap(),
    )
}

/// The Vouch server's own refusal: its status for `code`, its JSON error body.
fn vouch_refusal(status: u16, code: &str) -> Reply {
    (
        status,
        vec![("Content-Type", "application/json".into())],
        serde_json::json!({ "error": code, "message": format!("refused: {code}") })
            .to_string()
            .into_bytes(),
    )
}

fn config(url: &str, state: &Path) -> AgentConfig {
    AgentConfig {
        server: ServerSection {
            url: url.into(),
            ca_cert: Some(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/ca.pem"
            ))),
        },
        agent: AgentSection {
            state_dir: state.to_path_buf(),
            request_timeout_secs: 5,
            backoff_initial_ms: 10,
            backoff_max_secs: 5,
            ..AgentSection::default()
        },
        collectors: CollectorsSection {
            host: HostConfig {
                // Never fires while a test runs: only the spool is delivered.
                schedule: "0 0 0 1 1 * 2099".into(),
                root: vouch_collectors::fixtures::fixture_host("debian12-hardened"),
                ..HostConfig::default()
            },
            ..CollectorsSection::default()
        },
    }
}

/// An enrolled agent's state in `state`, trusting [`server_key`].
fn enrolled_state(state: &Path, url: &str) -> StateDir {
    let s = StateDir::open(state).unwrap();
    let key = s.create_key(false).unwrap();
    s.save_enrollment(&Enrollment {
        server_url: url.into(),
        agent_id: "agt_0000000000000001".into(),
        keyid: key.id().to_string(),
        server_key: server_key().public().to_base64(),
    })
    .unwrap();
    s
}

fn agent(url: &str, state: &Path) -> Agent {
    enrolled_state(state, url);
    Agent::open(config(url, state)).unwrap()
}

/// A collection of host `m-1`, the `n`th (each one's instant differs).
fn collected(n: i64) -> Collected {
    let at = Timestamp::from_unix_micros(1_790_000_000_000_000 + n * 1_000_000).unwrap();
    Collected {
        asset: Asset {
            kind: AssetKind::Host,
            id: "m-1".into(),
            name: "web-1".into(),
        },
        collected_at: at,
        collectors: vec![CollectorRun {
            name: "host".into(),
            version: "0.1.0".into(),
            started_at: at,
            finished_at: at,
            outcome: RunOutcome::Ok,
        }],
        evidence: BTreeMap::new(),
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

fn snapshot_of(body: &[u8]) -> Snapshot {
    let payload = Envelope::from_slice(body).unwrap().payload_bytes().unwrap();
    Snapshot::from_payload(&payload).unwrap()
}

/// Regression (issue 15, defect 3: behind a stand-in answering 429 with `Retry-After`, a
/// signed snapshot went to `spool/rejected/` for good): the daemon keeps it spooled, retries no
/// sooner than the `Retry-After` says, and delivers it.
#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_wait_not_rejected() {
    let server = StandIn::start(|i, _, body| {
        if i == 0 {
            (
                429,
                vec![("Retry-After", "1".into())],
                b"<html><body>Too Many Requests</body></html>".to_vec(),
            )
        } else {
            accept(body)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let agent = agent(&server.url, dir.path());
    agent.spool_collected(collected(1)).await.unwrap();

    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let run = {
        let shutdown = shutdown.clone();
        async move {
            let ran = agent.run(shutdown).await;
            ran.map(|()| agent)
        }
    };
    let watch = async {
        while server.seen().len() < 2
            || StateDir::open(dir.path()).unwrap().receipt_count().unwrap() < 1
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "not delivered: {:?}",
                server.seen()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        shutdown.cancel();
    };
    let (agent, ()) = tokio::join!(run, watch);
    let agent = agent.unwrap();

    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|s| s.path == "/v1/snapshots"), "{seen:?}");
    assert_eq!(seen[0].body, seen[1].body, "the same envelope, resent");
    let gap = seen[1].at - seen[0].at;
    assert!(
        gap >= Duration::from_secs(1),
        "retried after {gap:?}, before Retry-After: 1"
    );
    let s = agent.state();
    assert_eq!(s.rejected_count().unwrap(), 0);
    assert!(files_in(&dir.path().join("spool/rejected")).is_empty());
    assert_eq!(s.spool_depth().unwrap(), 0);
    assert_eq!(s.receipt_count().unwrap(), 1);
}

/// Regression (issue 15, defect 3: any 4xx taken as permanent): a proxy's 408, 413 (HTML),
/// 425, 429, 5xx, a bare 404, JSON without a Vouch code, and a dropped connection all leave
/// the snapshot spooled, and the pass reports it pending with the server's Retry-After.
#[tokio::test]
async fn transient_answers_and_a_proxys_bare_4xx_keep_the_snapshot_spooled() {
    let answers: Vec<Reply> = vec![
        (408, vec![], b"".to_vec()),
        (
            413,
            vec![],
            b"<html>413 Request Entity Too Large</html>".to_vec(),
        ),
        (425, vec![], b"".to_vec()),
        (
            429,
            vec![("Retry-After", "2".into())],
            b"slow down".to_vec(),
        ),
        (
            500,
            vec![],
            br#"{"error":"internal","message":"internal error"}"#.to_vec(),
        ),
        (502, vec![], b"<html>Bad Gateway</html>".to_vec()),
        (503, vec![("Retry-After", "3".into())], b"".to_vec()),
        (404, vec![], b"<html>Not Found</html>".to_vec()),
        (
            400,
            vec![],
            br#"{"error":"bad_gateway_thing","message":"x"}"#.to_vec(),
        ),
        (
            422,
            vec![],
            br#"{"error":"clock_skew","message":"from the future"}"#.to_vec(),
        ),
    ];
    let script = answers.clone();
    let server = StandIn::start(move |i, _, _| script[i].clone());
    let dir = tempfile::tempdir().unwrap();
    let agent = agent(&server.url, dir.path());
    agent.spool_collected(collected(1)).await.unwrap();
    for (status, headers, _) in &answers {
        let report = agent.deliver_pending().await.unwrap();
        assert_eq!(
            (report.delivered, report.rejected, report.pending),
            (0, 0, 1),
            "HTTP {status}: {report:?}"
        );
        let expected = headers
            .iter()
            .find(|(n, _)| *n == "Retry-After")
            .map(|(_, v)| Duration::from_secs(v.parse().unwrap()));
        assert_eq!(report.retry_after, expected, "HTTP {status}");
    }
    assert_eq!(agent.state().spool_depth().unwrap(), 1);
    assert_eq!(agent.state().rejected_count().unwrap(), 0);

    // Nobody listening: a connection error, also kept.
    let dir = tempfile::tempdir().unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let agent = self::agent(&url, dir.path());
    agent.spool_collected(collected(1)).await.unwrap();
    let report = agent.deliver_pending().await.unwrap();
    assert_eq!((report.rejected, report.pending), (0, 1), "{report:?}");
}

/// The server's own refusal with a final reason still quarantines the snapshot.
#[tokio::test]
async fn a_refusal_the_server_gives_with_a_final_reason_is_quarantined() {
    let server = StandIn::start(|_, _, _| vouch_refusal(400, "invalid_snapshot"));
    let dir = tempfile::tempdir().unwrap();
    let agent = agent(&server.url, dir.path());
    agent.spool_collected(collected(1)).await.unwrap();
    let report = agent.deliver_pending().await.unwrap();
    assert_eq!((report.rejected, report.pending), (1, 0), "{report:?}");
    assert_eq!(agent.state().rejected_count().unwrap(), 1);
    assert_eq!(agent.state().spool_depth().unwrap(), 0);
}

/// Regression (issue 15, defect 3: a second refusal at the same sequence overwrote the first
/// quarantined snapshot, named by chain and sequence only): both refused snapshots are kept.
#[tokio::test]
async fn two_refusals_at_the_same_sequence_keep_both_snapshots_in_rejected() {
    let server = StandIn::start(|_, _, _| vouch_refusal(409, "chain_conflict"));
    let dir = tempfile::tempdir().unwrap();
    let agent = agent(&server.url, dir.path());
    for n in 1..=2 {
        agent.spool_collected(collected(n)).await.unwrap();
        let report = agent.deliver_pending().await.unwrap();
        assert_eq!(report.rejected, 1, "{report:?}");
    }
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(snapshot_of(&seen[0].body).sequence, 1);
    assert_eq!(snapshot_of(&seen[1].body).sequence, 1, "both at sequence 1");
    assert_eq!(agent.state().rejected_count().unwrap(), 2);
    let rejected: Vec<Vec<u8>> = files_in(&dir.path().join("spool/rejected"))
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".error.json"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(
        rejected.contains(&seen[0].body),
        "the first refused snapshot is gone"
    );
    assert!(rejected.contains(&seen[1].body));
}

/// Regression (issue 15, defect 3: re-signing deleted the original before writing its
/// replacement): when the replacement cannot be written, the original stays spooled, and the
/// next pass resumes the re-signing and delivers it.
#[tokio::test]
async fn a_failed_re_signing_leaves_the_original_spooled_and_is_resumed() {
    let server = StandIn::start(|i, _, body| {
        if i == 0 {
            vouch_refusal(400, "invalid_snapshot")
        } else {
            accept(body)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let agent = agent(&server.url, dir.path());
    agent.spool_collected(collected(1)).await.unwrap();
    agent.spool_collected(collected(2)).await.unwrap();
    let chain = agent.state().spooled_chains().unwrap().remove(0);
    let spooled = agent.state().spooled(&chain).unwrap();
    let (second_seq, second_path) = spooled[1].clone();
    assert_eq!(second_seq, 2);
    let original = std::fs::read(&second_path).unwrap();
    // Sequence 2 is re-signed as sequence 1 once 1 is refused; make that write fail: its
    // temporary file's name is taken by a directory.
    let obstacle = second_path.with_file_name(format!("{:020}.tmp", 1));
    std::fs::create_dir(&obstacle).unwrap();

    assert!(
        agent.deliver_pending().await.is_err(),
        "the write must fail"
    );
    assert_eq!(
        std::fs::read(&second_path).unwrap(),
        original,
        "the original is still spooled, unchanged"
    );
    assert_eq!(agent.state().rejected_count().unwrap(), 1);

    std::fs::remove_dir(&obstacle).unwrap();
    let report = agent.deliver_pending().await.unwrap();
    assert_eq!((report.delivered, report.pending), (1, 0), "{report:?}");
    let delivered = snapshot_of(&server.seen()[1].body);
    let original = snapshot_of(&original);
    assert_eq!(delivered.sequence, 1);
    assert_eq!(delivered.previous_digest, None);
    assert_eq!(delivered.collected_at, original.collected_at);
    assert_eq!(agent.state().spool_depth().unwrap(), 0);
}

/// Regression (issue 15, defect 3: one corrupt spool file crash-looped the agent): garbage and
/// a truncated envelope beside good snapshots are set aside in `spool/corrupt/` and counted;
/// the good snapshots are delivered, re-linked past the lost ones.
#[tokio::test]
async fn a_corrupt_spool_file_is_set_aside_and_the_others_are_delivered() {
    let server = StandIn::start(|_, _, body| {
        // Accept only snapshots that extend the chain as the server would.
        accept(body)
    });
    let dir = tempfile::tempdir().unwrap();
    let agent = agent(&server.url, dir.path());
    for n in 1..=4 {
        agent.spool_collected(collected(n)).await.unwrap();
    }
    let chain = agent.state().spooled_chains().unwrap().remove(0);
    let spooled = agent.state().spooled(&chain).unwrap();
    std::fs::write(&spooled[1].1, b"\x00\x01 not json at all").unwrap();
    let truncated = std::fs::read(&spooled[3].1).unwrap();
    std::fs::write(&spooled[3].1, &truncated[..truncated.len() / 2]).unwrap();

    let report = agent.deliver_pending().await.unwrap();
    assert_eq!(
        (
            report.delivered,
            report.rejected,
            report.pending,
            report.corrupt
        ),
        (2, 0, 0, 2),
        "{report:?}"
    );
    let s = agent.state();
    assert_eq!(s.spool_depth().unwrap(), 0);
    assert_eq!(s.corrupt_count().unwrap(), 2);
    let corrupt = files_in(&dir.path().join("spool/corrupt"));
    assert_eq!(
        corrupt.len(),
        4,
        "two files, each with its problem: {corrupt:?}"
    );
    // The third collection follows the first: the chain has no hole the server would refuse.
    let sent: Vec<Snapshot> = server.seen().iter().map(|s| snapshot_of(&s.body)).collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].sequence, 1);
    assert_eq!(sent[1].sequence, 2);
    assert_eq!(sent[1].previous_digest, Some(sent[0].digest().unwrap()));
    assert_eq!(sent[1].collected_at, collected(3).collected_at);
    // The next snapshot extends the re-linked chain.
    agent.spool_collected(collected(5)).await.unwrap();
    let report = agent.deliver_pending().await.unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    let last = snapshot_of(&server.seen()[2].body);
    assert_eq!(last.sequence, 3);
    assert_eq!(last.previous_digest, Some(sent[1].digest().unwrap()));
}

/// `vouch-agent status` shows the corrupt files counted.
#[tokio::test]
async fn status_shows_the_corrupt_count() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let s = enrolled_state(&state, "https://127.0.0.1:9");
    let garbage = dir.path().join("spool-file.json");
    std::fs::write(&garbage, b"garbage").unwrap();
    s.set_aside_corrupt(&garbage, "not a DSSE envelope")
        .unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nurl = \"https://127.0.0.1:9\"\nca_cert = \"{}/tests/data/ca.pem\"\n[agent]\nstate_dir = \"{}\"\n",
            env!("CARGO_MANIFEST_DIR"),
            state.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vouch-agent"))
        .args(["--config", config.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("corrupt 1"), "{stdout}");
}

/// An enrolment stand-in: refuses with the server's `bad_token`, or confirms the key posted.
fn enrollment_server(confirm: bool) -> StandIn {
    StandIn::start(move |_, path, body| {
        assert_eq!(path, "/v1/enroll");
        if !confirm {
            return vouch_refusal(401, "bad_token");
        }
        let req: EnrollRequest = serde_json::from_slice(body).unwrap();
        let key = PublicKey::from_base64(&req.public_key).unwrap();
        let answer = EnrollResponse {
            agent_id: "agt_0000000000000002".into(),
            keyid: key.id().to_string(),
            server_key: server_key().public().to_base64(),
        };
        (201, vec![], serde_json::to_vec(&answer).unwrap())
    })
}

/// Regression (issue 15, defect 3: `enroll --force` destroyed the old key before the new
/// enrolment succeeded): a refused re-enrolment leaves the old key and enrolment intact.
#[tokio::test]
async fn a_refused_forced_re_enrolment_keeps_the_old_key_and_enrolment() {
    for server in [
        enrollment_server(false),
        StandIn::start(|_, _, _| (429, vec![("Retry-After", "60".into())], vec![])),
    ] {
        let dir = tempfile::tempdir().unwrap();
        enrolled_state(dir.path(), &server.url);
        let key_before = std::fs::read(dir.path().join("agent.key")).unwrap();
        let enrollment_before = std::fs::read(dir.path().join("enrollment.json")).unwrap();
        let err = vouch_agent::enroll(&config(&server.url, dir.path()), "tok", true)
            .await
            .unwrap_err();
        assert_eq!(server.seen().len(), 1, "{err}");
        assert_eq!(
            std::fs::read(dir.path().join("agent.key")).unwrap(),
            key_before
        );
        assert_eq!(
            std::fs::read(dir.path().join("enrollment.json")).unwrap(),
            enrollment_before
        );
        assert!(!dir.path().join("agent.key.new").exists());
        let agent = Agent::open(config(&server.url, dir.path())).unwrap();
        assert_eq!(agent.agent_id(), "agt_0000000000000001", "still usable");
    }
}

/// A confirmed forced re-enrolment replaces the key and the enrolment together.
#[tokio::test]
async fn a_confirmed_forced_re_enrolment_replaces_key_and_enrolment() {
    let server = enrollment_server(true);
    let dir = tempfile::tempdir().unwrap();
    enrolled_state(dir.path(), &server.url);
    let key_before = std::fs::read(dir.path().join("agent.key")).unwrap();
    let e = vouch_agent::enroll(&config(&server.url, dir.path()), "tok", true)
        .await
        .unwrap();
    assert_eq!(e.agent_id, "agt_0000000000000002");
    assert_ne!(
        std::fs::read(dir.path().join("agent.key")).unwrap(),
        key_before
    );
    let req: EnrollRequest = serde_json::from_slice(&server.seen()[0].body).unwrap();
    let s = StateDir::open(dir.path()).unwrap();
    assert_eq!(
        s.load_key().unwrap().public().to_base64(),
        req.public_key,
        "the key the server confirmed"
    );
    let agent = Agent::open(config(&server.url, dir.path())).unwrap();
    assert_eq!(agent.agent_id(), "agt_0000000000000002");
    assert!(!dir.path().join("agent.key.new").exists());
    assert!(!dir.path().join("enrollment.new.json").exists());
}
