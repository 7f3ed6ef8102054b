//! The Google Workspace source with the real reqwest client against recorded Directory API and
//! token endpoint answers, replayed over local HTTPS (`tests/fixtures/google_workspace/<customer>/`),
//! checked item by item against `tests/fixtures/google_workspace/<customer>.expected/`. The clock
//! is fixed at 2025-11-24T08:00:00Z, so that which accounts are unused, and the assertion's
//! `iat` and `exp`, do not depend on the day the test runs. The service account key is the
//! fixtures' test key (`tests/fixtures/google_workspace/test-service-account.json`); its public
//! half checks the assertion's signature.
//!
//! `acme` is read with every scope of `packaging/google_workspace/README.md`: one token for the
//! collection, three pages of users by `nextPageToken` (one token percent-encoded), two of roles
//! and of role assignments, super administrators, a delegated administrator not held to 2-Step
//! Verification, a role assigned to a group whose members (one through a nested group, one of
//! another account) hold it, a role held by a service account, a suspended and an archived
//! holder; a `503` and a `429` with `Retry-After` and a `403 userRateLimitExceeded` (backoff)
//! waited out; the user usage report of 2025-11-22 not computed yet (`400`), that of 2025-11-21
//! over three pages, naming security keys and passkeys, and not kim, created since; and, as a
//! super administrator of its own with a token of its own carrying the Policy API's scope
//! alone, the password policies over two pages (Google's default, a weak one of a unit, a
//! group's). `globex`
//! asks for two scopes only: the group members' call and the usage report are refused
//! (`insufficientPermissions`) and the facts they feed are unavailable, naming the scope; no
//! super administrator is configured, so the password policies are not read, saying so.
//! `hooli`'s administrator may not read admin roles (`Not Authorized to access this
//! resource/api`), and its "super administrator" is none (`PERMISSION_DENIED`); its usage
//! report of 2025-11-22 is read. `initech`'s key was deleted (`invalid_grant`, `Invalid JWT Signature.`):
//! every collector fails with Google's answer, and the token endpoint is asked once.
//! `umbrella`'s tokens are refused by the API: renewed once, then every collector fails.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tokio_util::sync::CancellationToken;
use vouch_collectors::google_workspace::{
    CALLS, GROUP_MEMBER_SCOPE, GoogleWorkspaceConfig, GoogleWorkspaceSource, POLICY_SCOPE,
    REPORTS_SCOPE, ROLE_SCOPE, USER_SCOPE, call_matches,
};
use vouch_collectors::testing::{ReplayServer, Served, assert_replayed_as_expected};
use vouch_collectors::{Collected, Source, run_source};
use vouch_evidence::{AssetKind, ItemStatus, RunOutcome, Source as ItemSource, Timestamp};

/// The access token the fixtures' token endpoint hands out.
const ACCESS_TOKEN: &str =
    "ya29.c.c0ASRK0GZfixtureAccessTokenNotARealOne_7bQx1m0Yp3Hn5Wc9Lt2Rk8Vd4Ja6Ue1Sg0Fi";
/// The test key's service account.
const CLIENT_EMAIL: &str = "vouch-reader@acme-vouch-test.iam.gserviceaccount.com";
/// The collection's clock, in Unix seconds.
const NOW_UNIX: i64 = 1_763_971_200;

