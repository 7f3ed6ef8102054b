//! The Okta source: facts about one Okta organisation (its people, their factors, its
//! administrators and its password and sign-on policies), asked of the Okta Management API with
//! a read-only administrator's API token. One file per area; each declares its evidence ids.
//!
//! The token comes from an environment variable or a file (mode 0600), never from the
//! configuration file itself, and is never logged or put in evidence. It inherits the
//! permissions of the administrator who created it: a Read-only Administrator reads everything
//! here. A call the token may not make (`403`) makes the facts it feeds unavailable, naming the
//! OAuth scope the call needs (`okta.users.read`, `okta.roles.read`, `okta.policies.read`,
//! `okta.apps.read`); a refused token (`401`) fails every collector with that reason.
//!
//! Evidence names people by their Okta login (cut to [`MAX_ECHO_CHARS`] characters like every
//! string another party chose), in lists of at most [`MAX_LISTED`], beside a whole count.
//!
//! [`MAX_ECHO_CHARS`]: vouch_evidence::limits::MAX_ECHO_CHARS

mod admins;
mod api;
mod model;
mod policies;
mod users;

use crate::remote::{get_call as call, listed};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use vouch_evidence::{Asset, AssetKind};

use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Registration, Source, SourceConfig,
    remote,
};
use api::{Api, ApiError};

/// Every area's declarations, for documentation and checks.
pub const EVIDENCE_AREAS: &[&[EvidenceSpec]] =
    &[users::EVIDENCE, admins::EVIDENCE, policies::EVIDENCE];

/// The system CA bundle, trusted when no `ca_cert` is configured.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Every call the source makes, with the OAuth scope it needs, as `packaging/okta/README.md`
/// lists them (`{…}` stands for one path segment or query value).
pub const CALLS: &[(&str, &str)] = &[
    ("GET /api/v1/users", "okta.users.read"),
    ("GET /api/v1/users/{id}", "okta.users.read"),
    ("GET /api/v1/users/{id}/factors", "okta.users.read"),
    ("GET /api/v1/users/{id}/roles", "okta.roles.read"),
    ("GET /api/v1/iam/assignees/users", "okta.roles.read"),
    ("GET /api/v1/apps?filter=user.id eq \"{id}\"", "okta.apps.read"),
    ("GET /api/v1/policies?type={type}", "okta.policies.read"),
    ("GET /api/v1/policies/{id}/rules", "okta.policies.read"),
];

/// Whether the path of `request` (`/api/v1/users/00u1/factors`) is that of `call`
/// (`GET /api/v1/users/{id}/factors`), `{…}` matching any one segment.
pub fn call_matches(call: &str, request_path: &str) -> bool {
    remote::call_matches(call, request_path)
}

/// The most people one evidence list names; the count beside it is whole.
pub const MAX_LISTED: usize = crate::remote::MAX_LISTED;

/// `[collectors.okta]` in the agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OktaConfig {
    /// Collect Okta evidence at all.
    pub enabled: bool,
    /// The organisation's URL, `https://acme.okta.com` (or its custom domain); its host in lower
    /// case is the asset's id.
    pub org_url: String,
    /// The environment variable holding the API token (used when `token_file` is not set).
    pub token_env: String,
    /// A file holding the API token (mode 0600, owned by the agent's user); read at every
    /// collection, so a rotated token is picked up.
    pub token_file: Option<PathBuf>,
    /// PEM file of the CAs to trust for the API; absent: the system bundle
    /// `/etc/ssl/certs/ca-certificates.crt`.
    pub ca_cert: Option<PathBuf>,
    /// When to collect: a cron expression with seconds.
    pub schedule: String,
    /// Time budget of each area's collector, in seconds; rate-limit pauses count against it.
    pub timeout_secs: u64,
    /// The most API requests of one area in flight at once (per-user factor and role reads).
    pub concurrency: usize,
    /// Items asked for per page (`limit`; Okta allows up to 200 users a page).
    pub page_size: usize,
    /// The most pages one listing may take; a longer list is unavailable rather than cut.
    pub max_pages: usize,
    /// Days without a sign-in after which an account that can sign in counts as unused.
    pub inactive_days: u32,
}

impl Default for OktaConfig {
    fn default() -> Self {
        OktaConfig {
            enabled: false,
            org_url: String::new(),
            token_env: "OKTA_API_TOKEN".into(),
            token_file: None,
            ca_cert: None,
            schedule: "0 20 */6 * * *".into(),
            timeout_secs: 900,
            concurrency: 4,
            page_size: 200,
            max_pages: 500,
            inactive_days: 90,
        }
    }
}

