//! The Microsoft Entra ID source: facts about one tenant (its people and the authentication
//! methods they registered, its administrators, its conditional access policies, security
//! defaults and password settings), asked of Microsoft Graph v1.0 by an application registered
//! in the tenant with read-only application permissions. One file per area; each declares its
//! evidence ids.
//!
//! The application signs in with the OAuth 2.0 client-credentials grant: its client secret
//! comes from an environment variable or a file (mode 0600), never from the configuration file
//! itself, is sent only to the token endpoint and is never logged or put in evidence; nor is
//! the access token, which is kept for the collection until shortly before it expires. A
//! refused credential (an expired secret, `AADSTS7000222`) fails every collector with that
//! reason; a call the application may not make (`403`) makes the facts it feeds unavailable,
//! naming the application permission the call needs (`User.Read.All`, `AuditLog.Read.All`,
//! `RoleManagement.Read.Directory`, `GroupMember.Read.All`, `Directory.Read.All`,
//! `Policy.Read.All`, `Domain.Read.All`), or the Entra ID P1/P2 licence that sign-in activity
//! and the registration report need. Administrators are the holders of directory roles, active
//! or eligible through Privileged Identity Management (which needs Entra ID P2: a tenant
//! without it has no eligible assignments, and says so with `AadPremiumLicenseRequired`).
//!
//! Evidence names people by their user principal name (cut to [`MAX_ECHO_CHARS`] characters
//! like every string another party chose), in lists of at most [`MAX_LISTED`], beside a whole
//! count.
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
use api::{Api, ApiError, Endpoints};

/// Every area's declarations, for documentation and checks.
pub const EVIDENCE_AREAS: &[&[EvidenceSpec]] =
    &[users::EVIDENCE, admins::EVIDENCE, policies::EVIDENCE];

/// The system CA bundle, trusted when no `ca_cert` is configured.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Microsoft's token service of the global cloud.
const LOGIN_URL: &str = "https://login.microsoftonline.com";

/// Microsoft Graph of the global cloud.
const GRAPH_URL: &str = "https://graph.microsoft.com";

/// The users' properties read, without and with their sign-in activity.
const USER_FIELDS: &str = "id,userPrincipalName,accountEnabled,userType,createdDateTime";

/// Every Graph call the source makes, with the application permission it needs, as
/// `packaging/entra/README.md` lists them (`{…}` stands for one path segment or query value).
/// Besides these, the token request goes to the token endpoint, which needs no permission.
pub const CALLS: &[(&str, &str)] = &[
    (
        "GET /v1.0/users?$select=id,userPrincipalName,accountEnabled,userType,createdDateTime,signInActivity&$top={n}",
        "User.Read.All and AuditLog.Read.All",
    ),
    (
        "GET /v1.0/users?$select=id,userPrincipalName,accountEnabled,userType,createdDateTime&$top={n}",
        "User.Read.All",
    ),
    (
        "GET /v1.0/users/{id}?$select=id,userPrincipalName,accountEnabled",
        "User.Read.All",
    ),
    ("GET /v1.0/users/{id}/appRoleAssignments", "Directory.Read.All"),
    (
        "GET /v1.0/reports/authenticationMethods/userRegistrationDetails",
        "AuditLog.Read.All",
    ),
    (
        "GET /v1.0/reports/authenticationMethods/userRegistrationDetails/{id}",
        "AuditLog.Read.All",
    ),
    ("GET /v1.0/directoryRoles", "RoleManagement.Read.Directory"),
    (
        "GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal,roleDefinition",
        "RoleEligibilitySchedule.Read.Directory or RoleManagement.Read.Directory",
    ),
    (
        "GET /v1.0/directoryRoles/{id}/members",
        "RoleManagement.Read.Directory",
    ),
    ("GET /v1.0/groups/{id}/members", "GroupMember.Read.All"),
    (
        "GET /v1.0/groups/{id}?$select=id,displayName",
        "GroupMember.Read.All",
    ),
    ("GET /v1.0/identity/conditionalAccess/policies", "Policy.Read.All"),
    (
        "GET /v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
        "Policy.Read.All",
    ),
    ("GET /v1.0/domains", "Domain.Read.All"),
    ("GET /v1.0/groupSettings", "Directory.Read.All"),
];

