//! People: how many, which can sign in (neither suspended nor archived), which of those are not
//! enrolled in 2-Step Verification or not held to it, whether it is enforced for everyone, whose
//! account has gone unused, and (from the user usage report) how many enrolled a
//! phishing-resistant factor.

use std::sync::Arc;

use async_trait::async_trait;

use super::model::User;
use super::{Shared, call, listed};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The listing, as items name their source.
const USERS: &str = "/admin/directory/v1/users";

/// The user usage report, as items name their source.
pub(super) const REPORT: &str = "/admin/reports/v1/usage/users/all/dates/{date}";

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "google_workspace.users.total",
        value_type: ValueType::Integer,
        meaning: "Users of the account, active, suspended or archived.",
        source: "GET /admin/directory/v1/users",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.users.suspended_count",
        value_type: ValueType::Integer,
        meaning: "Suspended users (`suspended` true) among them.",
        source: "GET /admin/directory/v1/users (suspended)",
        context_only: Some(
            "the population behind the judged lists; the suspended accounts that matter (administrators) are judged by name",
        ),
    },
    EvidenceSpec {
        id: "google_workspace.users.archived_count",
        value_type: ValueType::Integer,
        meaning: "Archived users (`archived` true) among them: they cannot sign in, their data is kept.",
        source: "GET /admin/directory/v1/users (archived)",
        context_only: Some(
            "the population behind the judged lists; archived accounts cannot sign in",
        ),
    },
    EvidenceSpec {
        id: "google_workspace.users.without_2sv",
        value_type: ValueType::StringList,
        meaning: "Primary email addresses of active users (neither suspended nor archived) not enrolled in 2-Step Verification (`isEnrolledIn2Sv` false); sorted, at most 100. Which second factors the enrolled ones use (security key, passkey, prompt, code, SMS) the Directory API does not show.",
        source: "GET /admin/directory/v1/users (isEnrolledIn2Sv)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.users.without_2sv_count",
        value_type: ValueType::Integer,
        meaning: "How many active users are not enrolled in 2-Step Verification (the whole count behind the list).",
        source: "GET /admin/directory/v1/users (isEnrolledIn2Sv)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.users.enforced_2sv_count",
        value_type: ValueType::Integer,
        meaning: "How many active users 2-Step Verification is enforced for (`isEnforcedIn2Sv` true, by the settings of their organisational unit or group).",
        source: "GET /admin/directory/v1/users (isEnforcedIn2Sv)",
        context_only: Some(
            "the enforced side of the population; those not held to 2-Step Verification are judged by name",
        ),
    },
    EvidenceSpec {
        id: "google_workspace.users.not_enforced_2sv",
        value_type: ValueType::StringList,
        meaning: "Primary email addresses of active users for whom 2-Step Verification is not enforced (`isEnforcedIn2Sv` false): they may sign in with a password alone, or turn 2-Step Verification off; sorted, at most 100.",
        source: "GET /admin/directory/v1/users (isEnforcedIn2Sv)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.users.not_enforced_2sv_count",
        value_type: ValueType::Integer,
        meaning: "How many active users 2-Step Verification is not enforced for (the whole count behind the list).",
        source: "GET /admin/directory/v1/users (isEnforcedIn2Sv)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.users.mfa_required_for_everyone",
        value_type: ValueType::Bool,
        meaning: "Whether 2-Step Verification is enforced for every active user (`isEnforcedIn2Sv` true for each), whatever organisational unit or group enforces it. The enforcement settings themselves (a new-user enrolment period, trusted devices that skip the second step, the methods allowed) are not exposed by the Directory API and not judged.",
        source: "GET /admin/directory/v1/users (isEnforcedIn2Sv)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.users.phishing_resistant_count",
        value_type: ValueType::Integer,
        meaning: "How many active users had enrolled at least one phishing-resistant second factor, a security key or a passkey (`accounts:num_security_keys` or `accounts:num_passkeys_enrolled` above 0), on the day of the user usage report `google_workspace.users.usage_report_date`. A user the report does not name (created since) counts as without.",
        source: "GET /admin/reports/v1/usage/users/all/dates/{date} (accounts:num_security_keys, accounts:num_passkeys_enrolled)",
        context_only: Some(
            "adoption of phishing-resistant factors beyond administrators is a goal, not a requirement of the pack",
        ),
    },
    EvidenceSpec {
        id: "google_workspace.users.usage_report_date",
        value_type: ValueType::String,
        meaning: "The day (`YYYY-MM-DD`, UTC) of the Reports API's user usage report the security keys and passkeys were read from: two days before the collection, else three when Google had not computed that day yet (the report lags a day or two). Factors enrolled or removed since are not seen.",
        source: "GET /admin/reports/v1/usage/users/all/dates/{date}",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.users.inactive",
        value_type: ValueType::StringList,
        meaning: "Primary email addresses of active users who have not signed in for more than `google_workspace.users.inactive_days` days (`lastLoginTime`), or never and were created longer ago (`creationTime`); sorted, at most 100.",
        source: "GET /admin/directory/v1/users (lastLoginTime, creationTime)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.users.inactive_count",
        value_type: ValueType::Integer,
        meaning: "How many active users are unused by that measure (the whole count behind the list).",
        source: "GET /admin/directory/v1/users (lastLoginTime, creationTime)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.users.inactive_days",
        value_type: ValueType::Integer,
        meaning: "The number of days without a sign-in after which an account counts as unused (`inactive_days` of the agent's configuration).",
        source: "collectors.google_workspace.inactive_days",
        context_only: None,
    },
];

