//! The parts of Okta's answers the collectors read, as typed models (unknown fields ignored:
//! Okta adds fields), and how factors are classed.

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A user (`GET /api/v1/users`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    /// `00u…`.
    pub id: String,
    /// `STAGED`, `PROVISIONED`, `ACTIVE`, `RECOVERY`, `PASSWORD_EXPIRED`, `LOCKED_OUT`,
    /// `SUSPENDED` or `DEPROVISIONED`.
    pub status: String,
    /// When the user was created.
    #[serde(default)]
    pub created: Option<String>,
    /// When the user was activated.
    #[serde(default)]
    pub activated: Option<String>,
    /// The last sign-in, `null` when never.
    #[serde(default)]
    pub last_login: Option<String>,
    /// The profile.
    pub profile: Profile,
}

/// The part of a user's profile read.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Profile {
    /// The login (usually an email address).
    pub login: String,
}

impl User {
    /// Whether the user can sign in (statuses in which Okta authenticates the user).
    pub fn can_sign_in(&self) -> bool {
        matches!(
            self.status.as_str(),
            "ACTIVE" | "RECOVERY" | "PASSWORD_EXPIRED" | "LOCKED_OUT"
        )
    }

    /// Whether the account is switched off but still exists: suspended or deactivated.
    pub fn is_deactivated(&self) -> bool {
        matches!(self.status.as_str(), "SUSPENDED" | "DEPROVISIONED")
    }

    /// Whether the user has not signed in for longer than `days` before `now`: the last
    /// sign-in, or when never, the activation (else the creation), is older. Unknown instants
    /// count as old, so an account is never called in use for want of a date.
    pub fn unused_for(&self, days: u32, now: OffsetDateTime) -> bool {
        let since = self
            .last_login
            .as_deref()
            .or(self.activated.as_deref())
            .or(self.created.as_deref())
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
        match since {
            Some(t) => now - t > time::Duration::days(i64::from(days)),
            None => true,
        }
    }
}

/// An enrolled factor (`GET /api/v1/users/{id}/factors`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Factor {
    /// `push`, `token:software:totp`, `webauthn`, `signed_nonce`, `sms`, `call`, `email`,
    /// `question`, `token`, `token:hardware`, `token:hotp`, `u2f`, `web`…
    pub factor_type: String,
    /// `ACTIVE`, `PENDING_ACTIVATION`, `NOT_SETUP`…
    pub status: String,
}

/// How strong a factor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Strength {
    /// Knowledge, like the password itself: a security question. Not a second factor.
    Knowledge,
    /// A second factor that can be intercepted or redirected: SMS, voice call, email.
    Weak,
    /// Possession that a SIM swap does not take: push, TOTP, hardware and vendor tokens.
    Strong,
    /// Bound to the origin, so a phishing page cannot relay it: WebAuthn/FIDO2, U2F, Okta
    /// FastPass (`signed_nonce`).
    PhishingResistant,
}

impl Factor {
    /// Whether the factor is enrolled and usable.
    pub fn active(&self) -> bool {
        self.status == "ACTIVE"
    }

    /// The factor's strength (an unknown type counts as weak: a second factor of unknown
    /// strength).
    pub fn strength(&self) -> Strength {
        match self.factor_type.as_str() {
            "question" => Strength::Knowledge,
            "webauthn" | "u2f" | "signed_nonce" => Strength::PhishingResistant,
            "push" | "token:software:totp" | "token:hotp" | "token:hardware" | "token" => {
                Strength::Strong
            }
            _ => Strength::Weak,
        }
    }
}

/// The strongest active factor among `factors`, `None` when none is active.
pub(crate) fn strongest(factors: &[Factor]) -> Option<Strength> {
    factors
        .iter()
        .filter(|f| f.active())
        .map(Factor::strength)
        .max()
}

/// The active factors' types, sorted, each once.
pub(crate) fn active_types(factors: &[Factor]) -> Vec<String> {
    let mut types: Vec<String> = factors
        .iter()
        .filter(|f| f.active())
        .map(|f| vouch_evidence::limits::truncate_echo(&f.factor_type))
        .collect();
    types.sort();
    types.dedup();
    types
}

/// A user holding admin roles (`GET /api/v1/iam/assignees/users`).
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct RoleAssignee {
    /// `00u…`.
    pub id: String,
}

