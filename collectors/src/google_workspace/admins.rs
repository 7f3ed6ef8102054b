//! Administrators: the users holding admin roles (directly, or as members of a group the role is
//! assigned to) or flagged as administrators, their roles, which of those who can sign in are
//! not enrolled in 2-Step Verification or not held to it, which have no phishing-resistant
//! factor (a security key or passkey, by the user usage report), and which suspended or archived
//! accounts still hold roles.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt as _;
use serde_json::{Value, json};

use super::api::ApiError;
use super::model::{Member, Role, RoleAssignment, User};
use super::{MAX_LISTED, Shared, call, fatal, listed, users::REPORT};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The roles.
const ROLES: &str = "/admin/directory/v1/customer/my_customer/roles?maxResults=100";

/// The role assignments.
const ASSIGNMENTS: &str = "/admin/directory/v1/customer/my_customer/roleassignments?maxResults=200";

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "google_workspace.admins.count",
        value_type: ValueType::Integer,
        meaning: "Users holding at least one admin role (super administrator included), directly or as members of a group the role is assigned to (members of nested groups included), or flagged as administrators (`isAdmin`, `isDelegatedAdmin`), in any state.",
        source: "GET /admin/directory/v1/customer/my_customer/roleassignments; GET /admin/directory/v1/groups/{id}/members; GET /admin/directory/v1/users",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.admins.users",
        value_type: ValueType::ObjectList,
        meaning: "One object per administrator: `email`, `super_admin`, `roles` (role names as Google gives them, `_SEED_ADMIN_ROLE` for the super administrator role), `suspended`, `archived`, `enrolled_2sv`, `enforced_2sv`; sorted by email, at most 100.",
        source: "GET /admin/directory/v1/customer/my_customer/roles; GET /admin/directory/v1/users",
        context_only: Some(
            "the detail behind the judged administrator lists, for the auditor's review of privileged access",
        ),
    },
    EvidenceSpec {
        id: "google_workspace.admins.super_admins",
        value_type: ValueType::StringList,
        meaning: "Primary email addresses of super administrators (`isAdmin`, or a role with `isSuperAdminRole`), in any state; sorted, at most 100.",
        source: "GET /admin/directory/v1/customer/my_customer/roleassignments; GET /admin/directory/v1/users (isAdmin)",
        context_only: Some(
            "who holds the most privileged role, for the access review; how many is the organisation's choice (Google advises more than one, and few)",
        ),
    },
    EvidenceSpec {
        id: "google_workspace.admins.without_2sv",
        value_type: ValueType::StringList,
        meaning: "Primary email addresses of active administrators (neither suspended nor archived) not enrolled in 2-Step Verification (`isEnrolledIn2Sv` false).",
        source: "GET /admin/directory/v1/users (isEnrolledIn2Sv)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.admins.not_enforced_2sv",
        value_type: ValueType::StringList,
        meaning: "Primary email addresses of active administrators for whom 2-Step Verification is not enforced (`isEnforcedIn2Sv` false): enrolled or not, they may turn it off.",
        source: "GET /admin/directory/v1/users (isEnforcedIn2Sv)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.admins.without_phishing_resistant_factor",
        value_type: ValueType::StringList,
        meaning: "Primary email addresses of active administrators who had enrolled no security key and no passkey (`accounts:num_security_keys` and `accounts:num_passkeys_enrolled` 0 or absent) on the day of the user usage report `google_workspace.users.usage_report_date`, or whom the report does not name; sorted, at most 100. The Google prompt, authenticator codes, backup codes and SMS can be relayed by a phishing page.",
        source: "GET /admin/reports/v1/usage/users/all/dates/{date} (accounts:num_security_keys, accounts:num_passkeys_enrolled)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.admins.suspended_with_roles",
        value_type: ValueType::StringList,
        meaning: "Primary email addresses of suspended or archived users who still hold an admin role (or the administrator flags).",
        source: "GET /admin/directory/v1/customer/my_customer/roleassignments; GET /admin/directory/v1/users (suspended, archived)",
        context_only: None,
    },
    EvidenceSpec {
        id: "google_workspace.admins.other_assignees",
        value_type: ValueType::StringList,
        meaning: "Holders of admin roles that are not users of the account, by id, as `id: role, role`: a service account the role is assigned to (its unique id), a deleted user, or a member of another account in a group the role is assigned to; sorted, at most 100.",
        source: "GET /admin/directory/v1/customer/my_customer/roleassignments",
        context_only: Some(
            "privileged workload identities for the access review; they sign in with keys, not with the people's second factors judged here",
        ),
    },
];

