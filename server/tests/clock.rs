//! The collection instant's bounds (issue 15, defect 9 and fault test (d)): an agent whose clock
//! runs an hour ahead is accepted with a warning when the configured skew allows an hour, and
//! refused with `clock_skew` when it does not; a snapshot collected before its agent enrolled
//! (less the same skew) is refused with `before_enrolment`, 1970 included. The server's clock is
//! fixed, so every verdict is the same on any day.

use crate::common;

use axum::http::StatusCode;
use tower::ServiceExt as _;
use vouch_evidence::api::{ErrorBody, WARNING_HEADER};
use vouch_evidence::{Clock, Timestamp};
use vouch_server::state::Limits;

use common::*;

const HOUR: i64 = 3_600_000_000;

/// The server's "now": a day after the fixtures' first collection instant.
fn now() -> Timestamp {
    "2026-11-21T00:00:00Z".parse().unwrap()
}

fn at(base: Timestamp, micros: i64) -> Timestamp {
    Timestamp::from_unix_micros(base.unix_micros() + micros).unwrap()
}

async fn scene(skew_secs: u64) -> (Harness, TestAgent) {
    let h = harness_with(Limits {
        clock_skew_secs: skew_secs,
        ..TEST_LIMITS
    })
    .await;
    let agent = enroll(&h, 7).await;
    h.state.set_clock(Clock::Fixed(now()));
    (h, agent)
}

/// Posts the agent's first snapshot, collected at `collected_at`: status, warnings, body.
async fn post_first(
    h: &Harness,
    agent: &TestAgent,
    collected_at: Timestamp,
) -> (StatusCode, Vec<String>, Vec<u8>) {
    let mut s = snapshot(agent, 1, None);
    s.collected_at = collected_at;
    let (env, _) = s.sign(&agent.key).unwrap();
    let resp = vouch_server::app(h.state.clone())
        .oneshot(post("/v1/snapshots", env.to_vec()))
        .await
        .unwrap();
    let status = resp.status();
    let warnings = resp
        .headers()
        .get_all(WARNING_HEADER)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, warnings, body)
}

fn error_of(body: &[u8]) -> ErrorBody {
    serde_json::from_slice(body).unwrap()
}

async fn metric(h: &Harness, name: &str) -> u64 {
    let (_, body) = call(h, get("/metrics", None)).await;
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn an_hour_ahead_within_the_bound_is_accepted_with_a_warning() {
    let (h, agent) = scene(2 * 3600).await;
    let (status, warnings, body) = post_first(&h, &agent, at(now(), HOUR)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("clock_skew:"), "{}", warnings[0]);
    assert!(warnings[0].contains("3600 s ahead"), "{}", warnings[0]);
    assert_eq!(stored(&h).await, 1);
    assert_eq!(metric(&h, "vouch_snapshots_clock_ahead_total").await, 1);
}

#[tokio::test]
async fn a_snapshot_collected_just_now_carries_no_warning() {
    let (h, agent) = scene(300).await;
    let (status, warnings, _) = post_first(&h, &agent, at(now(), -1_000_000)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(metric(&h, "vouch_snapshots_clock_ahead_total").await, 0);
}

#[tokio::test]
async fn an_hour_ahead_beyond_the_bound_is_refused_as_clock_skew() {
    let (h, agent) = scene(300).await;
    let (status, _, body) = post_first(&h, &agent, at(now(), HOUR)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = error_of(&body);
    assert_eq!(e.error, "clock_skew");
    assert!(e.message.contains("more than 300 s ahead"), "{}", e.message);
    assert_eq!(stored(&h).await, 0);
}

#[tokio::test]
async fn collected_before_the_enrolment_is_refused_naming_it() {
    let (h, agent) = scene(300).await;
    let enrolled: Timestamp = ENROLLED_AT.parse().unwrap();
    for collected_at in [
        at(enrolled, -HOUR),
        "1970-01-01T00:00:00Z".parse().unwrap(),
        "0001-01-01T00:00:00Z".parse().unwrap(),
    ] {
        let (status, _, body) = post_first(&h, &agent, collected_at).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{collected_at}");
        let e = error_of(&body);
        assert_eq!(e.error, "before_enrolment", "{collected_at}");
        assert!(e.message.contains("before agent"), "{}", e.message);
        assert!(
            e.message.contains(ENROLLED_AT.trim_end_matches('Z')),
            "{}",
            e.message
        );
    }
    assert_eq!(stored(&h).await, 0);
}

#[tokio::test]
async fn an_agent_clock_behind_within_the_bound_is_accepted() {
    // Enrolled at ENROLLED_AT by the server's clock; the agent's clock trails by an hour and
    // the bound allows two: its first snapshot, "collected" before the enrolment, is taken.
    let (h, agent) = scene(2 * 3600).await;
    let enrolled: Timestamp = ENROLLED_AT.parse().unwrap();
    let (status, _, body) = post_first(&h, &agent, at(enrolled, -HOUR)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
}