fn customer(name: &str) -> (&'static str, &'static str) {
    match name {
        "acme" => ("C03az79cb", "vouch-reader@acme.example"),
        "globex" => ("C01b2c3d4", "vouch-reader@globex.example"),
        "hooli" => ("C04hq8zx1", "vouch-reader@hooli.example"),
        "initech" => ("C05in1tec", "vouch-reader@initech.example"),
        "umbrella" => ("C06umbr3l", "vouch-reader@umbrella.example"),
        other => panic!("no customer {other}"),
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/google_workspace")
}

fn key_file() -> String {
    std::fs::read_to_string(fixtures().join("test-service-account.json")).unwrap()
}

/// The base64 body of the test key's PEM, which must go nowhere.
fn private_key_body() -> String {
    let key: serde_json::Value = serde_json::from_str(&key_file()).unwrap();
    let pem = key["private_key"].as_str().unwrap();
    pem.lines().nth(1).unwrap().to_string()
}

/// The super administrator the password policies are read as, of `customer`'s domain.
fn policy_admin(domain: &str) -> Option<String> {
    Some(format!("vouch-policies@{domain}.example"))
}

/// The reason of the password policies when no super administrator is configured.
const NOT_CONFIGURED: &str = "not read: policy_admin_email is not set";

fn now() -> Timestamp {
    "2025-11-24T08:00:00Z".parse().unwrap()
}

/// Collects `name` from its replayed fixture (token endpoint and API on the same server), with
/// the key in a 0600 file, the replay CA trusted and the clock fixed. Returns how long the
/// collection took too.
async fn collect(
    name: &str,
    adjust: impl FnOnce(&mut GoogleWorkspaceConfig),
) -> (Collected, GoogleWorkspaceSource, ReplayServer, Duration) {
    let server = ReplayServer::start(fixtures().join(name)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_key(&dir.path().join("key.json"), &key_file());
    std::fs::write(dir.path().join("ca.pem"), server.ca_pem()).unwrap();
    let (customer_id, admin) = customer(name);
    let mut config = GoogleWorkspaceConfig {
        enabled: true,
        customer_id: customer_id.into(),
        admin_email: admin.into(),
        credentials_file: Some(dir.path().join("key.json")),
        token_url: format!("{}/token", server.origin()),
        api_url: server.origin().into(),
        policy_api_url: server.origin().into(),
        ca_cert: Some(dir.path().join("ca.pem")),
        timeout_secs: 30,
        ..GoogleWorkspaceConfig::default()
    };
    adjust(&mut config);
    assert_eq!(config.validate(), []);
    let source = GoogleWorkspaceSource::new(config);
    let ctx = source.context(CancellationToken::new()).at(now());
    let started = Instant::now();
    let collected = run_source(&source, &ctx).await;
    let took = started.elapsed();
    (collected, source, server, took)
}

fn assert_expected(
    name: &str,
    collected: &Collected,
    source: &GoogleWorkspaceSource,
    server: &ReplayServer,
) {
    // Neither the key, nor an assertion, nor the token may reach the evidence.
    let key = private_key_body();
    let assertions: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| is_token_request(r))
        .map(assertion_of)
        .collect();
    let mut secrets: Vec<&str> = vec![ACCESS_TOKEN, &key, "PRIVATE KEY"];
    secrets.extend(assertions.iter().map(String::as_str));
    assert_replayed_as_expected(
        collected,
        &source.collectors(),
        &fixtures().join(format!("{name}.expected")),
        server,
        &secrets,
    );
}

fn calls<'a>(requests: &'a [Served], path: &str) -> Vec<&'a Served> {
    requests.iter().filter(|r| r.path == path).collect()
}

fn is_token_request(r: &Served) -> bool {
    r.method == "POST" && r.path == "/token"
}

/// The form's value of `name`, percent-decoded.
fn form_value(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn assertion_of(r: &Served) -> String {
    form_value(&r.body, "assertion").expect("the token request carries an assertion")
}

/// The assertion's header and claims, after checking its signature with the public half of
/// the test key.
fn verified(assertion: &str) -> (serde_json::Value, serde_json::Value) {
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    let pem = std::fs::read_to_string(fixtures().join("test-service-account.pub.pem")).unwrap();
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        STANDARD.decode(der).unwrap(),
    );
    public
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
        .expect("the assertion is signed with the service account's key");
    let json = |part: &str| -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    (json(parts[0]), json(parts[1]))
}

