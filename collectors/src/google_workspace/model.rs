//! The parts of Google's answers the collectors read, as typed models (unknown fields ignored:
//! Google adds properties), and the service account key file.

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One page of an Admin SDK list: the items (`users`, `items` or `members` of the Directory
/// API, `usageReports` of the Reports API, `policies` of the Cloud Identity Policy API) and the token of the next page, absent on the last.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page<T> {
    /// The items, under the resource's own key.
    #[serde(
        default = "Vec::new",
        alias = "users",
        alias = "items",
        alias = "members",
        alias = "usageReports",
        alias = "policies"
    )]
    pub entries: Vec<T>,
    /// The token of the next page.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// The Reports API's warnings (`DATA_NOT_AVAILABLE`, `PARTIAL_DATA_AVAILABLE`); the
    /// Directory API sends none.
    #[serde(default)]
    pub warnings: Vec<ReportWarning>,
}

/// A warning of the Reports API (`{"code", "message", "data": [{"key", "value"}]}`).
#[derive(Debug, Deserialize)]
pub(crate) struct ReportWarning {
    /// `DATA_NOT_AVAILABLE` (no data for the date), `PARTIAL_DATA_AVAILABLE`.
    #[serde(default)]
    pub code: String,
    /// A sentence for people (`Data for dates later than 2025-11-21 is not yet available…`).
    #[serde(default)]
    pub message: String,
}

/// The service account key file Google's console creates (`type` `service_account`). Only the
/// fields read are declared; the others (`client_id`, `auth_uri`, `token_uri`…) are ignored:
/// the token endpoint is the configuration's.
#[derive(Deserialize)]
pub(crate) struct ServiceAccountKey {
    /// `service_account`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The service account's address, the assertion's issuer
    /// (`vouch-reader@acme-vouch.iam.gserviceaccount.com`).
    pub client_email: String,
    /// The key's id, sent as the assertion's `kid`.
    #[serde(default)]
    pub private_key_id: Option<String>,
    /// The RSA private key, PEM (`-----BEGIN PRIVATE KEY-----`): never logged, never in
    /// evidence, never in a reason.
    pub private_key: String,
}

/// The token endpoint's answer to a JWT bearer grant.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    /// `Bearer`.
    #[serde(default)]
    pub token_type: String,
    /// The access token: never logged, never put in evidence.
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
}

/// The token endpoint's error body (OAuth 2.0).
#[derive(Deserialize)]
pub(crate) struct TokenError {
    /// `invalid_grant`, `unauthorized_client`, `invalid_request`…
    #[serde(default)]
    pub error: String,
    /// `Invalid JWT Signature.`, `Invalid email or User ID`…
    #[serde(default)]
    pub error_description: String,
}

/// Google's error body: `{"error": {"code", "message", "errors": [{"reason"}], "status",
/// "details": [{"@type", "reason"}]}}`.
#[derive(Deserialize)]
pub(crate) struct GoogleError {
    /// The error.
    pub error: GoogleErrorBody,
}

/// The error's parts that say why.
#[derive(Deserialize)]
pub(crate) struct GoogleErrorBody {
    /// A sentence for people (`Not Authorized to access this resource/api`).
    #[serde(default)]
    pub message: String,
    /// The classic error items, whose `reason` (`forbidden`, `insufficientPermissions`,
    /// `userRateLimitExceeded`…) says why.
    #[serde(default)]
    pub errors: Vec<GoogleErrorItem>,
    /// The gRPC status (`PERMISSION_DENIED`).
    #[serde(default)]
    pub status: String,
    /// Details; an `ErrorInfo`'s reason (`ACCESS_TOKEN_SCOPE_INSUFFICIENT`) is read.
    #[serde(default)]
    pub details: Vec<GoogleErrorDetail>,
}

/// One classic error item.
#[derive(Deserialize)]
pub(crate) struct GoogleErrorItem {
    /// `forbidden`, `insufficientPermissions`, `userRateLimitExceeded`, `rateLimitExceeded`,
    /// `quotaExceeded`, `authError`…
    #[serde(default)]
    pub reason: String,
}

/// One detail of an error.
#[derive(Deserialize)]
pub(crate) struct GoogleErrorDetail {
    /// `ACCESS_TOKEN_SCOPE_INSUFFICIENT`, `RATE_LIMIT_EXCEEDED`…
    #[serde(default)]
    pub reason: String,
}

