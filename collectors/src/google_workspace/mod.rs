//! The Google Workspace source: facts about one Google Workspace (or Cloud Identity) account
//! (its people and their 2-Step Verification, its administrators and their roles), asked of the
//! Admin SDK Directory API (and, for the second factors people enrolled, of the Reports API's
//! user usage report) by a service account with domain-wide delegation, acting as a read-only
//! administrator, with read-only scopes. One file per area; each declares its
//! evidence ids.
//!
//! The service account signs an assertion (a JWT, RS256) with the key of its JSON key file, a
//! file of mode 0600 read at every collection and never put in the configuration itself; the
//! assertion is exchanged at Google's token endpoint for an access token, kept for the
//! collection until shortly before it expires. Neither the key, nor an assertion, nor a token
//! is logged or put in evidence. A refused assertion (a deleted key, a clock off, delegation
//! not granted: `invalid_grant`, `unauthorized_client`) fails every collector with Google's
//! answer; a call the token or the administrator may not make (`403`) makes the facts it feeds
//! unavailable, naming the scope it needs ([`USER_SCOPE`], [`ROLE_SCOPE`],
//! [`GROUP_MEMBER_SCOPE`], [`REPORTS_SCOPE`], [`POLICY_SCOPE`]).
//!
//! Which second factors people enrolled is not in the Directory API: the user usage report of
//! the Reports API counts each user's security keys and passkeys (`accounts:num_security_keys`,
//! `accounts:num_passkeys_enrolled`). Google computes it a day or two late, so the report of two
//! days before the collection's clock is asked for, else (not computed yet) that of three days
//! before; the day read is evidence beside the counts.
//!
//! The password policies are settings of the Cloud Identity Policy API, which Google answers
//! for super administrators only: they are read as `policy_admin_email`, with a token of its own
//! carrying only [`POLICY_SCOPE`] (read-only), and are unavailable, saying so, when no such
//! administrator is configured. The 2-Step Verification settings of organisational units are
//! not declared: their enforcement shows per user (`isEnforcedIn2Sv`).
//!
//! Evidence names people by their primary email address (cut to [`MAX_ECHO_CHARS`] characters
//! like every string another party chose), in lists of at most [`MAX_LISTED`], beside a whole
//! count. The users are listed once per collection, for both areas.
//!
//! [`MAX_ECHO_CHARS`]: vouch_evidence::limits::MAX_ECHO_CHARS

mod admins;
mod api;
mod auth;
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
use model::{PASSKEYS, SECURITY_KEYS, UsageReport, User};

/// Every area's declarations, for documentation and checks.
pub const EVIDENCE_AREAS: &[&[EvidenceSpec]] =
    &[users::EVIDENCE, admins::EVIDENCE, policies::EVIDENCE];

/// The system CA bundle, trusted when no `ca_cert` is configured.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Google's token endpoint.
const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// The Admin SDK's endpoint.
const API_URL: &str = "https://admin.googleapis.com";

/// The Cloud Identity API's endpoint (the Policy API).
const POLICY_API_URL: &str = "https://cloudidentity.googleapis.com";

/// See the users and their state: the listing of users.
pub const USER_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";

/// See the admin roles and their assignments.
pub const ROLE_SCOPE: &str =
    "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly";

/// See the members of groups: those of the groups an admin role is assigned to.
pub const GROUP_MEMBER_SCOPE: &str =
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly";

/// See the usage reports: the user usage report's counts of security keys and passkeys.
pub const REPORTS_SCOPE: &str = "https://www.googleapis.com/auth/admin.reports.usage.readonly";

/// The scopes the source may ask for as `admin_email`: read-only, one per kind of call.
pub const SCOPES: &[&str] = &[USER_SCOPE, ROLE_SCOPE, GROUP_MEMBER_SCOPE, REPORTS_SCOPE];

/// See the settings of the Cloud Identity Policy API: the password policies. Asked for alone,
/// as `policy_admin_email` (the API answers super administrators only), never with
/// [`SCOPES`].
pub const POLICY_SCOPE: &str = "https://www.googleapis.com/auth/cloud-identity.policies.readonly";