/// Whether the path of a request (`/v1.0/users/8f1e…/appRoleAssignments`) is that of `call`
/// (`GET /v1.0/users/{id}/appRoleAssignments`), `{…}` matching any one segment.
pub fn call_matches(call: &str, request_path: &str) -> bool {
    remote::call_matches(call, request_path)
}

/// The most people one evidence list names; the count beside it is whole.
pub const MAX_LISTED: usize = crate::remote::MAX_LISTED;

/// `[collectors.entra]` in the agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntraConfig {
    /// Collect Entra ID evidence at all.
    pub enabled: bool,
    /// The tenant (directory) id, a GUID (`72f988bf-86f1-41af-91ab-2d7cd011db47`); in lower case
    /// it is the asset's id. A domain name is refused: it can be renamed, the id cannot.
    pub tenant_id: String,
    /// The application (client) id of the app registration Vouch signs in as, a GUID.
    pub client_id: String,
    /// The environment variable holding the application's client secret (used when
    /// `client_secret_file` is not set).
    pub client_secret_env: String,
    /// A file holding the client secret (mode 0600, owned by the agent's user); read at every
    /// collection, so a rotated secret is picked up.
    pub client_secret_file: Option<PathBuf>,
    /// The tenant's name in Vouch, for people (e.g. its primary domain `acme.onmicrosoft.com`);
    /// absent: the tenant id.
    pub name: Option<String>,
    /// The token service, `https://login.microsoftonline.com` (another for a national cloud:
    /// `https://login.microsoftonline.us`); the token is asked of
    /// `<login_url>/<tenant_id>/oauth2/v2.0/token`.
    pub login_url: String,
    /// Microsoft Graph, `https://graph.microsoft.com` (`https://graph.microsoft.us`…); the token
    /// is asked for its `/.default` scope.
    pub graph_url: String,
    /// PEM file of the CAs to trust for both; absent: the system bundle
    /// `/etc/ssl/certs/ca-certificates.crt`.
    pub ca_cert: Option<PathBuf>,
    /// When to collect: a cron expression with seconds.
    pub schedule: String,
    /// Time budget of each area's collector, in seconds; throttling pauses count against it.
    pub timeout_secs: u64,
    /// The most per-user or per-role requests of one area in flight at once.
    pub concurrency: usize,
    /// Users asked for per page (`$top`; Graph allows 500 when sign-in activity is selected).
    pub page_size: usize,
    /// The most pages one listing may take; a longer list is unavailable rather than cut.
    pub max_pages: usize,
    /// Days without a sign-in after which an enabled account counts as unused.
    pub inactive_days: u32,
}

impl Default for EntraConfig {
    fn default() -> Self {
        EntraConfig {
            enabled: false,
            tenant_id: String::new(),
            client_id: String::new(),
            client_secret_env: "ENTRA_CLIENT_SECRET".into(),
            client_secret_file: None,
            name: None,
            login_url: LOGIN_URL.into(),
            graph_url: GRAPH_URL.into(),
            ca_cert: None,
            schedule: "0 40 */6 * * *".into(),
            timeout_secs: 900,
            concurrency: 4,
            page_size: 500,
            max_pages: 500,
            inactive_days: 90,
        }
    }
}

impl SourceConfig for EntraConfig {
    const REGISTRATION: Registration = Registration {
        name: "entra",
        kind: AssetKind::EntraTenant,
        intro: "Facts about one Microsoft Entra ID tenant, asked of Microsoft Graph v1.0 by an application of the tenant with read-only application permissions (OAuth 2.0 client credentials): people and the authentication methods they registered, administrators and their directory roles (active, and eligible through Privileged Identity Management), accounts unused or disabled, conditional access policies and security defaults, and the password settings Graph exposes. A call the application may not make is unavailable, naming the permission it needs (or the Entra ID P1/P2 licence); a refused credential fails every collector with that reason. People are named by their user principal name, at most 100 a list, beside a whole count.",
        evidence: EVIDENCE_AREAS,
    };

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        self.validate()
    }

    fn source(&self) -> Box<dyn Source> {
        Box::new(EntraSource::new(self.clone()))
    }
}

