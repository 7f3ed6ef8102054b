//! Nobody in (issue 15, defects 4 and 5): agents bound to the assets of their enrolment
//! token's scope, agents and tokens revoked, tokens that expire, each step in the audit log.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use vouch_evidence::api::{AssetRef, EnrollRequest};
use vouch_evidence::{AssetKind, Clock, SigningKey, Timestamp};
use vouch_server::auth::Role;
use vouch_server::verify::{Keyring, verify_bytes};

fn post_json(path: &str, token: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn json_call(h: &Harness, req: Request<Body>) -> (StatusCode, Value) {
    let (status, body) = call(h, req).await;
    (
        status,
        serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body))),
    )
}

fn error_code(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}

#[tokio::test]
async fn an_agent_cannot_write_an_asset_outside_its_enrolment_scope() {
    let h = harness().await;
    let mut victim = enroll(&h, 1).await;
    let (env, _) = victim.next();
    assert_eq!(
        call(&h, post("/v1/snapshots", env)).await.0,
        StatusCode::CREATED
    );
    let mut intruder = enroll(&h, 2).await;
    let before = stored(&h).await;

    // Clean evidence under the victim's host id, signed by the intruder as itself.
    let mut s = snapshot(&intruder, 1, None);
    s.asset.id = victim.host.clone();
    let (env, _) = s.sign(&intruder.key).unwrap();
    let (status, body) = json_call(&h, post("/v1/snapshots", env.to_vec())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "out_of_scope");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&victim.host) && message.contains(&intruder.id),
        "{message}"
    );

    // An AWS account opened by a host agent.
    let mut s = snapshot(&intruder, 1, None);
    s.asset.kind = AssetKind::AwsAccount;
    s.asset.id = "123456789012".into();
    let (env, _) = s.sign(&intruder.key).unwrap();
    let (status, body) = json_call(&h, post("/v1/snapshots", env.to_vec())).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "out_of_scope")
    );

    // Stored nowhere: no snapshot, no chain, the victim's asset untouched.
    assert_eq!(stored(&h).await, before);
    let assets = h.state.store().assets().await.unwrap();
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0].agent_id, victim.id);
    // The intruder's own host still works.
    let (env, _) = intruder.next();
    assert_eq!(
        call(&h, post("/v1/snapshots", env)).await.0,
        StatusCode::CREATED
    );
    let (env, _) = victim.next();
    assert_eq!(
        call(&h, post("/v1/snapshots", env)).await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn enrolment_binds_to_the_tokens_scope_and_refuses_what_it_does_not_cover() {
    let h = harness().await;
    let enrol = |token: String, seed: u8, assets: Vec<AssetRef>| EnrollRequest {
        token,
        public_key: SigningKey::from_seed(&[seed; 32]).public().to_base64(),
        name: "h".into(),
        assets,
    };
    let host = |id: &str| AssetRef {
        kind: AssetKind::Host,
        id: id.into(),
    };
    // A token for named AWS accounts: a declared host is out of scope.
    let token = enroll_token(&h, &["aws-account:123456789012"]).await;
    let req = enrol(token.clone(), 1, vec![host("m-1")]);
    let (status, body) = json_call(&h, post("/v1/enroll", serde_json::to_vec(&req).unwrap())).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "out_of_scope"),
        "{body}"
    );
    // The refusal did not spend the token; without the host the enrolment binds the account.
    let req = enrol(token, 1, vec![]);
    let (status, body) = json_call(&h, post("/v1/enroll", serde_json::to_vec(&req).unwrap())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let agents = h.state.agents().await.unwrap();
    assert!(
        agents[0]
            .binding
            .allows(AssetKind::AwsAccount, "123456789012")
    );
    assert!(!agents[0].binding.allows(AssetKind::Host, "m-1"));
    // A one-host token needs the host declared.
    let token = enroll_token(&h, &["host"]).await;
    let req = enrol(token, 2, vec![]);
    let (status, body) = json_call(&h, post("/v1/enroll", serde_json::to_vec(&req).unwrap())).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "{body}"
    );
    // Issuing needs a scope, and a valid one.
    for scope in [json!([]), json!(["aws-account:12"]), json!(["disk"])] {
        let (status, body) = json_call(
            &h,
            post_json(
                "/v1/enroll-tokens",
                &h.admin,
                json!({"count": 1, "ttl_secs": 600, "scope": scope}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{scope}: {body}");
    }
    // The audit log has each enrolment with its binding.
    let log = h.state.store().audit_log(10).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "agent.enroll" && e.detail.contains("aws-account:123456789012"))
    );
}

