//! Administrators: the users holding admin roles, their roles and factors, who among them can
//! sign in without a strong or a phishing-resistant factor, and which suspended or deactivated
//! accounts still hold admin roles.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt as _;
use serde_json::{Value, json};

use super::api::{Api, ApiError};
use super::model::{Factor, Role, RoleAssignee, Strength, User, active_types, strongest};
use super::{MAX_LISTED, Shared, call, fatal, listed};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "okta.admins.count",
        value_type: ValueType::Integer,
        meaning: "Users holding at least one active admin role assignment (standard or custom), in any status.",
        source: "GET /api/v1/iam/assignees/users; GET /api/v1/users/{id}/roles",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.admins.users",
        value_type: ValueType::ObjectList,
        meaning: "One object per administrator: `login`, `status`, `roles` (role types, `CUSTOM:<label>` for custom roles), `factors` (active factor types), `strongest` (`none`, `knowledge`, `weak`, `strong`, `phishing_resistant`); sorted by login, at most 100.",
        source: "GET /api/v1/users/{id}; GET /api/v1/users/{id}/roles; GET /api/v1/users/{id}/factors",
        context_only: Some(
            "the detail behind the judged administrator lists, for the auditor's review of privileged access",
        ),
    },
    EvidenceSpec {
        id: "okta.admins.without_strong_factor",
        value_type: ValueType::StringList,
        meaning: "Logins of administrators who can sign in without a strong factor: their best active factor is SMS, voice, email, a security question, or none (strong: push, TOTP, hardware token, WebAuthn, U2F, FastPass).",
        source: "GET /api/v1/users/{id}/factors",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.admins.without_phishing_resistant_factor",
        value_type: ValueType::StringList,
        meaning: "Logins of administrators who can sign in and have no active phishing-resistant factor (WebAuthn/FIDO2, U2F or FastPass).",
        source: "GET /api/v1/users/{id}/factors",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.admins.deactivated_with_roles",
        value_type: ValueType::StringList,
        meaning: "Logins of suspended or deactivated users who still hold an active admin role assignment.",
        source: "GET /api/v1/iam/assignees/users; GET /api/v1/users/{id}",
        context_only: None,
    },
];

/// What is read of one administrator.
struct Admin {
    user: User,
    roles: Vec<String>,
    factors: Vec<Factor>,
}

impl Admin {
    fn strongest(&self) -> Option<Strength> {
        strongest(&self.factors)
    }

    fn to_json(&self) -> Value {
        let strongest = match self.strongest() {
            None => "none",
            Some(Strength::Knowledge) => "knowledge",
            Some(Strength::Weak) => "weak",
            Some(Strength::Strong) => "strong",
            Some(Strength::PhishingResistant) => "phishing_resistant",
        };
        json!({
            "login": vouch_evidence::limits::truncate_echo(&self.user.profile.login),
            "status": vouch_evidence::limits::truncate_echo(&self.user.status),
            "roles": self.roles,
            "factors": active_types(&self.factors),
            "strongest": strongest,
        })
    }
}

/// The role as evidence names it: its type, a custom role with its label.
fn role_name(role: &Role) -> String {
    match (role.role_type.as_str(), &role.label) {
        ("CUSTOM", Some(label)) => {
            vouch_evidence::limits::truncate_echo(&format!("CUSTOM:{label}"))
        }
        (t, _) => vouch_evidence::limits::truncate_echo(t),
    }
}

/// The collector.
pub struct Admins(pub(super) Arc<Shared>);

/// Reads one administrator: the user, the active roles, the factors.
async fn admin(api: &Api, ctx: &CollectContext, id: &str) -> Result<Admin, ApiError> {
    {
        let user: User = api.get(ctx, &format!("/api/v1/users/{id}")).await?;
        let roles: Vec<Role> = api
            .get_all(ctx, &format!("/api/v1/users/{id}/roles"))
            .await?;
        let mut roles: Vec<String> = roles.iter().filter(|r| r.active()).map(role_name).collect();
        roles.sort();
        roles.dedup();
        let factors: Vec<Factor> = api
            .get_all(ctx, &format!("/api/v1/users/{id}/factors"))
            .await?;
        Ok(Admin {
            user,
            roles,
            factors,
        })
    }
}

impl Admins {
    /// Every administrator, or why not.
    async fn admins(&self, ctx: &CollectContext) -> Result<Result<Vec<Admin>, String>, CollectError> {
        let api = self.0.api()?;
        // The IAM listing takes at most 100 a page.
        let limit = self.0.config.page_size.min(100);
        let assignees = match fatal(
            api.get_all_values::<RoleAssignee>(
                ctx,
                &format!("/api/v1/iam/assignees/users?limit={limit}"),
            )
            .await,
        )? {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        let reads: Vec<_> = assignees.iter().map(|a| admin(&api, ctx, &a.id)).collect();
        let read: Vec<Result<Admin, ApiError>> = futures::stream::iter(reads)
        .buffered(self.0.config.concurrency)
        .collect()
        .await;
        let mut admins = Vec::with_capacity(read.len());
        for admin in read {
            match fatal(admin)? {
                // A user listed whose assignments have all lapsed is no administrator.
                Ok(a) if a.roles.is_empty() => {}
                Ok(a) => admins.push(a),
                Err(e) => return Ok(Err(e)),
            }
        }
        admins.sort_by(|a, b| a.user.profile.login.cmp(&b.user.profile.login));
        Ok(Ok(admins))
    }
}

#[async_trait]
impl Collector for Admins {
    fn name(&self) -> &'static str {
        "okta.admins"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let admins = self.admins(ctx).await?;
        let logins = |keep: &dyn Fn(&Admin) -> bool| {
            admins.as_ref().map_err(Clone::clone).map(|admins| {
                listed(
                    admins
                        .iter()
                        .filter(|a| keep(a))
                        .map(|a| a.user.profile.login.as_str()),
                )
            })
        };
        let roles_source = || call("/api/v1/iam/assignees/users");
        let factors_source = || call("/api/v1/users/{id}/factors");
        Ok(vec![
            fact(
                "okta.admins.count",
                roles_source(),
                admins.as_ref().map(|a| a.len() as u64).map_err(Clone::clone),
            ),
            fact(
                "okta.admins.users",
                call("/api/v1/users/{id}/roles"),
                admins.as_ref().map_err(Clone::clone).map(|a| {
                    a.iter()
                        .take(MAX_LISTED)
                        .map(Admin::to_json)
                        .collect::<Vec<_>>()
                }),
            ),
            fact(
                "okta.admins.without_strong_factor",
                factors_source(),
                logins(&|a| {
                    a.user.can_sign_in() && a.strongest().is_none_or(|s| s < Strength::Strong)
                }),
            ),
            fact(
                "okta.admins.without_phishing_resistant_factor",
                factors_source(),
                logins(&|a| {
                    a.user.can_sign_in() && a.strongest() != Some(Strength::PhishingResistant)
                }),
            ),
            fact(
                "okta.admins.deactivated_with_roles",
                roles_source(),
                logins(&|a| a.user.is_deactivated()),
            ),
        ])
    }
}
