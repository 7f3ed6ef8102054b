//! Envelopes in S3 object storage, against the moto S3 server `.ci/with-services` starts
//! (`VOUCH_TEST_MOTO_URL`), over both index backends (SQLite and a fresh PostgreSQL database):
//! the uploader moves each envelope to a content-addressed key under Object Lock and the
//! database keeps only the index; reads are checked against the recorded SHA-256 (an object
//! altered in the bucket is reported, never served); retention expires what its period allows
//! but never an envelope under Object Lock, never one collected inside an open audit period,
//! never a chain's head, and deletes every version of what it expires; the API answers 410.
//! An uploader's conditional put answered 412 (something is already under the key) counts as
//! done only when the object there hashes to the envelope's digest.
//! Regression pinned here: a newer, unlocked version written over a locked envelope hid the
//! lock from `HeadObject`, so expiry marked it expired and then failed to delete the locked
//! version; the lock check now reads every version.

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectLockMode;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;
use vouch_evidence::{AssetKind, ChainKey, Digest, SigningKey, Timestamp};
use vouch_server::auth::Role;
use vouch_server::objects::{LockModeSetting, LockSettings, ObjectError, Uploader};
use vouch_server::retention::{RetentionConfig, expire};
use vouch_server::state::{AppState, Limits};
use vouch_server::store::postgres::PgStore;
use vouch_server::store::sqlite::SqliteStore;
use vouch_server::store::{NewAuditPeriod, NewSnapshot, Store, StoreError};
use vouch_tests::objects::{bucket, raw_client, store as object_store};

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_micros(1_790_000_000_000_000 + secs * 1_000_000).unwrap()
}

/// A chain of `n` for `agent` collected at 10 s, 20 s, …; the bytes stand in for envelopes.
fn chain(agent: &str, n: u64) -> Vec<NewSnapshot> {
    let mut out: Vec<NewSnapshot> = Vec::new();
    for sequence in 1..=n {
        let envelope = format!("{{\"envelope\":\"{agent} {sequence}\"}}").into_bytes();
        out.push(NewSnapshot {
            digest: Digest::of(&envelope),
            chain: ChainKey {
                agent_id: agent.into(),
                asset_kind: AssetKind::Host,
                asset_id: format!("m-{agent}"),
            },
            asset_name: format!("web-{agent}"),
            sequence,
            previous_digest: out.last().map(|s| s.digest),
            collected_at: at(sequence as i64 * 10),
            received_at: at(sequence as i64 * 10 + 1),
            receipt: format!("receipt {sequence}").into_bytes(),
            envelope,
        });
    }
    out
}

async fn backend(name: &str, dir: &std::path::Path) -> Arc<dyn Store> {
    match name {
        "sqlite" => Arc::new(SqliteStore::open(&dir.join(format!("{}.db", rand_name()))).unwrap()),
        _ => {
            let base = std::env::var("VOUCH_TEST_POSTGRES_URL").expect(
                "VOUCH_TEST_POSTGRES_URL is not set: run the tests under `bash .ci/with-services`",
            );
            let url = vouch_server::store::postgres::create_test_database(&base)
                .await
                .unwrap();
            Arc::new(PgStore::connect(&url).await.unwrap())
        }
    }
}

/// A fresh `name` backend with the bucket of `config` attached (checked first).
async fn backend_with_bucket(
    name: &str,
    dir: &std::path::Path,
    config: &vouch_server::objects::ObjectsConfig,
) -> (Arc<dyn Store>, vouch_server::objects::ObjectStore) {
    let store = backend(name, dir).await;
    let objects = object_store(config).await;
    objects.check().await.unwrap();
    store.attach_objects(objects.clone());
    (store, objects)
}

fn rand_name() -> String {
    Digest::of(format!("{:?}", std::time::Instant::now()).as_bytes()).to_hex()[..12].to_string()
}

