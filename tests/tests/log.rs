//! A server that rewrites its transparency log is caught by its own agents (issue 19): every
//! delivery carries the log's signed checkpoint, the snapshot's inclusion in it and the
//! consistency of the log the agent saw before with it; an agent pins the log's key and keeps
//! the last checkpoint. Here the server's database is altered under it, the first leaves of
//! its log replaced and the tree above them recomputed (a history rewritten consistently with
//! itself), and the next delivery is refused by the agent: the snapshot stays spooled,
//! unacknowledged, and the checkpoint the agent keeps stays the honest one.

use std::path::Path;

use vouch_agent::Agent;
use vouch_agent::config::{AgentConfig, AgentSection, CollectorsSection, ServerSection};
use vouch_collectors::host::HostConfig;
use vouch_evidence::logproofs::{ConsistencyProof, LogCheckError};
use vouch_evidence::tlog;
use vouch_tests::server::TestServer;

pub(crate) fn agent_config(server: &TestServer, state: &Path, ca: &Path) -> AgentConfig {
    AgentConfig {
        server: ServerSection {
            url: server.url.clone(),
            ca_cert: Some(ca.to_path_buf()),
        },
        agent: AgentSection {
            state_dir: state.to_path_buf(),
            ..AgentSection::default()
        },
        collectors: CollectorsSection {
            host: HostConfig {
                root: vouch_collectors::fixtures::fixture_host("debian12-hardened"),
                ..HostConfig::default()
            },
            ..CollectorsSection::default()
        },
    }
}