impl SourceConfig for OktaConfig {
    const REGISTRATION: Registration = Registration {
        name: "okta",
        kind: AssetKind::OktaOrg,
        intro: "Facts about one Okta organisation, asked of the Okta Management API with a read-only administrator's API token (`Authorization: SSWS`): people and their enrolled factors, administrators and their roles, accounts unused or deactivated, and the password and sign-on policies. A call the token may not make is unavailable, naming the OAuth scope it needs; a refused token fails every collector with that reason. People are named by their login, at most 100 a list, beside a whole count.",
        evidence: EVIDENCE_AREAS,
    };

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        self.validate()
    }

    fn source(&self) -> Box<dyn Source> {
        Box::new(OktaSource::new(self.clone()))
    }
}

impl OktaConfig {
    /// Every problem, as (key below `collectors.okta`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if self.enabled && self.org_url.is_empty() {
            errors.push((
                "org_url",
                "must name the organisation's URL, e.g. https://acme.okta.com".to_string(),
            ));
        } else if !self.org_url.is_empty() && self.origin().is_none() {
            errors.push((
                "org_url",
                format!(
                    "{:?} must be an https:// URL with a host and no path, query or credentials",
                    self.org_url
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
        remote::check_schedule_and_budget(
            &mut errors,
            &self.schedule,
            "0 20 */6 * * *",
            self.timeout_secs,
        );
        remote::check_range(&mut errors, "concurrency", self.concurrency, 1..=16);
        remote::check_range(&mut errors, "page_size", self.page_size, 1..=200);
        remote::check_range(&mut errors, "max_pages", self.max_pages, 1..=10_000);
        remote::check_range(&mut errors, "inactive_days", self.inactive_days, 1..=3650);
        errors
    }

    /// `https://host[:port]` of `org_url`, the host in lower case, when it is one.
    fn origin(&self) -> Option<String> {
        let uri: http::Uri = self.org_url.trim_end_matches('/').parse().ok()?;
        let authority = uri.authority()?;
        let fine = uri.scheme_str() == Some("https")
            && !authority.as_str().contains('@')
            && !authority.host().is_empty()
            && matches!(uri.path(), "" | "/")
            && uri.query().is_none();
        fine.then(|| format!("https://{}", authority.as_str().to_ascii_lowercase()))
    }

    /// The asset's id: the organisation's host in lower case (`acme.okta.com`).
    pub fn org_host(&self) -> String {
        self.org_url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_ascii_lowercase))
            .unwrap_or_else(|| self.org_url.to_ascii_lowercase())
    }

    /// The API token, from the file or the environment. The error is a reason sentence.
    fn token(&self) -> Result<String, String> {
        crate::remote::read_secret(
            self.token_file.as_deref(),
            &self.token_env,
            "Okta API token",
            "token",
        )
    }

    /// A client as configured. The error is a reason sentence.
    fn connect(&self) -> Result<Api, String> {
        let origin = self
            .origin()
            .ok_or_else(|| format!("org_url {:?} is not an https:// URL", self.org_url))?;
        let token = self.token()?;
        let bundle = self
            .ca_cert
            .clone()
            .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
        let pem = std::fs::read(&bundle)
            .map_err(|e| crate::describe_io(&bundle.display().to_string(), &e))?;
        Api::new(&origin, &token, &pem, self.max_pages)
    }
}

/// What the collectors of one source share: the configuration and the client, made afresh at
/// the start of every collection (so a rotated token or CA is picked up).
struct Shared {
    config: OktaConfig,
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

    /// `?limit=<page_size>` or `&limit=…` appended to `path`.
    fn paged(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}limit={}", self.config.page_size)
    }
}

/// A refused token fails the whole collector with Okta's answer; anything else is the reason
/// of the facts it feeds.
fn fatal<T>(result: Result<T, ApiError>) -> Result<Result<T, String>, CollectError> {
    match result {
        Err(e) if e.is_unauthorized() => Err(CollectError::Failed(e.to_string())),
        other => Ok(other.map_err(|e| e.to_string())),
    }
}

/// The Okta source.
#[derive(Clone)]
pub struct OktaSource {
    shared: Arc<Shared>,
}