impl GoogleErrorBody {
    /// The reason that says most: the first error item's, else the `ErrorInfo`'s, else the
    /// status; `-` when none.
    pub fn reason(&self) -> &str {
        self.errors
            .iter()
            .map(|e| e.reason.as_str())
            .chain(self.details.iter().map(|d| d.reason.as_str()))
            .chain([self.status.as_str()])
            .find(|r| !r.is_empty())
            .unwrap_or("-")
    }

    /// Whether any reason is one of `reasons`.
    pub fn has_reason(&self, reasons: &[&str]) -> bool {
        self.errors
            .iter()
            .map(|e| e.reason.as_str())
            .chain(self.details.iter().map(|d| d.reason.as_str()))
            .any(|r| reasons.contains(&r))
    }
}

/// A user, as the listing's `fields` selection returns it
/// (`GET /admin/directory/v1/users?…&fields=…`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    /// The user's unique id (digits).
    pub id: String,
    /// `alice@acme.example`.
    #[serde(default)]
    pub primary_email: Option<String>,
    /// The account the user belongs to (`C03az79cb`).
    #[serde(default)]
    pub customer_id: Option<String>,
    /// A super administrator.
    #[serde(default)]
    pub is_admin: bool,
    /// A delegated administrator (holds an admin role other than super admin).
    #[serde(default)]
    pub is_delegated_admin: bool,
    /// Enrolled in 2-Step Verification.
    #[serde(default, rename = "isEnrolledIn2Sv")]
    pub is_enrolled_in_2sv: bool,
    /// 2-Step Verification is enforced for the user (by their organisational unit or group).
    #[serde(default, rename = "isEnforcedIn2Sv")]
    pub is_enforced_in_2sv: bool,
    /// Suspended: cannot sign in.
    #[serde(default)]
    pub suspended: bool,
    /// Archived: cannot sign in, data kept.
    #[serde(default)]
    pub archived: bool,
    /// The last sign-in (`1970-01-01T00:00:00.000Z` for never).
    #[serde(default)]
    pub last_login_time: Option<String>,
    /// When the account was created.
    #[serde(default)]
    pub creation_time: Option<String>,
}

/// `text` as an instant, when it is one Google means: Google writes the Unix epoch for
/// "never", which is no instant.
fn instant(text: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text?, &Rfc3339)
        .ok()
        .filter(|t| t.year() >= 1990)
}

impl User {
    /// The name evidence uses: the primary email address, else the user id.
    pub fn name(&self) -> &str {
        self.primary_email.as_deref().unwrap_or(&self.id)
    }

    /// Whether the user can sign in: neither suspended nor archived.
    pub fn active(&self) -> bool {
        !self.suspended && !self.archived
    }

    /// Whether the account has not been used for longer than `days` before `now`: its last
    /// sign-in, or when never, its creation, is older. An unknown instant counts as old, so an
    /// account is never called in use for want of a date.
    pub fn unused_for(&self, days: u32, now: OffsetDateTime) -> bool {
        let since = instant(self.last_login_time.as_deref())
            .or_else(|| instant(self.creation_time.as_deref()));
        match since {
            Some(t) => now - t > time::Duration::days(i64::from(days)),
            None => true,
        }
    }
}

/// An admin role (`GET /admin/directory/v1/customer/my_customer/roles`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Role {
    /// The role's id (digits).
    pub role_id: String,
    /// `_SEED_ADMIN_ROLE`, `_HELP_DESK_ADMIN_ROLE`, or a custom role's name.
    #[serde(default)]
    pub role_name: String,
    /// The super administrator role.
    #[serde(default)]
    pub is_super_admin_role: bool,
}

/// An assignment of an admin role
/// (`GET /admin/directory/v1/customer/my_customer/roleassignments`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleAssignment {
    /// The role assigned.
    pub role_id: String,
    /// The id of the user, the group or the service account it is assigned to.
    pub assigned_to: String,
    /// `USER` or `GROUP` (absent from older answers: a user).
    #[serde(default)]
    pub assignee_type: Option<String>,
}

impl RoleAssignment {
    /// Whether the role is assigned to a group (whose members hold it).
    pub fn to_group(&self) -> bool {
        self.assignee_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("group"))
    }
}