#[tokio::test]
async fn acme_with_every_scope() {
    let (collected, source, server, took) = collect("acme", |c| {
        c.page_size = 4;
        c.name = Some("acme.example".into());
        c.policy_admin_email = policy_admin("acme");
    })
    .await;
    assert_expected("acme", &collected, &source, &server);
    let requests = server.requests();
    eprintln!(
        "google_workspace acme: collected against the replay server in {:.3} s ({} requests, three throttling pauses of about a second each)",
        took.as_secs_f64(),
        requests.len()
    );
    assert_eq!(collected.asset.kind, AssetKind::GoogleWorkspace);
    // One token for the whole collection per administrator acted as, asked with a JWT bearer
    // assertion signed by the service account's key, naming the administrator, the scopes and
    // the token endpoint: the read-only administrator's with the Directory and Reports scopes,
    // the super administrator's with the Policy API's read-only scope and nothing else.
    let tokens: Vec<&Served> = requests.iter().filter(|r| is_token_request(r)).collect();
    assert_eq!(tokens.len(), 2, "the tokens were not kept");
    for token in &tokens {
        assert_eq!(
            form_value(&token.body, "grant_type").as_deref(),
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        );
        assert!(token.header("authorization").is_none());
    }
    let (mut reader, mut policies): (Vec<_>, Vec<_>) = tokens
        .iter()
        .map(|t| verified(&assertion_of(t)))
        .partition(|(_, claims)| claims["sub"] == "vouch-reader@acme.example");
    let (header, claims) = reader.pop().expect("no token for admin_email");
    let (_, policy_claims) = policies.pop().expect("no token for policy_admin_email");
    assert_eq!(
        policy_claims,
        serde_json::json!({
            "iss": CLIENT_EMAIL,
            "sub": "vouch-policies@acme.example",
            "scope": POLICY_SCOPE,
            "aud": format!("{}/token", server.origin()),
            "iat": NOW_UNIX,
            "exp": NOW_UNIX + 3600,
        })
    );
    assert_eq!(
        header,
        serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "5f3c1e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e"})
    );
    assert_eq!(
        claims,
        serde_json::json!({
            "iss": CLIENT_EMAIL,
            "sub": "vouch-reader@acme.example",
            "scope": format!("{USER_SCOPE} {ROLE_SCOPE} {GROUP_MEMBER_SCOPE} {REPORTS_SCOPE}"),
            "aud": format!("{}/token", server.origin()),
            "iat": NOW_UNIX,
            "exp": NOW_UNIX + 3600,
        })
    );
    let key = private_key_body();
    for r in requests.iter().filter(|r| !is_token_request(r)) {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {ACCESS_TOKEN}").as_str()),
            "{}",
            r.line()
        );
        assert_eq!(r.header("accept"), Some("application/json"));
        assert!(
            r.header("user-agent")
                .is_some_and(|u| u.starts_with("vouch-agent/"))
        );
        assert!(r.body.is_empty() && !r.line().contains("assertion"));
        // Every API call made is one packaging/google_workspace/README.md lists with its scope.
        assert!(
            CALLS.iter().any(|(call, _)| call_matches(call, &r.path)),
            "{} is not in google_workspace::CALLS",
            r.line()
        );
    }
    for r in &requests {
        assert!(!r.body.contains(&key) && !r.line().contains(&key));
    }
    // The users are listed once for both areas, over three pages; the password policies over
    // two.
    assert_eq!(calls(&requests, "/admin/directory/v1/users").len(), 3);
    assert_eq!(calls(&requests, "/v1/policies").len(), 2);
    // A 503, a 429 with Retry-After: 1 and a 403 userRateLimitExceeded (backoff from 1 s), each
    // waited out, then answered.
    for path in [
        "/admin/directory/v1/customer/my_customer/roles",
        "/admin/directory/v1/customer/my_customer/roleassignments",
        "/admin/directory/v1/groups/03ep43zb2k5y2ab/members",
    ] {
        let answered = calls(&requests, path);
        let refused = answered
            .iter()
            .position(|r| matches!(r.status, 429 | 503 | 403))
            .unwrap_or_else(|| panic!("{path}: no throttling"));
        let next = answered[refused + 1];
        assert_eq!(next.status, 200, "{path}");
        assert_eq!(
            next.query, answered[refused].query,
            "{path}: not the same page"
        );
        assert!(
            next.at - answered[refused].at >= Duration::from_millis(900),
            "{path}: the throttling was not waited out"
        );
    }
    // Items name the call they came from.
    assert_eq!(
        collected.evidence["google_workspace.admins.without_2sv"].source,
        ItemSource::Api("GET /admin/directory/v1/users".into())
    );
    // The usage report of two days before the clock (2025-11-22) is not computed yet: the one
    // of the day before is read, once for both areas, over three pages.
    let reports: Vec<&Served> = requests
        .iter()
        .filter(|r| {
            r.path
                .starts_with("/admin/reports/v1/usage/users/all/dates/")
        })
        .collect();
    let days: Vec<(&str, u16)> = reports
        .iter()
        .map(|r| (r.path.rsplit('/').next().unwrap(), r.status))
        .collect();
    assert_eq!(
        days,
        [
            ("2025-11-22", 400),
            ("2025-11-21", 200),
            ("2025-11-21", 200),
            ("2025-11-21", 200)
        ]
    );
    assert_eq!(
        collected.evidence["google_workspace.admins.without_phishing_resistant_factor"].source,
        ItemSource::Api("GET /admin/reports/v1/usage/users/all/dates/{date}".into())
    );
}