/// The users' properties read: nothing else of a person (no name, phone or address) reaches
/// the agent.
const USER_FIELDS: &str = "nextPageToken,users(id,primaryEmail,customerId,isAdmin,isDelegatedAdmin,isEnrolledIn2Sv,isEnforcedIn2Sv,suspended,archived,lastLoginTime,creationTime)";

/// Every Admin SDK call the source makes (Directory API, and the Reports API's user usage
/// report), with the scope it needs, as
/// `packaging/google_workspace/README.md` lists them (`{…}` stands for one path segment or query
/// value). Besides these, the assertion goes to the token endpoint, which needs no scope of its
/// own (it grants those the delegation allows).
pub const CALLS: &[(&str, &str)] = &[
    (
        "GET /admin/directory/v1/users?customer=my_customer&projection=basic&maxResults={n}&fields=nextPageToken,users(id,primaryEmail,customerId,isAdmin,isDelegatedAdmin,isEnrolledIn2Sv,isEnforcedIn2Sv,suspended,archived,lastLoginTime,creationTime)",
        USER_SCOPE,
    ),
    (
        "GET /admin/directory/v1/customer/my_customer/roles?maxResults=100",
        ROLE_SCOPE,
    ),
    (
        "GET /admin/directory/v1/customer/my_customer/roleassignments?maxResults=200",
        ROLE_SCOPE,
    ),
    (
        "GET /admin/directory/v1/groups/{id}/members?includeDerivedMembership=true&maxResults=200",
        GROUP_MEMBER_SCOPE,
    ),
    (
        "GET /admin/reports/v1/usage/users/all/dates/{date}?parameters=accounts:num_security_keys,accounts:num_passkeys_enrolled&maxResults={n}",
        REPORTS_SCOPE,
    ),
    (
        r"GET /v1/policies?filter=setting.type.matches('^settings/security\\.password$')&pageSize=100",
        POLICY_SCOPE,
    ),
];

/// How many days before the collection's clock the user usage report is asked for first; when
/// Google has not computed that day yet, the day before is asked for.
pub const REPORT_LAG_DAYS: i64 = 2;

/// Whether the path of a request (`/admin/directory/v1/groups/03ep…/members`) is that of `call`
/// (`GET /admin/directory/v1/groups/{id}/members?…`), `{…}` matching any one segment.
pub fn call_matches(call: &str, request_path: &str) -> bool {
    remote::call_matches(call, request_path)
}

/// The most people one evidence list names; the count beside it is whole.
pub const MAX_LISTED: usize = crate::remote::MAX_LISTED;

/// `[collectors.google_workspace]` in the agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GoogleWorkspaceConfig {
    /// Collect Google Workspace evidence at all.
    pub enabled: bool,
    /// The account's customer id (`C03az79cb`, Admin console > Account > Account settings): the
    /// asset's id, and what every user listed must belong to. A domain is refused: the primary
    /// domain can be changed, the customer id cannot.
    pub customer_id: String,
    /// The administrator the service account acts as (the assertion's subject), e.g.
    /// `vouch-reader@acme.example`: a user with a read-only admin role.
    pub admin_email: String,
    /// The service account's JSON key file (mode 0600, owned by the agent's user); read at every
    /// collection, so a rotated key is picked up. Required when enabled.
    pub credentials_file: Option<PathBuf>,
    /// The scopes asked for, each one of the read-only scopes the source knows; the service
    /// account's domain-wide delegation must grant every one (Google refuses the assertion
    /// otherwise). A call whose scope is left out is refused by Google, and its facts are
    /// unavailable, naming the scope.
    pub scopes: Vec<String>,
    /// The account's name in Vouch, for people (e.g. its primary domain `acme.example`); absent:
    /// the customer id.
    pub name: Option<String>,
    /// The token endpoint, `https://oauth2.googleapis.com/token` (the key file's `token_uri` is
    /// not followed); also the assertion's audience.
    pub token_url: String,
    /// The Admin SDK, `https://admin.googleapis.com`.
    pub api_url: String,
    /// A super administrator the service account acts as for the password policies alone
    /// (the Cloud Identity Policy API answers no other role), e.g.
    /// `vouch-policies@acme.example`; its token carries only the read-only scope
    /// `cloud-identity.policies.readonly`, which the delegation must grant. Absent: the password
    /// policies are unavailable, saying so.
    pub policy_admin_email: Option<String>,
    /// The Cloud Identity API, `https://cloudidentity.googleapis.com`.
    pub policy_api_url: String,
    /// PEM file of the CAs to trust for both; absent: the system bundle
    /// `/etc/ssl/certs/ca-certificates.crt`.
    pub ca_cert: Option<PathBuf>,
    /// When to collect: a cron expression with seconds.
    pub schedule: String,
    /// Time budget of each area's collector, in seconds; throttling pauses count against it.
    pub timeout_secs: u64,
    /// The most group-member reads in flight at once.
    pub concurrency: usize,
    /// Users asked for per page of the users' listing and of the user usage report
    /// (`maxResults`, at most 500).
    pub page_size: usize,
    /// The most pages one listing may take; a longer list is unavailable rather than cut.
    pub max_pages: usize,
    /// Days without a sign-in after which an active account counts as unused.
    pub inactive_days: u32,
}