impl OktaSource {
    /// An Okta source with `config`.
    pub fn new(config: OktaConfig) -> Self {
        OktaSource {
            shared: Arc::new(Shared {
                config,
                api: Mutex::new(None),
            }),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &OktaConfig {
        &self.shared.config
    }
}

#[async_trait::async_trait]
impl Source for OktaSource {
    fn name(&self) -> &'static str {
        <OktaConfig as SourceConfig>::REGISTRATION.name
    }

    /// The organisation, named by its host as configured (so that the chain stays the same
    /// whatever the token may read): no call is made for it.
    async fn asset(&self, _ctx: &CollectContext) -> Asset {
        self.shared.reset();
        let host = self.shared.config.org_host();
        Asset {
            kind: AssetKind::OktaOrg,
            name: host.clone(),
            id: host,
        }
    }

    fn collectors(&self) -> Vec<Arc<dyn Collector>> {
        vec![
            Arc::new(users::Users(self.shared.clone())),
            Arc::new(admins::Admins(self.shared.clone())),
            Arc::new(policies::Policies(self.shared.clone())),
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
    fn config_problems_are_all_reported() {
        let bad = OktaConfig {
            enabled: true,
            org_url: "http://acme.okta.com/app".into(),
            token_env: "OKTA TOKEN".into(),
            token_file: Some("token".into()),
            ca_cert: Some("ca.pem".into()),
            schedule: "hourly".into(),
            timeout_secs: 0,
            concurrency: 0,
            page_size: 201,
            max_pages: 0,
            inactive_days: 0,
        };
        let keys: Vec<&str> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "org_url",
                "token_env",
                "token_file",
                "ca_cert",
                "schedule",
                "timeout_secs",
                "concurrency",
                "page_size",
                "max_pages",
                "inactive_days"
            ]
        );
        assert!(OktaConfig::default().validate().is_empty());
        let missing = OktaConfig {
            enabled: true,
            ..OktaConfig::default()
        };
        assert_eq!(missing.validate()[0].0, "org_url");
        for bad in [
            "https://acme.okta.com/oauth2",
            "https://acme.okta.com?x=1",
            "https://user:pw@acme.okta.com",
            "acme.okta.com",
        ] {
            let c = OktaConfig {
                org_url: bad.into(),
                ..OktaConfig::default()
            };
            assert_eq!(c.validate().len(), 1, "{bad}");
        }
        let fine = OktaConfig {
            enabled: true,
            org_url: "https://ACME.okta.com/".into(),
            ..OktaConfig::default()
        };
        assert!(fine.validate().is_empty());
        assert_eq!(fine.origin().as_deref(), Some("https://acme.okta.com"));
        assert_eq!(fine.org_host(), "acme.okta.com");
    }

    #[test]
    fn tokens_come_from_a_file_of_mode_0600_or_the_environment_never_empty() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "00aExampleOktaToken\n").unwrap();
        let from_file = OktaConfig {
            token_file: Some(file.clone()),
            ..OktaConfig::default()
        };
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = from_file.token().unwrap_err();
        assert!(
            e.contains("is readable by group or others (mode 0640)") && !e.contains("00aExample"),
            "{e}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(from_file.token().unwrap(), "00aExampleOktaToken");
        std::fs::write(&file, " \n").unwrap();
        assert_eq!(
            from_file.token().unwrap_err(),
            "no Okta API token: it is empty"
        );
        let unset = OktaConfig {
            token_env: "VOUCH_TEST_UNSET_OKTA_TOKEN".into(),
            ..OktaConfig::default()
        };
        assert_eq!(
            unset.token().unwrap_err(),
            "no Okta API token: the environment variable VOUCH_TEST_UNSET_OKTA_TOKEN is not set"
        );
    }

    /// `packaging/okta/README.md` names every call with the scope the client names when Okta
    /// refuses it, and no scope the source does not need.
    #[test]
    fn the_packaged_scopes_are_those_of_the_calls() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/okta/README.md"),
        )
        .unwrap();
        for (call, scope) in CALLS {
            assert_eq!(api::required_scope(call), *scope, "{call}");
            assert!(
                doc.contains(&format!("| `{call}` | `{scope}` |")),
                "packaging/okta/README.md lacks {call} → {scope}"
            );
        }
        let rows = doc.lines().filter(|l| l.starts_with("| `GET ")).count();
        assert_eq!(rows, CALLS.len(), "a call in the README the source does not make");
        assert!(call_matches("GET /api/v1/users/{id}/factors", "/api/v1/users/00u1/factors"));
        assert!(!call_matches("GET /api/v1/users/{id}", "/api/v1/users/00u1/factors"));
        assert!(call_matches("GET /api/v1/policies?type={type}", "/api/v1/policies"));
    }

    #[test]
    fn lists_are_cut_sorted_and_bounded() {
        let long = "x".repeat(300);
        let many: Vec<String> = (0..150).map(|i| format!("u{i:03}@acme.example")).collect();
        let names = listed(many.iter().map(String::as_str).chain([long.as_str()]));
        assert_eq!(names.len(), MAX_LISTED);
        assert_eq!(names[0], "u000@acme.example");
        let cut = listed([long.as_str(), "a\nb"]);
        assert_eq!(cut[0], "a\u{fffd}b");
        assert_eq!(cut[1].chars().count(), 257);
        assert!(cut[1].ends_with('…'));
    }
}
