//! Handler tests: the real router and the real SQLite store, called with `oneshot` (no socket).

use axum::http::StatusCode;
use vouch_evidence::api::{EnrollRequest, ErrorBody, SubmitResponse};
use vouch_evidence::dsse::{self, Envelope};
use vouch_evidence::{Digest, Receipt, SNAPSHOT_PAYLOAD_TYPE, SigningKey, Timestamp};
use vouch_server::auth::Role;
use vouch_server::state::Limits;

use crate::common;
use common::*;

async fn error_of(h: &Harness, body: Vec<u8>) -> (StatusCode, ErrorBody) {
    let (status, resp) = call(h, post("/v1/snapshots", body)).await;
    (
        status,
        serde_json::from_slice(&resp)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&resp))),
    )
}

#[tokio::test]
async fn accepted_snapshot_gets_a_verifiable_receipt_and_identical_bytes_back() {
    let h = harness().await;
    let mut a = enroll(&h, 1).await;
    let (env, digest) = a.next();
    let (status, body) = call(&h, post("/v1/snapshots", env.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    let resp: SubmitResponse = serde_json::from_slice(&body).unwrap();
    assert!(!resp.duplicate);
    let receipt = Receipt::verify(&resp.receipt, &a.server_key).unwrap();
    assert_eq!((receipt.digest, receipt.sequence), (digest, 1));

    let (status, back) = call(&h, get(&format!("/v1/snapshots/{digest}"), Some(&h.admin))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        back, env,
        "the stored envelope must be byte for byte what was sent"
    );
    let (status, receipt_bytes) = call(
        &h,
        get(&format!("/v1/snapshots/{digest}/receipt"), Some(&h.admin)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        receipt_bytes,
        resp.receipt.to_vec(),
        "the receipt given out"
    );
    let (status, ok) = call(&h, get("/healthz", None)).await;
    assert_eq!(
        (status, ok.as_slice()),
        (StatusCode::OK, b"ok\n".as_slice())
    );
}

/// `/metrics` lists every rejection reason, zero included, and counts ingest latency.
#[tokio::test]
async fn metrics_list_every_reason_and_the_ingest_histogram() {
    let h = harness().await;
    let mut a = enroll(&h, 5).await;
    let (env, _) = a.next();
    call(&h, post("/v1/snapshots", env)).await;
    call(&h, post("/v1/snapshots", b"nope".to_vec())).await;
    let (status, text) = call(&h, get("/metrics", None)).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(text).unwrap();
    for reason in vouch_evidence::api::RejectReason::ALL {
        let want = if reason == vouch_evidence::api::RejectReason::Malformed {
            1
        } else {
            0
        };
        let line = format!("vouch_snapshots_rejected_total{{reason=\"{reason}\"}} {want}\n");
        assert!(text.contains(&line), "{line} missing in\n{text}");
    }
    for line in [
        "vouch_snapshots_accepted_total 1\n",
        "vouch_enrollments_total 1\n",
        "vouch_ingest_duration_seconds_bucket{le=\"+Inf\"} 1\n",
        "vouch_ingest_duration_seconds_count 1\n",
        "# TYPE vouch_ingest_duration_seconds histogram\n",
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
}

/// Exactly once: re-sending an accepted snapshot returns the same receipt and stores nothing.
#[tokio::test]
async fn resend_returns_the_same_receipt_and_stores_nothing() {
    let h = harness().await;
    let mut a = enroll(&h, 2).await;
    let (env, _) = a.next();
    let (_, first) = call(&h, post("/v1/snapshots", env.clone())).await;
    let (status, second) = call(&h, post("/v1/snapshots", env)).await;
    assert_eq!(status, StatusCode::OK);
    let first: SubmitResponse = serde_json::from_slice(&first).unwrap();
    let second: SubmitResponse = serde_json::from_slice(&second).unwrap();
    assert!(second.duplicate);
    assert_eq!(first.receipt, second.receipt);
    assert_eq!(stored(&h).await, 1);
    let metrics = call(&h, get("/metrics", None)).await.1;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("vouch_snapshots_accepted_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vouch_snapshots_duplicate_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_rejection_has_its_status_and_code_is_logged_and_stores_nothing() {
    let h = harness().await;
    let mut a = enroll(&h, 3).await;
    let (first, _) = a.next();
    assert_eq!(
        call(&h, post("/v1/snapshots", first)).await.0,
        StatusCode::CREATED
    );

    let mut cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = Vec::new();

    // An altered payload: one evidence byte changed after signing.
    let (good, _) = a.next();
    let mut env = Envelope::from_slice(&good).unwrap();
    let mut payload = env.payload_bytes().unwrap();
    let pos = payload.windows(5).position(|w| w == b"6.1.2").unwrap();
    payload[pos + 4] = b'9';
    env.payload = dsse_b64(&payload);
    cases.push((
        "altered",
        env.to_vec(),
        StatusCode::FORBIDDEN,
        "bad_signature",
    ));

    // A forged signature: the right key id, someone else's signature.
    let mut forged = Envelope::from_slice(&good).unwrap();
    let other = SigningKey::from_seed(&[200; 32]);
    let payload = forged.payload_bytes().unwrap();
    forged.signatures[0].sig = dsse::sign(&other, SNAPSHOT_PAYLOAD_TYPE, &payload).signatures[0]
        .sig
        .clone();
    cases.push((
        "forged",
        forged.to_vec(),
        StatusCode::FORBIDDEN,
        "bad_signature",
    ));

    // Signed by a key that never enrolled.
    let stranger = TestAgent {
        key: other,
        id: a.id.clone(),
        host: a.host.clone(),
        server_key: a.server_key.clone(),
        head: None,
    };
    let (env, _) = snapshot(&stranger, 2, a.head.map(|h| h.1))
        .sign(&stranger.key)
        .unwrap();
    cases.push((
        "unknown key",
        env.to_vec(),
        StatusCode::UNAUTHORIZED,
        "unknown_key",
    ));

    // Out of chain: sequence 3 while the head is 1 (a gap), and sequence 1 again, different.
    let (env, _) = snapshot(&a, 3, Some(Digest::of(b"x")))
        .sign(&a.key)
        .unwrap();
    cases.push(("gap", env.to_vec(), StatusCode::CONFLICT, "chain_gap"));
    let mut fork = snapshot(&a, 1, None);
    fork.asset.name = "forked".into();
    cases.push((
        "fork",
        fork.sign(&a.key).unwrap().0.to_vec(),
        StatusCode::CONFLICT,
        "chain_conflict",
    ));
    let (env, _) = snapshot(&a, 2, Some(Digest::of(b"not the head")))
        .sign(&a.key)
        .unwrap();
    cases.push((
        "broken link",
        env.to_vec(),
        StatusCode::CONFLICT,
        "chain_conflict",
    ));

    // The right key, another agent's name.
    let mut other_agent = snapshot(&a, 2, a.head.map(|h| h.1));
    other_agent.agent_id = "agt_someoneelse".into();
    cases.push((
        "agent mismatch",
        other_agent.sign(&a.key).unwrap().0.to_vec(),
        StatusCode::FORBIDDEN,
        "agent_mismatch",
    ));

    // Collected a day in the future.
    let mut future = snapshot(&a, 2, None);
    future.previous_digest = None;
    future.sequence = 1;
    future.collected_at =
        Timestamp::from_unix_micros(vouch_server::state::now().unix_micros() + 86_400_000_000)
            .unwrap();
    cases.push((
        "clock skew",
        future.sign(&a.key).unwrap().0.to_vec(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "clock_skew",
    ));

    // A signed payload that is not canonical JSON.
    let pretty = serde_json::to_vec_pretty(&snapshot(&a, 2, a.head.map(|h| h.1))).unwrap();
    cases.push((
        "not canonical",
        dsse::sign(&a.key, SNAPSHOT_PAYLOAD_TYPE, &pretty).to_vec(),
        StatusCode::BAD_REQUEST,
        "not_canonical",
    ));

    // Canonical and signed, but it breaks a schema rule (an evidence id must be dotted).
    let mut bad_id = snapshot(&a, 2, a.head.map(|h| h.1));
    let item = bad_id.evidence.remove("host.kernel.release").unwrap();
    bad_id.evidence.insert("Kernel".into(), item);
    let canonical = vouch_evidence::canonical::to_vec(&bad_id).unwrap();
    cases.push((
        "invalid snapshot",
        dsse::sign(&a.key, SNAPSHOT_PAYLOAD_TYPE, &canonical).to_vec(),
        StatusCode::BAD_REQUEST,
        "invalid_snapshot",
    ));

    // Another payload type.
    cases.push((
        "payload type",
        dsse::sign(&a.key, "text/plain", b"hi").to_vec(),
        StatusCode::BAD_REQUEST,
        "payload_type",
    ));

    // Not an envelope at all, and too big.
    cases.push((
        "malformed",
        b"{not json".to_vec(),
        StatusCode::BAD_REQUEST,
        "malformed",
    ));
    cases.push((
        "oversize",
        vec![b' '; 100 * 1024],
        StatusCode::PAYLOAD_TOO_LARGE,
        "oversize",
    ));

    let before = stored(&h).await;
    let mut kept_before = 0;
    for (i, (name, body, status, code)) in cases.iter().enumerate() {
        let (got, err) = error_of(&h, body.clone()).await;
        assert_eq!(
            (got, err.error.as_str()),
            (*status, *code),
            "case {name}: {}",
            err.message
        );
        assert!(!err.message.is_empty(), "case {name} must say why");
        assert_eq!(stored(&h).await, before, "case {name} stored something");
        // Each refusal is on record exactly once: a refusal of a snapshot whose signature
        // verified is kept as a row; one of a client that proved nothing is counted in
        // memory only (issue 15, defect 7), with its reason.
        let kept = h.state.store().rejections(100).await.unwrap();
        let counted: u64 = h.state.refusals().pending().iter().map(|c| c.count).sum();
        assert_eq!(
            kept.len() as u64 + counted,
            i as u64 + 1,
            "case {name} not recorded exactly once"
        );
        if kept.len() > kept_before {
            assert_eq!(kept[0].reason, *code, "case {name}");
            assert!(
                kept[0].agent_id.is_some(),
                "case {name}: kept, so authenticated"
            );
        } else {
            assert_eq!(h.state.refusals().recent()[0].reason, *code, "case {name}");
        }
        kept_before = kept.len();
    }
    assert!(
        kept_before > 0 && !h.state.refusals().recent().is_empty(),
        "both kinds of refusal were tried"
    );
    // After all that, the honest next snapshot is still accepted.
    let (good_again, _) = (good.clone(), ());
    assert_eq!(
        call(&h, post("/v1/snapshots", good_again)).await.0,
        StatusCode::CREATED
    );
}

fn dsse_b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn enrolment_tokens_are_single_use() {
    let h = harness().await;
    let token = enroll_token(&h, &["host:h"]).await;
    let req = |seed: u8| EnrollRequest {
        token: token.clone(),
        public_key: SigningKey::from_seed(&[seed; 32]).public().to_base64(),
        name: "h".into(),
        assets: vec![],
    };
    assert_eq!(
        call(
            &h,
            post("/v1/enroll", serde_json::to_vec(&req(10)).unwrap())
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let (status, body) = call(
        &h,
        post("/v1/enroll", serde_json::to_vec(&req(11)).unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(String::from_utf8_lossy(&body).contains("bad_token"));
    let mut bad = req(12);
    bad.token = "vch_enroll_nonsense".into();
    assert_eq!(
        call(&h, post("/v1/enroll", serde_json::to_vec(&bad).unwrap()))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let scope = vouch_server::scope::Scope::parse(&["host"]).unwrap();
    let expired = h
        .state
        .create_enroll_token(0, &scope, "", "test")
        .await
        .unwrap();
    let mut late = req(13);
    late.token = expired;
    assert_eq!(
        call(&h, post("/v1/enroll", serde_json::to_vec(&late).unwrap()))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn reads_need_a_token_with_a_reading_role() {
    let h = harness().await;
    let (status, _) = call(&h, get("/v1/assets", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&h, get("/v1/assets", Some("vch_admin_wrong"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let agent_token = h.state.create_api_token(Role::Agent, "push").await.unwrap();
    let (status, body) = call(&h, get("/v1/assets", Some(&agent_token))).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let auditor = h
        .state
        .create_api_token(Role::Auditor, "audit")
        .await
        .unwrap();
    assert_eq!(
        call(&h, get("/v1/assets", Some(&auditor))).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn assets_snapshots_and_keys_are_listed() {
    let h = harness().await;
    let mut a = enroll(&h, 4).await;
    let mut digests = Vec::new();
    for _ in 0..3 {
        let (env, d) = a.next();
        assert_eq!(
            call(&h, post("/v1/snapshots", env)).await.0,
            StatusCode::CREATED
        );
        digests.push(d);
    }
    let (_, body) = call(&h, get("/v1/assets", Some(&h.admin))).await;
    let assets: Vec<vouch_evidence::api::AssetSummary> = serde_json::from_slice(&body).unwrap();
    assert_eq!(assets.len(), 1);
    assert_eq!(
        (
            assets[0].snapshot_count,
            assets[0].last_sequence,
            assets[0].last_digest
        ),
        (3, 3, digests[2])
    );
    let path = format!(
        "/v1/assets/host/{}/snapshots?after_sequence=1&limit=5",
        assets[0].id
    );
    let (_, body) = call(&h, get(&path, Some(&h.admin))).await;
    let snaps: Vec<vouch_evidence::api::SnapshotSummary> = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        snaps.iter().map(|s| s.digest).collect::<Vec<_>>(),
        digests[1..]
    );
    assert_eq!(snaps[1].previous_digest, Some(digests[1]));
    let (status, _) = call(&h, get("/v1/assets/planet/x/snapshots", Some(&h.admin))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, keys) = call(&h, get("/v1/keys", Some(&h.admin))).await;
    let keys = String::from_utf8(keys).unwrap();
    assert!(keys.contains(&a.key.public().to_line(&a.id)), "{keys}");
    let (status, _) = call(
        &h,
        get(
            &format!("/v1/snapshots/{}", Digest::of(b"none")),
            Some(&h.admin),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Enrolment tokens for a fleet: issued to an admin only, each usable once, bad counts and
/// lifetimes refused by name.
#[tokio::test]
async fn an_admin_issues_enrolment_tokens_for_a_fleet() {
    let h = harness().await;
    let req = |token: &str, body: &str| {
        axum::http::Request::post("/v1/enroll-tokens")
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };
    let (status, body) = call(
        &h,
        req(
            &h.admin,
            r#"{"count": 3, "ttl_secs": 600, "scope": ["host"]}"#,
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let tokens = answer["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 3);
    assert_ne!(tokens[0], tokens[1]);
    for (body, problem) in [
        (
            r#"{"count": 0, "ttl_secs": 600, "scope": ["host"]}"#,
            "count 0 is outside",
        ),
        (
            r#"{"count": 10001, "ttl_secs": 600, "scope": ["host"]}"#,
            "count 10001 is outside",
        ),
        (
            r#"{"count": 1, "ttl_secs": 10, "scope": ["host"]}"#,
            "ttl_secs 10 is outside",
        ),
        (r#"{"count": 1, "scope": ["host"]}"#, "ttl_secs"),
        (r#"{"count": 1, "ttl_secs": 600}"#, "scope"),
    ] {
        let (status, answer) = call(&h, req(&h.admin, body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            String::from_utf8_lossy(&answer).contains(problem),
            "{body}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    for role in [Role::SecurityLead, Role::Auditor, Role::Agent] {
        let token = h.state.create_api_token(role, "x").await.unwrap();
        let (status, _) = call(
            &h,
            req(
                &token,
                r#"{"count": 1, "ttl_secs": 600, "scope": ["host"]}"#,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
}

/// Regression (issue 15, defect 7): 20,000 garbage posts added 20,000 durable rows, and a
/// 4 MiB key id was stored, logged and shown whole. Refusals of clients that proved nothing are
/// now counted per minute and reason in memory and written in one write; nothing of theirs is
/// kept whole.
#[tokio::test]
async fn refusals_of_unknown_clients_are_counted_not_kept_and_their_text_is_truncated() {
    let h = harness().await;
    let long_keyid = "k".repeat(60_000);
    let forged = format!(
        r#"{{"payload":"e30=","payloadType":"application/vnd.vouch.snapshot+json","signatures":[{{"keyid":"{long_keyid}","sig":"AA=="}}]}}"#
    );
    for i in 0..2_000 {
        let body = if i % 2 == 0 {
            b"{not json".to_vec()
        } else {
            forged.clone().into_bytes()
        };
        let (status, answer) = call(&h, post("/v1/snapshots", body)).await;
        assert!(status.is_client_error(), "{status}");
        assert!(
            answer.len() < 2_000,
            "the answer echoes {} bytes",
            answer.len()
        );
    }
    // No row, no write: only counts in memory, and the recent few truncated.
    assert!(h.state.store().rejections(10).await.unwrap().is_empty());
    let since: vouch_evidence::Timestamp = "2000-01-01T00:00:00Z".parse().unwrap();
    assert!(
        h.state
            .store()
            .rejection_counts(since)
            .await
            .unwrap()
            .is_empty()
    );
    let pending = h.state.refusals().pending();
    let total: u64 = pending.iter().map(|c| c.count).sum();
    assert_eq!(total, 2_000);
    assert!(
        pending.len() <= 4,
        "one count per minute and reason: {pending:?}"
    );
    let recent = h.state.refusals().recent();
    assert_eq!(recent.len(), vouch_server::refusals::RECENT);
    for r in &recent {
        assert!(r.message.chars().count() <= 600, "{}", r.message.len());
    }
    // One write stores the counts; the overview shows the recent ones, short.
    h.state.flush_refusals().await.unwrap();
    let stored_counts = h.state.store().rejection_counts(since).await.unwrap();
    assert_eq!(stored_counts.iter().map(|c| c.count).sum::<u64>(), 2_000);
    assert!(h.state.refusals().pending().is_empty());
    let cookie = sign_in(&h, Role::Auditor).await;
    let (status, overview) = call(&h, page("/", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        overview.len() < 200_000,
        "overview is {} bytes",
        overview.len()
    );
}

/// Regression (issue 15, defect 9): a chain could go back in time from one snapshot to the
/// next. A snapshot collected before its chain's head is refused, named, and stored nowhere.
#[tokio::test]
async fn a_chain_never_goes_back_in_time() {
    let h = harness().await;
    let mut a = enroll(&h, 7).await;
    let (first, d1) = a.next();
    assert_eq!(
        call(&h, post("/v1/snapshots", first)).await.0,
        StatusCode::CREATED
    );
    let mut s = snapshot(&a, 2, Some(d1));
    s.collected_at = "2026-11-19T00:00:00Z".parse().unwrap();
    let (env, _) = s.sign(&a.key).unwrap();
    let before = stored(&h).await;
    let (status, err) = error_of(&h, env.to_vec()).await;
    assert_eq!(
        (status, err.error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_snapshot")
    );
    assert!(err.message.contains("back in time"), "{}", err.message);
    assert_eq!(stored(&h).await, before);
    let (next, _) = a.next();
    assert_eq!(
        call(&h, post("/v1/snapshots", next)).await.0,
        StatusCode::CREATED
    );
}

/// Regression (issue 15, defect 1): evidence nested deeper than the evaluator could parse was
/// accepted and then halted judging. Every structural limit of `vouch_evidence::limits` is
/// now enforced on ingest with `422 limit_exceeded` naming the limit, and nothing is stored;
/// the agent's signer refuses the same snapshots, so an agent never signs what is refused.
#[tokio::test]
async fn evidence_beyond_a_structural_limit_is_refused_naming_the_limit() {
    use vouch_evidence::limits;
    let h = harness_with(Limits {
        max_body_bytes: vouch_evidence::limits::MAX_ENVELOPE_BYTES,
        ..TEST_LIMITS
    })
    .await;
    let a = enroll(&h, 5).await;
    let mut deep = serde_json::Value::from("x");
    for _ in 0..126 {
        deep = serde_json::json!([deep]);
    }
    let long = serde_json::Value::from("x".repeat(limits::MAX_STRING_BYTES + 1));
    let wide = serde_json::Value::from(vec![1; limits::MAX_CONTAINER_ITEMS + 1]);
    for (name, value, named) in [
        ("deep", deep, "nesting depth exceeds the limit of 64"),
        (
            "long string",
            long,
            "a string's length in bytes exceeds the limit of 65536",
        ),
        (
            "wide",
            wide,
            "members of one array or object exceeds the limit of 100000",
        ),
    ] {
        let mut s = snapshot(&a, 1, None);
        s.evidence.get_mut("host.kernel.release").unwrap().value = value;
        assert!(
            matches!(
                s.sign(&a.key),
                Err(vouch_evidence::SnapshotError::Limit { .. })
            ),
            "{name}: the agent's signer refuses it too"
        );
        let payload = s.canonical_bytes().unwrap();
        let env = dsse::sign(&a.key, SNAPSHOT_PAYLOAD_TYPE, &payload).to_vec();
        let (status, err) = error_of(&h, env).await;
        assert_eq!(
            (status, err.error.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded"),
            "{name}: {}",
            err.message
        );
        assert!(err.message.contains(named), "{name}: {}", err.message);
        assert_eq!(stored(&h).await, 0, "{name}: nothing stored");
    }
}

/// Regression (issue 15, defect 2): an envelope replayed with its signature repeated 20,000
/// times cost a second of CPU, every copy verified under the keyring lock. A snapshot carries
/// one signature: more is refused before any is verified (the server's verification counter
/// does not move), and so is a key id that is not a key id.
#[tokio::test]
async fn a_signature_flood_is_refused_before_any_signature_is_verified() {
    let h = harness_with(Limits {
        max_body_bytes: vouch_evidence::limits::MAX_ENVELOPE_BYTES,
        ..TEST_LIMITS
    })
    .await;
    let mut a = enroll(&h, 6).await;
    let (good, _) = a.next();
    let mut flood = Envelope::from_slice(&good).unwrap();
    let one = flood.signatures[0].clone();
    flood.signatures = vec![one; 20_000];
    let mut long_keyid = Envelope::from_slice(&good).unwrap();
    long_keyid.signatures[0].keyid = "a".repeat(1_000_000);
    let before = h.state.metrics().signatures_checked();
    for (name, body, status, code) in [
        (
            "flood",
            flood.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "limit_exceeded",
        ),
        (
            "long key id",
            long_keyid.to_vec(),
            StatusCode::UNAUTHORIZED,
            "unknown_key",
        ),
    ] {
        let (got, err) = error_of(&h, body).await;
        assert_eq!(
            (got, err.error.as_str()),
            (status, code),
            "{name}: {}",
            err.message
        );
        assert!(
            err.message.len() < 1_000,
            "{name}: the message echoes {} bytes",
            err.message.len()
        );
    }
    assert_eq!(
        h.state.metrics().signatures_checked(),
        before,
        "no signature was verified"
    );
    assert_eq!(
        call(&h, post("/v1/snapshots", good)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(h.state.metrics().signatures_checked(), before + 1);
}