impl Default for GoogleWorkspaceConfig {
    fn default() -> Self {
        GoogleWorkspaceConfig {
            enabled: false,
            customer_id: String::new(),
            admin_email: String::new(),
            credentials_file: None,
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            name: None,
            token_url: TOKEN_URL.into(),
            api_url: API_URL.into(),
            policy_admin_email: None,
            policy_api_url: POLICY_API_URL.into(),
            ca_cert: None,
            schedule: "0 50 */6 * * *".into(),
            timeout_secs: 900,
            concurrency: 4,
            page_size: 500,
            max_pages: 500,
            inactive_days: 90,
        }
    }
}

impl SourceConfig for GoogleWorkspaceConfig {
    const REGISTRATION: Registration = Registration {
        name: "google_workspace",
        kind: AssetKind::GoogleWorkspace,
        intro: "Facts about one Google Workspace (or Cloud Identity) account, asked of the Admin SDK Directory API by a service account with domain-wide delegation acting as a read-only administrator (read-only scopes, a signed JWT assertion exchanged for an access token): people and their 2-Step Verification enrolment and enforcement, accounts unused, suspended or archived, administrators, their admin roles (directly or through groups) and their 2-Step Verification; and, from the Admin SDK Reports API's user usage report of two (else three) days before the collection, who enrolled a phishing-resistant second factor (a security key or a passkey). The password policies come from the Cloud Identity Policy API, which answers super administrators only: they are read as a super administrator of their own (`policy_admin_email`) whose token carries only the read-only `cloud-identity.policies.readonly` scope, and are unavailable, saying so, without one. A call the token or the administrator may not make is unavailable, naming the scope it needs; a refused assertion fails every collector with that reason (for the super administrator's token, only the password policies). The organisational units' 2-Step Verification settings are not declared: their enforcement shows per user. People are named by their primary email address, at most 100 a list, beside a whole count.",
        evidence: EVIDENCE_AREAS,
    };

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        self.validate()
    }

    fn source(&self) -> Box<dyn Source> {
        Box::new(GoogleWorkspaceSource::new(self.clone()))
    }
}