/// Whether `id` is a GUID, hyphenated 8-4-4-4-12, in either case.
fn is_guid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `id` when it is fit for a request's path: Graph's object ids are GUIDs, and one that is not
/// is refused rather than put in a URL.
fn object_id(id: &str) -> Result<&str, ApiError> {
    if is_guid(id) {
        Ok(id)
    } else {
        Err(ApiError::Failed(format!(
            "unexpected answer: the object id {:?} is not a GUID",
            vouch_evidence::limits::truncate_echo(id)
        )))
    }
}

/// `https://host[:port]` of `url`, the host in lower case, when it is an https URL with a host
/// and no path, query or credentials.
fn origin(url: &str) -> Option<String> {
    let uri: http::Uri = url.trim_end_matches('/').parse().ok()?;
    let authority = uri.authority()?;
    let fine = uri.scheme_str() == Some("https")
        && !authority.as_str().contains('@')
        && !authority.host().is_empty()
        && matches!(uri.path(), "" | "/")
        && uri.query().is_none();
    fine.then(|| format!("https://{}", authority.as_str().to_ascii_lowercase()))
}

impl EntraConfig {
    /// Every problem, as (key below `collectors.entra`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        for (key, value, example) in [
            (
                "tenant_id",
                &self.tenant_id,
                "the tenant (directory) id, e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47 (not a domain)",
            ),
            (
                "client_id",
                &self.client_id,
                "the application (client) id of the app registration",
            ),
        ] {
            if self.enabled && value.is_empty() {
                errors.push((key, format!("must name {example}")));
            } else if !value.is_empty() && !is_guid(value) {
                errors.push((
                    key,
                    format!(
                        "{:?} is not a GUID: it must name {example}",
                        vouch_evidence::limits::truncate_echo(value)
                    ),
                ));
            }
        }
        if self.client_secret_env.is_empty()
            || !self
                .client_secret_env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            errors.push((
                "client_secret_env",
                format!(
                    "{:?} is not an environment variable name",
                    self.client_secret_env
                ),
            ));
        }
        for (key, path) in [
            ("client_secret_file", &self.client_secret_file),
            ("ca_cert", &self.ca_cert),
        ] {
            if let Some(p) = path.as_ref().filter(|p| !p.is_absolute()) {
                errors.push((key, format!("{} must be an absolute path", p.display())));
            }
        }
        if let Some(name) = &self.name
            && (name.trim().is_empty()
                || name.chars().count() > 256
                || name.chars().any(char::is_control))
        {
            errors.push((
                "name",
                "must be 1 to 256 printable characters".to_string(),
            ));
        }
        for (key, url) in [("login_url", &self.login_url), ("graph_url", &self.graph_url)] {
            if origin(url).is_none() {
                errors.push((
                    key,
                    format!(
                        "{:?} must be an https:// URL with a host and no path, query or credentials",
                        vouch_evidence::limits::truncate_echo(url)
                    ),
                ));
            }
        }
        remote::check_schedule_and_budget(
            &mut errors,
            &self.schedule,
            "0 40 */6 * * *",
            self.timeout_secs,
        );
        remote::check_range(&mut errors, "concurrency", self.concurrency, 1..=16);
        remote::check_range(&mut errors, "page_size", self.page_size, 1..=500);
        remote::check_range(&mut errors, "max_pages", self.max_pages, 1..=10_000);
        remote::check_range(&mut errors, "inactive_days", self.inactive_days, 1..=3650);
        errors
    }

    /// The asset's id: the tenant id in lower case.
    pub fn asset_id(&self) -> String {
        self.tenant_id.to_ascii_lowercase()
    }

    /// The client secret, from the file or the environment. The error is a reason sentence
    /// that never holds the secret.
    fn secret(&self) -> Result<String, String> {
        crate::remote::read_secret(
            self.client_secret_file.as_deref(),
            &self.client_secret_env,
            "Entra ID client secret",
            "client secret",
        )
    }

    /// A client as configured. The error is a reason sentence.
    fn connect(&self) -> Result<Api, String> {
        let login = origin(&self.login_url)
            .ok_or_else(|| format!("login_url {:?} is not an https:// URL", self.login_url))?;
        let graph = origin(&self.graph_url)
            .ok_or_else(|| format!("graph_url {:?} is not an https:// URL", self.graph_url))?;
        if !is_guid(&self.tenant_id) || !is_guid(&self.client_id) {
            return Err("tenant_id and client_id must be GUIDs".into());
        }
        let secret = self.secret()?;
        let bundle = self
            .ca_cert
            .clone()
            .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
        let pem = std::fs::read(&bundle)
            .map_err(|e| crate::describe_io(&bundle.display().to_string(), &e))?;
        let tenant_id = self.asset_id();
        let client_id = self.client_id.to_ascii_lowercase();
        let endpoints = Endpoints {
            login: &login,
            graph: &graph,
            tenant_id: &tenant_id,
            client_id: &client_id,
        };
        Api::new(&endpoints, &secret, &pem, self.max_pages)
    }
}

