//! The parts of Microsoft Graph's answers the collectors read, as typed models (unknown fields
//! ignored: Graph adds properties), and how authentication methods are classed.

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One page of a Graph collection: `{"value": […], "@odata.nextLink": "…"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Page<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// The next page's absolute URL, absent on the last page.
    #[serde(default, rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

/// The token endpoint's answer to a client-credentials request.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    /// `Bearer`.
    #[serde(default)]
    pub token_type: String,
    /// The access token: never logged, never put in evidence.
    pub access_token: String,
    /// Its lifetime in seconds (a number; older endpoints wrote it as a string).
    #[serde(deserialize_with = "seconds")]
    pub expires_in: u64,
}

/// A number of seconds written as a number or as a string of digits.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u64),
        Text(String),
    }
    match Either::deserialize(d)? {
        Either::Number(n) => Ok(n),
        Either::Text(t) => t
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom("expires_in is not a number of seconds")),
    }
}

/// The token endpoint's error body (OAuth 2.0, with Entra's `AADSTS` codes).
#[derive(Deserialize)]
pub(crate) struct TokenError {
    /// `invalid_client`, `unauthorized_client`, `invalid_request`…
    #[serde(default)]
    pub error: String,
    /// `AADSTS7000222: The provided client secret keys for app '…' are expired. …`, followed
    /// by trace and correlation ids.
    #[serde(default)]
    pub error_description: String,
}

/// Graph's error body: `{"error": {"code": …, "message": …}}`.
#[derive(Deserialize)]
pub(crate) struct GraphError {
    /// The error.
    pub error: GraphErrorDetail,
}

/// The error's code and message.
#[derive(Deserialize)]
pub(crate) struct GraphErrorDetail {
    /// `Authorization_RequestDenied`, `InvalidAuthenticationToken`,
    /// `Authentication_RequestFromNonPremiumTenantOrB2CTenant`, `TooManyRequests`…
    #[serde(default)]
    pub code: String,
    /// A sentence for people.
    #[serde(default)]
    pub message: String,
}

/// A user (`GET /v1.0/users?$select=…`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    /// The object id, a GUID.
    pub id: String,
    /// `alice@acme.example`.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Whether the account can sign in; `null` when Graph does not say.
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// `Member` or `Guest`.
    #[serde(default)]
    pub user_type: Option<String>,
    /// When the account was created.
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// The last sign-ins (Entra ID P1 or P2, and `AuditLog.Read.All`).
    #[serde(default)]
    pub sign_in_activity: Option<SignInActivity>,
}

/// A user's last sign-ins.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignInActivity {
    /// The last interactive sign-in, successful or not.
    #[serde(default)]
    pub last_sign_in_date_time: Option<String>,
    /// The last non-interactive sign-in (a client refreshing tokens), successful or not.
    #[serde(default)]
    pub last_non_interactive_sign_in_date_time: Option<String>,
    /// The last successful sign-in, interactive or not (recorded since December 2023).
    #[serde(default)]
    pub last_successful_sign_in_date_time: Option<String>,
}

/// `text` as an instant, when it is one Graph means: Graph writes `0001-01-01T00:00:00Z` for
/// "never", which is no instant.
fn instant(text: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text?, &Rfc3339)
        .ok()
        .filter(|t| t.year() >= 1990)
}

impl User {
    /// The name evidence uses: the user principal name, else the object id.
    pub fn name(&self) -> &str {
        self.user_principal_name.as_deref().unwrap_or(&self.id)
    }

    /// Whether the account can sign in (Graph leaves `accountEnabled` out only when it cannot
    /// tell: such an account counts as enabled, so that it is judged rather than skipped).
    pub fn enabled(&self) -> bool {
        self.account_enabled != Some(false)
    }

    /// Whether the user is a member of the tenant (not a guest).
    pub fn is_member(&self) -> bool {
        self.user_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case("member"))
    }

    /// Whether the user is a guest (B2B collaboration).
    pub fn is_guest(&self) -> bool {
        self.user_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("guest"))
    }

    /// When the account was last used: the last successful sign-in when Graph records it,
    /// else the later of the last interactive and non-interactive sign-ins (attempts, which
    /// Graph recorded before it kept successes apart).
    pub fn last_used(&self) -> Option<OffsetDateTime> {
        let a = self.sign_in_activity.as_ref()?;
        instant(a.last_successful_sign_in_date_time.as_deref()).or_else(|| {
            let interactive = instant(a.last_sign_in_date_time.as_deref());
            let other = instant(a.last_non_interactive_sign_in_date_time.as_deref());
            interactive.max(other)
        })
    }

    /// Whether the account has not been used for longer than `days` before `now`: its last
    /// use, or when never, its creation, is older. An unknown instant counts as old, so an
    /// account is never called in use for want of a date.
    pub fn unused_for(&self, days: u32, now: OffsetDateTime) -> bool {
        let since = self
            .last_used()
            .or_else(|| instant(self.created_date_time.as_deref()));
        match since {
            Some(t) => now - t > time::Duration::days(i64::from(days)),
            None => true,
        }
    }
}

/// A user's registration of authentication methods
/// (`GET /v1.0/reports/authenticationMethods/userRegistrationDetails`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Registration {
    /// The user's object id.
    pub id: String,
    /// Whether the user has registered a method Entra ID accepts for multifactor
    /// authentication (whether or not the methods policy allows it now).
    #[serde(default)]
    pub is_mfa_registered: bool,
    /// The methods registered: `microsoftAuthenticatorPush`, `fido2SecurityKey`, `mobilePhone`…
    #[serde(default)]
    pub methods_registered: Vec<String>,
}

/// How strong an authentication method is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Strength {
    /// Used to reset a password, never to sign in: security questions, an email address.
    Recovery,
    /// A second factor that can be intercepted or redirected, or that lasts only days: SMS,
    /// voice call, a Temporary Access Pass.
    Weak,
    /// Possession that a SIM swap does not take: Authenticator push or phone sign-in, software
    /// and hardware OATH codes, a single-factor certificate.
    Strong,
    /// Bound to the origin or the device, so a phishing page cannot relay it: FIDO2 security
    /// keys and passkeys, Windows Hello for Business, the macOS Platform SSO key,
    /// multifactor certificates.
    PhishingResistant,
}

impl Strength {
    /// Its name in evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Recovery => "recovery_only",
            Strength::Weak => "weak",
            Strength::Strong => "strong",
            Strength::PhishingResistant => "phishing_resistant",
        }
    }
}

/// A method's strength, by the name `methodsRegistered` gives it (an unknown name counts as
/// weak: a second factor of unknown strength).
pub(crate) fn strength(method: &str) -> Strength {
    match method {
        "securityQuestion" | "email" => Strength::Recovery,
        "fido2" | "fido2SecurityKey" | "passKeyDeviceBound" | "passKeyDeviceBoundAuthenticator"
        | "passKeyDeviceBoundWindowsHello" | "passKeySynced" | "windowsHelloForBusiness"
        | "macOsSecureEnclaveKey" | "x509Certificate" | "x509CertificateMultiFactor" => {
            Strength::PhishingResistant
        }
        "microsoftAuthenticatorPush"
        | "microsoftAuthenticatorPasswordless"
        | "softwareOneTimePasscode"
        | "hardwareOneTimePasscode"
        | "x509CertificateSingleFactor" => Strength::Strong,
        _ => Strength::Weak,
    }
}

/// The strongest of `methods`, `None` when there is none.
pub(crate) fn strongest(methods: &[String]) -> Option<Strength> {
    methods.iter().map(|m| strength(m)).max()
}

/// The methods' names, cut, sorted, each once.
pub(crate) fn method_names(methods: &[String]) -> Vec<String> {
    let mut names: Vec<String> = methods
        .iter()
        .map(|m| vouch_evidence::limits::truncate_echo(m))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A directory role activated in the tenant (`GET /v1.0/directoryRoles`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DirectoryRole {
    /// The role's object id in this tenant.
    pub id: String,
    /// `Global Administrator`, `Security Reader`…
    #[serde(default)]
    pub display_name: String,
    /// The built-in role's template id, the same in every tenant.
    #[serde(default)]
    pub role_template_id: Option<String>,
}

/// The template id of the Global Administrator role, the same in every tenant.
pub(crate) const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// A member of a role or a group: a user, a group or a service principal
/// (`GET /v1.0/directoryRoles/{id}/members`, `GET /v1.0/groups/{id}/members`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DirectoryObject {
    /// `#microsoft.graph.user`, `#microsoft.graph.group`, `#microsoft.graph.servicePrincipal`…
    #[serde(default, rename = "@odata.type")]
    pub odata_type: String,
    /// The object id.
    pub id: String,
    /// A group's or service principal's name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// A service principal's application id.
    #[serde(default)]
    pub app_id: Option<String>,
}