/// What is read of one administrator.
struct Admin<'a> {
    user: &'a User,
    roles: BTreeSet<String>,
    super_admin: bool,
}

impl Admin<'_> {
    fn to_json(&self) -> Value {
        json!({
            "email": vouch_evidence::limits::truncate_echo(self.user.name()),
            "super_admin": self.super_admin,
            "roles": self.roles,
            "suspended": self.user.suspended,
            "archived": self.user.archived,
            "enrolled_2sv": self.user.is_enrolled_in_2sv,
            "enforced_2sv": self.user.is_enforced_in_2sv,
        })
    }
}

/// Who holds which role, as read from the assignments and the groups' members.
#[derive(Default)]
struct Holders {
    /// Assignee id → role names, and whether one of them is the super administrator role.
    by_id: BTreeMap<String, (BTreeSet<String>, bool)>,
}

impl Holders {
    fn grant(&mut self, id: &str, role: &(String, bool)) {
        let entry = self.by_id.entry(id.to_string()).or_default();
        entry.0.insert(role.0.clone());
        entry.1 |= role.1;
    }
}

/// Whether a group id is fit for a request's path: Google's group ids are letters and digits.
fn group_id(id: &str) -> Result<&str, ApiError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(ApiError::Failed(format!(
            "unexpected answer: the group id {:?} is not letters and digits",
            vouch_evidence::limits::truncate_echo(id)
        )))
    }
}

/// The collector.
pub struct Admins(pub(super) Arc<Shared>);

