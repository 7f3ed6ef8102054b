//! Retention and audit periods through the API, on the default store (envelopes in SQLite):
//! audit periods are validated (every problem named) and listed; `POST /v1/retention/run`
//! expires real signed snapshots past their framework's period except the chain's head and
//! what an open audit period holds; an expired envelope answers `410 gone` while its receipt
//! stays, and the asset's listing keeps every record of the chain.

use crate::common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use vouch_server::config::PolicySettings;
use vouch_server::retention::RetentionConfig;

fn authed_post(path: &str, token: &str, body: Value) -> axum::http::Request<axum::body::Body> {
    let mut r = post(path, serde_json::to_vec(&body).unwrap());
    r.headers_mut().insert(
        axum::http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_runs_through_the_api_and_audit_periods_hold_evidence() {
    let h = harness().await;
    judge_with(&h, PolicySettings::default()).await;
    h.state.set_retention(RetentionConfig {
        frameworks: ["iso27001-2022", "iso27701-2019", "iso27701-2025"]
            .iter()
            .map(|f| (f.to_string(), 1))
            .collect(),
        ..RetentionConfig::default()
    });
    // Four snapshots collected hourly from 2026-11-20T01:00Z: all older than a day now.
    let mut agent = enroll(&h, 5).await;
    let mut digests = Vec::new();
    for _ in 0..4 {
        let (env, digest) = agent.next();
        let (status, body) = call(&h, post("/v1/snapshots", env)).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&body)
        );
        digests.push(digest);
    }

    // Audit periods: every problem named at once; a good one opens.
    let (status, body) = call(
        &h,
        authed_post(
            "/v1/audit-periods",
            &h.admin,
            json!({"framework": "iso9001", "label": " ", "from": "2026-11-21T00:00:00Z", "to": "2026-11-20T00:00:00Z"}),
        ),
    )
    .await;
    let text = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    for part in [
        "framework: \\\"iso9001\\\"",
        "label:",
        "to: 2026-11-20T00:00:00.000000Z is not after",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }
    let (status, body) = call(
        &h,
        authed_post(
            "/v1/audit-periods",
            &h.admin,
            json!({"framework": "iso27001-2022", "label": "stage 2", "from": "2026-11-20T00:30:00Z", "to": "2026-11-20T01:30:00Z"}),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let opened: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(opened["open"], true);
    let id = opened["id"].as_i64().unwrap();

    // Retention now: the first is held by the audit period, the head is kept, two expire.
    let (status, body) = call(&h, authed_post("/v1/retention/run", &h.admin, json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let report: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (
            &report["examined"],
            &report["expired"],
            &report["held_by_audit_period"]
        ),
        (&json!(3), &json!(2), &json!(1)),
        "{report}"
    );
    assert_eq!(report["days_by_kind"]["host"], 1, "{report}");
    let status_of = |path: String| {
        let h = &h;
        async move { call(h, get(&path, Some(&h.admin))).await.0 }
    };
    assert_eq!(
        status_of(format!("/v1/snapshots/{}", digests[0])).await,
        StatusCode::OK
    );
    for d in &digests[1..3] {
        assert_eq!(
            status_of(format!("/v1/snapshots/{d}")).await,
            StatusCode::GONE
        );
        assert_eq!(
            status_of(format!("/v1/snapshots/{d}/receipt")).await,
            StatusCode::OK,
            "the receipt stays"
        );
    }
    assert_eq!(
        status_of(format!("/v1/snapshots/{}", digests[3])).await,
        StatusCode::OK
    );
    // The chain's records all remain, linked.
    let (_, body) = call(
        &h,
        get(
            &format!("/v1/assets/host/{}/snapshots", agent.host),
            Some(&h.admin),
        ),
    )
    .await;
    let listed: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(listed.len(), 4);

    // Closing the period twice: the second is a 404; then the first expires too.
    let close = format!("/v1/audit-periods/{id}/close");
    assert_eq!(
        call(&h, authed_post(&close, &h.admin, json!({}))).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&h, authed_post(&close, &h.admin, json!({}))).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, body) = call(&h, get("/v1/audit-periods", Some(&h.admin))).await;
    let periods: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(periods[0]["open"], false);
    let (_, body) = call(&h, authed_post("/v1/retention/run", &h.admin, json!({}))).await;
    let report: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(report["expired"], 1, "{report}");
    assert_eq!(
        status_of(format!("/v1/snapshots/{}", digests[0])).await,
        StatusCode::GONE
    );
}
