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
mod config;

pub use config::GoogleWorkspaceConfig;
mod model;
mod policies;
mod users;

use crate::remote::{get_call as call, listed};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use vouch_evidence::{Asset, AssetKind};

use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Source, SourceConfig,
    remote,
};
use api::{Api, ApiError};
use model::{UsageReport, User};

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
