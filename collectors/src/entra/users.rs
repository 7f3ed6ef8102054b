//! People: how many, guests and disabled accounts among them, which enabled members are not
//! registered for multifactor authentication, who registered a phishing-resistant method,
//! whose account has gone unused, and which disabled accounts still hold application roles.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::api::ApiError;
use super::model::{AppRoleAssignment, Registration, Strength, User, strongest};
use super::{Shared, USER_FIELDS, call, each, fatal, listed};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "entra.users.total",
        value_type: ValueType::Integer,
        meaning: "Users of the tenant, members and guests, enabled or disabled.",
        source: "GET /v1.0/users",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.users.guest_count",
        value_type: ValueType::Integer,
        meaning: "Guests (`userType` `Guest`, B2B collaboration) among them, enabled or disabled.",
        source: "GET /v1.0/users (userType)",
        context_only: Some(
            "the population of guests, who usually sign in with their home organisation's factors; unused guest accounts are judged by name with the others",
        ),
    },
    EvidenceSpec {
        id: "entra.users.disabled_count",
        value_type: ValueType::Integer,
        meaning: "Disabled accounts (`accountEnabled` false) among them.",
        source: "GET /v1.0/users (accountEnabled)",
        context_only: Some(
            "the population behind the judged lists; the disabled accounts that matter are judged by name",
        ),
    },
    EvidenceSpec {
        id: "entra.users.without_mfa",
        value_type: ValueType::StringList,
        meaning: "User principal names of enabled members (`userType` `Member`) not registered for multifactor authentication: `isMfaRegistered` false in the registration report, or no record in it; sorted, at most 100. Guests are left out (their second factor is usually their home organisation's).",
        source: "GET /v1.0/reports/authenticationMethods/userRegistrationDetails",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.users.without_mfa_count",
        value_type: ValueType::Integer,
        meaning: "How many enabled members are not registered for multifactor authentication (the whole count behind the list).",
        source: "GET /v1.0/reports/authenticationMethods/userRegistrationDetails",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.users.phishing_resistant_count",
        value_type: ValueType::Integer,
        meaning: "How many enabled members registered a phishing-resistant method: a FIDO2 security key or passkey, Windows Hello for Business, the macOS Platform SSO key or a multifactor certificate.",
        source: "GET /v1.0/reports/authenticationMethods/userRegistrationDetails (methodsRegistered)",
        context_only: Some(
            "adoption of phishing-resistant methods beyond administrators is a goal, not a requirement of the pack",
        ),
    },
    EvidenceSpec {
        id: "entra.users.inactive",
        value_type: ValueType::StringList,
        meaning: "User principal names of enabled accounts, members and guests, not used for more than `entra.users.inactive_days` days: the last successful sign-in (else the last interactive or non-interactive sign-in attempt, which Graph recorded before it kept successes apart) is older, or there is none and the account was created longer ago; sorted, at most 100. Needs an Entra ID P1 or P2 licence.",
        source: "GET /v1.0/users (signInActivity, createdDateTime)",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.users.inactive_count",
        value_type: ValueType::Integer,
        meaning: "How many enabled accounts are unused by that measure (the whole count behind the list).",
        source: "GET /v1.0/users (signInActivity, createdDateTime)",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.users.inactive_days",
        value_type: ValueType::Integer,
        meaning: "The number of days without a sign-in after which an account counts as unused (`inactive_days` of the agent's configuration).",
        source: "collectors.entra.inactive_days",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.users.disabled_with_app_roles",
        value_type: ValueType::StringList,
        meaning: "User principal names of disabled accounts still granted at least one application role (an enterprise application's assignment), directly or through a group they are a direct member of; sorted, at most 100.",
        source: "GET /v1.0/users/{id}/appRoleAssignments",
        context_only: None,
    },
];

/// The registration report.
const REGISTRATIONS: &str = "/v1.0/reports/authenticationMethods/userRegistrationDetails";

/// The collector.
pub struct Users(pub(super) Arc<Shared>);

impl Users {
    /// Every user, with their sign-in activity when the application and the licence allow it
    /// (else without, and why not).
    async fn users(
        &self,
        ctx: &CollectContext,
    ) -> Result<(Result<Vec<User>, String>, Result<(), String>), CollectError> {
        let api = self.0.api()?;
        let top = self.0.config.page_size;
        let with = format!("/v1.0/users?$select={USER_FIELDS},signInActivity&$top={top}");
        match api.get_all::<User>(ctx, &with).await {
            Ok(users) => Ok((Ok(users), Ok(()))),
            Err(e) if e.is_forbidden() => {
                // Sign-in activity needs AuditLog.Read.All and a P1/P2 licence; the users
                // themselves only User.Read.All.
                let without = format!("/v1.0/users?$select={USER_FIELDS}&$top={top}");
                let users = fatal(api.get_all::<User>(ctx, &without).await)?;
                Ok((users, Err(e.to_string())))
            }
            Err(e) => {
                let reason = fatal::<Vec<User>>(Err(e))?.unwrap_err();
                Ok((Err(reason.clone()), Err(reason)))
            }
        }
    }
}