#[tokio::test]
async fn unused_accounts_follow_the_injected_clock_and_the_parameter() {
    // 30 days: the emergency super administrator (last sign-in 1 October) is unused too.
    let (collected, _, _, _) = collect("acme", |c| {
        c.page_size = 4;
        c.inactive_days = 30;
    })
    .await;
    assert_eq!(
        collected.evidence["google_workspace.users.inactive"].value,
        serde_json::json!([
            "breakglass@acme.example",
            "carol@acme.example",
            "frank@acme.example"
        ])
    );
    assert_eq!(
        collected.evidence["google_workspace.users.inactive_days"].value,
        serde_json::json!(30)
    );
    // Five days: dave (18 November) and the Vouch reader (3 November) too; bob (20 November)
    // not; kim, created yesterday and never signed in, not either; erin, suspended, is not
    // judged here.
    let (collected, _, _, _) = collect("acme", |c| {
        c.page_size = 4;
        c.inactive_days = 5;
    })
    .await;
    assert_eq!(
        collected.evidence["google_workspace.users.inactive"].value,
        serde_json::json!([
            "breakglass@acme.example",
            "carol@acme.example",
            "dave@acme.example",
            "frank@acme.example",
            "vouch-reader@acme.example"
        ])
    );
    assert_eq!(
        collected.evidence["google_workspace.users.inactive_count"].value,
        serde_json::json!(5)
    );
}

#[tokio::test]
async fn globex_without_the_group_members_scope() {
    let (collected, source, server, _) = collect("globex", |c| {
        c.scopes = vec![USER_SCOPE.into(), ROLE_SCOPE.into()];
    })
    .await;
    assert_expected("globex", &collected, &source, &server);
    let requests = server.requests();
    let token = requests.iter().find(|r| is_token_request(r)).unwrap();
    let (_, claims) = verified(&assertion_of(token));
    assert_eq!(claims["scope"], format!("{USER_SCOPE} {ROLE_SCOPE}"));
    // Without a super administrator, the password policies are not asked for, and say why.
    assert!(calls(&requests, "/v1/policies").is_empty());
    let password = &collected.evidence["google_workspace.policies.password"];
    assert_eq!(password.status, ItemStatus::Unavailable);
    assert!(
        password
            .reason
            .as_deref()
            .unwrap()
            .starts_with(NOT_CONFIGURED)
            && password.reason.as_deref().unwrap().contains(POLICY_SCOPE)
    );
    // Every refused fact names the scope it needs; the users' facts stand.
    for id in [
        "google_workspace.admins.count",
        "google_workspace.admins.without_2sv",
    ] {
        let item = &collected.evidence[id];
        assert_eq!(item.status, ItemStatus::Unavailable, "{id}");
        assert!(
            item.reason.as_deref().unwrap().contains(&format!(
                "the access token lacks the scope {GROUP_MEMBER_SCOPE}"
            )),
            "{id}"
        );
    }
    assert_eq!(
        collected.evidence["google_workspace.users.mfa_required_for_everyone"].value,
        serde_json::json!(true)
    );
    // The usage report is refused too, naming its own scope, and only its facts are lost.
    for id in [
        "google_workspace.users.phishing_resistant_count",
        "google_workspace.users.usage_report_date",
    ] {
        let item = &collected.evidence[id];
        assert_eq!(item.status, ItemStatus::Unavailable, "{id}");
        assert!(
            item.reason
                .as_deref()
                .unwrap()
                .contains(&format!("the access token lacks the scope {REPORTS_SCOPE}")),
            "{id}"
        );
    }
    assert!(
        collected
            .collectors
            .iter()
            .all(|r| r.outcome == RunOutcome::Ok)
    );
}

