//! The load generator against the real server on loopback HTTPS: simulated agents enrol with
//! tokens an admin token issued, push real signed chains, and the report's counts match what
//! the server stored; a token that may not provision is refused by name.

use vouch_server::auth::Role;
use vouch_server::loadgen::{LoadConfig, LoadError, run};
use vouch_tests::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_agents_push_chains_and_the_report_matches_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server")).await;
    let state = server.running().state().clone();
    let admin = state.create_api_token(Role::Admin, "load").await.unwrap();
    let config = LoadConfig {
        url: server.url.clone(),
        ca_pem: Some(server.ca_pem.clone()),
        admin_token: admin,
        agents: 6,
        snapshots_per_agent: 5,
        concurrency: 3,
        evidence_items: 20,
    };
    let report = run(&config).await.unwrap();
    assert_eq!(report.sent, 30, "{}", report.render());
    assert_eq!(report.accepted, 30, "{}", report.render());
    assert_eq!(report.duplicates, 0);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let [p50, p90, p99, max] = report.latency_ms;
    assert!(
        0.0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max,
        "{:?}",
        report.latency_ms
    );
    assert!(report.accepted_per_sec > 0.0);
    assert!(report.envelope_bytes > 20 * 40, "{}", report.envelope_bytes);
    // What the report counts is what the server holds: six complete chains of five.
    assert_eq!(state.store().snapshot_count().await.unwrap(), 30);
    let chains = state.store().assets().await.unwrap();
    assert_eq!(chains.len(), 6);
    for c in &chains {
        assert_eq!((c.snapshot_count, c.last_sequence), (5, 5), "{c:?}");
    }

    // Only an admin provisions agents.
    let auditor = state.create_api_token(Role::Auditor, "a").await.unwrap();
    let err = run(&LoadConfig {
        admin_token: auditor,
        ..config.clone()
    })
    .await
    .expect_err("refused");
    assert!(
        matches!(&err, LoadError::Provision(m) if m.contains("403") && m.contains("may not provision agents")),
        "{err}"
    );
    assert!(matches!(
        run(&LoadConfig {
            agents: 0,
            ..config
        })
        .await,
        Err(LoadError::Config(_))
    ));
}
