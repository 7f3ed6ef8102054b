//! The Entra ID source with the real reqwest client against recorded Microsoft Graph and token
//! endpoint answers, replayed over local HTTPS (`tests/fixtures/entra/<tenant>/`), checked item
//! by item against `tests/fixtures/entra/<tenant>.expected/`. The clock is fixed at
//! 2025-11-24T08:00:00Z, so that which accounts are unused does not depend on the day the test
//! runs.
//!
//! `acme` is read by an application with every permission of `packaging/entra/README.md`: the
//! client-credentials token, three pages of users by `@odata.nextLink` with their sign-in
//! activity, the registration report over two pages, application roles of disabled users,
//! directory roles whose members are users, a role-assignable group and an application, a
//! disabled administrator, a Global Administrator excluded from the conditional access policy
//! that requires MFA of everyone (an emergency access account), report-only and narrowed
//! policies, domains and the smart lockout; a `429` and a `503` with `Retry-After` waited out;
//! eligible assignments of Privileged Identity Management over two pages (a user eligible
//! besides an active role, one eligible only, a disabled one, a role-assignable group eligible
//! for Global Administrator), who count as administrators. `acme-without-p2` replaces the
//! eligibilities with Graph's answer once acme's P2 licences lapsed (`AadPremiumLicenseRequired`):
//! only active assignments hold roles, and the eligible users' fact says why it is unavailable.
//! `globex` has no Entra ID P1/P2 licence and an application without `RoleManagement.Read.Directory`
//! or `Directory.Read.All`: those facts are unavailable, naming the licence or the permission,
//! and the security defaults require MFA. `initech`'s client secret has expired
//! (`AADSTS7000222`): every collector fails with Entra's answer, and the token endpoint is
//! asked once. `umbrella`'s tokens are refused by Graph: renewed once, then every collector
//! fails.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use vouch_collectors::entra::{CALLS, EntraConfig, EntraSource, call_matches};
use vouch_collectors::testing::{ReplayServer, Served, assert_replayed_as_expected};
use vouch_collectors::{Collected, Source, run_source};
use vouch_evidence::{AssetKind, ItemStatus, RunOutcome, Source as ItemSource, Timestamp};

const SECRET: &str = "Xq58Q~fixture.Entra_Client-Secret0123456789abcd";
const CLIENT_ID: &str = "3f0c9a4e-1b2d-4c5e-8f6a-7b8c9d0e1f2a";
/// The access token the fixtures' token endpoint hands out.
const ACCESS_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6ImZpeHR1cmUifQ.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJpc3MiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC9maXh0dXJlLyIsInJvbGVzIjpbIlVzZXIuUmVhZC5BbGwiXX0.Rml4dHVyZVNpZ25hdHVyZU5vdEFSZWFsVG9rZW4";

fn tenant(name: &str) -> &'static str {
    match name {
        "acme" => "0b1e2d3c-4a5f-4e6d-8c7b-9a0f1e2d3c4b",
        "globex" => "5d2c6b1a-7e3f-4a8b-9c0d-1e2f3a4b5c6d",
        "initech" => "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b",
        "umbrella" => "c4b3a291-8f7e-4d6c-a5b4-c3d2e1f0a9b8",
        other => panic!("no tenant {other}"),
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/entra")
}

fn now() -> Timestamp {
    "2025-11-24T08:00:00Z".parse().unwrap()
}

/// Collects `name` from its replayed fixture (token endpoint and Graph on the same server),
/// with the secret in a 0600 file, the replay CA trusted and the clock fixed. Returns how long
/// the collection took too.
async fn collect(
    name: &str,
    adjust: impl FnOnce(&mut EntraConfig),
) -> (Collected, EntraSource, ReplayServer, Duration) {
    let server = ReplayServer::start(fixtures().join(name)).await.unwrap();
    let (collected, source, took) = collect_from(&server, name, adjust).await;
    (collected, source, server, took)
}

/// Collects tenant `name` from `server`, as [`collect`] does.
async fn collect_from(
    server: &ReplayServer,
    name: &str,
    adjust: impl FnOnce(&mut EntraConfig),
) -> (Collected, EntraSource, Duration) {
    let dir = tempfile::tempdir().unwrap();
    write_secret(&dir.path().join("secret"), &format!("{SECRET}\n"));
    std::fs::write(dir.path().join("ca.pem"), server.ca_pem()).unwrap();
    let mut config = EntraConfig {
        enabled: true,
        tenant_id: tenant(name).into(),
        client_id: CLIENT_ID.into(),
        client_secret_file: Some(dir.path().join("secret")),
        login_url: server.origin().into(),
        graph_url: server.origin().into(),
        ca_cert: Some(dir.path().join("ca.pem")),
        timeout_secs: 30,
        ..EntraConfig::default()
    };
    adjust(&mut config);
    assert_eq!(config.validate(), []);
    let source = EntraSource::new(config);
    let ctx = source.context(CancellationToken::new()).at(now());
    let started = Instant::now();
    let collected = run_source(&source, &ctx).await;
    let took = started.elapsed();
    (collected, source, took)
}

