//! The transparency log's API (issue 19): every accepted snapshot is a leaf; the signed
//! checkpoint opens with the log's verifier key; inclusion proofs of each snapshot verify
//! against it; a checkpoint saved earlier is proved a prefix of a later one; a rewritten
//! history is not; the routes are for readers of evidence only, and their mistakes are named.

use crate::common;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use vouch_evidence::note::{Checkpoint, NoteVerifier};
use vouch_evidence::tlog::{self, Hash};
use vouch_server::auth::Role;
use vouch_server::http::log::{ConsistencyProof, InclusionProof};

fn hashes(v: &[String]) -> Vec<Hash> {
    v.iter()
        .map(|h| B64.decode(h).unwrap().try_into().unwrap())
        .collect()
}

async fn get_text(h: &Harness, path: &str, token: &str) -> (StatusCode, String) {
    let (status, body) = call(h, get(path, Some(token))).await;
    (status, String::from_utf8(body).unwrap())
}

#[tokio::test]
async fn checkpoints_and_proofs_an_auditor_checks_with_the_log_key_alone() {
    let h = harness().await;
    let auditor = h
        .state
        .create_api_token(Role::Auditor, "auditor")
        .await
        .unwrap();
    let (status, vkey) = get_text(&h, "/v1/log/key", &auditor).await;
    assert_eq!(status, StatusCode::OK);
    let log = NoteVerifier::parse(&vkey).unwrap();

    let mut agents = [enroll(&h, 1).await, enroll(&h, 2).await];
    let mut digests = Vec::new();
    let mut saved = None;
    for round in 0..5 {
        for agent in agents.iter_mut() {
            let (env, digest) = agent.next();
            assert_eq!(
                call(&h, post("/v1/snapshots", env.clone())).await.0,
                StatusCode::CREATED
            );
            // A resend takes no second leaf.
            assert_eq!(call(&h, post("/v1/snapshots", env)).await.0, StatusCode::OK);
            digests.push(digest);
        }
        if round == 1 {
            let (_, note) = get_text(&h, "/v1/log/checkpoint", &auditor).await;
            saved = Some(Checkpoint::open(&note, &log).unwrap().0);
        }
    }
    let saved = saved.unwrap();
    assert_eq!(saved.size, 4);

    let (status, note) = get_text(&h, "/v1/log/checkpoint", &auditor).await;
    assert_eq!(status, StatusCode::OK);
    let (now, _) = Checkpoint::open(&note, &log).unwrap();
    assert_eq!(now.size, 10);

    let mut indexes = std::collections::BTreeSet::new();
    for d in &digests {
        let (status, body) = call(
            &h,
            get(&format!("/v1/log/inclusion?digest={d}"), Some(&auditor)),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let p: InclusionProof = serde_json::from_slice(&body).unwrap();
        assert_eq!((p.digest, p.size), (*d, now.size));
        assert_eq!(p.checkpoint.as_deref(), Some(note.as_str()));
        tlog::verify_inclusion(
            &tlog::leaf_hash(&d.0),
            p.index,
            p.size,
            &hashes(&p.proof),
            &now.root,
        )
        .unwrap();
        assert!(indexes.insert(p.index));
        // In the older tree too, for the snapshots it held.
        if p.index < saved.size {
            let (_, body) = call(
                &h,
                get(
                    &format!("/v1/log/inclusion?digest={d}&size={}", saved.size),
                    Some(&auditor),
                ),
            )
            .await;
            let old: InclusionProof = serde_json::from_slice(&body).unwrap();
            assert_eq!(old.checkpoint, None);
            tlog::verify_inclusion(
                &tlog::leaf_hash(&d.0),
                old.index,
                saved.size,
                &hashes(&old.proof),
                &saved.root,
            )
            .unwrap();
        }
    }
    assert_eq!(indexes.len(), 10);

    let (status, body) = call(
        &h,
        get(
            &format!("/v1/log/consistency?from={}", saved.size),
            Some(&auditor),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let c: ConsistencyProof = serde_json::from_slice(&body).unwrap();
    assert_eq!((c.from, c.to), (4, 10));
    let proof = hashes(&c.proof);
    tlog::verify_consistency(4, 10, &saved.root, &now.root, &proof).unwrap();
    // A history rewritten under the saved checkpoint does not pass for it.
    let forged = tlog::root_of(&[tlog::leaf_hash(b"rewritten"); 4]);
    assert!(tlog::verify_consistency(4, 10, &forged, &now.root, &proof).is_err());
}

#[tokio::test]
async fn the_log_routes_are_for_readers_and_name_each_mistake() {
    let h = harness().await;
    let mut agent = enroll(&h, 3).await;
    let (env, digest) = agent.next();
    assert_eq!(
        call(&h, post("/v1/snapshots", env)).await.0,
        StatusCode::CREATED
    );
    let agent_token = h
        .state
        .create_api_token(Role::Agent, "agent")
        .await
        .unwrap();
    for path in [
        "/v1/log/checkpoint",
        "/v1/log/key",
        "/v1/log/consistency?from=1",
    ] {
        assert_eq!(
            call(&h, get(path, None)).await.0,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            call(&h, get(path, Some(&agent_token))).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let admin = h.admin.clone();
    for (path, status, code) in [
        (
            "/v1/log/inclusion?digest=nothex",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            &format!(
                "/v1/log/inclusion?digest={}",
                vouch_evidence::Digest::of(b"x")
            ) as &str,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            &format!("/v1/log/inclusion?digest={digest}&size=2"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/v1/log/consistency?from=0",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/v1/log/consistency?from=2",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/v1/log/consistency?from=1&to=5",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ] {
        let (got, body) = call(&h, get(path, Some(&admin))).await;
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(
            (got, body["error"].as_str().unwrap_or("")),
            (status, code),
            "{path}: {body}"
        );
    }
    // One leaf: the tree of one is consistent with itself, with an empty proof.
    let (got, body) = call(&h, get("/v1/log/consistency?from=1", Some(&admin))).await;
    assert_eq!(got, StatusCode::OK);
    let c: ConsistencyProof = serde_json::from_slice(&body).unwrap();
    assert!(c.proof.is_empty());
}

async fn post_text(h: &Harness, path: &str, body: String) -> (StatusCode, String) {
    let req = axum::http::Request::post(path)
        .header("content-type", "text/plain")
        .body(axum::body::Body::from(body))
        .unwrap();
    let (status, body) = call(h, req).await;
    (status, String::from_utf8(body).unwrap())
}

/// Issue 19, witnessing: a second Vouch server configured with the first's log key cosigns
/// its checkpoints by the C2SP tlog-witness protocol, each only when consistent with the last
/// it cosigned; the cosigned checkpoint opens with the log's key and the witness's. A stale
/// old size is a 409 with the size, a fork a 422, an unknown log a 404, a forged signature a
/// 403 — and a refused checkpoint changes nothing the witness recorded.
#[tokio::test]
async fn a_second_server_witnesses_the_log_and_refuses_a_fork() {
    use vouch_evidence::cosign::{AddCheckpoint, open_witnessed};
    let log = harness().await;
    let witness = harness().await;
    let vkey = log.state.log().verifier();
    witness.state.set_witness(
        vouch_server::witness::WitnessService::new(
            vouch_evidence::SigningKey::from_seed(&[42; 32]),
            &vouch_server::witness::WitnessConfig {
                logs: vec![vkey.to_string()],
            },
            None,
        )
        .unwrap(),
    );
    let (status, wkey) = get_text(&witness, "/v1/witness/key", "").await;
    assert_eq!(status, StatusCode::OK);
    let wkey = vouch_evidence::cosign::Witness::parse(&wkey).unwrap();

    let mut agent = enroll(&log, 1).await;
    let mut deliver = async |n: usize| {
        for _ in 0..n {
            let (env, _) = agent.next();
            assert_eq!(
                call(&log, post("/v1/snapshots", env)).await.0,
                StatusCode::CREATED
            );
        }
        log.state.checkpoint().await.unwrap().1
    };
    let first = deliver(3).await;
    let add = |old: u64, proof: Vec<Hash>, note: &str| {
        AddCheckpoint {
            old,
            proof,
            note: note.to_string(),
        }
        .to_body()
    };
    let (status, lines) = post_text(
        &witness,
        "/v1/witness/add-checkpoint",
        add(0, vec![], &first),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lines}");
    let cosigned = format!("{first}{lines}");
    let (c, by) = open_witnessed(&cosigned, &vkey, std::slice::from_ref(&wkey), 1).unwrap();
    assert_eq!((c.size, by.len()), (3, 1));

    // The same old size again: the witness has moved on, and says where.
    let second = deliver(4).await;
    let (status, body) = post_text(
        &witness,
        "/v1/witness/add-checkpoint",
        add(0, vec![], &second),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::CONFLICT, "3\n"));

    // A fork of the tree the witness cosigned: a forged root of 7 leaves, signed by the log.
    let log_key = vouch_server::checkpoints::derived_log_key(
        &vouch_evidence::SigningKey::from_seed(&[99; 32]),
    );
    let forked = Checkpoint {
        origin: vkey.name().to_string(),
        size: 7,
        root: tlog::leaf_hash(b"another history"),
        extensions: Vec::new(),
    }
    .sign(&log_key)
    .unwrap()
    .to_string();
    let ranges = tlog::consistency_ranges(3, 7).unwrap();
    let proof = log.state.store().log_proof(&ranges).await.unwrap();
    let (status, _) = post_text(
        &witness,
        "/v1/witness/add-checkpoint",
        add(3, proof.clone(), &forked),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The honest checkpoint with the same proof is cosigned: the fork changed nothing.
    let (status, lines) = post_text(
        &witness,
        "/v1/witness/add-checkpoint",
        add(3, proof, &second),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lines}");
    assert!(open_witnessed(&format!("{second}{lines}"), &vkey, &[wkey], 1).is_ok());

    // A log the witness does not follow, and a checkpoint not signed by the log's key.
    let stranger = Checkpoint {
        origin: "other.example/log".into(),
        size: 1,
        root: tlog::leaf_hash(b"x"),
        extensions: Vec::new(),
    }
    .sign(&vouch_evidence::SigningKey::from_seed(&[5; 32]))
    .unwrap()
    .to_string();
    let (status, _) = post_text(
        &witness,
        "/v1/witness/add-checkpoint",
        add(0, vec![], &stranger),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let impostor = Checkpoint::open(&second, &vkey)
        .unwrap()
        .0
        .sign(&vouch_evidence::SigningKey::from_seed(&[5; 32]))
        .unwrap()
        .to_string();
    let (status, _) = post_text(
        &witness,
        "/v1/witness/add-checkpoint",
        add(7, vec![], &impostor),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post_text(&witness, "/v1/witness/add-checkpoint", "old 01\n\nx".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A server that is no witness says so.
    let (status, _) = get_text(&log, "/v1/witness/key", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The witness's record survives a restart: a checkpoint cosigned before it is the one the
/// next request must extend (a replay from size 0 is a conflict naming its size).
#[tokio::test]
async fn the_witness_remembers_what_it_cosigned_across_a_restart() {
    use vouch_evidence::cosign::{AddCheckpoint, WitnessRefusal};
    use vouch_server::witness::{WitnessConfig, WitnessError, WitnessService};
    let log = harness().await;
    let mut agent = enroll(&log, 1).await;
    for _ in 0..2 {
        let (env, _) = agent.next();
        assert_eq!(
            call(&log, post("/v1/snapshots", env)).await.0,
            StatusCode::CREATED
        );
    }
    let note = log.state.checkpoint().await.unwrap().1;
    let config = WitnessConfig {
        logs: vec![log.state.log().verifier().to_string()],
    };
    let dir = tempfile::tempdir().unwrap();
    let key = || vouch_evidence::SigningKey::from_seed(&[42; 32]);
    let body = AddCheckpoint {
        old: 0,
        proof: Vec::new(),
        note,
    }
    .to_body();
    let w = WitnessService::new(key(), &config, Some(dir.path().to_path_buf())).unwrap();
    assert!(
        w.add(&body, 1_700_000_000)
            .await
            .unwrap()
            .starts_with('\u{2014}')
    );
    drop(w);
    let again = WitnessService::new(key(), &config, Some(dir.path().to_path_buf())).unwrap();
    assert!(matches!(
        again.add(&body, 1_700_000_001).await,
        Err(WitnessError::Refused(WitnessRefusal::Conflict(2)))
    ));
}

/// The deliveries of one batch share a checkpoint: one covering their leaf (and the tree their
/// agent saw) is reused while it is large enough and signed by the current signer; a larger
/// need reads the head again; a need beyond the log (it shrank) gets the head as it is; a new
/// log key is never answered with the old key's checkpoint.
#[tokio::test]
async fn deliveries_share_a_checkpoint_that_covers_them() {
    let h = harness().await;
    let mut agent = enroll(&h, 1).await;
    let mut post_next = async || {
        let (env, _) = agent.next();
        assert_eq!(
            call(&h, post("/v1/snapshots", env)).await.0,
            StatusCode::CREATED
        );
    };
    for _ in 0..3 {
        post_next().await;
    }
    let verifier = h.state.log().verifier();
    let (first, note) = h.state.checkpoint_covering(1).await.unwrap();
    assert_eq!(first.size, 3);
    assert_eq!(Checkpoint::open(&note, &verifier).unwrap().0.size, 3);
    post_next().await;
    // Still large enough for a leaf below 3: the same checkpoint, not a new read.
    let (again, same) = h.state.checkpoint_covering(2).await.unwrap();
    assert_eq!((again, &same), (first, &note));
    // Leaf 3 needs a tree of 4: read and signed now.
    let (grown, grown_note) = h.state.checkpoint_covering(4).await.unwrap();
    assert_eq!(grown.size, 4);
    assert_eq!(grown, h.state.store().log_head().await.unwrap());
    assert_eq!(Checkpoint::open(&grown_note, &verifier).unwrap().0.size, 4);
    // An agent that saw 9 leaves of a log of 4 gets the head as it is, and finds it shrank.
    assert_eq!(h.state.checkpoint_covering(9).await.unwrap().0.size, 4);
    // A new log key: the kept checkpoint is not reused.
    let key = vouch_evidence::SigningKey::from_seed(&[42; 32]);
    h.state
        .set_log(vouch_server::state::LogSigner::new(key, None));
    let new_verifier = h.state.log().verifier();
    let (_, renewed) = h.state.checkpoint_covering(1).await.unwrap();
    assert!(
        Checkpoint::open(&renewed, &new_verifier).is_ok(),
        "{renewed}"
    );
    assert!(Checkpoint::open(&renewed, &verifier).is_err());
}