/// A member of a group (`GET /admin/directory/v1/groups/{id}/members`).
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Member {
    /// The member's id: a user's id for `USER`.
    #[serde(default)]
    pub id: Option<String>,
    /// `USER`, `GROUP`, `CUSTOMER` or `EXTERNAL`.
    #[serde(default, rename = "type")]
    pub kind: String,
}

impl Member {
    /// The member's user id, when it is a user.
    pub fn user_id(&self) -> Option<&str> {
        self.kind
            .eq_ignore_ascii_case("user")
            .then_some(self.id.as_deref())
            .flatten()
    }
}

/// The user usage report's parameters read: how many security keys, and how many passkeys,
/// each user enrolled for 2-Step Verification (both phishing-resistant).
pub(crate) const SECURITY_KEYS: &str = "accounts:num_security_keys";

/// See [`SECURITY_KEYS`].
pub(crate) const PASSKEYS: &str = "accounts:num_passkeys_enrolled";

/// One user's record of the user usage report
/// (`GET /admin/reports/v1/usage/users/all/dates/{date}`): whose, and the parameters asked for
/// (its `date` is the day asked for, its `kind` and `etag` are not read).
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct UsageReport {
    /// The user it describes.
    pub entity: UsageEntity,
    /// The parameters asked for (`accounts:num_security_keys`…), those with a value.
    #[serde(default)]
    pub parameters: Vec<UsageParameter>,
}

/// The entity of a usage report: for a user report, the user.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageEntity {
    /// The user's primary email address.
    #[serde(default)]
    pub user_email: Option<String>,
    /// The user's unique id, the Directory API's `id`.
    #[serde(default)]
    pub profile_id: Option<String>,
}

/// One parameter of a usage report: its name and value (`intValue` is an int64, which Google's
/// JSON writes as a string).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageParameter {
    /// `accounts:num_security_keys`.
    pub name: String,
    /// The value of an integer parameter: `"2"` (a number is taken too).
    #[serde(default)]
    pub int_value: Option<serde_json::Value>,
}

impl UsageReport {
    /// The integer parameter `name`, when reported and a whole number.
    pub fn int(&self, name: &str) -> Option<u64> {
        let value = self.parameters.iter().find(|p| p.name == name)?.int_value.as_ref()?;
        match value {
            serde_json::Value::String(s) => s.parse().ok(),
            other => other.as_u64(),
        }
    }