/// Whether `id` is a customer id as Google writes it: `C` and then 6 to 15 lower-case letters
/// and digits (`C03az79cb`).
fn is_customer_id(id: &str) -> bool {
    id.strip_prefix('C').is_some_and(|rest| {
        (6..=15).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Whether `text` is an email address fit for the assertion's subject: one `@` between a
/// non-empty local part and a domain with a dot, no space or control character, 254 characters
/// at most.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
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

/// `url` when it is an https URL with a host and a path, and no query or credentials (the
/// token endpoint).
fn endpoint(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let authority = uri.authority()?;
    let fine = uri.scheme_str() == Some("https")
        && !authority.as_str().contains('@')
        && !authority.host().is_empty()
        && uri.path().len() > 1
        && uri.query().is_none();
    fine.then(|| {
        format!(
            "https://{}{}",
            authority.as_str().to_ascii_lowercase(),
            uri.path()
        )
    })
}

impl GoogleWorkspaceConfig {
    /// Every problem, as (key below `collectors.google_workspace`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        let shown = vouch_evidence::limits::truncate_echo;
        if self.enabled && self.customer_id.is_empty() {
            errors.push((
                "customer_id",
                "must name the account's customer id, e.g. C03az79cb (Admin console > Account > Account settings)".to_string(),
            ));
        } else if !self.customer_id.is_empty() && !is_customer_id(&self.customer_id) {
            errors.push((
                "customer_id",
                format!(
                    "{:?} is not a customer id: C and 6 to 15 lower-case letters or digits, e.g. C03az79cb (not a domain, not my_customer)",
                    shown(&self.customer_id)
                ),
            ));
        }
        if self.enabled && self.admin_email.is_empty() {
            errors.push((
                "admin_email",
                "must name the administrator the service account acts as, e.g. vouch-reader@acme.example".to_string(),
            ));
        } else if !self.admin_email.is_empty() && !is_email(&self.admin_email) {
            errors.push((
                "admin_email",
                format!(
                    "{:?} is not an email address",
                    shown(&self.admin_email)
                ),
            ));
        }
        if let Some(email) = self.policy_admin_email.as_ref().filter(|e| !is_email(e)) {
            errors.push((
                "policy_admin_email",
                format!("{:?} is not an email address", shown(email)),
            ));
        }
        match &self.credentials_file {
            None if self.enabled => errors.push((
                "credentials_file",
                "must name the service account's JSON key file (mode 0600)".to_string(),
            )),
            Some(p) if !p.is_absolute() => {
                errors.push(("credentials_file", format!("{} must be an absolute path", p.display())));
            }
            _ => {}
        }
        if let Some(p) = self.ca_cert.as_ref().filter(|p| !p.is_absolute()) {
            errors.push(("ca_cert", format!("{} must be an absolute path", p.display())));
        }
        if self.scopes.is_empty() {
            errors.push(("scopes", "must name at least one scope".to_string()));
        }
        for (i, scope) in self.scopes.iter().enumerate() {
            if !SCOPES.contains(&scope.as_str()) {
                errors.push((
                    "scopes",
                    format!(
                        "{:?} is not one of the read-only scopes the source uses: {}",
                        shown(scope),
                        SCOPES.join(", ")
                    ),
                ));
            } else if self.scopes[..i].contains(scope) {
                errors.push(("scopes", format!("{scope} is given twice")));
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
        if endpoint(&self.token_url).is_none() {
            errors.push((
                "token_url",
                format!(
                    "{:?} must be an https:// URL with a host and a path, and no query or credentials",
                    shown(&self.token_url)
                ),
            ));
        }
        for (key, url) in [
            ("api_url", &self.api_url),
            ("policy_api_url", &self.policy_api_url),
        ] {
            if origin(url).is_none() {
                errors.push((
                    key,
                    format!(
                        "{:?} must be an https:// URL with a host and no path, query or credentials",
                        shown(url)
                    ),
                ));
            }
        }
        remote::check_schedule_and_budget(
            &mut errors,
            &self.schedule,
            "0 50 */6 * * *",
            self.timeout_secs,
        );
        remote::check_range(&mut errors, "concurrency", self.concurrency, 1..=16);
        remote::check_range(&mut errors, "page_size", self.page_size, 1..=500);
        remote::check_range(&mut errors, "max_pages", self.max_pages, 1..=10_000);
        remote::check_range(&mut errors, "inactive_days", self.inactive_days, 1..=3650);
        errors
    }

    /// The service account's signer, from its key file. The error is a reason sentence that
    /// never holds the key.
    fn signer(&self) -> Result<auth::Signer, String> {
        let path = self
            .credentials_file
            .as_ref()
            .ok_or("no service account key: credentials_file is not set")?;
        let text = crate::remote::read_private_file(path, "service account key")?;
        auth::Signer::from_key_file(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A client as configured, acting as `admin_email` with `scopes`. The error is a reason
    /// sentence.
    fn connect(&self) -> Result<Api, String> {
        let endpoints = Endpoints {
            api: &self.api_url,
            token_url: &self.token_url,
            subject: &self.admin_email,
            scopes: &self.scopes,
            subject_key: "admin_email",
            loss: api::ALL_LOST,
        };
        self.client(&endpoints, "api_url")
    }

    /// The client of the Policy API, acting as `policy_admin_email` with [`POLICY_SCOPE`]
    /// alone, when one is configured. The error is a reason sentence.
    fn connect_policies(&self) -> Option<Result<Api, String>> {
        let subject = self.policy_admin_email.as_ref()?;
        let endpoints = Endpoints {
            api: &self.policy_api_url,
            token_url: &self.token_url,
            subject,
            scopes: &[POLICY_SCOPE.to_string()],
            subject_key: "policy_admin_email",
            loss: "the password policies cannot be read",
        };
        Some(self.client(&endpoints, "policy_api_url"))
    }

    /// A client of `wanted` (its API's URL under the configuration's `key`), as configured
    /// (checked here again). The error is a reason sentence.
    fn client(&self, wanted: &Endpoints<'_>, key: &str) -> Result<Api, String> {
        let url = wanted.api;
        let subject = wanted.subject;
        let token_url = endpoint(&self.token_url)
            .ok_or_else(|| format!("token_url {:?} is not an https:// URL", self.token_url))?;
        let api = origin(url).ok_or_else(|| format!("{key} {url:?} is not an https:// URL"))?;
        if !is_customer_id(&self.customer_id) || !is_email(subject) {
            return Err("customer_id and the administrator's email must be set as documented".into());
        }
        let signer = self.signer()?;
        let bundle = self
            .ca_cert
            .clone()
            .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
        let pem = std::fs::read(&bundle)
            .map_err(|e| crate::describe_io(&bundle.display().to_string(), &e))?;
        let endpoints = Endpoints {
            api: &api,
            token_url: &token_url,
            ..*wanted
        };
        Api::new(&endpoints, signer, &pem, self.max_pages)
    }

    /// The first page of the users' listing.
    fn users_path(&self) -> String {
        format!(
            "/admin/directory/v1/users?customer=my_customer&projection=basic&maxResults={}&fields={USER_FIELDS}",
            self.page_size
        )
    }

    /// The first page of the user usage report of `date` (`2025-11-22`).
    fn report_path(&self, date: &str) -> String {
        format!(
            "/admin/reports/v1/usage/users/all/dates/{date}?parameters={SECURITY_KEYS},{PASSKEYS}&maxResults={}",
            self.page_size
        )
    }
}

/// The day `days_before` days before `now`, as the Reports API names it (`2025-11-22`).
fn report_day(now: time::OffsetDateTime, days_before: i64) -> String {
    let day = (now.to_offset(time::UtcOffset::UTC) - time::Duration::days(days_before)).date();
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The user usage report of one day: how many phishing-resistant factors each user enrolled.
pub(crate) struct Report {
    /// The day it describes (`2025-11-21`).
    pub date: String,
    /// User id (`profileId`) → security keys and passkeys.
    by_id: std::collections::BTreeMap<String, u64>,
    /// Primary email address, in lower case → the same, for records without a `profileId`.
    by_email: std::collections::BTreeMap<String, u64>,
}

impl Report {
    fn new(date: String, records: &[UsageReport]) -> Report {
        let mut report = Report {
            date,
            by_id: Default::default(),
            by_email: Default::default(),
        };
        for r in records {
            let factors = r.phishing_resistant();
            if let Some(id) = &r.entity.profile_id {
                report.by_id.insert(id.clone(), factors);
            }
            if let Some(email) = &r.entity.user_email {
                report.by_email.insert(email.to_ascii_lowercase(), factors);
            }
        }
        report
    }

    /// Whether `user` had at least one security key or passkey on the report's day. A user the
    /// report does not name (created since) had none that Vouch can show.
    pub fn phishing_resistant(&self, user: &User) -> bool {
        self.by_id
            .get(&user.id)
            .or_else(|| {
                user.primary_email
                    .as_deref()
                    .and_then(|e| self.by_email.get(&e.to_ascii_lowercase()))
            })
            .is_some_and(|n| *n > 0)
    }
}

/// What one collection's collectors share: the client (with its token) and the users, listed
/// once for both areas. Made afresh at the start of every collection, so that a rotated key
/// or CA is picked up.
struct Run {
    api: Result<Arc<Api>, String>,
    /// The Policy API's client, acting as the super administrator, when one is configured.
    policy_api: Option<Result<Arc<Api>, String>>,
    users: tokio::sync::OnceCell<Result<Arc<Vec<User>>, ApiError>>,
    report: tokio::sync::OnceCell<Result<Arc<Report>, ApiError>>,
}

/// What the collectors of one source share: the configuration and the current collection.
struct Shared {
    config: GoogleWorkspaceConfig,
    run: Mutex<Option<Arc<Run>>>,
}

impl Shared {
    /// The current collection's shared state, made if there is none yet.
    fn run(&self) -> Arc<Run> {
        let mut run = self.run.lock().unwrap_or_else(|e| e.into_inner());
        run.get_or_insert_with(|| {
            Arc::new(Run {
                api: self.config.connect().map(Arc::new),
                policy_api: self.config.connect_policies().map(|c| c.map(Arc::new)),
                users: tokio::sync::OnceCell::new(),
                report: tokio::sync::OnceCell::new(),
            })
        })
        .clone()
    }

    /// The client. The error fails the collector.
    fn api(&self) -> Result<Arc<Api>, CollectError> {
        self.run().api.clone().map_err(CollectError::Failed)
    }

    /// The Policy API's client when a super administrator is configured; a client that cannot
    /// be made fails the collector.
    fn policy_api(&self) -> Option<Result<Arc<Api>, CollectError>> {
        self.run()
            .policy_api
            .clone()
            .map(|c| c.map_err(CollectError::Failed))
    }

    /// Every user of the account, listed once per collection, checked to belong to the
    /// configured customer; or why not. A refused assertion fails the collector.
    async fn users(
        &self,
        ctx: &CollectContext,
    ) -> Result<Result<Arc<Vec<User>>, String>, CollectError> {
        let run = self.run();
        let api = run.api.clone().map_err(CollectError::Failed)?;
        let listed = run
            .users
            .get_or_init(|| async {
                let path = self.config.users_path();
                let users = api.get_all::<User>(ctx, &path).await?;
                let customer = &self.config.customer_id;
                if let Some(other) = users
                    .iter()
                    .filter_map(|u| u.customer_id.as_deref())
                    .find(|c| c != customer)
                {
                    return Err(ApiError::Failed(format!(
                        "GET /admin/directory/v1/users: the users listed belong to customer {}, not to customer_id {customer}: admin_email is an administrator of another account",
                        vouch_evidence::limits::truncate_echo(other)
                    )));
                }
                Ok(Arc::new(users))
            })
            .await
            .clone();
        fatal(listed)
    }

    /// The user usage report of two days before the collection's clock, else (Google has not
    /// computed it yet) of three days before; read once per collection, for both areas. A
    /// refused assertion fails the collector; anything else is the reason of the facts it feeds.
    async fn report(
        &self,
        ctx: &CollectContext,
    ) -> Result<Result<Arc<Report>, String>, CollectError> {
        let run = self.run();
        let api = run.api.clone().map_err(CollectError::Failed)?;
        let read = run
            .report
            .get_or_init(|| async {
                let now = ctx.clock.now().datetime();
                let mut last = None;
                for lag in [REPORT_LAG_DAYS, REPORT_LAG_DAYS + 1] {
                    let date = report_day(now, lag);
                    let path = self.config.report_path(&date);
                    match api.get_all::<UsageReport>(ctx, &path).await {
                        Ok(records) => return Ok(Arc::new(Report::new(date, &records))),
                        Err(e) if e.is_not_yet_reported() => last = Some(e),
                        Err(e) => return Err(e),
                    }
                }
                Err(last.unwrap_or_else(|| ApiError::Failed("no report day asked".into())))
            })
            .await
            .clone();
        fatal(read)
    }

    /// Forgets the collection: the next [`Shared::run`] makes a new one.
    fn reset(&self) {
        *self.run.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// A refused assertion or token fails the whole collector with Google's answer; anything else
/// is the reason of the facts it feeds.
fn fatal<T>(result: Result<T, ApiError>) -> Result<Result<T, String>, CollectError> {
    match result {
        Err(e) if e.is_unauthorized() => Err(CollectError::Failed(e.to_string())),
        other => Ok(other.map_err(|e| e.to_string())),
    }
}

/// The Google Workspace source.
#[derive(Clone)]
pub struct GoogleWorkspaceSource {
    shared: Arc<Shared>,
}

impl GoogleWorkspaceSource {
    /// A Google Workspace source with `config`.
    pub fn new(config: GoogleWorkspaceConfig) -> Self {
        GoogleWorkspaceSource {
            shared: Arc::new(Shared {
                config,
                run: Mutex::new(None),
            }),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &GoogleWorkspaceConfig {
        &self.shared.config
    }
}

#[async_trait::async_trait]
impl Source for GoogleWorkspaceSource {
    fn name(&self) -> &'static str {
        <GoogleWorkspaceConfig as SourceConfig>::REGISTRATION.name
    }

    /// The account, named by its customer id as configured (so that the chain stays the same
    /// whatever the service account may read): no call is made for it.
    async fn asset(&self, _ctx: &CollectContext) -> Asset {
        self.shared.reset();
        let config = &self.shared.config;
        Asset {
            kind: AssetKind::GoogleWorkspace,
            name: config
                .name
                .as_deref()
                .map(vouch_evidence::limits::truncate_echo)
                .unwrap_or_else(|| config.customer_id.clone()),
            id: config.customer_id.clone(),
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
        let bad = GoogleWorkspaceConfig {
            enabled: true,
            customer_id: "acme.example".into(),
            admin_email: "vouch reader".into(),
            credentials_file: Some("key.json".into()),
            scopes: vec![
                USER_SCOPE.into(),
                "https://www.googleapis.com/auth/admin.directory.user".into(),
                USER_SCOPE.into(),
            ],
            name: Some(" ".into()),
            token_url: "https://oauth2.googleapis.com".into(),
            api_url: "https://admin.googleapis.com/admin/directory/v1".into(),
            policy_admin_email: Some("super admin".into()),
            policy_api_url: "http://cloudidentity.googleapis.com".into(),
            ca_cert: Some("ca.pem".into()),
            schedule: "hourly".into(),
            timeout_secs: 0,
            concurrency: 0,
            page_size: 501,
            max_pages: 0,
            inactive_days: 0,
        };
        let keys: Vec<&str> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "customer_id",
                "admin_email",
                "policy_admin_email",
                "credentials_file",
                "ca_cert",
                "scopes",
                "scopes",
                "name",
                "token_url",
                "api_url",
                "policy_api_url",
                "schedule",
                "timeout_secs",
                "concurrency",
                "page_size",
                "max_pages",
                "inactive_days"
            ]
        );
        assert!(GoogleWorkspaceConfig::default().validate().is_empty());
        let missing = GoogleWorkspaceConfig {
            enabled: true,
            ..GoogleWorkspaceConfig::default()
        };
        let keys: Vec<&str> = missing.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["customer_id", "admin_email", "credentials_file"]);
        let fine = GoogleWorkspaceConfig {
            enabled: true,
            customer_id: "C03az79cb".into(),
            admin_email: "vouch-reader@acme.example".into(),
            credentials_file: Some("/etc/vouch/google-key.json".into()),
            scopes: vec![USER_SCOPE.into()],
            ..GoogleWorkspaceConfig::default()
        };
        assert!(fine.validate().is_empty(), "{:?}", fine.validate());
        for bad in ["my_customer", "c03az79cb", "C03AZ79CB", "C03az", "C03az79cb/x"] {
            let c = GoogleWorkspaceConfig {
                customer_id: bad.into(),
                ..GoogleWorkspaceConfig::default()
            };
            assert_eq!(c.validate().len(), 1, "{bad}");
        }
        assert_eq!(
            endpoint("https://OAuth2.googleapis.com/token").as_deref(),
            Some("https://oauth2.googleapis.com/token")
        );
        assert_eq!(endpoint("https://oauth2.googleapis.com/token?x=1"), None);
        assert_eq!(origin("https://user:pw@admin.googleapis.com"), None);
        assert!(!is_email("a@b@c.d") && !is_email("@acme.example") && is_email("a@acme.example"));
    }

    #[test]
    fn key_files_must_be_0600_and_never_show_their_content() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key.json");
        std::fs::write(
            &file,
            r#"{"type":"service_account","client_email":"a@b.example","private_key":"PRIVATEKEYTEXT"}"#,
        )
        .unwrap();
        let config = GoogleWorkspaceConfig {
            credentials_file: Some(file.clone()),
            ..GoogleWorkspaceConfig::default()
        };
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = config.signer().err().unwrap();
        assert!(
            e.contains("is readable by group or others (mode 0640)") && !e.contains("PRIVATEKEY"),
            "{e}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = config.signer().err().unwrap();
        assert!(
            e.ends_with("key.json: the key file's private_key is not a PEM private key"),
            "{e}"
        );
        let none = GoogleWorkspaceConfig::default();
        assert_eq!(
            none.signer().err().unwrap(),
            "no service account key: credentials_file is not set"
        );
    }

    /// `packaging/google_workspace/README.md` names every call with the scope the client names
    /// when Google refuses it, and no call the source does not make.
    #[test]
    fn the_packaged_scopes_are_those_of_the_calls() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../packaging/google_workspace/README.md"),
        )
        .unwrap();
        for (call, scope) in CALLS {
            assert_eq!(api::required_scope(call), *scope, "{call}");
            assert!(
                doc.contains(&format!("| `{call}` | `{scope}` |")),
                "packaging/google_workspace/README.md lacks {call} → {scope}"
            );
        }
        let rows = doc.lines().filter(|l| l.starts_with("| `GET ")).count();
        assert_eq!(rows, CALLS.len(), "a call in the README the source does not make");
        for scope in SCOPES {
            assert!(doc.contains(scope), "packaging/google_workspace/README.md lacks {scope}");
        }
        let config = GoogleWorkspaceConfig {
            page_size: 4,
            ..GoogleWorkspaceConfig::default()
        };
        let users_path = config.users_path();
        assert!(call_matches(CALLS[0].0, users_path.split('?').next().unwrap()));
        let report_path = config.report_path("2025-11-22");
        assert!(call_matches(CALLS[4].0, report_path.split('?').next().unwrap()));
        assert_eq!(
            CALLS[4].0.replace("{date}", "2025-11-22").replace("{n}", "4"),
            format!("GET {report_path}")
        );
        // The Policy API's call, as listed before its filter is percent-encoded.
        assert_eq!(
            CALLS[5].0,
            format!(
                "GET /v1/policies?filter={}&pageSize=100",
                policies::PASSWORD_FILTER
            )
        );
        assert!(doc.contains(POLICY_SCOPE));
        assert!(call_matches(
            "GET /admin/directory/v1/groups/{id}/members?x",
            "/admin/directory/v1/groups/03ep43zb2k5y2ab/members"
        ));
    }

    #[test]
    fn the_report_is_asked_for_days_before_the_collection_in_utc() {
        let at = |t: &str| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        assert_eq!(report_day(at("2025-11-24T08:00:00Z"), 2), "2025-11-22");
        assert_eq!(report_day(at("2025-03-01T00:30:00Z"), 3), "2025-02-26");
        assert_eq!(report_day(at("2026-01-01T01:00:00+02:00"), 2), "2025-12-29");
    }

    #[test]
    fn lists_are_cut_sorted_and_bounded() {
        let many: Vec<String> = (0..150).map(|i| format!("u{i:03}@acme.example")).collect();
        let names = listed(many.iter().map(String::as_str));
        assert_eq!(names.len(), MAX_LISTED);
        assert_eq!(names[0], "u000@acme.example");
    }
}