#[tokio::test]
async fn hooli_whose_administrator_may_not_read_roles() {
    let (collected, source, server, _) = collect("hooli", |c| {
        c.policy_admin_email = policy_admin("hooli");
    })
    .await;
    assert_expected("hooli", &collected, &source, &server);
    // The Policy API answers super administrators only, and the reason says so.
    let password = collected.evidence["google_workspace.policies.password"]
        .reason
        .clone()
        .unwrap();
    assert!(
        password.contains("PERMISSION_DENIED")
            && password.contains("(policy_admin_email)")
            && password.contains("super administrators of this account only"),
        "{password}"
    );
    let reason = collected.evidence["google_workspace.admins.super_admins"]
        .reason
        .clone()
        .unwrap();
    assert!(
        reason.contains("Not Authorized to access this resource/api")
            && reason.contains(ROLE_SCOPE),
        "{reason}"
    );
    // The role assignments are not asked for once the roles are refused.
    assert!(
        calls(
            &server.requests(),
            "/admin/directory/v1/customer/my_customer/roleassignments"
        )
        .is_empty()
    );
}

#[tokio::test]
async fn initech_with_a_deleted_key_fails_every_collector_and_says_why() {
    let (collected, source, server, _) = collect("initech", |_| {}).await;
    assert!(server.unmatched().is_empty(), "{:?}", server.unmatched());
    assert!(server.unused().is_empty(), "{:?}", server.unused());
    assert_eq!(collected.collectors.len(), 3);
    // No super administrator is configured: the password policies ask for no token.
    for run in collected
        .collectors
        .iter()
        .filter(|r| r.name != "google_workspace.policies")
    {
        match &run.outcome {
            RunOutcome::Error { message } => assert!(
                message.starts_with(
                    "POST /token: HTTP 400 invalid_grant: Invalid JWT Signature.: Google refused the service account's assertion (the service account's key was deleted or disabled"
                ) && message.ends_with("no Google Workspace fact can be read until that is fixed"),
                "{}: {message}",
                run.name
            ),
            other => panic!("{}: {other:?}", run.name),
        }
    }
    let specs: Vec<_> = source
        .collectors()
        .iter()
        .flat_map(|c| c.evidence())
        .collect();
    assert_eq!(specs.len(), collected.evidence.len());
    let key = private_key_body();
    for spec in specs {
        let item = &collected.evidence[spec.id];
        assert_eq!(item.status, ItemStatus::Unavailable, "{}", spec.id);
        let reason = item.reason.as_deref().unwrap();
        let why = if spec.id == "google_workspace.policies.password" {
            NOT_CONFIGURED
        } else {
            "invalid_grant"
        };
        assert!(reason.contains(why), "{}: {reason}", spec.id);
        assert!(!reason.contains(&key));
    }
    // The refusal is remembered: one token request, no API call.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn umbrella_whose_tokens_the_api_refuses_renews_once_then_fails_every_collector() {
    let (collected, _, server, _) = collect("umbrella", |_| {}).await;
    assert!(server.unmatched().is_empty(), "{:?}", server.unmatched());
    assert!(server.unused().is_empty(), "{:?}", server.unused());
    // No super administrator is configured: the password policies ask for no token.
    for run in collected
        .collectors
        .iter()
        .filter(|r| r.name != "google_workspace.policies")
    {
        match &run.outcome {
            RunOutcome::Error { message } => assert!(
                message.contains(
                    "HTTP 401 authError: Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.: the Directory API refused the access token twice"
                ),
                "{}: {message}",
                run.name
            ),
            other => panic!("{}: {other:?}", run.name),
        }
    }
    let requests = server.requests();
    assert_eq!(
        requests.iter().filter(|r| is_token_request(r)).count(),
        2,
        "a refused token is replaced once, and only once"
    );
    assert!(
        requests
            .iter()
            .all(|r| is_token_request(r) || r.status == 401)
    );
}