/// The collector.
pub struct Users(pub(super) Arc<Shared>);

#[async_trait]
impl Collector for Users {
    fn name(&self) -> &'static str {
        "google_workspace.users"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let days = self.0.config.inactive_days;
        let now = ctx.clock.now().datetime();
        let users = self.0.users(ctx).await?;
        // The report is asked for only when there are users to read it for.
        let report = match &users {
            Ok(_) => self.0.report(ctx).await?,
            Err(e) => Err(e.clone()),
        };
        let count = |keep: &dyn Fn(&User) -> bool| -> Result<u64, String> {
            users
                .as_ref()
                .map(|u| u.iter().filter(|u| keep(u)).count() as u64)
                .map_err(Clone::clone)
        };
        let active = |keep: &dyn Fn(&User) -> bool| -> Result<Vec<&str>, String> {
            users
                .as_ref()
                .map(|u| {
                    u.iter()
                        .filter(|u| u.active() && keep(u))
                        .map(User::name)
                        .collect()
                })
                .map_err(Clone::clone)
        };
        let without = active(&|u| !u.is_enrolled_in_2sv);
        let not_enforced = active(&|u| !u.is_enforced_in_2sv);
        let inactive = active(&|u| u.unused_for(days, now));
        let phishing_resistant = match &report {
            Ok(r) => count(&|u| u.active() && r.phishing_resistant(u)),
            Err(e) => Err(e.clone()),
        };
        Ok(vec![
            fact("google_workspace.users.total", call(USERS), count(&|_| true)),
            fact(
                "google_workspace.users.suspended_count",
                call(USERS),
                count(&|u| u.suspended),
            ),
            fact(
                "google_workspace.users.archived_count",
                call(USERS),
                count(&|u| u.archived),
            ),
            fact(
                "google_workspace.users.without_2sv",
                call(USERS),
                without.clone().map(listed),
            ),
            fact(
                "google_workspace.users.without_2sv_count",
                call(USERS),
                without.map(|w| w.len() as u64),
            ),
            fact(
                "google_workspace.users.enforced_2sv_count",
                call(USERS),
                count(&|u| u.active() && u.is_enforced_in_2sv),
            ),
            fact(
                "google_workspace.users.not_enforced_2sv",
                call(USERS),
                not_enforced.clone().map(listed),
            ),
            fact(
                "google_workspace.users.not_enforced_2sv_count",
                call(USERS),
                not_enforced.clone().map(|n| n.len() as u64),
            ),
            fact(
                "google_workspace.users.mfa_required_for_everyone",
                call(USERS),
                not_enforced.map(|n| n.is_empty()),
            ),
            fact(
                "google_workspace.users.phishing_resistant_count",
                call(REPORT),
                phishing_resistant,
            ),
            fact(
                "google_workspace.users.usage_report_date",
                call(REPORT),
                report.as_ref().map(|r| r.date.clone()).map_err(Clone::clone),
            ),
            fact(
                "google_workspace.users.inactive",
                call(USERS),
                inactive.clone().map(listed),
            ),
            fact(
                "google_workspace.users.inactive_count",
                call(USERS),
                inactive.map(|i| i.len() as u64),
            ),
            fact(
                "google_workspace.users.inactive_days",
                vouch_evidence::Source::Syscall("collectors.google_workspace.inactive_days".into()),
                Ok::<_, String>(u64::from(days)),
            ),
        ])
    }
}
