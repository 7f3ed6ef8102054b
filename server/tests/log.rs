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
