//! The Okta source with the real reqwest client against recorded Okta Management API answers,
//! replayed over local HTTPS (`tests/fixtures/okta/<org>/`), checked item by item against
//! `tests/fixtures/okta/<org>.expected/`. The clock is fixed at 2025-11-24T08:00:00Z, so that
//! which accounts are unused does not depend on the day the test runs.
//!
//! `acme` is seen with a read-only administrator's token: two pages of users (`Link:
//! rel="next"`), deactivated users read with Okta's filter, factors of every kind, the IAM
//! listing of administrators paged by its body's `_links.next`, an administrator with SMS only,
//! a suspended one still holding a role, unused accounts, application assignments of
//! deactivated users, password, global session and authentication policies, and a `429` with
//! `X-Rate-Limit-Reset` waited out. `globex` is seen with a token whose administrator may read
//! users only: `403 E0000006` turns the roles, policies and applications facts unavailable,
//! naming the scope each needs. `initech`'s token has expired: `401 E0000011` fails every
//! collector with Okta's answer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use vouch_collectors::okta::{OktaConfig, OktaSource};
use vouch_collectors::testing::{ReplayServer, Served, assert_replayed_as_expected};
use vouch_collectors::{Collected, Source, run_source};
use vouch_evidence::{AssetKind, ItemStatus, RunOutcome, Source as ItemSource, Timestamp};

const TOKEN: &str = "00aFixtureOktaToken-0123456789abcdefABCDEF";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/okta")
}

fn now() -> Timestamp {
    "2025-11-24T08:00:00Z".parse().unwrap()
}

/// Collects `org` from its replayed fixture, with the token in a 0600 file, the replay CA
/// trusted and the clock fixed. Returns how long the collection took too.
async fn collect(
    org: &str,
    adjust: impl FnOnce(&mut OktaConfig),
) -> (Collected, OktaSource, ReplayServer, Duration) {
    let server = ReplayServer::start(fixtures().join(org)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_token(&dir.path().join("token"), &format!("{TOKEN}\n"));
    std::fs::write(dir.path().join("ca.pem"), server.ca_pem()).unwrap();
    let mut config = OktaConfig {
        enabled: true,
        org_url: server.origin().into(),
        token_file: Some(dir.path().join("token")),
        ca_cert: Some(dir.path().join("ca.pem")),
        timeout_secs: 30,
        ..OktaConfig::default()
    };
    adjust(&mut config);
    assert_eq!(config.validate(), []);
    let source = OktaSource::new(config);
    let ctx = source.context(CancellationToken::new()).at(now());
    let started = Instant::now();
    let collected = run_source(&source, &ctx).await;
    let took = started.elapsed();
    (collected, source, server, took)
}

fn assert_expected(org: &str, collected: &Collected, source: &OktaSource, server: &ReplayServer) {
    // Neither the token nor what Okta says of factors (phone numbers, WebAuthn credential
    // ids, security questions) may reach the evidence.
    assert_replayed_as_expected(
        collected,
        &source.collectors(),
        &fixtures().join(format!("{org}.expected")),
        server,
        &[
            TOKEN,
            "XXX-XXX-4812",
            "l3Br0n-7H3g047",
            "least liked",
            "credentials",
        ],
    );
}

fn calls<'a>(requests: &'a [Served], path: &str) -> Vec<&'a Served> {
    requests.iter().filter(|r| r.path == path).collect()
}

#[tokio::test]
async fn acme_with_a_read_only_administrators_token() {
    let (collected, source, server, took) = collect("acme", |c| c.page_size = 4).await;
    assert_expected("acme", &collected, &source, &server);
    eprintln!(
        "okta acme: collected against the replay server in {:.3} s ({} requests)",
        took.as_secs_f64(),
        server.requests().len()
    );
    assert_eq!(collected.asset.kind, AssetKind::OktaOrg);
    let requests = server.requests();
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("SSWS {TOKEN}").as_str()),
            "{}",
            r.line()
        );
        assert_eq!(r.header("accept"), Some("application/json"));
        assert!(
            r.header("user-agent")
                .is_some_and(|u| u.starts_with("vouch-agent/"))
        );
    }
    // The users' Link header and the IAM listing's _links.next were both followed.
    let users = calls(&requests, "/api/v1/users");
    assert_eq!(
        users.iter().map(|r| r.query.as_str()).collect::<Vec<_>>(),
        [
            "limit=4",
            "after=00u1dave00EXAMPLE4h7&limit=4",
            "filter=status%20eq%20%22DEPROVISIONED%22&limit=4"
        ]
    );
    assert_eq!(calls(&requests, "/api/v1/iam/assignees/users").len(), 2);
    // 429 until X-Rate-Limit-Reset (a second ahead by Okta's Date), then the answer; the
    // other area's read of the same factors is answered at once.
    let carol = calls(&requests, "/api/v1/users/00u1carol0EXAMPLE4h7/factors");
    assert_eq!(
        carol.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200, 200]
    );
    assert!(
        carol[1..]
            .iter()
            .any(|r| r.at - carol[0].at >= Duration::from_millis(900)),
        "the 429 was not waited out"
    );
    // Users who cannot sign in are not asked for factors; a staged one is not asked for apps.
    assert!(calls(&requests, "/api/v1/users/00u1grace0EXAMPLE4h7/factors").is_empty());
    assert!(!requests.iter().any(|r| r.query.contains("00u1grace0")));
    // Every call made is one packaging/okta/README.md lists with its scope.
    for r in &requests {
        assert!(
            vouch_collectors::okta::CALLS
                .iter()
                .any(|(call, _)| vouch_collectors::okta::call_matches(call, &r.path)),
            "{} is not in okta::CALLS",
            r.line()
        );
    }
    // Items name the call they came from.
    assert_eq!(
        collected.evidence["okta.admins.without_strong_factor"].source,
        ItemSource::Api("GET /api/v1/users/{id}/factors".into())
    );
}