impl Admins {
    /// Who holds which role, or why not.
    async fn holders(&self, ctx: &CollectContext) -> Result<Result<Holders, String>, CollectError> {
        let api = self.0.api()?;
        let roles = match fatal(api.get_all::<Role>(ctx, ROLES).await)? {
            Ok(roles) => roles,
            Err(e) => return Ok(Err(e)),
        };
        let names: BTreeMap<&str, (String, bool)> = roles
            .iter()
            .map(|r| {
                let name = if r.role_name.is_empty() {
                    format!("role {}", r.role_id)
                } else {
                    r.role_name.clone()
                };
                (
                    r.role_id.as_str(),
                    (
                        vouch_evidence::limits::truncate_echo(&name),
                        r.is_super_admin_role,
                    ),
                )
            })
            .collect();
        let assignments = match fatal(api.get_all::<RoleAssignment>(ctx, ASSIGNMENTS).await)? {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        let role_of = |a: &RoleAssignment| {
            names.get(a.role_id.as_str()).cloned().unwrap_or_else(|| {
                (
                    vouch_evidence::limits::truncate_echo(&format!("role {}", a.role_id)),
                    false,
                )
            })
        };
        let mut holders = Holders::default();
        let mut groups: BTreeMap<&str, Vec<(String, bool)>> = BTreeMap::new();
        for a in &assignments {
            if a.to_group() {
                groups.entry(&a.assigned_to).or_default().push(role_of(a));
            } else {
                holders.grant(&a.assigned_to, &role_of(a));
            }
        }
        // A group's role is held by its members, those of nested groups included.
        let reads: Vec<_> = groups
            .iter()
            .map(|(id, roles)| {
                let api = api.clone();
                async move {
                    let path = format!(
                        "/admin/directory/v1/groups/{}/members?includeDerivedMembership=true&maxResults=200",
                        group_id(id)?
                    );
                    let members = api.get_all::<Member>(ctx, &path).await?;
                    Ok::<_, ApiError>((roles, members))
                }
            })
            .collect();
        let read: Vec<Result<_, ApiError>> = futures::stream::iter(reads)
            .buffered(self.0.config.concurrency)
            .collect()
            .await;
        for result in read {
            match fatal(result)? {
                Ok((roles, members)) => {
                    for id in members.iter().filter_map(Member::user_id) {
                        for role in roles {
                            holders.grant(id, role);
                        }
                    }
                }
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(holders))
    }
}

#[async_trait]
impl Collector for Admins {
    fn name(&self) -> &'static str {
        "google_workspace.admins"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let users = self.0.users(ctx).await?;
        let holders = match &users {
            Ok(_) => self.holders(ctx).await?,
            Err(e) => Err(e.clone()),
        };
        let read: Result<(Vec<Admin<'_>>, Vec<String>), String> = match (&users, holders) {
            (Ok(users), Ok(holders)) => {
                let mut admins: Vec<Admin<'_>> = users
                    .iter()
                    .filter_map(|user| {
                        let held = holders.by_id.get(&user.id);
                        (held.is_some() || user.is_admin || user.is_delegated_admin).then(|| {
                            let (roles, super_role) = held.cloned().unwrap_or_default();
                            Admin {
                                user,
                                roles,
                                super_admin: user.is_admin || super_role,
                            }
                        })
                    })
                    .collect();
                admins.sort_by(|a, b| a.user.name().cmp(b.user.name()));
                let known: BTreeSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
                let others: Vec<String> = holders
                    .by_id
                    .iter()
                    .filter(|(id, _)| !known.contains(id.as_str()))
                    .map(|(id, (roles, _))| {
                        let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
                        format!("{id}: {}", roles.join(", "))
                    })
                    .collect();
                Ok((admins, others))
            }
            (Err(e), _) => Err(e.clone()),
            (_, Err(e)) => Err(e),
        };
        let emails = |keep: &dyn Fn(&Admin<'_>) -> bool| {
            read.as_ref()
                .map(|(admins, _)| listed(admins.iter().filter(|a| keep(a)).map(|a| a.user.name())))
                .map_err(Clone::clone)
        };
        // The factors' fact needs the user usage report too, asked for once the administrators
        // are known.
        let report = match &read {
            Ok(_) => self.0.report(ctx).await?,
            Err(e) => Err(e.clone()),
        };
        let without_phishing_resistant = match (&read, &report) {
            (Ok((admins, _)), Ok(report)) => Ok(listed(
                admins
                    .iter()
                    .filter(|a| a.user.active() && !report.phishing_resistant(a.user))
                    .map(|a| a.user.name()),
            )),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
        let assignments = || call("/admin/directory/v1/customer/my_customer/roleassignments");
        let users_call = || call("/admin/directory/v1/users");
        Ok(vec![
            fact(
                "google_workspace.admins.count",
                assignments(),
                read.as_ref()
                    .map(|(a, _)| a.len() as u64)
                    .map_err(Clone::clone),
            ),
            fact(
                "google_workspace.admins.users",
                assignments(),
                read.as_ref()
                    .map(|(a, _)| {
                        a.iter()
                            .take(MAX_LISTED)
                            .map(Admin::to_json)
                            .collect::<Vec<_>>()
                    })
                    .map_err(Clone::clone),
            ),
            fact(
                "google_workspace.admins.super_admins",
                assignments(),
                emails(&|a| a.super_admin),
            ),
            fact(
                "google_workspace.admins.without_2sv",
                users_call(),
                emails(&|a| a.user.active() && !a.user.is_enrolled_in_2sv),
            ),
            fact(
                "google_workspace.admins.not_enforced_2sv",
                users_call(),
                emails(&|a| a.user.active() && !a.user.is_enforced_in_2sv),
            ),
            fact(
                "google_workspace.admins.without_phishing_resistant_factor",
                call(REPORT),
                without_phishing_resistant,
            ),
            fact(
                "google_workspace.admins.suspended_with_roles",
                assignments(),
                emails(&|a| !a.user.active()),
            ),
            fact(
                "google_workspace.admins.other_assignees",
                assignments(),
                read.as_ref()
                    .map(|(_, others)| listed(others.iter().map(String::as_str)))
                    .map_err(Clone::clone),
            ),
        ])
    }
}
