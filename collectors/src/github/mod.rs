//! The GitHub source: facts about one organisation, asked of the GitHub REST API (github.com or
//! GitHub Enterprise Server) with octocrab. One file per area; each declares its evidence ids.
//!
//! The token comes from an environment variable or a file, never from the configuration file
//! itself: `agent.toml` is readable by the agent's group and often kept in configuration
//! management, while the token grants read access to every repository of the organisation.
//! Owner-only facts (2FA requirement, outside collaborators, Dependabot alerts, branch
//! protection) need a token of an organisation owner, or a fine-grained token with the
//! organisation's *Administration*, *Members* and the repositories' *Administration*,
//! *Contents*, *Dependabot alerts* read permissions; without them those facts are unavailable
//! with GitHub's own refusal as the reason.

mod api;
mod dependabot;
mod org;
mod repos;

use crate::remote::{get_call as call};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use vouch_evidence::{Asset, AssetKind};

use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Source, remote, Registration, SourceConfig};
use api::Api;

/// Every area's declarations, for documentation and checks.
pub const EVIDENCE_AREAS: &[&[EvidenceSpec]] =
    &[org::EVIDENCE, repos::EVIDENCE, dependabot::EVIDENCE];

/// The system CA bundle, trusted when no `ca_cert` is configured.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// `[collectors.github]` in the agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GithubConfig {
    /// Collect GitHub evidence at all.
    pub enabled: bool,
    /// The organisation's login, e.g. `acme` (also the asset's id).
    pub org: String,
    /// The environment variable holding the API token (used when `token_file` is not set).
    pub token_env: String,
    /// A file holding the API token (mode 0600, owned by the agent's user); read at every
    /// collection, so a rotated token is picked up.
    pub token_file: Option<PathBuf>,
    /// The API's base URL: `https://api.github.com`, or `https://HOST/api/v3` for GitHub
    /// Enterprise Server.
    pub base_url: String,
    /// PEM file of the CAs to trust for the API (a GitHub Enterprise Server's private CA);
    /// absent: the system bundle `/etc/ssl/certs/ca-certificates.crt`.
    pub ca_cert: Option<PathBuf>,
    /// When to collect: a cron expression with seconds.
    pub schedule: String,
    /// Time budget of each area's collector, in seconds; rate-limit pauses count against it.
    pub timeout_secs: u64,
    /// The most API requests in flight at once.
    pub concurrency: usize,
    /// Repository names to cover (`*` matches any run of characters); empty: every repository.
    pub include: Vec<String>,
    /// Repository names to leave out, even when included.
    pub exclude: Vec<String>,
}

impl Default for GithubConfig {
    fn default() -> Self {
        GithubConfig {
            enabled: false,
            org: String::new(),
            token_env: "GITHUB_TOKEN".into(),
            token_file: None,
            base_url: "https://api.github.com".into(),
            ca_cert: None,
            schedule: "0 0 * * * *".into(),
            timeout_secs: 600,
            concurrency: 8,
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

impl SourceConfig for GithubConfig {
    const REGISTRATION: Registration = Registration {
        name: "github",
        kind: AssetKind::GithubOrg,
        intro: "Facts about one GitHub organisation, asked of the GitHub REST API (github.com or GitHub Enterprise Server). Owner-only facts need an organisation owner's token (or a fine-grained token with the matching read permissions); without it they are unavailable, with GitHub's refusal as the reason.",
        evidence: EVIDENCE_AREAS,
    };

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        self.validate()
    }

    fn source(&self) -> Box<dyn Source> {
        Box::new(GithubSource::new(self.clone()))
    }
}

impl GithubConfig {
    /// Every problem, as (key below `collectors.github`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        let login = |s: &str| {
            !s.is_empty()
                && !s.starts_with('-')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if self.enabled && self.org.is_empty() {
            errors.push(("org", "must name the organisation's login".to_string()));
        } else if !self.org.is_empty() && !login(&self.org) {
            errors.push((
                "org",
                format!(
                    "{:?} is not an organisation login (letters, digits, -)",
                    self.org
                ),
            ));
        }
        if self.token_env.is_empty()
            || !self
                .token_env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            errors.push((
                "token_env",
                format!("{:?} is not an environment variable name", self.token_env),
            ));
        }
        for (key, path) in [("token_file", &self.token_file), ("ca_cert", &self.ca_cert)] {
            if let Some(p) = path.as_ref().filter(|p| !p.is_absolute()) {
                errors.push((key, format!("{} must be an absolute path", p.display())));
            }
        }
        match self.base_url.parse::<http::Uri>() {
            Ok(u)
                if u.scheme_str() == Some("https") && u.host().is_some() && u.query().is_none() => {
            }
            _ => errors.push((
                "base_url",
                format!("{:?} must be an https:// URL with a host", self.base_url),
            )),
        }
        remote::check_schedule_and_budget(
            &mut errors,
            &self.schedule,
            "0 0 * * * *",
            self.timeout_secs,
        );
        remote::check_range(&mut errors, "concurrency", self.concurrency, 1..=32);
        for (key, patterns) in [("include", &self.include), ("exclude", &self.exclude)] {
            if patterns.iter().any(|p| p.is_empty()) {
                errors.push((key, "patterns must not be empty".to_string()));
            }
        }
        errors
    }

