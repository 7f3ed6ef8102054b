//! Manual evidence through the API: who may record an attestation, what is refused (and
//! stores nothing), and that what is kept verifies offline with the server's key.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use common::{call, get, harness};
use serde_json::{Value, json};
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{Attestation, Digest};
use vouch_server::auth::Role;
use vouch_server::http::manual::AttestationSummary;

fn post_as(token: &str, body: Value) -> Request<Body> {
    Request::post("/v1/attestations")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn request() -> Value {
    json!({
        "control": "iso27001-2022:A.5.1",
        "statement": "Information security policy v3 approved by the board on 2026-10-02",
        "attested_by": "J. Doe, CISO",
        "valid_until": "2099-01-01T00:00:00Z",
        "document_name": "policy-v3.pdf",
        "document_base64": base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.7 policy"),
    })
}

#[tokio::test]
async fn a_security_lead_records_an_attestation_that_verifies_offline() {
    let h = harness().await;
    let lead = h
        .state
        .create_api_token(Role::SecurityLead, "alice")
        .await
        .unwrap();
    let (status, body) = call(&h, post_as(&lead, request())).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let summary: AttestationSummary = serde_json::from_slice(&body).unwrap();
    assert_eq!(summary.control, "iso27001-2022:A.5.1");
    assert!(summary.current);

    let auditor = h
        .state
        .create_api_token(Role::Auditor, "eve")
        .await
        .unwrap();
    let path = format!("/v1/attestations/{}", summary.digest);
    let (status, envelope) = call(&h, get(&path, Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK);
    let envelope = Envelope::from_slice(&envelope).unwrap();
    let (attestation, digest) =
        Attestation::verify(&envelope, h.state.receipt_public_key()).unwrap();
    assert_eq!(digest, summary.digest);
    assert_eq!(attestation.attested_by, "J. Doe, CISO");
    assert!(
        attestation.recorded_by.starts_with("security-lead token "),
        "{}",
        attestation.recorded_by
    );
    let doc = attestation.document.unwrap();
    let (status, bytes) = call(&h, get(&format!("{path}/document"), Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (doc.sha256, doc.size),
        (Digest::of(&bytes), bytes.len() as u64)
    );
    assert_eq!(bytes, b"%PDF-1.7 policy");

    let (status, list) = call(
        &h,
        get(
            "/v1/attestations?control=iso27001-2022:A.5.1",
            Some(&auditor),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let list: Vec<AttestationSummary> = serde_json::from_slice(&list).unwrap();
    assert_eq!(list, vec![summary]);
    let (_, other) = call(
        &h,
        get(
            "/v1/attestations?control=iso27001-2022:A.5.2",
            Some(&auditor),
        ),
    )
    .await;
    assert_eq!(other, b"[]");
}

/// Only admins and security leads record; auditors and agents are refused, and nothing is kept.
#[tokio::test]
async fn auditors_and_agents_may_not_record_attestations() {
    let h = harness().await;
    for role in [Role::Auditor, Role::Agent] {
        let token = h.state.create_api_token(role, "x").await.unwrap();
        let (status, body) = call(&h, post_as(&token, request())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
        let err: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(err["error"], "forbidden");
    }
    let (status, _) = call(&h, post_as("vch_admin_unknown", request())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(h.state.store().attestations(None).await.unwrap().is_empty());
}

/// Each bad request is refused with a message naming what is wrong, and stores nothing.
#[tokio::test]
async fn bad_attestations_are_refused_with_the_reason() {
    let h = harness().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown control",
            json!({"control": "iso27001-2022:A.99.1"}),
            "in no loaded catalog",
        ),
        (
            "unqualified control",
            json!({"control": "A.5.1"}),
            "not a qualified control id",
        ),
        (
            "expired",
            json!({"valid_until": "2001-01-01T00:00:00Z"}),
            "valid_until",
        ),
        (
            "no statement",
            json!({"statement": "  "}),
            "statement is empty",
        ),
        (
            "document without name",
            json!({"document_name": null}),
            "go together",
        ),
        (
            "path as name",
            json!({"document_name": "../x.pdf"}),
            "plain file name",
        ),
        (
            "not base64",
            json!({"document_base64": "***"}),
            "document_base64",
        ),
        ("unknown field", json!({"approved": true}), "unknown field"),
    ];
    for (what, patch, expected) in cases {
        let mut body = request();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = call(&h, post_as(&h.admin, body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        let err: Value = serde_json::from_slice(&answer).unwrap();
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(expected), "{what}: {message}");
    }
    assert!(h.state.store().attestations(None).await.unwrap().is_empty());
}