fn assert_expected(name: &str, collected: &Collected, source: &EntraSource, server: &ReplayServer) {
    // Neither the secret, nor the token, nor the tenant's banned passwords may reach the
    // evidence.
    assert_replayed_as_expected(
        collected,
        &source.collectors(),
        &fixtures().join(format!("{name}.expected")),
        server,
        &[SECRET, ACCESS_TOKEN, "AcmeWinter2025", "zebrafish"],
    );
}

fn calls<'a>(requests: &'a [Served], path: &str) -> Vec<&'a Served> {
    requests.iter().filter(|r| r.path == path).collect()
}

fn is_token_request(r: &Served) -> bool {
    r.method == "POST" && r.path.ends_with("/oauth2/v2.0/token")
}

#[tokio::test]
async fn acme_with_every_permission() {
    let (collected, source, server, took) = collect("acme", |c| {
        c.page_size = 4;
        c.name = Some("acmecorp.onmicrosoft.com".into());
    })
    .await;
    assert_expected("acme", &collected, &source, &server);
    let requests = server.requests();
    eprintln!(
        "entra acme: collected against the replay server in {:.3} s ({} requests)",
        took.as_secs_f64(),
        requests.len()
    );
    assert_eq!(collected.asset.kind, AssetKind::EntraTenant);
    // One token for the whole collection, asked with the client-credentials grant; the secret
    // goes there and nowhere else.
    let tokens: Vec<&Served> = requests.iter().filter(|r| is_token_request(r)).collect();
    assert_eq!(tokens.len(), 1, "the token was not kept");
    let form = &tokens[0].body;
    for part in [
        "grant_type=client_credentials",
        &format!("client_id={CLIENT_ID}"),
        "scope=https%3A%2F%2F127.0.0.1%3A",
        "%2F.default",
    ] {
        assert!(form.contains(part), "{part} not in the token request");
    }
    assert_eq!(
        tokens[0].path,
        format!("/{}/oauth2/v2.0/token", tenant("acme"))
    );
    assert!(tokens[0].header("authorization").is_none());
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
        assert!(!r.body.contains(SECRET) && !r.line().contains(SECRET));
        // Every Graph call made is one packaging/entra/README.md lists with its permission.
        assert!(
            CALLS.iter().any(|(call, _)| call_matches(call, &r.path)),
            "{} is not in entra::CALLS",
            r.line()
        );
    }
    // The users' and the report's @odata.nextLink were followed.
    assert_eq!(calls(&requests, "/v1.0/users").len(), 3);
    assert_eq!(
        calls(
            &requests,
            "/v1.0/reports/authenticationMethods/userRegistrationDetails"
        )
        .len(),
        2
    );
    // 429 and 503 with Retry-After: 1, each waited out, then answered.
    for path in [
        "/v1.0/reports/authenticationMethods/userRegistrationDetails/ad8e477a-7ba9-456e-b953-d7d7aaa861a0",
        "/v1.0/domains",
    ] {
        let answered = calls(&requests, path);
        assert_eq!(answered.len(), 2, "{path}");
        assert!(matches!(answered[0].status, 429 | 503), "{path}");
        assert_eq!(answered[1].status, 200, "{path}");
        assert!(
            answered[1].at - answered[0].at >= Duration::from_millis(900),
            "{path}: the throttling was not waited out"
        );
    }
    // A disabled administrator's methods are not asked for, eligible (ivan) or active (erin);
    // enabled users' disabled roles are.
    for disabled in [
        "21b76c9b-5f45-45c9-8b4d-9f2735631a87",
        "e77640f3-9ce3-4f3a-b252-bbc5a8bb5554",
    ] {
        assert!(
            calls(
                &requests,
                &format!("/v1.0/reports/authenticationMethods/userRegistrationDetails/{disabled}")
            )
            .is_empty()
        );
    }
    // The eligibilities' @odata.nextLink was followed, and the eligible group's members read.
    assert_eq!(
        calls(
            &requests,
            "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"
        )
        .len(),
        2
    );
    assert_eq!(
        calls(
            &requests,
            "/v1.0/groups/3c7d5e9a-2b4f-4a61-8d0e-6f1a2b3c4d5e/members"
        )
        .len(),
        1
    );
    // Items name the call they came from.
    assert_eq!(
        collected.evidence["entra.admins.without_strong_method"].source,
        ItemSource::Api(
            "GET /v1.0/reports/authenticationMethods/userRegistrationDetails/{id}".into()
        )
    );
}

