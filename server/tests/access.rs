//! Who may reach what, route by route and role by role: readers (admin, security lead,
//! auditor) read; only admins and security leads change anything; an agent token pushes
//! evidence and reads nothing; no token, no answer; the dashboard needs a session, which an
//! agent token cannot open, and a reading session changes nothing.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use vouch_server::auth::Role;
use vouch_server::config::PolicySettings;

const READS: &[&str] = &[
    "/v1/assets",
    "/v1/assets/host/m1/snapshots",
    "/v1/keys",
    "/v1/sample?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&size=1&seed=s",
    "/v1/export?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&size=1&seed=s",
    "/v1/controls",
    "/v1/controls/iso27001-2022:A.8.8",
    "/v1/history",
    "/v1/oscal",
    "/v1/policies",
    "/v1/evaluations",
    "/v1/exceptions",
    "/v1/attestations",
    "/v1/audit-periods",
    "/v1/audit-log",
];

const WRITES: &[(&str, &str)] = &[
    ("PUT", "/v1/assets/host/m1/tags"),
    ("POST", "/v1/exceptions"),
    ("POST", "/v1/policies/reload"),
    ("POST", "/v1/evaluations"),
    ("POST", "/v1/attestations"),
    ("POST", "/v1/audit-periods"),
    ("POST", "/v1/audit-periods/1/close"),
];

/// Provisioning and retention: admins only.
const ADMIN_ONLY: &[(&str, &str)] = &[
    ("POST", "/v1/enroll-tokens"),
    ("POST", "/v1/retention/run"),
    ("GET", "/v1/agents"),
    ("POST", "/v1/agents/agt_x/revoke"),
    ("GET", "/v1/tokens"),
    ("POST", "/v1/tokens/0123456789ab/revoke"),
];

const PAGES: &[&str] = &[
    "/",
    "/controls",
    "/controls/iso27001-2022/A.8.8",
    "/reports/soa",
    "/reports/period",
    "/assets",
    "/assets/host/m1",
    "/sample",
];

fn request(method: &str, path: &str, auth: Option<(&str, &str)>) -> Request<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some((name, value)) = auth {
        r = r.header(name, value);
    }
    r.body(Body::from("{}")).unwrap()
}

/// Whether an answer means the request got past access control.
fn reached(status: StatusCode) -> bool {
    !matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::SEE_OTHER
    )
}

#[tokio::test]
async fn every_route_admits_exactly_its_roles() {
    let h = harness().await;
    judge_with(&h, PolicySettings::default()).await;
    let mut denials = 0;
    let mut admin_only_denials = 0;
    for role in [Role::Admin, Role::SecurityLead, Role::Auditor, Role::Agent] {
        let token = h.state.create_api_token(role, "t").await.unwrap();
        let bearer = format!("Bearer {token}");
        let auth = Some(("authorization", bearer.as_str()));
        let reads = role != Role::Agent;
        let writes = matches!(role, Role::Admin | Role::SecurityLead);
        for path in READS {
            let (status, body) = call(&h, request("GET", path, auth)).await;
            assert_eq!(
                reached(status),
                reads,
                "{role} GET {path}: {status} {}",
                String::from_utf8_lossy(&body)
            );
            if !reads {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} GET {path}");
                denials += 1;
            }
        }
        for (method, path) in WRITES {
            let (status, body) = call(&h, request(method, path, auth)).await;
            assert_eq!(
                reached(status),
                writes,
                "{role} {method} {path}: {status} {}",
                String::from_utf8_lossy(&body)
            );
            if !writes {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
                denials += 1;
            }
        }
        for (method, path) in ADMIN_ONLY {
            let (status, body) = call(&h, request(method, path, auth)).await;
            assert_eq!(
                reached(status),
                role == Role::Admin,
                "{role} {method} {path}: {status} {}",
                String::from_utf8_lossy(&body)
            );
            if role != Role::Admin {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
                admin_only_denials += 1;
            }
        }
        // The dashboard: a session for readers only, and it opens every page.
        let (status, _) = call(&h, login_request(&token)).await;
        if !reads {
            assert_eq!(status, StatusCode::FORBIDDEN, "{role} may not sign in");
            continue;
        }
        assert_eq!(status, StatusCode::SEE_OTHER);
        let cookie = sign_in(&h, role).await;
        for path in PAGES {
            let (status, body) = call(&h, page(path, &cookie)).await;
            assert!(
                reached(status),
                "{role} {path}: {status} {}",
                String::from_utf8_lossy(&body)
            );
        }
        // A session is no stronger than its role: an auditor's changes nothing.
        if !writes {
            for (method, path) in WRITES {
                let (status, _) = call(&h, request(method, path, Some(("cookie", &cookie)))).await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} session {method} {path}"
                );
                denials += 1;
            }
        }
    }
    // No token: the API asks for one, the pages send to the login.
    for path in READS {
        assert_eq!(
            call(&h, request("GET", path, None)).await.0,
            StatusCode::UNAUTHORIZED,
            "GET {path}"
        );
    }
    for (method, path) in WRITES {
        assert_eq!(
            call(&h, request(method, path, None)).await.0,
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
    }
    for path in PAGES {
        let (status, _) = call(&h, request("GET", path, None)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
    }
    assert_eq!(denials, READS.len() + 2 * WRITES.len() + WRITES.len());
    assert_eq!(admin_only_denials, 3 * ADMIN_ONLY.len());
}
