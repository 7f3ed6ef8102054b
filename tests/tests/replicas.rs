//! Two `vouch serve` replicas on different ports over one PostgreSQL database and one S3 bucket
//! under Object Lock (the cluster and the moto server `.ci/with-services` starts) behave as one
//! server: agents whose every snapshot is sent to both replicas at once, and out of order, get
//! each snapshot stored exactly once, chains complete, the same receipt from either replica; both
//! replicas' uploaders move the envelopes to the bucket, each exactly once (one object, one
//! version per envelope), and either replica serves each envelope byte for byte from there. Regression pinned here: a replica refused
//! agents enrolled through the other with 401 `unknown_key` (its keyring was read only at
//! start); it now reads the keyring from the store again on a miss.

use std::collections::BTreeMap;

use vouch_evidence::api::{EnrollRequest, EnrollResponse};
use vouch_evidence::{Digest, SigningKey};
use vouch_server::ServerConfig;
use vouch_tests::generate::host_snapshot;
use vouch_tests::server::{ENROLLED_AT, TestServer, https_client};

const AGENTS: usize = 4;
const CHAIN: u64 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_over_one_database_store_each_snapshot_once() {
    let base = std::env::var("VOUCH_TEST_POSTGRES_URL")
        .expect("VOUCH_TEST_POSTGRES_URL is not set: run the tests under `bash .ci/with-services`");
    let url = vouch_server::store::postgres::create_test_database(&base)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bucket = vouch_tests::objects::bucket(Some(1)).await;
    let objects = vouch_tests::objects::store(&bucket).await;
    let config = |name: &str| ServerConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join(name),
        database_url: Some(url.clone()),
        objects: Some(bucket.clone()),
        ..ServerConfig::default()
    };
    let a = TestServer::start_using(config("a"), Some(objects.clone())).await;
    // The second replica shares the first's identity: its receipt key and its certificate.
    std::fs::create_dir_all(dir.path().join("b/tls")).unwrap();
    std::fs::copy(
        dir.path().join("a/receipt.key"),
        dir.path().join("b/receipt.key"),
    )
    .unwrap();
    for f in std::fs::read_dir(dir.path().join("a/tls")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.path().join("b/tls").join(f.file_name())).unwrap();
    }
    let b = TestServer::start_using(config("b"), Some(objects.clone())).await;
    assert_ne!(a.url, b.url);
    let client = https_client(&a.ca_pem);

    // Agents enrol through either replica, at a fixed instant before the fixtures' collection
    // instants (a snapshot collected before its agent enrolled is refused); each signs its chain.
    let enrolled_at = vouch_evidence::Clock::Fixed(ENROLLED_AT.parse().unwrap());
    a.running().state().set_clock(enrolled_at);
    b.running().state().set_clock(enrolled_at);
    let mut chains: Vec<Vec<(Digest, Vec<u8>)>> = Vec::new();
    for n in 0..AGENTS {
        let key = SigningKey::from_seed(&[n as u8 + 40; 32]);
        let server = if n % 2 == 0 { &a } else { &b };
        let enrolled: EnrollResponse = client
            .post(format!("{}/v1/enroll", server.url))
            .json(&EnrollRequest {
                token: a.enroll_token().await,
                public_key: key.public().to_base64(),
                name: format!("replica-{n}"),
                assets: vec![vouch_evidence::api::AssetRef {
                    kind: vouch_evidence::AssetKind::Host,
                    id: format!("m-{n}"),
                }],
            })
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut previous = None;
        let mut chain = Vec::new();
        for seq in 1..=CHAIN {
            let snapshot =
                host_snapshot(&enrolled.agent_id, &format!("m-{n}"), seq, previous, 2_000);
            let (env, digest) = snapshot.sign(&key).unwrap();
            chain.push((digest, env.to_vec()));
            previous = Some(digest);
        }
        chains.push(chain);
    }
    a.running().state().set_clock(vouch_evidence::Clock::System);
    b.running().state().set_clock(vouch_evidence::Clock::System);

    // Rounds: every snapshot not yet stored is sent to both replicas at once, newest first
    // (out of order); a chain refusal is retried next round, as an agent would.
    let mut stored: BTreeMap<Digest, ()> = BTreeMap::new();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for _round in 0..(CHAIN as usize + 2) {
        let mut sends = tokio::task::JoinSet::new();
        for chain in &chains {
            for (digest, env) in chain.iter().rev() {
                if stored.contains_key(digest) {
                    continue;
                }
                for server in [&a, &b] {
                    let (client, url, env, digest) = (
                        client.clone(),
                        format!("{}/v1/snapshots", server.url),
                        env.clone(),
                        *digest,
                    );
                    sends.spawn(async move {
                        let resp = client
                            .post(url)
                            .header("content-type", "application/json")
                            .body(env)
                            .send()
                            .await
                            .unwrap();
                        (digest, resp.status().as_u16())
                    });
                }
            }
        }
        if sends.is_empty() {
            break;
        }
        while let Some(done) = sends.join_next().await {
            let (digest, status) = done.unwrap();
            *statuses.entry(status).or_default() += 1;
            if status == 200 || status == 201 {
                stored.insert(digest, ());
            }
        }
    }
    let total = AGENTS * CHAIN as usize;
    assert_eq!(stored.len(), total, "statuses {statuses:?}");
    assert!(
        statuses.keys().all(|s| [200, 201, 409].contains(s)),
        "only stored, duplicate or out-of-turn answers: {statuses:?}"
    );
    assert_eq!(statuses[&201], total, "each stored once: {statuses:?}");
    let store = a.running().state().store().clone();
    assert_eq!(store.snapshot_count().await.unwrap(), total as u64);
    for c in store.assets().await.unwrap() {
        assert_eq!((c.snapshot_count, c.last_sequence), (CHAIN, CHAIN), "{c:?}");
    }
    // Either replica answers the same receipt for a snapshot.
    let token = &a.admin_token;
    for (digest, _) in chains.iter().flatten().take(6) {
        let mut receipts = Vec::new();
        for server in [&a, &b] {
            let r = client
                .get(format!("{}/v1/snapshots/{digest}/receipt", server.url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            receipts.push(r.bytes().await.unwrap());
        }
        assert_eq!(receipts[0], receipts[1]);
    }

    // Both uploaders drain the database into the one bucket.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store.pending_uploads().await.unwrap() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "envelopes still in the database after 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let versions = vouch_tests::objects::versions(&bucket.bucket).await;
    assert_eq!(
        versions.len(),
        total,
        "one object per envelope: {versions:?}"
    );
    assert!(
        versions.values().all(|n| *n == 1),
        "each put once: {versions:?}"
    );
    for (n, (digest, env)) in chains.iter().flatten().enumerate() {
        assert!(
            matches!(
                store.envelope_location(*digest).await.unwrap(),
                Some(vouch_server::store::EnvelopeLocation::Object { .. })
            ),
            "{digest} is not in the bucket"
        );
        let server = if n % 2 == 0 { &a } else { &b };
        let r = client
            .get(format!("{}/v1/snapshots/{digest}", server.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(&r.bytes().await.unwrap()[..], &env[..], "{digest}");
    }
}