#[tokio::test]
async fn unused_accounts_follow_the_injected_clock_and_the_parameter() {
    // 30 days: the emergency access account (last sign-in 1 October) is unused too.
    let (collected, _, _, _) = collect("acme", |c| {
        c.page_size = 4;
        c.inactive_days = 30;
    })
    .await;
    assert_eq!(
        collected.evidence["entra.users.inactive"].value,
        serde_json::json!([
            "breakglass@acme.example",
            "carol@acme.example",
            "frank@acme.example",
            "grace_partner.example#EXT#@acmecorp.onmicrosoft.com"
        ])
    );
    assert_eq!(
        collected.evidence["entra.users.inactive_days"].value,
        serde_json::json!(30)
    );
    // Five days: dave's last (non-interactive) sign-in of 18 November is now too old; bob's
    // of 20 November is not; kim, created yesterday, is not either.
    let (collected, _, _, _) = collect("acme", |c| {
        c.page_size = 4;
        c.inactive_days = 5;
    })
    .await;
    assert_eq!(
        collected.evidence["entra.users.inactive"].value,
        serde_json::json!([
            "breakglass@acme.example",
            "carol@acme.example",
            "dave@acme.example",
            "frank@acme.example",
            "grace_partner.example#EXT#@acmecorp.onmicrosoft.com"
        ])
    );
    assert_eq!(
        collected.evidence["entra.users.inactive_count"].value,
        serde_json::json!(5)
    );
}

#[tokio::test]
async fn globex_without_a_licence_or_the_directory_permissions() {
    let (collected, source, server, _) = collect("globex", |_| {}).await;
    assert_expected("globex", &collected, &source, &server);
    // Every refused fact names the permission or the licence it needs.
    for (id, need) in [
        ("entra.users.without_mfa", "P1 or P2 licence"),
        ("entra.users.inactive", "P1 or P2 licence"),
        ("entra.users.disabled_with_app_roles", "Directory.Read.All"),
        ("entra.admins.count", "RoleManagement.Read.Directory"),
        (
            "entra.admins.eligible",
            "RoleEligibilitySchedule.Read.Directory or RoleManagement.Read.Directory",
        ),
        ("entra.policies.smart_lockout", "Directory.Read.All"),
    ] {
        let item = &collected.evidence[id];
        assert_eq!(item.status, ItemStatus::Unavailable, "{id}");
        assert!(item.reason.as_deref().unwrap().contains(need), "{id}");
    }
    assert!(
        collected
            .collectors
            .iter()
            .all(|r| r.outcome == RunOutcome::Ok)
    );
}

#[tokio::test]
async fn acme_without_p2_holds_roles_by_active_assignments_only() {
    // acme's recorded answers, but Privileged Identity Management's of a tenant without P2.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures().join("acme")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    std::fs::copy(
        fixtures().join("acme-without-p2/44-eligibilities.json"),
        dir.path().join("44-eligibilities.json"),
    )
    .unwrap();
    let server = ReplayServer::start(dir.path()).await.unwrap();
    let (collected, _, _) = collect_from(&server, "acme", |c| c.page_size = 4).await;
    let item = &collected.evidence["entra.admins.eligible"];
    assert_eq!(item.status, ItemStatus::Unavailable);
    assert_eq!(
        item.reason.as_deref().unwrap(),
        "GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal,roleDefinition: HTTP 400 AadPremiumLicenseRequired: The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.: the tenant has no Microsoft Entra ID P2 or Entra ID Governance licence, which Privileged Identity Management needs: no role can be made eligible in it, so only active assignments hold roles"
    );
    // The other facts stand, on the active assignments alone.
    let value = |id: &str| collected.evidence[id].value.clone();
    assert_eq!(value("entra.admins.count"), serde_json::json!(7));
    assert_eq!(
        value("entra.admins.global_admins"),
        serde_json::json!([
            "alice@acme.example",
            "breakglass@acme.example",
            "heidi@acme.example"
        ])
    );
    assert_eq!(
        value("entra.admins.disabled_with_roles"),
        serde_json::json!(["erin@acme.example"])
    );
    assert_eq!(
        value("entra.admins.without_phishing_resistant_method"),
        serde_json::json!(["bob@acme.example", "carol@acme.example", "kim@acme.example"])
    );
    assert!(
        value("entra.admins.users")
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["eligible_roles"] == serde_json::json!([]))
    );
    // Only the answers about the eligible users went unasked: the eligible group's members,
    // dave's, frank's and ivan's accounts, dave's and frank's methods.
    let mut unused = server.unused();
    unused.sort();
    assert_eq!(
        unused,
        [
            "41-role-members.json: GET /v1.0/groups/3c7d5e9a-2b4f-4a61-8d0e-6f1a2b3c4d5e/members",
            "42-admin-users.json: GET /v1.0/users/617d28fa-4fc6-4111-8202-007966ce8e18",
            "42-admin-users.json: GET /v1.0/users/e77640f3-9ce3-4f3a-b252-bbc5a8bb5554",
            "42-admin-users.json: GET /v1.0/users/ea36c815-0c1a-44ce-9660-1af2990dd9ee",
            "43-admin-registrations.json: GET /v1.0/reports/authenticationMethods/userRegistrationDetails/617d28fa-4fc6-4111-8202-007966ce8e18",
            "43-admin-registrations.json: GET /v1.0/reports/authenticationMethods/userRegistrationDetails/ea36c815-0c1a-44ce-9660-1af2990dd9ee",
        ]
    );
    assert!(server.unmatched().is_empty(), "{:?}", server.unmatched());
}