/// An agent of `server` collecting the fixture host `host`, enrolled, with its state in
/// `state` (the server's CA written beside it): its configuration and the agent.
pub(crate) async fn enrolled_agent(
    server: &TestServer,
    state: &Path,
    host: &str,
) -> (AgentConfig, Agent) {
    let ca = state.with_extension("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let mut config = agent_config(server, state, &ca);
    config.collectors.host.root = vouch_collectors::fixtures::fixture_host(host);
    vouch_agent::enroll(&config, &server.enroll_token().await, false)
        .await
        .unwrap();
    let agent = Agent::open(config.clone()).unwrap();
    (config, agent)
}

/// Collects and delivers `n` snapshots, one at a time, each accepted.
pub(crate) async fn deliver(agent: &Agent, n: usize) {
    for _ in 0..n {
        agent.collect_and_spool().await.unwrap();
        assert_eq!(agent.deliver_pending().await.unwrap().delivered, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_refuses_the_receipt_of_a_server_that_rewrote_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let server = TestServer::start(&data).await;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let config = agent_config(&server, &dir.path().join("agent"), &ca);
    vouch_agent::enroll(&config, &server.enroll_token().await, false)
        .await
        .unwrap();
    let agent = Agent::open(config).unwrap();

    // Honest deliveries: the agent pins the log's key and follows its checkpoint.
    for size in 1..=3u64 {
        agent.collect_and_spool().await.unwrap();
        let report = agent.deliver_pending().await.unwrap();
        assert_eq!((report.delivered, report.pending), (1, 0));
        let (key, seen) = agent.state().log_seen().unwrap();
        assert!(key.unwrap().name().starts_with("vouch.log/"));
        assert_eq!(seen.unwrap().size, size);
    }
    let honest = agent.state().log_seen().unwrap().1.unwrap();

    // The server's history rewritten: leaves 0 and 1 replaced, their parent recomputed.
    let forged = [tlog::leaf_hash(b"forged 0"), tlog::leaf_hash(b"forged 1")];
    let parent = tlog::node_hash(&forged[0], &forged[1]);
    let db = rusqlite::Connection::open(data.join("vouch.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    for (level, idx, hash) in [(0, 0, forged[0]), (0, 1, forged[1]), (1, 0, parent)] {
        let changed = db
            .execute(
                "UPDATE tlog_nodes SET hash = ?1 WHERE level = ?2 AND idx = ?3",
                rusqlite::params![&hash[..], level, idx],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    drop(db);

    agent.collect_and_spool().await.unwrap();
    let report = agent.deliver_pending().await.unwrap();
    assert_eq!(
        (report.delivered, report.pending),
        (0, 1),
        "the agent acknowledged a snapshot under a rewritten log"
    );
    // The forged subtree is in the new snapshot's proof, which then does not lead to the
    // root the server signed: named as the snapshot not being in the signed tree.
    assert!(
        matches!(
            report.log_refusal,
            Some(LogCheckError::NotIncluded {
                index: 3,
                size: 4,
                ..
            })
        ),
        "{:?}",
        report.log_refusal
    );
    assert_eq!(agent.state().spool_depth().unwrap(), 1);
    assert_eq!(agent.state().log_seen().unwrap().1.unwrap(), honest);
    // The server's own signed checkpoint of the other history is kept as evidence.
    let alarm: serde_json::Value =
        serde_json::from_str(&agent.state().log_alarm().unwrap().unwrap()).unwrap();
    assert!(
        alarm["error"]
            .as_str()
            .unwrap()
            .contains("is not at leaf 3 of the signed tree of 4"),
        "{alarm}"
    );
    let forked = alarm["proofs"]["checkpoint"].as_str().unwrap();
    let (key, _) = agent.state().log_seen().unwrap();
    let forked = vouch_evidence::note::Checkpoint::open(forked, &key.unwrap())
        .unwrap()
        .0;
    assert_eq!(forked.size, 4);
    // It says so again at every attempt, and never gives in.
    let report = agent.deliver_pending().await.unwrap();
    assert_eq!((report.delivered, report.pending), (0, 1));
}

/// A split view: the server, restarted on a database whose first leaves were rewritten (the
/// tree above them recomputed, so the forged log is consistent with itself), shows a new agent
/// that history and signs it. The new agent, with nothing pinned, cannot know; the agent that
/// saw the honest log refuses at its next delivery, by name, and the two agents' signed
/// checkpoints, put side by side by an auditor, are proved not to be one log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_forked_for_a_second_agent_is_caught_by_the_first_and_by_an_auditor() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let mut server = TestServer::start(&data).await;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let first_config = agent_config(&server, &dir.path().join("first"), &ca);
    vouch_agent::enroll(&first_config, &server.enroll_token().await, false)
        .await
        .unwrap();
    let first = Agent::open(first_config).unwrap();
    for _ in 0..3 {
        first.collect_and_spool().await.unwrap();
        assert_eq!(first.deliver_pending().await.unwrap().delivered, 1);
    }
    let (key, honest) = first.state().log_seen().unwrap();
    let (key, honest) = (key.unwrap(), honest.unwrap());
    assert_eq!(honest.size, 3);

    // The fork: leaves 0 and 1 and their parent replaced while the server is down.
    server.stop().await;
    let forged = [tlog::leaf_hash(b"forged 0"), tlog::leaf_hash(b"forged 1")];
    let db = rusqlite::Connection::open(data.join("vouch.db")).unwrap();
    for (level, idx, hash) in [
        (0, 0, forged[0]),
        (0, 1, forged[1]),
        (1, 0, tlog::node_hash(&forged[0], &forged[1])),
    ] {
        db.execute(
            "UPDATE tlog_nodes SET hash = ?1 WHERE level = ?2 AND idx = ?3",
            rusqlite::params![&hash[..], level, idx],
        )
        .unwrap();
    }
    drop(db);
    server.restart().await;

    // A second agent (another host), new: it takes the forked log as the log.
    let mut second_config = agent_config(&server, &dir.path().join("second"), &ca);
    second_config.collectors.host.root = vouch_collectors::fixtures::fixture_host("rhel9");
    vouch_agent::enroll(&second_config, &server.enroll_token().await, false)
        .await
        .unwrap();
    let second = Agent::open(second_config).unwrap();
    second.collect_and_spool().await.unwrap();
    let report = second.deliver_pending().await.unwrap();
    assert_eq!((report.delivered, report.log_refusal), (1, None));
    let (second_key, fork) = second.state().log_seen().unwrap();
    assert_eq!(second_key.unwrap(), key, "one log key, two histories");
    let fork = fork.unwrap();
    assert_eq!(fork.size, 4);

    // The first agent's next delivery: the log it saw is not a prefix of what it is shown.
    first.collect_and_spool().await.unwrap();
    let report = first.deliver_pending().await.unwrap();
    assert_eq!(report.delivered, 0);
    assert!(
        matches!(
            report.log_refusal,
            Some(LogCheckError::Inconsistent {
                seen: 3,
                now: 5,
                ..
            })
        ),
        "{:?}",
        report.log_refusal
    );

    // An auditor holding both agents' checkpoints asks the server to reconcile them: no
    // consistency proof the server can give makes the honest tree a prefix of the fork.
    let client = vouch_tests::server::https_client(&server.ca_pem);
    let token = server
        .running()
        .state()
        .create_api_token(vouch_server::auth::Role::Auditor, "auditor")
        .await
        .unwrap();
    let proof: ConsistencyProof = client
        .get(format!("{}/v1/log/consistency?from=3&to=4", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(matches!(
        proof.verify(&honest, &fork),
        Err(LogCheckError::Inconsistent {
            seen: 3,
            now: 4,
            ..
        })
    ));
}

/// Copies a stopped server's SQLite database (with its WAL files) from `from` to `to`.
fn copy_database(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for name in ["vouch.db", "vouch.db-wal", "vouch.db-shm"] {
        let _ = std::fs::remove_file(to.join(name));
        if from.join(name).exists() {
            std::fs::copy(from.join(name), to.join(name)).unwrap();
        }
    }
}

/// Witnessing from the log's side: a server whose `[log]` names a second Vouch server as its
/// witness sends it each new checkpoint over HTTPS with the consistency proof from the size
/// it last cosigned, keeps the checked cosignature and serves the checkpoint with it (agents
/// go on accepting it; an auditor opens it with the log's key and the witness's). After a
/// restart the log learns the witness's size from its 409 and goes on. Rolled back to an
/// older database, the log is told by the witness that it already cosigned a larger tree;
/// then forked at the same size, the witness finds it inconsistent: both are alarms, counted,
/// and neither checkpoint gets a cosignature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_cosigns_the_log_and_a_rollback_or_fork_raises_the_alarm() {
    use vouch_evidence::cosign::open_witnessed;
    use vouch_server::cosigning::{Answer, LogConfig, WitnessEndpoint};
    use vouch_server::witness::{WitnessConfig, WitnessService};

    let dir = tempfile::tempdir().unwrap();
    let (log_data, witness_data) = (dir.path().join("log"), dir.path().join("witness"));
    // Both keys made first, so that each server's configuration can name the other's.
    std::fs::create_dir_all(&log_data).unwrap();
    std::fs::create_dir_all(&witness_data).unwrap();
    let log_key = vouch_server::state::load_or_create_key(&log_data.join("log.key")).unwrap();
    let log_vkey = vouch_server::checkpoints::LogSigner::new(log_key, None).verifier();
    let witness_key =
        vouch_server::state::load_or_create_key(&witness_data.join("witness.key")).unwrap();
    let witness_vkey = WitnessService::new(witness_key, &WitnessConfig::default(), None)
        .unwrap()
        .verifier();

    let witness = TestServer::start_with(vouch_server::ServerConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: witness_data.clone(),
        witness: WitnessConfig {
            logs: vec![log_vkey.to_string()],
        },
        ..Default::default()
    })
    .await;
    let witness_ca = dir.path().join("witness-ca.pem");
    std::fs::write(&witness_ca, &witness.ca_pem).unwrap();
    let mut server = TestServer::start_with(vouch_server::ServerConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: log_data.clone(),
        log: LogConfig {
            witnesses: vec![WitnessEndpoint {
                url: format!("{}/v1/witness/add-checkpoint", witness.url),
                key: witness_vkey.to_string(),
                ca_file: Some(witness_ca.clone()),
            }],
            witness_quorum: None,
            // Rounds are run by the test, one at a time (the first, at start, finds no leaf).
            witness_interval_secs: 86_400,
        },
        ..Default::default()
    })
    .await;
    let (_, agent) = enrolled_agent(&server, &dir.path().join("agent"), "debian12-hardened").await;
    let client = vouch_tests::server::https_client(&server.ca_pem);
    let token = server
        .running()
        .state()
        .create_api_token(vouch_server::auth::Role::Auditor, "auditor")
        .await
        .unwrap();
    let served = |server: &TestServer, path: &'static str| {
        let (client, token, url) = (client.clone(), token.clone(), server.url.clone());
        async move {
            let r = client
                .get(format!("{url}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let round = |server: &TestServer| {
        let state = server.running().state().clone();
        async move {
            state
                .cosigners()
                .unwrap()
                .round(&**state.store(), &state.log(), state.now())
                .await
                .unwrap()
        }
    };
    let name = witness_vkey.name().to_string();
    let witnesses = std::slice::from_ref(&witness_vkey);

    deliver(&agent, 3).await;
    assert_eq!(
        served(&server, "/v1/log/checkpoint/witnessed").await.0,
        404,
        "nothing cosigned yet"
    );
    assert_eq!(round(&server).await, vec![(name.clone(), Answer::Cosigned)]);
    let (status, note) = served(&server, "/v1/log/checkpoint").await;
    assert_eq!(status, 200);
    let (c, by) = open_witnessed(&note, &log_vkey, witnesses, 1).unwrap();
    assert_eq!((c.size, by.len()), (3, 1));
    assert_eq!(
        served(&server, "/v1/log/checkpoint/witnessed").await.1,
        note
    );
    // A round with nothing new asks nobody.
    assert_eq!(round(&server).await, vec![(name.clone(), Answer::Already)]);

    // The agent takes the cosigned checkpoint as the log's. Restarted, the log does not know
    // what the witness cosigned: the witness's 409 says 3, and the proof from 3 to 4 follows.
    agent.collect_and_spool().await.unwrap();
    let report = agent.deliver_pending().await.unwrap();
    assert_eq!((report.delivered, report.log_refusal), (1, None));
    server.stop().await;
    let before = dir.path().join("before");
    copy_database(&log_data, &before);
    server.restart().await;
    // The round the server runs at start may have been first.
    let answers = round(&server).await;
    assert!(
        matches!(&answers[..], [(n, Answer::Cosigned | Answer::Already)] if *n == name),
        "{answers:?}"
    );
    let (_, note) = served(&server, "/v1/log/checkpoint").await;
    assert_eq!(
        open_witnessed(&note, &log_vkey, witnesses, 1)
            .unwrap()
            .0
            .size,
        4
    );
    agent.collect_and_spool().await.unwrap();
    assert_eq!(agent.deliver_pending().await.unwrap().delivered, 1);
    assert_eq!(round(&server).await, vec![(name.clone(), Answer::Cosigned)]);
    let (_, note) = served(&server, "/v1/log/checkpoint").await;
    assert_eq!(
        open_witnessed(&note, &log_vkey, witnesses, 1)
            .unwrap()
            .0
            .size,
        5
    );

    // A bundle made now carries the cosigned checkpoint: `vouch verify --witness` accepts it,
    // and names who cosigned when; a witness that did not cosign, required, fails it.
    let verify = |bundle: &Path, witnesses: &[String], quorum: Option<usize>| {
        vouch_tests::server::verify_bundle(
            bundle,
            vouch_server::verify::cli::VerifyArgs {
                witnesses: witnesses.to_vec(),
                witness_quorum: quorum,
                ..vouch_tests::server::plain_verify()
            },
        )
    };
    let stranger = vouch_evidence::cosign::Witness::new(
        "stranger.example",
        vouch_evidence::SigningKey::from_seed(&[3; 32])
            .public()
            .clone(),
    )
    .unwrap()
    .to_string();
    let (ours, both) = (
        vec![witness_vkey.to_string()],
        vec![witness_vkey.to_string(), stranger.clone()],
    );
    let bundle = {
        let path = dir.path().join("five.tar.gz");
        server.export_bundle(2, "w", &path).await;
        path
    };
    let (ok, out) = verify(&bundle, &ours, None);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "checkpoint of 5 leaves is cosigned by 1 of the 1 witness(es) given ({name} at "
        )) && out.contains("5 of 5 envelope(s) in it"),
        "{out}"
    );
    let (ok, out) = verify(&bundle, &both, None);
    assert!(
        !ok && out.contains("not witnessed: 1 of the trusted witnesses cosigned, 2 required"),
        "{out}"
    );
    assert!(verify(&bundle, &both, Some(1)).0);

    // One more snapshot, not cosigned yet: the bundle carries the witnessed checkpoint of 5
    // and the proof that it is a prefix of its own; the sixth leaf is named as past it.
    agent.collect_and_spool().await.unwrap();
    assert_eq!(agent.deliver_pending().await.unwrap().delivered, 1);
    let bundle = {
        let path = dir.path().join("six.tar.gz");
        server.export_bundle(2, "w", &path).await;
        path
    };
    let (ok, out) = verify(&bundle, &[], None);
    assert!(ok, "without --witness the bundle verifies: {out}");
    let (ok, out) = verify(&bundle, &ours, None);
    assert!(
        !ok && out.contains("leaf 5 is past the newest witnessed checkpoint (5 leaves)")
            && out.contains("5 of 6 envelope(s) in it"),
        "{out}"
    );
    assert_eq!(round(&server).await, vec![(name.clone(), Answer::Cosigned)]);
    let bundle = {
        let path = dir.path().join("six-witnessed.tar.gz");
        server.export_bundle(2, "w", &path).await;
        path
    };
    assert!(verify(&bundle, &ours, None).0);

    // Rolled back to the database of 4 leaves: the witness has cosigned 6.
    server.stop().await;
    copy_database(&before, &log_data);
    server.restart().await;
    let answers = round(&server).await;
    assert!(
        matches!(&answers[..], [(n, Answer::Alarm(why))] if *n == name && why.contains("cosigned a checkpoint of 6 leaves")),
        "{answers:?}"
    );
    // Grown again to 6 by another history: the witness finds it inconsistent.
    let (_, other) = enrolled_agent(&server, &dir.path().join("other"), "rhel9").await;
    deliver(&other, 2).await;
    let answers = round(&server).await;
    assert!(
        matches!(&answers[..], [(n, Answer::Alarm(why))] if *n == name && why.contains("inconsistent")),
        "{answers:?}"
    );
    let (_, note) = served(&server, "/v1/log/checkpoint").await;
    assert!(
        open_witnessed(&note, &log_vkey, witnesses, 1).is_err(),
        "the forked checkpoint carries no cosignature"
    );
    // The rounds the server runs itself (one ran at its start, on the rolled-back log) log
    // and count each alarm.
    let state = server.running().state().clone();
    let counted = state.metrics().witness_alarms();
    assert!(counted >= 1, "the rollback found at start");
    state.witness_round().await;
    assert_eq!(state.metrics().witness_alarms(), counted + 1);
    assert!(
        state
            .metrics()
            .render()
            .contains(&format!("vouch_log_witness_alarms_total {}", counted + 1))
    );
}