impl DirectoryObject {
    /// Whether the object is of the Graph type `kind` (`user`, `group`, `servicePrincipal`).
    pub fn is(&self, kind: &str) -> bool {
        self.odata_type.strip_prefix("#microsoft.graph.") == Some(kind)
    }
}

/// An eligible assignment of a directory role, through Privileged Identity Management
/// (`GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal,roleDefinition`):
/// its principal may activate the role when they need it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Eligibility {
    /// The user, group or service principal eligible.
    pub principal_id: String,
    /// The role's definition id (a built-in role's template id).
    #[serde(default)]
    pub role_definition_id: String,
    /// When the eligibility starts.
    #[serde(default)]
    pub start_date_time: Option<String>,
    /// When it ends; absent or null: permanently eligible.
    #[serde(default)]
    pub end_date_time: Option<String>,
    /// The principal, expanded (its `@odata.type` tells a user from a group).
    #[serde(default)]
    pub principal: Option<DirectoryObject>,
    /// The role, expanded.
    #[serde(default)]
    pub role_definition: Option<RoleDefinition>,
}

/// A role's definition, as expanded into an eligibility.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleDefinition {
    /// `Global Administrator`, `Privileged Role Administrator`…
    #[serde(default)]
    pub display_name: String,
    /// The built-in role's template id.
    #[serde(default)]
    pub template_id: Option<String>,
}