#[tokio::test]
async fn unused_accounts_follow_the_injected_clock_and_the_parameter() {
    // 30 days: only carol (last sign-in 1 August) and frank (never, activated 1 June) are
    // unused, as with 90.
    let (collected, _, _, _) = collect("acme", |c| {
        c.page_size = 4;
        c.inactive_days = 30;
    })
    .await;
    let inactive = &collected.evidence["okta.users.inactive"];
    assert_eq!(
        inactive.value,
        serde_json::json!(["carol@acme.example", "frank@acme.example"])
    );
    assert_eq!(
        collected.evidence["okta.users.inactive_days"].value,
        serde_json::json!(30)
    );
    // Five days: dave's sign-in of 18 November is now too old; bob's of 20 November is not.
    let (collected, _, _, _) = collect("acme", |c| {
        c.page_size = 4;
        c.inactive_days = 5;
    })
    .await;
    assert_eq!(
        collected.evidence["okta.users.inactive"].value,
        serde_json::json!([
            "carol@acme.example",
            "dave@acme.example",
            "frank@acme.example"
        ])
    );
    assert_eq!(
        collected.evidence["okta.users.inactive_count"].value,
        serde_json::json!(3)
    );
}

#[tokio::test]
async fn globex_with_a_token_that_may_read_users_only() {
    let (collected, source, server, _) = collect("globex", |_| {}).await;
    assert_expected("globex", &collected, &source, &server);
    // Every refused fact names the scope it needs.
    for (id, scope) in [
        ("okta.admins.count", "okta.roles.read"),
        ("okta.policies.password", "okta.policies.read"),
        ("okta.users.deactivated_with_apps", "okta.apps.read"),
    ] {
        let item = &collected.evidence[id];
        assert_eq!(item.status, ItemStatus::Unavailable, "{id}");
        assert!(item.reason.as_deref().unwrap().contains(scope), "{id}");
    }
    assert!(
        collected
            .collectors
            .iter()
            .all(|r| r.outcome == RunOutcome::Ok)
    );
}

#[tokio::test]
async fn initech_with_an_expired_token_fails_every_collector_and_says_why() {
    let (collected, source, server, _) = collect("initech", |_| {}).await;
    assert!(server.unmatched().is_empty(), "{:?}", server.unmatched());
    assert!(server.unused().is_empty(), "{:?}", server.unused());
    assert_eq!(collected.collectors.len(), 3);
    for run in &collected.collectors {
        match &run.outcome {
            RunOutcome::Error { message } => assert!(
                message.contains(
                    "HTTP 401 E0000011: Invalid token provided: Okta refused the API token"
                ),
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
    for spec in specs {
        let item = &collected.evidence[spec.id];
        assert_eq!(item.status, ItemStatus::Unavailable, "{}", spec.id);
        let reason = item.reason.as_deref().unwrap();
        assert!(
            reason.contains("failed: GET /api/v1/") && reason.contains("E0000011"),
            "{}: {reason}",
            spec.id
        );
        assert!(!reason.contains(TOKEN));
    }
    // Nothing beyond the first refused call of each area was asked.
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn without_a_token_every_fact_is_unavailable_and_says_why() {
    let source = OktaSource::new(OktaConfig {
        enabled: true,
        org_url: "https://acme.okta.com".into(),
        token_env: "VOUCH_TEST_NO_SUCH_OKTA_TOKEN".into(),
        ..OktaConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    assert_eq!(
        (c.asset.id.as_str(), c.asset.name.as_str()),
        ("acme.okta.com", "acme.okta.com")
    );
    for item in c.evidence.values() {
        assert_eq!(item.status, ItemStatus::Unavailable);
        assert!(
            item.reason.as_deref().unwrap().ends_with(
                "failed: no Okta API token: the environment variable VOUCH_TEST_NO_SUCH_OKTA_TOKEN is not set"
            ),
            "{:?}",
            item.reason
        );
    }
    assert_eq!(c.evidence.len(), 18);
}

#[tokio::test]
async fn an_untrusted_server_is_refused_before_the_token_is_sent() {
    let server = ReplayServer::start(fixtures().join("acme")).await.unwrap();
    let other = ReplayServer::start(fixtures().join("globex"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_token(&dir.path().join("token"), TOKEN);
    std::fs::write(dir.path().join("ca.pem"), other.ca_pem()).unwrap();
    let source = OktaSource::new(OktaConfig {
        enabled: true,
        org_url: server.origin().into(),
        token_file: Some(dir.path().join("token")),
        ca_cert: Some(dir.path().join("ca.pem")),
        timeout_secs: 10,
        ..OktaConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    let reason = c.evidence["okta.users.total"].reason.clone().unwrap();
    assert!(
        reason.starts_with("GET /api/v1/users?limit=200: request failed: ")
            && reason.contains("certificate"),
        "{reason}"
    );
    assert!(server.requests().is_empty());
}

/// Writes a token file as an operator must: mode 0600 (the collector refuses a wider one).
fn write_token(path: &Path, token: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, token).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