#[async_trait]
impl Collector for Users {
    fn name(&self) -> &'static str {
        "entra.users"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let api = self.0.api()?;
        let days = self.0.config.inactive_days;
        let now = ctx.clock.now().datetime();
        let (users, activity) = self.users(ctx).await?;
        let registrations: Result<BTreeMap<String, Registration>, String> =
            fatal(api.get_all::<Registration>(ctx, REGISTRATIONS).await)?
                .map(|r| r.into_iter().map(|r| (r.id.clone(), r)).collect());

        let count = |keep: fn(&User) -> bool| -> Result<u64, String> {
            users
                .as_ref()
                .map(|u| u.iter().filter(|u| keep(u)).count() as u64)
                .map_err(Clone::clone)
        };
        let members: Result<Vec<&User>, String> = users
            .as_ref()
            .map(|u| u.iter().filter(|u| u.enabled() && u.is_member()).collect())
            .map_err(Clone::clone);
        let (without_mfa, phishing_resistant) = match (&members, &registrations) {
            (Ok(members), Ok(registrations)) => {
                let without: Vec<&str> = members
                    .iter()
                    .filter(|u| !registrations.get(&u.id).is_some_and(|r| r.is_mfa_registered))
                    .map(|u| u.name())
                    .collect();
                let resistant = members
                    .iter()
                    .filter(|u| {
                        registrations.get(&u.id).is_some_and(|r| {
                            strongest(&r.methods_registered) == Some(Strength::PhishingResistant)
                        })
                    })
                    .count() as u64;
                (Ok(without), Ok(resistant))
            }
            (Err(e), _) | (_, Err(e)) => (Err(e.clone()), Err(e.clone())),
        };

        let inactive: Result<Vec<&str>, String> = match (&users, &activity) {
            (Ok(users), Ok(())) => Ok(users
                .iter()
                .filter(|u| u.enabled() && u.unused_for(days, now))
                .map(User::name)
                .collect()),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };

        let with_app_roles: Result<Vec<&str>, String> = match &users {
            Ok(users) => {
                let reads = users
                    .iter()
                    .filter(|u| !u.enabled())
                    .map(|u| {
                        let api = api.clone();
                        async move {
                            let path =
                                format!("/v1.0/users/{}/appRoleAssignments", super::object_id(&u.id)?);
                            let roles = api.get_all::<AppRoleAssignment>(ctx, &path).await?;
                            Ok::<_, ApiError>((u, roles.len()))
                        }
                    })
                    .collect();
                each(self.0.config.concurrency, reads).await?.map(|held| {
                    held.into_iter()
                        .filter(|(_, n)| *n > 0)
                        .map(|(u, _)| u.name())
                        .collect()
                })
            }
            Err(e) => Err(e.clone()),
        };

        let registrations_source = || call(REGISTRATIONS);
        Ok(vec![
            fact(
                "entra.users.total",
                call("/v1.0/users"),
                count(|_| true),
            ),
            fact(
                "entra.users.guest_count",
                call("/v1.0/users"),
                count(User::is_guest),
            ),
            fact(
                "entra.users.disabled_count",
                call("/v1.0/users"),
                count(|u| !u.enabled()),
            ),
            fact(
                "entra.users.without_mfa",
                registrations_source(),
                without_mfa.clone().map(listed),
            ),
            fact(
                "entra.users.without_mfa_count",
                registrations_source(),
                without_mfa.map(|w| w.len() as u64),
            ),
            fact(
                "entra.users.phishing_resistant_count",
                registrations_source(),
                phishing_resistant,
            ),
            fact(
                "entra.users.inactive",
                call("/v1.0/users (signInActivity)"),
                inactive.clone().map(listed),
            ),
            fact(
                "entra.users.inactive_count",
                call("/v1.0/users (signInActivity)"),
                inactive.map(|i| i.len() as u64),
            ),
            fact(
                "entra.users.inactive_days",
                vouch_evidence::Source::Syscall("collectors.entra.inactive_days".into()),
                Ok::<_, String>(u64::from(days)),
            ),
            fact(
                "entra.users.disabled_with_app_roles",
                call("/v1.0/users/{id}/appRoleAssignments"),
                with_app_roles.map(listed),
            ),
        ])
    }
}