impl Eligibility {
    /// Whether it is in force at `now`: started (or no start given) and not ended.
    pub fn current(&self, now: OffsetDateTime) -> bool {
        let started = instant(self.start_date_time.as_deref()).is_none_or(|t| t <= now);
        let ended = instant(self.end_date_time.as_deref()).is_some_and(|t| t <= now);
        started && !ended
    }

    /// The role as a directory role: its name (else `role <id>`) and template id.
    pub fn role(&self) -> DirectoryRole {
        let definition = self.role_definition.as_ref();
        DirectoryRole {
            id: self.role_definition_id.clone(),
            display_name: definition
                .map(|d| d.display_name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("role {}", self.role_definition_id)),
            role_template_id: definition
                .and_then(|d| d.template_id.clone())
                .or_else(|| Some(self.role_definition_id.clone())),
        }
    }

    /// Whether the principal is of the Graph type `kind`; an eligibility whose principal was
    /// not expanded is taken for a user's.
    pub fn principal_is(&self, kind: &str) -> bool {
        match &self.principal {
            Some(p) if !p.odata_type.is_empty() => p.is(kind),
            _ => kind == "user",
        }
    }
}

/// A group's name (`GET /v1.0/groups/{id}?$select=id,displayName`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Group {
    /// Its name.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// An application role granted to a user, directly or through a group
