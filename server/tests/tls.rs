//! The server on a real loopback socket over HTTPS: rustls (ring) on both sides, the local CA,
//! HTTP/2 and HTTP/1.1, and a stop and restart on the same data directory and port.

use std::collections::BTreeMap;
use std::sync::Arc;

use vouch_evidence::api::{EnrollRequest, EnrollResponse, SubmitResponse};
use vouch_evidence::{EvidenceItem, PublicKey, Receipt, SigningKey, Snapshot, Source};
use vouch_server::ServerConfig;
use vouch_server::auth::Role;

fn client(ca_pem: Option<&[u8]>, http1_only: bool) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = ca_pem {
        for cert in rustls_pemfile::certs(&mut &pem[..]) {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = if http1_only {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    let mut b = reqwest::Client::builder().use_preconfigured_tls(tls);
    if http1_only {
        b = b.http1_only();
    }
    b.build().unwrap()
}

fn snapshot(agent_id: &str, sequence: u64) -> Snapshot {
    let at = "2026-11-24T01:00:00Z".parse().unwrap();
    let mut evidence = BTreeMap::new();
    evidence.insert(
        "host.kernel.release".to_string(),
        EvidenceItem::ok("6.1.0", Source::File("/proc/sys/kernel/osrelease".into())),
    );
    vouch_evidence::testing::host_snapshot(agent_id, "m-1", at, sequence, None, evidence)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_ingest_survives_a_restart_on_the_same_port_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        ..ServerConfig::default()
    };
    let server = vouch_server::start(&config).await.unwrap();
    let port = server.local_addr.port();
    assert_ne!(port, 0);
    let ca_path = server
        .ca_cert
        .clone()
        .expect("the local CA is used without [tls]");
    let ca = std::fs::read(&ca_path).unwrap();
    let url = format!("https://localhost:{port}");
    let h2 = client(Some(&ca), false);
    let h1 = client(Some(&ca), true);

    let resp = h2.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.version()),
        (200, reqwest::Version::HTTP_2)
    );
    let resp = h1.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.version()),
        (200, reqwest::Version::HTTP_11)
    );
    // The IP address is in the certificate too.
    let resp = h1
        .get(format!("https://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A client that does not trust the local CA cannot talk to it.
    assert!(
        client(None, false)
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_err()
    );

    let key = SigningKey::from_seed(&[5; 32]);
    let scope = vouch_server::scope::Scope::parse(&["host:m-1"]).unwrap();
    let token = server
        .state()
        .create_enroll_token(600, &scope, "tls", "test")
        .await
        .unwrap();
    let admin = server
        .state()
        .create_api_token(Role::Admin, "t")
        .await
        .unwrap();
    // Enrolled before the snapshots' fixed collection instant (the server refuses a snapshot
    // collected before its agent enrolled), whatever day the test runs.
    server.state().set_clock(vouch_evidence::Clock::Fixed(
        "2026-11-24T00:00:00Z".parse().unwrap(),
    ));
    let resp = h2
        .post(format!("{url}/v1/enroll"))
        .json(&EnrollRequest {
            token,
            public_key: key.public().to_base64(),
            name: "web-1".into(),
            assets: vec![],
        })
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    server.state().set_clock(vouch_evidence::Clock::System);
    let enrolled: EnrollResponse = resp.json().await.unwrap();
    assert!(enrolled.agent_id.starts_with("agt_") && enrolled.agent_id.len() == 20);
    let server_key = PublicKey::from_base64(&enrolled.server_key).unwrap();

    let (env, digest) = snapshot(&enrolled.agent_id, 1).sign(&key).unwrap();
    let env = env.to_vec();
    let resp = h1
        .post(format!("{url}/v1/snapshots"))
        .body(env.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let first: SubmitResponse = resp.json().await.unwrap();
    assert_eq!(
        Receipt::verify(&first.receipt, &server_key).unwrap().digest,
        digest
    );

    server.shutdown().await;
    assert!(
        h1.get(format!("{url}/healthz")).send().await.is_err(),
        "stopped"
    );

    // Same data directory, same port chosen explicitly.
    config.listen = format!("127.0.0.1:{port}");
    let server = vouch_server::start(&config).await.unwrap();
    assert_eq!(server.local_addr.port(), port);
    assert_eq!(
        std::fs::read(&ca_path).unwrap(),
        ca,
        "the CA is reused, agents keep trusting it"
    );
    let h2 = client(Some(&ca), false);
    let resp = h2
        .post(format!("{url}/v1/snapshots"))
        .body(env.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "a resend after restart is a duplicate");
    let again: SubmitResponse = resp.json().await.unwrap();
    assert!(again.duplicate);
    assert_eq!(
        again.receipt, first.receipt,
        "the same receipt, byte for byte"
    );
    let stored = h2
        .get(format!("{url}/v1/snapshots/{digest}"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), env.as_slice());
    let keys = h2
        .get(format!("{url}/v1/keys"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(keys.contains(&key.public().to_line(&enrolled.agent_id)));
    assert!(keys.contains(&server_key.to_base64()));
    server.shutdown().await;
}
