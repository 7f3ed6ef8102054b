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
use vouch_evidence::logproofs::LogCheckError;
use vouch_evidence::tlog;
use vouch_tests::server::TestServer;

fn agent_config(server: &TestServer, state: &Path, ca: &Path) -> AgentConfig {
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
