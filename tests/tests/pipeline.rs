//! The foundation's acceptance scenario: two real agents, a real server on loopback HTTPS,
//! an outage in the middle, and an offline verification of everything stored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use vouch_agent::Agent;
use vouch_agent::config::{AgentConfig, AgentSection, CollectorsSection, ServerSection};
use vouch_collectors::host::HostConfig;
use vouch_evidence::Digest;
use vouch_evidence::api::{AssetSummary, SnapshotSummary};
use vouch_server::verify::{Keyring, verify_files};
use vouch_tests::server::{TestServer, https_client};

fn fixture(name: &str) -> PathBuf {
    vouch_collectors::fixtures::fixture_host(name)
}

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
                root: fixture("debian12-hardened"),
                ..HostConfig::default()
            },
            ..CollectorsSection::default()
        },
    }
}

/// Reads every spooled envelope of the agent, by digest, so the test can compare bytes later.
fn remember_spool(agent: &Agent, sent: &mut HashMap<Digest, Vec<u8>>) {
    for chain in agent.state().spooled_chains().unwrap() {
        for (_, path) in agent.state().spooled(&chain).unwrap() {
            let digest = vouch_agent::state::envelope_digest(&path).unwrap();
            sent.entry(digest)
                .or_insert_with(|| std::fs::read(&path).unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_survive_an_outage_and_every_snapshot_verifies_offline() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(&dir.path().join("server")).await;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();

    let mut configs = Vec::new();
    let mut agents = Vec::new();
    for name in ["a", "b"] {
        let config = agent_config(&server, &dir.path().join(format!("agent-{name}")), &ca);
        let token = server.enroll_token().await;
        vouch_agent::enroll(&config, &token, false).await.unwrap();
        agents.push(Agent::open(config.clone()).unwrap());
        configs.push(config);
    }
    assert_ne!(agents[0].agent_id(), agents[1].agent_id());

    let mut sent: HashMap<Digest, Vec<u8>> = HashMap::new();
    let mut delivered = 0;
    for round in 1..=100 {
        if round == 41 {
            server.stop().await;
        }
        if round == 61 {
            // The agent restarts too: its spool and chain head come back from disk.
            agents[1] = Agent::open(configs[1].clone()).unwrap();
        }
        if round == 81 {
            server.restart().await;
        }
        for agent in &agents {
            agent.collect_and_spool().await.unwrap();
            remember_spool(agent, &mut sent);
            let report = agent.deliver_pending().await.unwrap();
            assert_eq!(report.rejected, 0, "round {round}: {report:?}");
            if (41..81).contains(&round) {
                assert_eq!(report.delivered, 0, "delivered while the server was down");
                assert_eq!(
                    report.pending,
                    round - 40,
                    "round {round}: everything stays spooled"
                );
            } else {
                assert_eq!(report.pending, 0, "round {round}: {report:?}");
            }
            delivered += report.delivered;
        }
    }
    assert_eq!(delivered, 200);
    assert_eq!(sent.len(), 200);
    for agent in &agents {
        assert_eq!(agent.state().spool_depth().unwrap(), 0);
        assert_eq!(agent.state().receipt_count().unwrap(), 100);
    }

    // Everything is stored, once, and comes back byte for byte.
    let client = https_client(&server.ca_pem);
    let get = |path: String| {
        let client = client.clone();
        let token = server.admin_token.clone();
        let url = format!("{}{path}", server.url);
        async move {
            let r = client.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap().to_vec()
        }
    };
    let assets: Vec<AssetSummary> =
        serde_json::from_slice(&get("/v1/assets".into()).await).unwrap();
    assert_eq!(assets.len(), 2, "one chain per agent");
    assert!(
        assets
            .iter()
            .all(|a| a.snapshot_count == 100 && a.last_sequence == 100)
    );
    let listed: Vec<SnapshotSummary> = serde_json::from_slice(
        &get(format!(
            "/v1/assets/host/{}/snapshots?limit=1000",
            assets[0].id
        ))
        .await,
    )
    .unwrap();
    assert_eq!(
        listed.len(),
        200,
        "both agents describe the same fixture host, each in its own chain"
    );

    let files = dir.path().join("fetched");
    std::fs::create_dir(&files).unwrap();
    let mut paths = Vec::new();
    for s in &listed {
        let bytes = get(format!("/v1/snapshots/{}", s.digest)).await;
        assert_eq!(
            bytes, sent[&s.digest],
            "snapshot {} changed in storage",
            s.digest
        );
        let p = files.join(format!("{}.json", s.digest));
        std::fs::write(&p, &bytes).unwrap();
        paths.push(p);
    }

    // An auditor, offline: the keys file the server publishes, then every envelope.
    let keys = files.join("keys.txt");
    std::fs::write(&keys, get("/v1/keys".into()).await).unwrap();
    let ring = Keyring::load(&keys).unwrap();
    let report = verify_files(&paths, &ring, true);
    assert!(report.ok(), "{:#?}", report.failure_lines());
    assert_eq!(report.chains.chains.len(), 2);
    for c in &report.chains.chains {
        assert_eq!((c.first, c.last, c.count), (1, 100, 100));
    }
    assert!(
        report.chains.problems.is_empty(),
        "{:?}",
        report.chains.problems
    );

    // And the auditor notices a snapshot removed from the middle of a chain.
    let mut gap = paths.clone();
    let victim = listed.iter().position(|s| s.sequence == 50).unwrap();
    gap.remove(victim);
    let report = verify_files(&gap, &ring, false);
    assert!(!report.ok());
    assert!(
        report
            .failure_lines()
            .iter()
            .any(|l| l.contains("gap, sequence 50 is missing"))
    );
    server.stop().await;
}
