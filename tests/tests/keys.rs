//! Agent key rotation end to end (issue 19): the agent makes a new key, signs the change with
//! the old one and the new, and its chains continue: a snapshot spooled before is signed again
//! with the new key when delivered, a running agent picks the new key up, the old key is
//! refused from then on (`key_rotated`), a rotation whose answer was lost is finished by
//! running the command again, and a bundle carries the retired key and the signed rotation so
//! that an auditor verifies the whole chain offline.

use std::path::Path;

use vouch_evidence::api::ErrorBody;
use vouch_evidence::dsse::{self, Envelope};
use vouch_evidence::rotation::KeyRotation;
use vouch_tests::server::TestServer;

use crate::log::{deliver, enrolled_agent};

fn seed_of(state: &Path, file: &str) -> vouch_evidence::SigningKey {
    use base64::Engine as _;
    let text = std::fs::read_to_string(state.join(file)).unwrap();
    let seed: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
        .try_into()
        .unwrap();
    vouch_evidence::SigningKey::from_seed(&seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_rotates_its_key_and_its_chains_continue() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server")).await;
    let state = dir.path().join("agent");
    let (config, agent) = enrolled_agent(&server, &state, "debian12-hardened").await;
    deliver(&agent, 2).await;
    // One more, spooled under the old key and not delivered yet.
    agent.collect_and_spool().await.unwrap();
    let old = seed_of(&state, "agent.key");

    let rotated = vouch_agent::rotate_key(&config).await.unwrap();
    let new = seed_of(&state, "agent.key");
    assert_ne!(old.id(), new.id());
    assert_eq!(rotated.keyid, new.id().to_string());
    assert!(!state.join("key-rotation.json").exists());
    assert!(!state.join("agent.key.new").exists());

    // The running agent signs the spooled snapshot again with the new key; the chain goes on.
    let report = agent.deliver_pending().await.unwrap();
    assert_eq!((report.delivered, report.pending), (1, 0));
    deliver(&agent, 1).await;
    let client = vouch_tests::server::https_client(&server.ca_pem);
    let chain = server
        .running()
        .state()
        .store()
        .assets()
        .await
        .unwrap()
        .remove(0);
    assert_eq!(chain.snapshot_count, 4, "one chain, no gap, no restart");

    // The old key is refused by name, even for a snapshot that would extend the chain.
    let last = server
        .running()
        .state()
        .store()
        .envelope(chain.last_digest)
        .await
        .unwrap()
        .unwrap();
    let payload = Envelope::from_slice(&last)
        .unwrap()
        .payload_bytes()
        .unwrap();
    let forged = dsse::sign(&old, vouch_evidence::SNAPSHOT_PAYLOAD_TYPE, &payload);
    let resp = client
        .post(format!("{}/v1/snapshots", server.url))
        .body(forged.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: ErrorBody = resp.json().await.unwrap();
    assert_eq!(body.error, "key_rotated", "{}", body.message);

    // A rotation whose answer was lost: the server took it, the agent did not hear. Running
    // the command again sends the same signed rotation, which the server answers as done.
    let state_dir = vouch_agent::state::StateDir::open(&state).unwrap();
    let next = state_dir.create_pending_key().unwrap();
    let rotation = KeyRotation {
        owner: rotated.agent_id.clone(),
        old_key: new.public().to_base64(),
        new_key: next.public().to_base64(),
        at: vouch_evidence::Clock::System.now(),
    }
    .sign(&new, &next)
    .to_vec();
    state_dir.save_rotation(&rotation).unwrap();
    let resp = client
        .post(format!("{}/v1/agents/rotate-key", server.url))
        .body(rotation.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let finished = vouch_agent::rotate_key(&config).await.unwrap();
    assert_eq!(finished.keyid, next.id().to_string());
    agent.collect_and_spool().await.unwrap();
    assert_eq!(agent.deliver_pending().await.unwrap().delivered, 1);

    // A rotation not signed by the agent's current key is refused.
    let stranger = vouch_evidence::SigningKey::from_seed(&[77; 32]);
    let hijack = KeyRotation {
        owner: rotated.agent_id.clone(),
        old_key: next.public().to_base64(),
        new_key: stranger.public().to_base64(),
        at: vouch_evidence::Clock::System.now(),
    };
    let mut env = hijack.sign(&stranger, &stranger);
    env.signatures.truncate(1);
    let resp = client
        .post(format!("{}/v1/agents/rotate-key", server.url))
        .body(env.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: ErrorBody = resp.json().await.unwrap();
    assert_eq!(body.error, "bad_signature", "{}", body.message);

    // The bundle: both retired keys, their rotations, every snapshot verified offline.
    let bytes = server
        .export_bundle(2, "k", &dir.path().join("bundle.tar.gz"))
        .await;
    let report = vouch_server::bundle::verify(&bytes, None, 1);
    assert!(report.ok(), "{:#?}", report.failures);
    assert!(
        report.summary.contains("5 envelope(s) in 1 chain(s)"),
        "{}",
        report.summary
    );
    let files = vouch_server::verify::bundle::unpack(&bytes).unwrap();
    for key in [&old, &new] {
        assert!(files.contains_key(&vouch_server::bundle::rotation_file(&key.id())));
    }
    let keys = String::from_utf8(files["keys/keys.txt"].clone()).unwrap();
    assert_eq!(
        keys.lines().filter(|l| l.starts_with("rotated ")).count(),
        2,
        "{keys}"
    );
}

/// The server's receipts key rotated (`vouch keys rotate --role receipts`, server stopped):
/// agents follow the rotation the old key signed and go on delivering; an auditor who pinned
/// the keys before verifies a bundle made after, following the same signed rotation, and
/// every receipt — those of the old key before the rotation, of the new one after — holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_receipts_key_rotates_and_agents_and_auditors_follow() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let mut server = TestServer::start(&data).await;
    let state = dir.path().join("agent");
    let (_, agent) = enrolled_agent(&server, &state, "debian12-hardened").await;
    deliver(&agent, 2).await;
    let pinned = dir.path().join("pinned-keys.txt");
    std::fs::write(&pinned, server.running().state().keys_text()).unwrap();
    let old = server.running().state().receipt_public_key().clone();

    server.stop().await;
    let limits = vouch_server::state::Limits {
        max_body_bytes: 1 << 20,
        clock_skew_secs: 300,
    };
    let admin = vouch_server::AppState::open(&data, None, limits)
        .await
        .unwrap();
    let (from, to) = vouch_server::state::rotate_server_key(
        &data,
        admin.store().as_ref(),
        vouch_server::state::ServerKeyRole::Receipts,
        admin.now(),
    )
    .await
    .unwrap();
    admin.store().close().await.unwrap();
    drop(admin);
    assert_eq!(from, old);
    assert!(!data.join("receipt.key.new").exists());
    assert!(!data.join("receipt.key.rotation.json").exists());
    server.restart().await;
    assert_eq!(server.running().state().receipt_public_key(), &to);

    // The agent follows the rotation the old key signed, and keeps the new key.
    agent.collect_and_spool().await.unwrap();
    let report = agent.deliver_pending().await.unwrap();
    assert_eq!((report.delivered, report.pending), (1, 0), "{report:?}");
    let enrollment = vouch_agent::state::StateDir::open(&state)
        .unwrap()
        .load_enrollment()
        .unwrap();
    assert_eq!(enrollment.server_key, to.to_base64());

    // The auditor's keys pinned before the rotation: the bundle's new key is followed to.
    let bundle = dir.path().join("bundle.tar.gz");
    server.export_bundle(3, "r", &bundle).await;
    let (ok, out) = vouch_tests::server::verify_bundle(
        &bundle,
        vouch_server::verify::cli::VerifyArgs {
            keys: Some(pinned),
            ..vouch_tests::server::plain_verify()
        },
    );
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "the key of vouch-server-receipts ({}) is not pinned, but the bundle shows it introduced by the pinned key {}",
            to.id(),
            old.id()
        )),
        "{out}"
    );
}