/// A role assigned to a user (`GET /api/v1/users/{id}/roles`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Role {
    /// `SUPER_ADMIN`, `ORG_ADMIN`, `READ_ONLY_ADMIN`, `CUSTOM`…
    #[serde(rename = "type")]
    pub role_type: String,
    /// `ACTIVE` or `INACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
    /// A custom role's label.
    #[serde(default)]
    pub label: Option<String>,
}

impl Role {
    /// Whether the assignment is in force (Okta omits the status on older orgs).
    pub fn active(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "ACTIVE")
    }
}

/// An application assigned to a user (`GET /api/v1/apps?filter=user.id eq "…"`).
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct App {
    /// `0oa…`.
    #[allow(dead_code)]
    pub id: String,
}

/// A policy (`GET /api/v1/policies?type=…`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Policy {
    /// `00p…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// Its priority (1 is evaluated first).
    #[serde(default)]
    pub priority: Option<i64>,
    /// Whether it is Okta's default (system) policy.
    #[serde(default)]
    pub system: bool,
    /// The settings (password policies).
    #[serde(default)]
    pub settings: Option<PolicySettings>,
}

/// A password policy's settings.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct PolicySettings {
    /// The password rules.
    #[serde(default)]
    pub password: Option<PasswordSettings>,
}

/// `settings.password`.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct PasswordSettings {
    /// Complexity.
    #[serde(default)]
    pub complexity: Complexity,
    /// Age and history.
    #[serde(default)]
    pub age: Age,
    /// Lockout.
    #[serde(default)]
    pub lockout: Lockout,
}

/// `settings.password.complexity`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Complexity {
    pub min_length: Option<i64>,
    pub min_lower_case: Option<i64>,
    pub min_upper_case: Option<i64>,
    pub min_number: Option<i64>,
    pub min_symbol: Option<i64>,
    pub exclude_username: Option<bool>,
    #[serde(default)]
    pub dictionary: Option<Dictionary>,
}

/// `settings.password.complexity.dictionary`.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Dictionary {
    #[serde(default)]
    pub common: Option<CommonDictionary>,
}

/// `settings.password.complexity.dictionary.common`.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct CommonDictionary {
    #[serde(default)]
    pub exclude: bool,
}

/// `settings.password.age`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Age {
    /// 0: passwords never expire.
    pub max_age_days: Option<i64>,
    pub min_age_minutes: Option<i64>,
    /// How many previous passwords are refused (0: none).
    pub history_count: Option<i64>,
}

/// `settings.password.lockout`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Lockout {
    /// Failed attempts before lockout (0: never locked out).
    pub max_attempts: Option<i64>,
    pub auto_unlock_minutes: Option<i64>,
}

/// A policy rule (`GET /api/v1/policies/{id}/rules`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rule {
    /// Its name.
    pub name: String,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// What it does.
    #[serde(default)]
    pub actions: RuleActions,
}

/// A rule's `actions`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RuleActions {
    /// A global session (sign-on) rule's action.
    #[serde(default)]
    pub signon: Option<SignOnAction>,
    /// An authentication (access) policy rule's action.
    #[serde(default)]
    pub app_sign_on: Option<AppSignOnAction>,
}

/// `actions.signon` of an `OKTA_SIGN_ON` rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignOnAction {
    /// `ALLOW` or `DENY`.
    pub access: String,
    /// Whether a second factor is required.
    #[serde(default)]
    pub require_factor: bool,
}

/// `actions.appSignOn` of an `ACCESS_POLICY` rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppSignOnAction {
    /// `ALLOW` or `DENY`.
    pub access: String,
    /// How the user must verify.
    #[serde(default)]
    pub verification_method: Option<VerificationMethod>,
}

/// `actions.appSignOn.verificationMethod`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerificationMethod {
    /// `1FA` or `2FA` (assurance rules).
    #[serde(default)]
    pub factor_mode: Option<String>,
}