/// (`GET /v1.0/users/{id}/appRoleAssignments`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppRoleAssignment {
    /// The assignment's id.
    #[allow(dead_code)]
    pub id: String,
}

/// The security defaults (`GET /v1.0/policies/identitySecurityDefaultsEnforcementPolicy`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecurityDefaults {
    /// Whether they are on.
    pub is_enabled: bool,
}

/// A conditional access policy (`GET /v1.0/identity/conditionalAccess/policies`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConditionalAccessPolicy {
    /// Its name.
    #[serde(default)]
    pub display_name: String,
    /// `enabled`, `disabled` or `enabledForReportingButNotEnforced` (report-only).
    pub state: String,
    /// Who, what and when it applies to.
    #[serde(default)]
    pub conditions: Conditions,
    /// What it requires; `null` for a policy with session controls only.
    #[serde(default)]
    pub grant_controls: Option<GrantControls>,
}

/// A conditional access policy's conditions. Conditions left `null` or empty do not narrow it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Conditions {
    /// The users it applies to.
    #[serde(default)]
    pub users: Option<UsersCondition>,
    /// The applications it applies to.
    #[serde(default)]
    pub applications: Option<ApplicationsCondition>,
    /// `all`, `browser`, `mobileAppsAndDesktopClients`, `exchangeActiveSync`, `other`.
    #[serde(default)]
    pub client_app_types: Vec<String>,
    /// Device platforms included and excluded.
    #[serde(default)]
    pub platforms: Option<IncludeExclude>,
    /// Named locations included and excluded.
    #[serde(default)]
    pub locations: Option<IncludeExclude>,
    /// User risk levels it applies at (Identity Protection).
    #[serde(default)]
    pub user_risk_levels: Vec<String>,
    /// Sign-in risk levels it applies at.
    #[serde(default)]
    pub sign_in_risk_levels: Vec<String>,
    /// Service principal risk levels (workload identities).
    #[serde(default)]
    pub service_principal_risk_levels: Vec<String>,
    /// A device filter.
    #[serde(default)]
    pub devices: Option<serde_json::Value>,
    /// Workload identities it applies to instead of users.
    #[serde(default)]
    pub client_applications: Option<serde_json::Value>,
    /// Insider risk levels (Purview).
    #[serde(default)]
    pub insider_risk_levels: Option<serde_json::Value>,
    /// Authentication flows (device code, authentication transfer).
    #[serde(default)]
    pub authentication_flows: Option<serde_json::Value>,
}

/// Users included and excluded.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsersCondition {
    /// User ids, `All`, `None` or `GuestsOrExternalUsers`.
    #[serde(default)]
    pub include_users: Vec<String>,
    /// User ids, or `GuestsOrExternalUsers`.
    #[serde(default)]
    pub exclude_users: Vec<String>,
    /// Group ids excluded.
    #[serde(default)]
    pub exclude_groups: Vec<String>,
    /// Role template ids excluded.
    #[serde(default)]
    pub exclude_roles: Vec<String>,
    /// Guests or external users excluded (by kind and tenant).
    #[serde(default)]
    pub exclude_guests_or_external_users: Option<serde_json::Value>,
}

/// Applications included and excluded.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplicationsCondition {
    /// Application ids, `All`, `None` or `Office365`.
    #[serde(default)]
    pub include_applications: Vec<String>,
    /// Application ids excluded.
    #[serde(default)]
    pub exclude_applications: Vec<String>,
}

/// Platforms or locations included and excluded.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct IncludeExclude {
    /// Included (`all`/`All` for every one).
    #[serde(default, rename = "includeLocations", alias = "includePlatforms")]
    pub include: Vec<String>,
    /// Excluded.
    #[serde(default, rename = "excludeLocations", alias = "excludePlatforms")]
    pub exclude: Vec<String>,
}