#[tokio::test]
async fn a_revoked_agent_is_refused_naming_the_revocation_and_its_earlier_evidence_still_verifies()
{
    let h = harness().await;
    let mut agent = enroll(&h, 3).await;
    let (first, _) = agent.next();
    assert_eq!(
        call(&h, post("/v1/snapshots", first.clone())).await.0,
        StatusCode::CREATED
    );

    // Revoked between its first snapshot (collected 01:00) and its second (02:00).
    let revoked_at: Timestamp = "2026-11-20T01:30:00Z".parse().unwrap();
    h.state.set_clock(Clock::Fixed(revoked_at));
    let lead = h
        .state
        .create_api_token(Role::SecurityLead, "lead")
        .await
        .unwrap();
    let path = format!("/v1/agents/{}/revoke", agent.id);
    let (status, _) = json_call(&h, post_json(&path, &lead, json!({"reason": "x"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only an admin revokes");
    let (status, body) = json_call(&h, post_json(&path, &h.admin, json!({"reason": ""}))).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a reason is required: {body}"
    );
    let (status, body) = json_call(
        &h,
        post_json(&path, &h.admin, json!({"reason": "host decommissioned"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revoked"]["reason"], "host decommissioned");
    h.state.set_clock(Clock::System);

    let before = stored(&h).await;
    let checked = h.state.metrics().signatures_checked();
    let (second, _) = agent.next();
    let (status, body) = json_call(&h, post("/v1/snapshots", second.clone())).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "agent_revoked")
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&revoked_at.to_string()) && message.contains("host decommissioned"),
        "{message}"
    );
    assert_eq!(stored(&h).await, before, "nothing stored");
    assert_eq!(
        h.state.metrics().signatures_checked(),
        checked,
        "refused before verifying"
    );
    // Nothing of a revoked agent is taken, not even a resend of what it sent before.
    let (status, _) = json_call(&h, post("/v1/snapshots", first.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Its key stays published, with the revocation; offline verification accepts what it
    // signed before and names what it signed after.
    let (status, keys) = call(&h, get("/v1/keys", Some(&h.admin))).await;
    assert_eq!(status, StatusCode::OK);
    let keys = String::from_utf8(keys).unwrap();
    assert!(
        keys.contains(&format!("{} ", agent.key.public().to_base64())),
        "{keys}"
    );
    assert!(
        keys.contains(&format!(
            "revoked {} {revoked_at} host decommissioned",
            agent.id
        )),
        "{keys}"
    );
    let ring = Keyring::parse(&keys, "keys").unwrap();
    verify_bytes(&first, &ring, true).unwrap();
    let err = verify_bytes(&second, &ring, true).unwrap_err();
    assert!(err.contains(&format!("revoked at {revoked_at}")), "{err}");

    // Revoking again keeps the first revocation; the audit log has it once.
    let (status, body) =
        json_call(&h, post_json(&path, &h.admin, json!({"reason": "again"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["revoked"]["reason"], "host decommissioned");
    let auditor = h.state.create_api_token(Role::Auditor, "a").await.unwrap();
    let (status, log) = json_call(&h, get("/v1/audit-log", Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK);
    let revocations: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "agent.revoke")
        .collect();
    assert_eq!(revocations.len(), 1, "{log}");
    assert_eq!(revocations[0]["subject"], agent.id.as_str());
    assert!(
        revocations[0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("admin token ")
    );
}

#[tokio::test]
async fn tokens_expire_and_a_revoked_token_ends_its_sessions() {
    let h = harness().await;
    let auditor = h
        .state
        .create_api_token(Role::Auditor, "alice")
        .await
        .unwrap();
    let (status, _) = call(&h, get("/v1/assets", Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK);

    // 90 days by default: a day before it works, at the end it does not.
    let now = h.state.now();
    let shifted = |days: i64| {
        Clock::Fixed(
            Timestamp::from_unix_micros(now.unix_micros() + days * 86_400_000_000).unwrap(),
        )
    };
    h.state.set_clock(shifted(89));
    assert_eq!(
        call(&h, get("/v1/assets", Some(&auditor))).await.0,
        StatusCode::OK
    );
    h.state.set_clock(shifted(91));
    let (status, body) = json_call(&h, get("/v1/assets", Some(&auditor))).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
    h.state.set_clock(Clock::System);

    // The list shows it (never the token), with its last use.
    let (status, list) = json_call(&h, get("/v1/tokens", Some(&h.admin))).await;
    assert_eq!(status, StatusCode::OK);
    let alice = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(alice["role"], "auditor");
    assert!(alice["last_used_at"].is_string(), "{alice}");
    assert!(!list.to_string().contains(&auditor), "no token in the list");
    let (status, _) = call(&h, get("/v1/tokens", Some(&auditor))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only an admin lists tokens");

    // A session signed in with the token, then the token revoked: both refused.
    let (status, login) = {
        let resp = call(&h, login_request(&auditor)).await;
        (resp.0, resp.1)
    };
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        String::from_utf8_lossy(&login)
    );
    let cookie = {
        use tower::ServiceExt as _;
        let resp = vouch_server::app(h.state.clone())
            .oneshot(login_request(&auditor))
            .await
            .unwrap();
        let set = resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_string();
        set.split(';').next().unwrap().to_string()
    };
    assert_eq!(call(&h, page("/", &cookie)).await.0, StatusCode::OK);
    let id = alice["id"].as_str().unwrap();
    let (status, body) = json_call(
        &h,
        post_json(
            &format!("/v1/tokens/{id}/revoke"),
            &h.admin,
            json!({"reason": "left the company"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = json_call(&h, get("/v1/assets", Some(&auditor))).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "token_revoked")
    );
    let (status, _) = call(&h, page("/", &cookie)).await;
    assert_ne!(status, StatusCode::OK, "the session ended with its token");
    let log = h.state.store().audit_log(10).await.unwrap();
    assert!(log.iter().any(|e| e.action == "token.revoke"
        && e.subject == format!("auditor token {id}")
        && e.detail == "left the company"));
}