impl Rule {
    /// Whether the rule is in force and lets people in with one factor: a sign-on rule that
    /// allows access without requiring a factor, or an access rule that allows with `1FA` (or
    /// names no factor mode).
    pub fn allows_one_factor(&self) -> bool {
        if self.status != "ACTIVE" {
            return false;
        }
        if let Some(signon) = &self.actions.signon {
            return signon.access == "ALLOW" && !signon.require_factor;
        }
        if let Some(app) = &self.actions.app_sign_on {
            return app.access == "ALLOW"
                && app
                    .verification_method
                    .as_ref()
                    .and_then(|v| v.factor_mode.as_deref())
                    != Some("2FA");
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn factor(t: &str, status: &str) -> Factor {
        Factor {
            factor_type: t.into(),
            status: status.into(),
        }
    }

    #[test]
    fn factors_are_classed_and_only_active_ones_count() {
        assert_eq!(strongest(&[]), None);
        assert_eq!(strongest(&[factor("question", "ACTIVE")]), Some(Strength::Knowledge));
        assert_eq!(
            strongest(&[factor("question", "ACTIVE"), factor("sms", "ACTIVE")]),
            Some(Strength::Weak)
        );
        assert_eq!(
            strongest(&[factor("sms", "ACTIVE"), factor("token:software:totp", "ACTIVE")]),
            Some(Strength::Strong)
        );
        assert_eq!(
            strongest(&[factor("push", "ACTIVE"), factor("signed_nonce", "ACTIVE")]),
            Some(Strength::PhishingResistant)
        );
        // An enrolment not finished is no factor.
        assert_eq!(
            strongest(&[factor("webauthn", "PENDING_ACTIVATION"), factor("email", "ACTIVE")]),
            Some(Strength::Weak)
        );
        assert_eq!(
            active_types(&[
                factor("webauthn", "ACTIVE"),
                factor("push", "ACTIVE"),
                factor("webauthn", "ACTIVE"),
                factor("sms", "NOT_SETUP")
            ]),
            ["push", "webauthn"]
        );
    }

    fn user(status: &str, last: Option<&str>, activated: Option<&str>) -> User {
        User {
            id: "00u1".into(),
            status: status.into(),
            created: Some("2020-01-01T00:00:00.000Z".into()),
            activated: activated.map(Into::into),
            last_login: last.map(Into::into),
            profile: Profile {
                login: "a@acme.example".into(),
            },
        }
    }

    #[test]
    fn unused_accounts_are_measured_from_the_last_sign_in_or_activation() {
        let now = datetime!(2025-11-24 08:00 UTC);
        assert!(!user("ACTIVE", Some("2025-10-01T09:00:00.000Z"), None).unused_for(90, now));
        assert!(user("ACTIVE", Some("2025-08-01T09:00:00.000Z"), None).unused_for(90, now));
        // 90 days exactly is not over 90 days.
        assert!(!user("ACTIVE", Some("2025-08-26T08:00:00.000Z"), None).unused_for(90, now));
        // Never signed in: from activation, else creation.
        assert!(!user("ACTIVE", None, Some("2025-11-01T00:00:00.000Z")).unused_for(90, now));
        assert!(user("ACTIVE", None, None).unused_for(90, now));
        assert!(user("ACTIVE", Some("not a time"), None).unused_for(90, now));
        assert!(user("LOCKED_OUT", None, None).can_sign_in());
        assert!(!user("SUSPENDED", None, None).can_sign_in());
        assert!(user("DEPROVISIONED", None, None).is_deactivated());
        assert!(!user("STAGED", None, None).is_deactivated());
    }

    #[test]
    fn one_factor_rules_are_told_from_mfa_rules() {
        let rule = |json: &str| serde_json::from_str::<Rule>(json).unwrap();
        assert!(rule(r#"{"name":"r","status":"ACTIVE","actions":{"signon":{"access":"ALLOW","requireFactor":false}}}"#).allows_one_factor());
        assert!(!rule(r#"{"name":"r","status":"ACTIVE","actions":{"signon":{"access":"ALLOW","requireFactor":true}}}"#).allows_one_factor());
        assert!(!rule(r#"{"name":"r","status":"ACTIVE","actions":{"signon":{"access":"DENY"}}}"#).allows_one_factor());
        assert!(!rule(r#"{"name":"r","status":"INACTIVE","actions":{"signon":{"access":"ALLOW"}}}"#).allows_one_factor());
        assert!(rule(r#"{"name":"r","status":"ACTIVE","actions":{"appSignOn":{"access":"ALLOW","verificationMethod":{"factorMode":"1FA","type":"ASSURANCE"}}}}"#).allows_one_factor());
        assert!(!rule(r#"{"name":"r","status":"ACTIVE","actions":{"appSignOn":{"access":"ALLOW","verificationMethod":{"factorMode":"2FA","type":"ASSURANCE"}}}}"#).allows_one_factor());
        assert!(rule(r#"{"name":"r","status":"ACTIVE","actions":{"appSignOn":{"access":"ALLOW"}}}"#).allows_one_factor());
    }
}