/// What a policy requires.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GrantControls {
    /// `AND` (every control) or `OR` (any one).
    #[serde(default)]
    pub operator: String,
    /// `mfa`, `block`, `compliantDevice`, `domainJoinedDevice`, `approvedApplication`,
    /// `compliantApplication`, `passwordChange`.
    #[serde(default)]
    pub built_in_controls: Vec<String>,
    /// Custom controls.
    #[serde(default)]
    pub custom_authentication_factors: Vec<String>,
    /// Terms of use to accept.
    #[serde(default)]
    pub terms_of_use: Vec<String>,
    /// An authentication strength (multifactor by definition), when required.
    #[serde(default)]
    pub authentication_strength: Option<AuthenticationStrength>,
}

/// An authentication strength policy.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthenticationStrength {
    /// `Multifactor authentication`, `Phishing-resistant MFA`…
    #[serde(default)]
    pub display_name: String,
}

/// A domain of the tenant (`GET /v1.0/domains`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Domain {
    /// The domain name.
    pub id: String,
    /// `Managed` (Entra ID checks the passwords) or `Federated` (another identity provider).
    #[serde(default)]
    pub authentication_type: String,
    /// Whether it is the default domain of new users.
    #[serde(default)]
    pub is_default: bool,
    /// Whether ownership was verified.
    #[serde(default)]
    pub is_verified: bool,
    /// Days a password stays valid; 2147483647 means it never expires.
    #[serde(default)]
    pub password_validity_period_in_days: Option<i64>,
    /// Days before expiry that users are told.
    #[serde(default)]
    pub password_notification_window_in_days: Option<i64>,
}

/// What Graph writes for "passwords never expire".
pub(crate) const NEVER_EXPIRES: i64 = 2_147_483_647;

/// A tenant-wide directory setting (`GET /v1.0/groupSettings`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DirectorySetting {
    /// The template it instantiates.
    #[serde(default)]
    pub template_id: Option<String>,
    /// Its values, as text.
    #[serde(default)]
    pub values: Vec<SettingValue>,
}

/// One value of a directory setting.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct SettingValue {
    /// `LockoutThreshold`, `LockoutDurationInSeconds`, `EnableBannedPasswordCheck`…
    pub name: String,
    /// The value, as text.
    #[serde(default)]
    pub value: Option<String>,
}

/// The template id of the "Password Rule Settings" (smart lockout, custom banned passwords).
pub(crate) const PASSWORD_RULE_SETTINGS: &str = "5cf42378-d67d-4f36-ba46-e8b86229381d";