    /// How many phishing-resistant second factors the user enrolled: security keys and
    /// passkeys.
    pub fn phishing_resistant(&self) -> u64 {
        self.int(SECURITY_KEYS)
            .unwrap_or(0)
            .saturating_add(self.int(PASSKEYS).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(json: &str) -> User {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn unused_accounts_go_by_the_last_sign_in_or_the_creation() {
        let now = OffsetDateTime::parse("2025-11-24T08:00:00Z", &Rfc3339).unwrap();
        let recent = user(
            r#"{"id":"1","lastLoginTime":"2025-11-20T09:30:00.000Z","creationTime":"2020-01-01T00:00:00.000Z"}"#,
        );
        assert!(!recent.unused_for(90, now));
        assert!(recent.unused_for(3, now));
        let never_old = user(
            r#"{"id":"2","lastLoginTime":"1970-01-01T00:00:00.000Z","creationTime":"2025-01-01T00:00:00.000Z"}"#,
        );
        assert!(never_old.unused_for(90, now));
        let never_new = user(
            r#"{"id":"3","lastLoginTime":"1970-01-01T00:00:00.000Z","creationTime":"2025-11-23T00:00:00.000Z"}"#,
        );
        assert!(!never_new.unused_for(90, now));
        assert!(user(r#"{"id":"4"}"#).unused_for(90, now));
        assert_eq!(user(r#"{"id":"4"}"#).name(), "4");
    }

    #[test]
    fn errors_give_their_most_telling_reason() {
        let e: GoogleError = serde_json::from_str(
            r#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","errors":[{"message":"Insufficient Permission","domain":"global","reason":"insufficientPermissions"}],"status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT","domain":"googleapis.com"}]}}"#,
        )
        .unwrap();
        assert_eq!(e.error.reason(), "insufficientPermissions");
        assert!(e.error.has_reason(&["ACCESS_TOKEN_SCOPE_INSUFFICIENT"]));
        let bare: GoogleError =
            serde_json::from_str(r#"{"error":{"code":503,"message":"x","status":"UNAVAILABLE"}}"#)
                .unwrap();
        assert_eq!(bare.error.reason(), "UNAVAILABLE");
        let page: Page<Member> = serde_json::from_str(
            r#"{"kind":"admin#directory#members","members":[{"id":"1","type":"USER"},{"id":"2","type":"GROUP"}]}"#,
        )
        .unwrap();
        assert_eq!(page.entries[0].user_id(), Some("1"));
        assert_eq!(page.entries[1].user_id(), None);
        assert!(page.next_page_token.is_none());
    }

    #[test]
    fn usage_reports_count_security_keys_and_passkeys() {
        let page: Page<UsageReport> = serde_json::from_str(
            r#"{"kind":"admin#reports#usageReports","warnings":[{"code":"PARTIAL_DATA_AVAILABLE","message":"Data for some users may be missing","data":[{"key":"application","value":"accounts"}]}],"usageReports":[{"kind":"admin#reports#usageReport","date":"2025-11-21","etag":"\"x\"","entity":{"customerId":"C03az79cb","userEmail":"alice@acme.example","profileId":"1","type":"USER"},"parameters":[{"name":"accounts:num_security_keys","intValue":"2"},{"name":"accounts:num_passkeys_enrolled","intValue":1}]},{"date":"2025-11-21","entity":{"userEmail":"bob@acme.example","profileId":"2","type":"USER"},"parameters":[{"name":"accounts:num_security_keys","intValue":"0"}]}],"nextPageToken":"A:1"}"#,
        )
        .unwrap();
        assert_eq!(page.warnings[0].code, "PARTIAL_DATA_AVAILABLE");
        assert_eq!(page.entries[0].phishing_resistant(), 3);
        assert_eq!(page.entries[0].int(SECURITY_KEYS), Some(2));
        assert_eq!(page.entries[1].phishing_resistant(), 0);
        assert_eq!(page.entries[1].int(PASSKEYS), None);
        assert_eq!(page.entries[1].entity.profile_id.as_deref(), Some("2"));
        assert_eq!(page.next_page_token.as_deref(), Some("A:1"));
    }
}

/// A policy of the Cloud Identity Policy API: one setting, applied to the users its query
/// selects (an organisational unit, a group).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CloudPolicy {
    /// `customers/C03az79cb`.
    #[serde(default)]
    pub customer: String,
    /// Whom it applies to.
    #[serde(default)]
    pub policy_query: PolicyQuery,
    /// The setting.
    pub setting: PolicySetting,
    /// `ADMIN` (set by an administrator) or `SYSTEM` (Google's default).
    #[serde(default, rename = "type")]
    pub kind: String,
}

/// Whom a policy applies to.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyQuery {
    /// `orgUnits/03ph8a2z1enx4lx`.
    #[serde(default)]
    pub org_unit: Option<String>,
    /// `groups/01egqt2p2rvlkse`, when the policy applies to a group.
    #[serde(default)]
    pub group: Option<String>,
    /// Which of several policies on the same unit wins: the higher.
    #[serde(default)]
    pub sort_order: Option<f64>,
}

/// A policy's setting: its type (`settings/security.password`) and value, whose shape the
/// type decides.
#[derive(Debug, Deserialize)]
pub(crate) struct PolicySetting {
    /// `settings/security.password`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The value.
    #[serde(default)]
    pub value: serde_json::Value,
}

/// The value of a `settings/security.password` setting.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PasswordSetting {
    /// `STRONG` or `WEAK`.
    #[serde(default)]
    pub allowed_strength: Option<String>,
    /// The fewest characters.
    #[serde(default)]
    pub minimum_length: Option<u64>,
    /// The most characters.
    #[serde(default)]
    pub maximum_length: Option<u64>,
    /// Whether a password that does not meet the policy must be changed at the next sign-in.
    #[serde(default)]
    pub enforce_requirements_at_login: Option<bool>,
    /// Whether a previous password may be used again.
    #[serde(default)]
    pub allow_reuse: Option<bool>,
    /// How long a password lasts, a protobuf duration (`7776000s`); `0s`: for ever.
    #[serde(default)]
    pub expiration_duration: Option<String>,
}