#[tokio::test]
async fn initech_with_an_expired_secret_fails_every_collector_and_says_why() {
    let (collected, source, server, _) = collect("initech", |_| {}).await;
    assert!(server.unmatched().is_empty(), "{:?}", server.unmatched());
    assert!(server.unused().is_empty(), "{:?}", server.unused());
    assert_eq!(collected.collectors.len(), 3);
    for run in &collected.collectors {
        match &run.outcome {
            RunOutcome::Error { message } => assert!(
                message.starts_with(&format!(
                    "POST /{}/oauth2/v2.0/token: HTTP 401 invalid_client: AADSTS7000222: The provided client secret keys for app '{CLIENT_ID}' are expired.",
                    tenant("initech")
                )) && message.ends_with("no Entra ID fact can be read until they are fixed")
                    && !message.contains("Trace ID"),
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
        assert!(reason.contains("AADSTS7000222"), "{}: {reason}", spec.id);
        assert!(!reason.contains(SECRET));
    }
    // The refusal is remembered: one token request, no Graph call.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn umbrella_whose_tokens_graph_refuses_renews_once_then_fails_every_collector() {
    let (collected, _, server, _) = collect("umbrella", |_| {}).await;
    assert!(server.unmatched().is_empty(), "{:?}", server.unmatched());
    assert!(server.unused().is_empty(), "{:?}", server.unused());
    for run in &collected.collectors {
        match &run.outcome {
            RunOutcome::Error { message } => assert!(
                message.contains(
                    "HTTP 401 InvalidAuthenticationToken: Access token validation failure. Invalid audience.: Microsoft Graph refused the application's access token"
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
async fn without_a_secret_every_fact_is_unavailable_and_says_why() {
    let source = EntraSource::new(EntraConfig {
        enabled: true,
        tenant_id: tenant("acme").to_ascii_uppercase(),
        client_id: CLIENT_ID.into(),
        client_secret_env: "VOUCH_TEST_NO_SUCH_ENTRA_SECRET".into(),
        ..EntraConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    assert_eq!(
        (c.asset.id.as_str(), c.asset.name.as_str()),
        (tenant("acme"), tenant("acme"))
    );
    for item in c.evidence.values() {
        assert_eq!(item.status, ItemStatus::Unavailable);
        assert!(
            item.reason.as_deref().unwrap().ends_with(
                "failed: no Entra ID client secret: the environment variable VOUCH_TEST_NO_SUCH_ENTRA_SECRET is not set"
            ),
            "{:?}",
            item.reason
        );
    }
    assert_eq!(c.evidence.len(), 25);
}

#[tokio::test]
async fn an_untrusted_server_is_refused_before_the_secret_is_sent() {
    let server = ReplayServer::start(fixtures().join("acme")).await.unwrap();
    let other = ReplayServer::start(fixtures().join("globex"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_secret(&dir.path().join("secret"), SECRET);
    std::fs::write(dir.path().join("ca.pem"), other.ca_pem()).unwrap();
    let source = EntraSource::new(EntraConfig {
        enabled: true,
        tenant_id: tenant("acme").into(),
        client_id: CLIENT_ID.into(),
        client_secret_file: Some(dir.path().join("secret")),
        login_url: server.origin().into(),
        graph_url: server.origin().into(),
        ca_cert: Some(dir.path().join("ca.pem")),
        timeout_secs: 10,
        ..EntraConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    let reason = c.evidence["entra.users.total"].reason.clone().unwrap();
    assert!(
        reason.contains(&format!(
            "no access token: POST /{}/oauth2/v2.0/token: request failed: ",
            tenant("acme")
        )) && reason.contains("certificate"),
        "{reason}"
    );
    assert!(server.requests().is_empty());
}

/// Writes a secret file as an operator must: mode 0600 (the collector refuses a wider one).
fn write_secret(path: &Path, secret: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, secret).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