    /// Whether repository `name` is covered by `include` and not left out by `exclude`.
    pub fn covers(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| glob(p, name)))
            && !self.exclude.iter().any(|p| glob(p, name))
    }

    /// The API token, from the file or the environment. The error is a reason sentence.
    fn token(&self) -> Result<String, String> {
        crate::remote::read_secret(
            self.token_file.as_deref(),
            &self.token_env,
            "GitHub token",
            "token",
        )
    }

    /// A client as configured. The error is a reason sentence.
    fn connect(&self) -> Result<Api, String> {
        let token = self.token()?;
        let bundle = self
            .ca_cert
            .clone()
            .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
        let pem = std::fs::read(&bundle)
            .map_err(|e| crate::describe_io(&bundle.display().to_string(), &e))?;
        Api::new(&self.base_url, &token, &pem).map_err(|e| format!("GitHub client: {e}"))
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters (ASCII case
/// ignored, as GitHub ignores it in repository names).
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_ascii_lowercase(), name.to_ascii_lowercase());
    let mut parts = p.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = n.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// What the collectors of one source share: the configuration and the client, made afresh at
/// the start of every collection (so a rotated token or CA is picked up).
struct Shared {
    config: GithubConfig,
    api: Mutex<Option<Result<Arc<Api>, String>>>,
}

impl Shared {
    /// The client, made if this collection has none yet.
    fn api(&self) -> Result<Arc<Api>, CollectError> {
        let mut api = self.api.lock().unwrap_or_else(|e| e.into_inner());
        api.get_or_insert_with(|| self.config.connect().map(Arc::new))
            .clone()
            .map_err(CollectError::Failed)
    }

    /// Forgets the client: the next [`Shared::api`] makes a new one.
    fn reset(&self) {
        *self.api.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The organisation's login.
    fn org(&self) -> &str {
        &self.config.org
    }
}

/// The GitHub source.
#[derive(Clone)]
pub struct GithubSource {
    shared: Arc<Shared>,
}

impl GithubSource {
    /// A GitHub source with `config`.
    pub fn new(config: GithubConfig) -> Self {
        GithubSource {
            shared: Arc::new(Shared {
                config,
                api: Mutex::new(None),
            }),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &GithubConfig {
        &self.shared.config
    }
}

#[async_trait::async_trait]
impl Source for GithubSource {
    fn name(&self) -> &'static str {
        <GithubConfig as SourceConfig>::REGISTRATION.name
    }

    /// The organisation: its login is the asset's id (as configured, so that the chain stays
    /// the same when the API cannot be reached), its display name the asset's name.
    async fn asset(&self, ctx: &CollectContext) -> Asset {
        self.shared.reset();
        let org = self.shared.org().to_string();
        let name = match self.shared.api() {
            Ok(api) => match api.get(ctx, &format!("/orgs/{org}")).await {
                Ok(answer) => answer
                    .body
                    .get("name")
                    .and_then(|v| v.as_str())
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
                Err(e) => {
                    tracing::warn!(org, error = %e, "GitHub organisation name unavailable");
                    None
                }
            },
            Err(_) => None,
        };
        Asset {
            kind: AssetKind::GithubOrg,
            name: name.unwrap_or_else(|| org.clone()),
            id: org,
        }
    }

    fn collectors(&self) -> Vec<Arc<dyn Collector>> {
        vec![
            Arc::new(org::Org(self.shared.clone())),
            Arc::new(repos::Repos(self.shared.clone())),
            Arc::new(dependabot::Dependabot(self.shared.clone())),
        ]
    }

    fn context(&self, shutdown: CancellationToken) -> CollectContext {
        remote::api_context(self.shared.config.timeout_secs, shutdown)
    }

    fn schedule(&self) -> &str {
        &self.shared.config.schedule
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        assert!(glob("*", "api"));
        assert!(glob("api", "API"));
        assert!(!glob("api", "api-docs"));
        assert!(glob("api-*", "api-docs"));
        assert!(glob("*-docs", "api-docs"));
        assert!(glob("a*i*s", "api-docs"));
        assert!(!glob("a*x*s", "api-docs"));
        assert!(!glob("*-docs", "docs"));
        assert!(glob("a**", "a"));
    }

    #[test]
    fn include_and_exclude_combine() {
        let c = GithubConfig {
            include: vec!["svc-*".into(), "web".into()],
            exclude: vec!["svc-legacy*".into()],
            ..GithubConfig::default()
        };
        assert!(c.covers("svc-billing"));
        assert!(c.covers("web"));
        assert!(!c.covers("svc-legacy-auth"));
        assert!(!c.covers("infra"));
        assert!(GithubConfig::default().covers("anything"));
    }

    #[test]
    fn config_problems_are_all_reported() {
        let bad = GithubConfig {
            enabled: true,
            org: String::new(),
            token_env: "GITHUB TOKEN".into(),
            token_file: Some("token".into()),
            base_url: "http://github.example".into(),
            schedule: "hourly".into(),
            timeout_secs: 0,
            concurrency: 0,
            include: vec![String::new()],
            ..GithubConfig::default()
        };
        let keys: Vec<&str> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "org",
                "token_env",
                "token_file",
                "base_url",
                "schedule",
                "timeout_secs",
                "concurrency",
                "include"
            ]
        );
        assert!(GithubConfig::default().validate().is_empty());
        let enabled = GithubConfig {
            enabled: true,
            org: "acme-corp".into(),
            base_url: "https://ghe.example.com/api/v3".into(),
            ..GithubConfig::default()
        };
        assert!(enabled.validate().is_empty());
        let bad_login = GithubConfig {
            org: "acme/corp".into(),
            ..GithubConfig::default()
        };
        assert_eq!(bad_login.validate()[0].0, "org");
    }

    #[test]
    fn tokens_come_from_a_file_or_the_environment_never_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "ghp_example\n").unwrap();
        let from_file = GithubConfig {
            token_file: Some(file.clone()),
            ..GithubConfig::default()
        };
        // Regression (issue 15, defect 9): the token file's mode was not checked. One that
        // group or others may read is refused, its token never read.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = from_file.token().unwrap_err();
        assert!(
            e.contains("is readable by group or others (mode 0644)") && !e.contains("ghp_"),
            "{e}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(from_file.token().unwrap(), "ghp_example");
        std::fs::write(&file, "\n").unwrap();
        assert_eq!(
            from_file.token().unwrap_err(),
            "no GitHub token: it is empty"
        );
        let missing = GithubConfig {
            token_file: Some(dir.path().join("absent")),
            ..GithubConfig::default()
        };
        assert!(missing.token().unwrap_err().starts_with("not found: "));
        let unset = GithubConfig {
            token_env: "VOUCH_TEST_UNSET_GITHUB_TOKEN".into(),
            ..GithubConfig::default()
        };
        assert_eq!(
            unset.token().unwrap_err(),
            "no GitHub token: the environment variable VOUCH_TEST_UNSET_GITHUB_TOKEN is not set"
        );
    }
}