fn every_framework(days: u32) -> RetentionConfig {
    RetentionConfig {
        frameworks: ["iso27001-2022", "iso27701-2019", "iso27701-2025"]
            .iter()
            .map(|f| (f.to_string(), days))
            .collect(),
        ..RetentionConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_move_to_a_locked_bucket_and_reads_are_checked() {
    let client = raw_client();
    let mut config = bucket(Some(30)).await;
    config.prefix = "vouch/".into();
    let locked = config.bucket.clone();
    // Object Lock asked for on a bucket without it: refused at start-up, naming the problem.
    let mut wrong = bucket(None).await;
    wrong.lock = Some(LockSettings {
        mode: LockModeSetting::Compliance,
        days: 30,
    });
    let e = object_store(&wrong)
        .await
        .check()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&wrong.bucket) && e.contains("Object Lock is not enabled"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let pack = vouch_policies::PolicyPack::builtin();
    for name in ["sqlite", "postgres"] {
        let (store, objects) = backend_with_bucket(name, dir.path(), &config).await;
        let agent = format!("agt_{name}");
        let c = chain(&agent, 4);
        for s in &c {
            store.ingest(s.clone()).await.unwrap();
        }
        let uploader = Uploader::new(store.clone(), objects.clone());
        assert_eq!(uploader.drain().await.unwrap(), 4, "{name}");
        assert_eq!(store.pending_uploads().await.unwrap(), 0, "{name}");

        // Content-addressed, locked, and read back byte for byte.
        let now = vouch_server::state::now();
        for s in &c {
            let sha = Digest::of(&s.envelope);
            let key = objects.key(&sha);
            assert_eq!(key, format!("vouch/sha256/{}", sha.to_hex()));
            let head = client
                .head_object()
                .bucket(&locked)
                .key(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(
                head.object_lock_mode(),
                Some(&ObjectLockMode::Compliance),
                "{name}"
            );
            let until = head.object_lock_retain_until_date().unwrap().secs();
            let days = (until - now.unix_micros() / 1_000_000) as f64 / 86_400.0;
            assert!((29.9..=30.1).contains(&days), "{name}: locked {days} days");
            assert_eq!(
                store.envelope(s.digest).await.unwrap(),
                Some(s.envelope.clone()),
                "{name}"
            );
        }
        // A second put of the same envelope (another replica's uploader) changes nothing.
        let sha0 = Digest::of(&c[0].envelope);
        objects
            .put(&sha0, c[0].envelope.clone(), now)
            .await
            .unwrap();
        let versions = client
            .list_object_versions()
            .bucket(&locked)
            .prefix(objects.key(&sha0))
            .send()
            .await
            .unwrap();
        assert_eq!(versions.versions().len(), 1, "{name}: one version only");

        // Someone writes other bytes under a key (a new version in a locked bucket): the
        // server reports it and serves nothing.
        let sha1 = Digest::of(&c[1].envelope);
        client
            .put_object()
            .bucket(&locked)
            .key(objects.key(&sha1))
            .body(ByteStream::from(b"{\"forged\":true}".to_vec()))
            .send()
            .await
            .unwrap();
        match store.envelope(c[1].digest).await {
            Err(StoreError::Object(ObjectError::Altered { expected, .. })) => {
                assert_eq!(expected, sha1, "{name}")
            }
            other => panic!("{name}: an altered object was not reported: {other:?}"),
        }
        // Nor is it taken for the envelope when an uploader puts the real bytes again: the
        // bucket's 412 is confirmed by reading the object back, and here it differs.
        match objects.put(&sha1, c[1].envelope.clone(), now).await {
            Err(ObjectError::Altered {
                expected, actual, ..
            }) => {
                assert_eq!(expected, sha1, "{name}");
                assert_eq!(actual, Digest::of(b"{\"forged\":true}"), "{name}");
            }
            other => panic!("{name}: a 412 over altered bytes was trusted: {other:?}"),
        }

        // Retention of a day, applied now (the snapshots were collected in 2026-09): every
        // envelope but the head is past its period, and all are under a 30-day lock.
        let report = expire(
            store.as_ref(),
            Some(&objects),
            &every_framework(1),
            &pack,
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            (report.examined, report.expired, report.held_by_object_lock),
            (3, 0, 3),
            "{name}: {report:?}"
        );
        assert_eq!(
            store.envelope(c[0].digest).await.unwrap(),
            Some(c[0].envelope.clone()),
            "{name}: still there"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_expires_what_no_lock_or_open_audit_period_holds() {
    let client = raw_client();
    let config = bucket(None).await;
    let plain = config.bucket.clone();
    let dir = tempfile::tempdir().unwrap();
    let pack = vouch_policies::PolicyPack::builtin();
    for name in ["sqlite", "postgres"] {
        let (store, objects) = backend_with_bucket(name, dir.path(), &config).await;
        let agent = format!("agt_{name}");
        let c = chain(&agent, 5);
        for s in &c[..4] {
            store.ingest(s.clone()).await.unwrap();
        }
        Uploader::new(store.clone(), objects.clone())
            .drain()
            .await
            .unwrap();
        // The fifth is still in the database when retention runs.
        store.ingest(c[4].clone()).await.unwrap();
        let now = vouch_server::state::now();
        let run = |retention: RetentionConfig| {
            let (store, objects, pack) = (store.clone(), objects.clone(), &pack);
            async move {
                expire(store.as_ref(), Some(&objects), &retention, pack, now)
                    .await
                    .unwrap()
            }
        };

        // Without a retention period for every framework host evidence serves, nothing expires.
        let mut partial = every_framework(1);
        partial.frameworks.remove("iso27001-2022");
        let report = run(partial).await;
        assert_eq!(report.examined, 0, "{name}: {report:?}");
        assert_eq!(report.days_by_kind["host"], None, "{name}");

        // An open audit period over the first snapshot's collection holds it.
        let id = store
            .add_audit_period(NewAuditPeriod {
                framework: "iso27001-2022".into(),
                label: "stage 2".into(),
                from: at(0),
                to: at(15),
                opened_at: now,
            })
            .await
            .unwrap();
        let report = run(every_framework(1)).await;
        assert_eq!(
            (
                report.examined,
                report.expired,
                report.held_by_audit_period,
                report.objects_not_deleted
            ),
            (4, 3, 1, 0),
            "{name}: {report:?}"
        );
        assert_eq!(report.days_by_kind["host"], Some(1), "{name}");
        for s in &c[1..3] {
            // Gone from the bucket, every version.
            let sha = Digest::of(&s.envelope);
            let versions = client
                .list_object_versions()
                .bucket(&plain)
                .prefix(objects.key(&sha))
                .send()
                .await
                .unwrap();
            assert!(versions.versions().is_empty(), "{name}");
            assert!(
                matches!(
                    store.envelope(s.digest).await,
                    Err(StoreError::Expired { .. })
                ),
                "{name}"
            );
            assert!(store.receipt(s.digest).await.unwrap().is_some(), "{name}");
        }
        // The fourth had not been moved yet: expired from the database alike.
        assert!(matches!(
            store.envelope(c[3].digest).await,
            Err(StoreError::Expired { .. })
        ));
        // Held by the audit period, and the head: both still readable.
        assert_eq!(
            store.envelope(c[0].digest).await.unwrap(),
            Some(c[0].envelope.clone())
        );
        assert_eq!(
            store.envelope(c[4].digest).await.unwrap(),
            Some(c[4].envelope.clone())
        );

        // The API answers 410 for an expired envelope, 200 for a kept one.
        let state = AppState::new(
            store.clone(),
            SigningKey::from_seed(&[7; 32]),
            Limits {
                max_body_bytes: 1 << 20,
                clock_skew_secs: 300,
            },
        )
        .await
        .unwrap();
        let token = state.create_api_token(Role::Auditor, "t").await.unwrap();
        let get = |digest: Digest| {
            Request::get(format!("/v1/snapshots/{digest}"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap()
        };
        let app = vouch_server::app(state.clone());
        let gone = app.clone().oneshot(get(c[1].digest)).await.unwrap();
        assert_eq!(gone.status(), StatusCode::GONE, "{name}");
        let kept = app.oneshot(get(c[0].digest)).await.unwrap();
        assert_eq!(kept.status(), StatusCode::OK, "{name}");

        // Once the audit period is closed, the first expires too.
        assert!(store.close_audit_period(id, now).await.unwrap());
        let report = run(every_framework(1)).await;
        assert_eq!(
            (report.examined, report.expired),
            (1, 1),
            "{name}: {report:?}"
        );
    }
}

/// Fault test (e) on object storage: one byte flipped in an envelope in the bucket (someone
/// with write access to it) is named by `vouch fsck`'s check — the snapshot's chain, sequence
/// and digest, and the object's key — and `vouch verify` refuses the object as downloaded; the
/// same store passes before the damage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_in_an_object_is_named_by_fsck_and_verify() {
    use vouch_tests::server::{TestServer, https_client};

    let dir = tempfile::tempdir().unwrap();
    let config = bucket(None).await;
    let objects = object_store(&config).await;
    let server = TestServer::start_using(
        vouch_server::ServerConfig {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            objects: Some(config.clone()),
            ..Default::default()
        },
        Some(objects.clone()),
    )
    .await;
    let client = https_client(&server.ca_pem);
    let key = SigningKey::from_seed(&[61; 32]);
    let agent = server
        .enroll(&client, &key, "fsck", "m-fsck")
        .await
        .agent_id;
    let envelopes = server
        .post_chain(&client, &key, &agent, "m-fsck", 4, 500)
        .await;
    let state = server.running().state();
    let store = state.store().clone();
    Uploader::new(store.clone(), objects.clone())
        .drain()
        .await
        .unwrap();
    assert_eq!(store.pending_uploads().await.unwrap(), 0);
    let server_key = state.receipt_key().public();
    let report = vouch_server::fsck::fsck(store.as_ref(), server_key)
        .await
        .unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!((report.snapshots, report.envelopes_checked), (4, 4));

    // One byte of the third envelope's payload flipped, written over it in the bucket.
    let (damaged, original) = &envelopes[2];
    let object_key = objects.key(&Digest::of(original));
    let mut bytes = original.clone();
    let at = bytes
        .windows(11)
        .position(|w| w == b"\"payload\":\"")
        .unwrap()
        + 40;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    raw_client()
        .put_object()
        .bucket(&config.bucket)
        .key(&object_key)
        .body(ByteStream::from(bytes.clone()))
        .send()
        .await
        .unwrap();

    let report = vouch_server::fsck::fsck(store.as_ref(), server_key)
        .await
        .unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let problem = &report.problems[0];
    assert!(
        problem.contains(&format!("sequence 3 ({damaged})")),
        "{problem}"
    );
    assert!(
        problem.contains(&object_key) && problem.contains("altered"),
        "{problem}"
    );

    // An auditor who downloads the object and checks it offline is refused too.
    let ring = vouch_server::verify::Keyring::parse(&key.public().to_line(&agent), "keys").unwrap();
    let e = vouch_server::verify::verify_bytes(&bytes, &ring, false).unwrap_err();
    assert!(e.contains("signature"), "{e}");
    assert!(vouch_server::verify::verify_bytes(original, &ring, false).is_ok());
}