/// What the collectors of one source share: the configuration and the client (with its token),
/// made afresh at the start of every collection (so a rotated secret or CA is picked up).
struct Shared {
    config: EntraConfig,
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
}

/// A refused credential fails the whole collector with Entra ID's answer; anything else is the
/// reason of the facts it feeds.
fn fatal<T>(result: Result<T, ApiError>) -> Result<Result<T, String>, CollectError> {
    match result {
        Err(e) if e.is_unauthorized() => Err(CollectError::Failed(e.to_string())),
        other => Ok(other.map_err(|e| e.to_string())),
    }
}

/// Runs `reads` `concurrency` at a time, in order. A refused credential fails the collector;
/// another error is the first one met.
async fn each<T>(
    concurrency: usize,
    reads: Vec<impl Future<Output = Result<T, ApiError>> + Send>,
) -> Result<Result<Vec<T>, String>, CollectError> {
    use futures::StreamExt as _;
    let results: Vec<Result<T, ApiError>> = futures::stream::iter(reads)
        .buffered(concurrency)
        .collect()
        .await;
    let mut out = Vec::with_capacity(results.len());
    for result in results {
        match fatal(result)? {
            Ok(value) => out.push(value),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(out))
}

/// The Entra ID source.
#[derive(Clone)]
pub struct EntraSource {
    shared: Arc<Shared>,
}

impl EntraSource {
    /// An Entra ID source with `config`.
    pub fn new(config: EntraConfig) -> Self {
        EntraSource {
            shared: Arc::new(Shared {
                config,
                api: Mutex::new(None),
            }),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &EntraConfig {
        &self.shared.config
    }
}

#[async_trait::async_trait]
impl Source for EntraSource {
    fn name(&self) -> &'static str {
        <EntraConfig as SourceConfig>::REGISTRATION.name
    }

    /// The tenant, named by its id as configured (so that the chain stays the same whatever
    /// the application may read): no call is made for it.
    async fn asset(&self, _ctx: &CollectContext) -> Asset {
        self.shared.reset();
        let config = &self.shared.config;
        let id = config.asset_id();
        Asset {
            kind: AssetKind::EntraTenant,
            name: config
                .name
                .as_deref()
                .map(vouch_evidence::limits::truncate_echo)
                .unwrap_or_else(|| id.clone()),
            id,
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

    const TENANT: &str = "0b1e2d3c-4a5f-4e6d-8c7b-9a0f1e2d3c4b";
    const CLIENT: &str = "3f0c9a4e-1b2d-4c5e-8f6a-7b8c9d0e1f2a";

    #[test]
    fn config_problems_are_all_reported() {
        let bad = EntraConfig {
            enabled: true,
            tenant_id: "acme.onmicrosoft.com".into(),
            client_id: "vouch".into(),
            client_secret_env: "ENTRA SECRET".into(),
            client_secret_file: Some("secret".into()),
            name: Some(" ".into()),
            login_url: "http://login.microsoftonline.com".into(),
            graph_url: "https://graph.microsoft.com/v1.0".into(),
            ca_cert: Some("ca.pem".into()),
            schedule: "hourly".into(),
            timeout_secs: 0,
            concurrency: 0,
            page_size: 999,
            max_pages: 0,
            inactive_days: 0,
        };
        let keys: Vec<&str> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "tenant_id",
                "client_id",
                "client_secret_env",
                "client_secret_file",
                "ca_cert",
                "name",
                "login_url",
                "graph_url",
                "schedule",
                "timeout_secs",
                "concurrency",
                "page_size",
                "max_pages",
                "inactive_days"
            ]
        );
        assert!(EntraConfig::default().validate().is_empty());
        let missing = EntraConfig {
            enabled: true,
            ..EntraConfig::default()
        };
        let keys: Vec<&str> = missing.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["tenant_id", "client_id"]);
        let fine = EntraConfig {
            enabled: true,
            tenant_id: TENANT.to_ascii_uppercase(),
            client_id: CLIENT.into(),
            login_url: "https://login.microsoftonline.us/".into(),
            graph_url: "https://graph.microsoft.us".into(),
            ..EntraConfig::default()
        };
        assert!(fine.validate().is_empty(), "{:?}", fine.validate());
        assert_eq!(fine.asset_id(), TENANT);
        for bad in [
            "0b1e2d3c4a5f4e6d8c7b9a0f1e2d3c4b",
            "{0b1e2d3c-4a5f-4e6d-8c7b-9a0f1e2d3c4b}",
            "0b1e2d3c-4a5f-4e6d-8c7b-9a0f1e2d3c4g",
        ] {
            let c = EntraConfig {
                tenant_id: bad.into(),
                ..EntraConfig::default()
            };
            assert_eq!(c.validate().len(), 1, "{bad}");
        }
        assert_eq!(
            origin("https://Graph.Microsoft.com/").as_deref(),
            Some("https://graph.microsoft.com")
        );
        assert_eq!(origin("https://user:pw@graph.microsoft.com"), None);
    }

    #[test]
    fn secrets_come_from_a_file_of_mode_0600_or_the_environment_never_empty() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "Xq58Q~exampleEntraSecret\n").unwrap();
        let from_file = EntraConfig {
            client_secret_file: Some(file.clone()),
            ..EntraConfig::default()
        };
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = from_file.secret().unwrap_err();
        assert!(
            e.contains("is readable by group or others (mode 0644)") && !e.contains("Xq58Q"),
            "{e}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(from_file.secret().unwrap(), "Xq58Q~exampleEntraSecret");
        std::fs::write(&file, "\n").unwrap();
        assert_eq!(
            from_file.secret().unwrap_err(),
            "no Entra ID client secret: it is empty"
        );
        let unset = EntraConfig {
            client_secret_env: "VOUCH_TEST_UNSET_ENTRA_SECRET".into(),
            ..EntraConfig::default()
        };
        assert_eq!(
            unset.secret().unwrap_err(),
            "no Entra ID client secret: the environment variable VOUCH_TEST_UNSET_ENTRA_SECRET is not set"
        );
    }

    /// `packaging/entra/README.md` names every call with the permission the client names when
    /// Graph refuses it, and no call the source does not make.
    #[test]
    fn the_packaged_permissions_are_those_of_the_calls() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/entra/README.md"),
        )
        .unwrap();
        for (call, permission) in CALLS {
            assert_eq!(api::required_permission(call), *permission, "{call}");
            assert!(
                doc.contains(&format!("| `{call}` | `{permission}` |")),
                "packaging/entra/README.md lacks {call} → {permission}"
            );
        }
        let rows = doc.lines().filter(|l| l.starts_with("| `GET ")).count();
        assert_eq!(rows, CALLS.len(), "a call in the README the source does not make");
        assert!(call_matches(
            "GET /v1.0/users/{id}/appRoleAssignments",
            "/v1.0/users/8f1e/appRoleAssignments"
        ));
        assert!(!call_matches("GET /v1.0/users/{id}?$select=id", "/v1.0/users/8f1e/appRoleAssignments"));
        assert!(call_matches("GET /v1.0/users?$select=id&$top={n}", "/v1.0/users"));
    }

    #[test]
    fn lists_are_cut_sorted_and_bounded() {
        let many: Vec<String> = (0..150).map(|i| format!("u{i:03}@acme.example")).collect();
        let names = listed(many.iter().map(String::as_str));
        assert_eq!(names.len(), MAX_LISTED);
        assert_eq!(names[0], "u000@acme.example");
        assert_eq!(listed(["b", "a\nb", "b"]), ["a\u{fffd}b", "b"]);
    }
}