#[tokio::test]
async fn users_of_another_account_are_not_taken_for_this_ones() {
    // acme's administrators, configured with another customer id: Google answers with acme's
    // users and policies, which the source refuses to describe as C0999zzzz's.
    let (collected, _, _, _) = collect("acme", |c| {
        c.page_size = 4;
        c.customer_id = "C0999zzzz".into();
        c.policy_admin_email = policy_admin("acme");
    })
    .await;
    assert_eq!(collected.asset.id, "C0999zzzz");
    for (id, item) in &collected.evidence {
        if id == "google_workspace.users.inactive_days" {
            continue;
        }
        let listed = if id == "google_workspace.policies.password" {
            "policies"
        } else {
            "users"
        };
        assert_eq!(item.status, ItemStatus::Unavailable, "{id}");
        assert!(
            item.reason.as_deref().unwrap().contains(&format!(
                "the {listed} listed belong to customer C03az79cb, not to customer_id C0999zzzz"
            )),
            "{id}: {:?}",
            item.reason
        );
    }
}

#[tokio::test]
async fn without_a_key_every_fact_is_unavailable_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let source = GoogleWorkspaceSource::new(GoogleWorkspaceConfig {
        enabled: true,
        customer_id: "C03az79cb".into(),
        admin_email: "vouch-reader@acme.example".into(),
        policy_admin_email: policy_admin("acme"),
        credentials_file: Some(dir.path().join("absent.json")),
        ..GoogleWorkspaceConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    assert_eq!(
        (c.asset.id.as_str(), c.asset.name.as_str()),
        ("C03az79cb", "C03az79cb")
    );
    for item in c.evidence.values() {
        assert_eq!(item.status, ItemStatus::Unavailable);
        let reason = item.reason.as_deref().unwrap();
        assert!(
            reason.contains("failed: ") && reason.contains("absent.json"),
            "{reason}"
        );
    }
    assert_eq!(c.evidence.len(), 23);
}

#[tokio::test]
async fn a_key_readable_by_others_is_refused_before_anything_is_sent() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = ReplayServer::start(fixtures().join("acme")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, key_file()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(dir.path().join("ca.pem"), server.ca_pem()).unwrap();
    let source = GoogleWorkspaceSource::new(GoogleWorkspaceConfig {
        enabled: true,
        customer_id: "C03az79cb".into(),
        admin_email: "vouch-reader@acme.example".into(),
        credentials_file: Some(key),
        token_url: format!("{}/token", server.origin()),
        api_url: server.origin().into(),
        ca_cert: Some(dir.path().join("ca.pem")),
        ..GoogleWorkspaceConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    let reason = c.evidence["google_workspace.users.total"]
        .reason
        .clone()
        .unwrap();
    assert!(
        reason.contains(
            "is readable by group or others (mode 0644): a service account key file must be 0600"
        ),
        "{reason}"
    );
    assert!(!reason.contains(&private_key_body()));
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn an_untrusted_server_is_refused_before_the_assertion_is_sent() {
    let server = ReplayServer::start(fixtures().join("acme")).await.unwrap();
    let other = ReplayServer::start(fixtures().join("globex"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_key(&dir.path().join("key.json"), &key_file());
    std::fs::write(dir.path().join("ca.pem"), other.ca_pem()).unwrap();
    let source = GoogleWorkspaceSource::new(GoogleWorkspaceConfig {
        enabled: true,
        customer_id: "C03az79cb".into(),
        admin_email: "vouch-reader@acme.example".into(),
        credentials_file: Some(dir.path().join("key.json")),
        token_url: format!("{}/token", server.origin()),
        api_url: server.origin().into(),
        ca_cert: Some(dir.path().join("ca.pem")),
        timeout_secs: 10,
        ..GoogleWorkspaceConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    let reason = c.evidence["google_workspace.users.total"]
        .reason
        .clone()
        .unwrap();
    assert!(
        reason.contains("no access token: POST /token: request failed: ")
            && reason.contains("certificate"),
        "{reason}"
    );
    assert!(server.requests().is_empty());
}

/// Writes a key file as an operator must: mode 0600 (the collector refuses a wider one).
fn write_key(path: &Path, key: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, key).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
