//! The GitHub source with the real octocrab client against recorded GitHub REST answers,
//! replayed over local HTTPS (`tests/fixtures/github/<org>/`), checked item by item against
//! `tests/fixtures/github/<org>.expected/`.
//!
//! `acme-corp` is seen with an owner's token: two pages of repositories, classic protection and
//! rulesets, CODEOWNERS in each place GitHub looks, a secondary rate limit (`429`,
//! `Retry-After`) and an exhausted primary one (`403`, `x-ratelimit-reset`) both waited out.
//! `acme-labs` is seen with a member's token: owner-only fields absent, refusals (`403`, `404`,
//! `422`), and a rate limit that lasts past the deadline.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use vouch_collectors::github::{GithubConfig, GithubSource};
use vouch_collectors::testing::{ReplayServer, Served, assert_replayed_as_expected};
use vouch_collectors::{Collected, Source, run_source};
use vouch_evidence::{ItemStatus, Source as ItemSource};

const TOKEN: &str = "ghp_fixtureToken0123456789abcdefABCDEF01";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/github")
}

/// Collects `org` from its replayed fixture, with the token in a file and the replay CA trusted.
async fn collect(
    org: &str,
    adjust: impl FnOnce(&mut GithubConfig),
) -> (Collected, GithubSource, ReplayServer) {
    let server = ReplayServer::start(fixtures().join(org)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_token(&dir.path().join("token"), &format!("{TOKEN}\n"));
    std::fs::write(dir.path().join("ca.pem"), server.ca_pem()).unwrap();
    let mut config = GithubConfig {
        enabled: true,
        org: org.into(),
        token_file: Some(dir.path().join("token")),
        ca_cert: Some(dir.path().join("ca.pem")),
        base_url: server.origin().into(),
        timeout_secs: 30,
        ..GithubConfig::default()
    };
    adjust(&mut config);
    assert_eq!(config.validate(), []);
    let source = GithubSource::new(config);
    let collected = run_source(&source, &source.context(CancellationToken::new())).await;
    (collected, source, server)
}

fn assert_expected(org: &str, collected: &Collected, source: &GithubSource, server: &ReplayServer) {
    // The token, and the base64 of the CODEOWNERS files GitHub returned, never in evidence.
    assert_replayed_as_expected(
        collected,
        &source.collectors(),
        &fixtures().join(format!("{org}.expected")),
        server,
        &[TOKEN, "KiBAYWNtZS1"],
    );
}

fn calls<'a>(requests: &'a [Served], path: &str) -> Vec<&'a Served> {
    requests.iter().filter(|r| r.path == path).collect()
}

#[tokio::test]
async fn acme_corp_with_an_owners_token() {
    let (collected, source, server) =
        collect("acme-corp", |c| c.exclude = vec!["sandbox-*".into()]).await;
    assert_expected("acme-corp", &collected, &source, &server);
    assert_eq!(collected.asset.kind, vouch_evidence::AssetKind::GithubOrg);
    let requests = server.requests();
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{}",
            r.line()
        );
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
    }
    // The Link header's next page was followed (to GitHub's /organizations/{id} form).
    assert_eq!(calls(&requests, "/organizations/90210/repos").len(), 1);
    // 429 with Retry-After: 1, then the answer, at least a second later.
    let members: Vec<_> = calls(&requests, "/orgs/acme-corp/members")
        .into_iter()
        .filter(|r| r.query == "per_page=100")
        .collect();
    assert_eq!(
        members.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert!(members[1].at - members[0].at >= Duration::from_millis(900));
    // 403 with x-ratelimit-remaining: 0 until x-ratelimit-reset, then the answer.
    let outside = calls(&requests, "/orgs/acme-corp/outside_collaborators");
    assert_eq!(
        outside.iter().map(|r| r.status).collect::<Vec<_>>(),
        [403, 200]
    );
    // Excluded and archived repositories are not examined.
    assert!(
        !requests
            .iter()
            .any(|r| r.path.starts_with("/repos/acme-corp/sandbox-test")
                || r.path.starts_with("/repos/acme-corp/legacy-app")),
    );
    // Items name the API call they came from.
    assert_eq!(
        collected.evidence["github.org.admins"].source,
        ItemSource::Api("GET /orgs/acme-corp/members?role=admin".into())
    );
}

#[tokio::test]
async fn acme_labs_with_a_members_token() {
    let (collected, source, server) = collect("acme-labs", |_| {}).await;
    assert_expected("acme-labs", &collected, &source, &server);
    // The rate limit lasting past the deadline was not waited for.
    let requests = server.requests();
    assert_eq!(
        calls(&requests, "/orgs/acme-labs/dependabot/alerts").len(),
        1
    );
}

#[tokio::test]
async fn without_a_token_every_fact_is_unavailable_and_says_why() {
    let config = GithubConfig {
        enabled: true,
        org: "acme-corp".into(),
        token_env: "VOUCH_TEST_NO_SUCH_GITHUB_TOKEN".into(),
        ..GithubConfig::default()
    };
    let source = GithubSource::new(config);
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    assert_eq!(
        (c.asset.id.as_str(), c.asset.name.as_str()),
        ("acme-corp", "acme-corp")
    );
    let specs: Vec<_> = source
        .collectors()
        .iter()
        .flat_map(|c| c.evidence())
        .collect();
    assert!(!specs.is_empty());
    for spec in specs {
        let item = &c.evidence[spec.id];
        assert_eq!(item.status, ItemStatus::Unavailable, "{}", spec.id);
        assert!(
            item.reason.as_deref().unwrap().ends_with(
                "failed: no GitHub token: the environment variable VOUCH_TEST_NO_SUCH_GITHUB_TOKEN is not set"
            ),
            "{}: {:?}",
            spec.id,
            item.reason
        );
    }
}

#[tokio::test]
async fn an_untrusted_server_is_refused() {
    let server = ReplayServer::start(fixtures().join("acme-corp"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_token(&dir.path().join("token"), TOKEN);
    // A CA bundle that does not hold the replay server's CA.
    let other = ReplayServer::start(fixtures().join("acme-labs"))
        .await
        .unwrap();
    std::fs::write(dir.path().join("ca.pem"), other.ca_pem()).unwrap();
    let source = GithubSource::new(GithubConfig {
        enabled: true,
        org: "acme-corp".into(),
        token_file: Some(dir.path().join("token")),
        ca_cert: Some(dir.path().join("ca.pem")),
        base_url: server.origin().into(),
        timeout_secs: 10,
        ..GithubConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    let reason = c.evidence["github.org.members"].reason.clone().unwrap();
    assert!(
        reason.starts_with("GET /orgs/acme-corp/members?per_page=100: request failed: ")
            && reason.contains("certificate"),
        "{reason}"
    );
    assert!(
        server.requests().is_empty(),
        "nothing was sent to the untrusted server"
    );
}

/// Writes a token file as an operator must: mode 0600 (the collector refuses a wider one).
fn write_token(path: &std::path::Path, token: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, token).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