impl DirectorySetting {
    /// The value named `name`, if set.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.value.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(activity: Option<SignInActivity>, created: &str) -> User {
        User {
            id: "u1".into(),
            user_principal_name: Some("a@acme.example".into()),
            account_enabled: Some(true),
            user_type: Some("Member".into()),
            created_date_time: Some(created.into()),
            sign_in_activity: activity,
        }
    }

    #[test]
    fn eligibilities_are_current_by_the_clock_and_name_their_role() {
        let now = OffsetDateTime::parse("2025-11-24T08:00:00Z", &Rfc3339).unwrap();
        let e: Eligibility = serde_json::from_str(
            r##"{"id":"x","principalId":"p1","roleDefinitionId":"62e90394-69f5-4237-9190-012177145e10","directoryScopeId":"/","startDateTime":"2025-06-01T09:00:00Z","endDateTime":null,"memberType":"Direct","principal":{"@odata.type":"#microsoft.graph.group","id":"p1","displayName":"PIM - Global Administrators"},"roleDefinition":{"id":"62e90394-69f5-4237-9190-012177145e10","displayName":"Global Administrator","templateId":"62e90394-69f5-4237-9190-012177145e10"}}"##,
        )
        .unwrap();
        assert!(e.current(now));
        assert!(e.principal_is("group") && !e.principal_is("user"));
        assert_eq!(e.role().display_name, "Global Administrator");
        assert_eq!(e.role().role_template_id.as_deref(), Some(GLOBAL_ADMINISTRATOR));
        let ended: Eligibility = serde_json::from_str(
            r#"{"principalId":"p2","roleDefinitionId":"fe930be7-5e62-47db-91af-98c3a49a38b1","startDateTime":"2025-01-01T00:00:00Z","endDateTime":"2025-11-24T07:59:59Z"}"#,
        )
        .unwrap();
        assert!(!ended.current(now));
        assert!(ended.principal_is("user"));
        assert_eq!(
            ended.role().display_name,
            "role fe930be7-5e62-47db-91af-98c3a49a38b1"
        );
        let later: Eligibility = serde_json::from_str(
            r#"{"principalId":"p3","roleDefinitionId":"r","startDateTime":"2025-12-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert!(!later.current(now));
    }

    #[test]
    fn last_use_prefers_success_and_ignores_never() {
        let now = OffsetDateTime::parse("2025-11-24T08:00:00Z", &Rfc3339).unwrap();
        let attempts = SignInActivity {
            last_sign_in_date_time: Some("2025-11-20T10:00:00Z".into()),
            last_non_interactive_sign_in_date_time: Some("2025-11-22T10:00:00.1234567Z".into()),
            last_successful_sign_in_date_time: None,
        };
        let u = user(Some(attempts.clone()), "2020-01-01T00:00:00Z");
        assert!(!u.unused_for(2, now));
        assert!(u.unused_for(2, now + time::Duration::days(1)));
        // A failed attempt last week does not make an account in use since July.
        let success = SignInActivity {
            last_successful_sign_in_date_time: Some("2025-07-01T00:00:00Z".into()),
            ..attempts
        };
        assert!(user(Some(success), "2020-01-01T00:00:00Z").unused_for(90, now));
        // Never: Graph's year 1 is no instant, so the creation counts.
        let never = SignInActivity {
            last_successful_sign_in_date_time: Some("0001-01-01T00:00:00Z".into()),
            ..SignInActivity::default()
        };
        assert!(!user(Some(never.clone()), "2025-11-01T00:00:00Z").unused_for(90, now));
        assert!(user(Some(never), "2025-01-01T00:00:00Z").unused_for(90, now));
        assert!(user(None, "not a date").unused_for(90, now));
    }

    #[test]
    fn methods_are_classed_by_what_a_phishing_page_can_relay() {
        let m = |names: &[&str]| strongest(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(m(&[]), None);
        assert_eq!(m(&["email", "securityQuestion"]), Some(Strength::Recovery));
        assert_eq!(m(&["mobilePhone", "email"]), Some(Strength::Weak));
        assert_eq!(m(&["somethingNew"]), Some(Strength::Weak));
        assert_eq!(
            m(&["mobilePhone", "microsoftAuthenticatorPush"]),
            Some(Strength::Strong)
        );
        assert_eq!(
            m(&["softwareOneTimePasscode", "windowsHelloForBusiness"]),
            Some(Strength::PhishingResistant)
        );
        assert_eq!(m(&["fido2"]), Some(Strength::PhishingResistant));
        assert_eq!(m(&["temporaryAccessPass"]), Some(Strength::Weak));
    }

    #[test]
    fn token_lifetimes_are_read_as_numbers_or_text() {
        let a: TokenAnswer =
            serde_json::from_str(r#"{"token_type":"Bearer","expires_in":3599,"access_token":"x"}"#)
                .unwrap();
        assert_eq!(a.expires_in, 3599);
        let b: TokenAnswer =
            serde_json::from_str(r#"{"token_type":"Bearer","expires_in":"3600","access_token":"x"}"#)
                .unwrap();
        assert_eq!(b.expires_in, 3600);
        assert!(
            serde_json::from_str::<TokenAnswer>(r#"{"expires_in":"soon","access_token":"x"}"#)
                .is_err()
        );
    }
}
