//! Administrators: the users holding directory roles (directly, or through a role-assignable
//! group), actively or as eligible through Privileged Identity Management, their roles and
//! registered methods, who among them can sign in without a strong or a phishing-resistant
//! method, which disabled accounts still hold roles, and which applications (service
//! principals) hold roles.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::api::ApiError;
use super::model::{
    DirectoryObject, DirectoryRole, Eligibility, GLOBAL_ADMINISTRATOR, Registration, Strength,
    User, method_names, strongest,
};
use super::{MAX_LISTED, Shared, call, each, fatal, listed, object_id};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The eligible assignments of Privileged Identity Management, with their principal and role.
const ELIGIBILITIES: &str =
    "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal,roleDefinition";

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "entra.admins.count",
        value_type: ValueType::Integer,
        meaning: "Users holding at least one directory role (built-in roles activated in the tenant, Directory Readers included), directly or as members of a role-assignable group, enabled or not: active assignments, and eligible ones of Privileged Identity Management in force at the collection (a person who may activate a role counts as its holder). A tenant without Entra ID P2 has no eligible assignments; `entra.admins.eligible` says so.",
        source: "GET /v1.0/directoryRoles; GET /v1.0/directoryRoles/{id}/members; GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances; GET /v1.0/groups/{id}/members",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.admins.users",
        value_type: ValueType::ObjectList,
        meaning: "One object per administrator: `upn`, `enabled`, `roles` (the names of the roles held actively), `eligible_roles` (the names of the roles the user is eligible for through Privileged Identity Management and may activate), `methods` (the methods registered; null for a disabled account, or when the registration report cannot be read), `strongest` (`none`, `recovery_only`, `weak`, `strong`, `phishing_resistant`; null likewise); sorted by user principal name, at most 100.",
        source: "GET /v1.0/users/{id}; GET /v1.0/reports/authenticationMethods/userRegistrationDetails/{id}",
        context_only: Some(
            "the detail behind the judged administrator lists, for the auditor's review of privileged access",
        ),
    },
    EvidenceSpec {
        id: "entra.admins.global_admins",
        value_type: ValueType::StringList,
        meaning: "User principal names of the holders of the Global Administrator role (template 62e90394-69f5-4237-9190-012177145e10), directly or through a group, actively or eligible, enabled or not; sorted, at most 100.",
        source: "GET /v1.0/directoryRoles/{id}/members; GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
        context_only: Some(
            "who holds the most privileged role, for the access review; how many is the organisation's choice (Microsoft advises fewer than five)",
        ),
    },
    EvidenceSpec {
        id: "entra.admins.service_principals",
        value_type: ValueType::StringList,
        meaning: "Applications (service principals) holding a directory role, as `name (appId)` (followed by `, eligible` when only eligible); sorted, at most 100.",
        source: "GET /v1.0/directoryRoles/{id}/members",
        context_only: Some(
            "privileged workload identities for the access review; they sign in with their own credentials, not with the people's methods judged here",
        ),
    },
    EvidenceSpec {
        id: "entra.admins.without_strong_method",
        value_type: ValueType::StringList,
        meaning: "User principal names of enabled administrators, active or eligible, whose best registered method is SMS, a voice call, a Temporary Access Pass, an email address or security questions, or none (strong: Microsoft Authenticator, OATH codes, FIDO2, Windows Hello for Business, certificates).",
        source: "GET /v1.0/reports/authenticationMethods/userRegistrationDetails/{id}",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.admins.without_phishing_resistant_method",
        value_type: ValueType::StringList,
        meaning: "User principal names of enabled administrators, active or eligible, who registered no phishing-resistant method (FIDO2 security key or passkey, Windows Hello for Business, macOS Platform SSO key, multifactor certificate).",
        source: "GET /v1.0/reports/authenticationMethods/userRegistrationDetails/{id}",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.admins.disabled_with_roles",
        value_type: ValueType::StringList,
        meaning: "User principal names of disabled accounts (`accountEnabled` false) that still hold a directory role, actively or eligible.",
        source: "GET /v1.0/directoryRoles/{id}/members; GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances; GET /v1.0/users/{id}",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.admins.eligible",
        value_type: ValueType::StringList,
        meaning: "User principal names of the users eligible for at least one directory role through Privileged Identity Management (directly or through a role-assignable group), in force at the collection, enabled or not; sorted, at most 100. They count as administrators in the other `entra.admins.*` items. Unavailable when the tenant has no Entra ID P2 (or Governance) licence, which PIM needs: such a tenant has no eligible assignments, and the reason says so.",
        source: "GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
        context_only: Some(
            "who may activate a role, for the access review; they are judged with the active administrators in the other administrator lists",
        ),
    },
];

/// What is read of one administrator.
struct Admin {
    user: User,
    roles: BTreeSet<String>,
    eligible_roles: BTreeSet<String>,
    global: bool,
    /// The methods registered; `None` when the report could not be read.
    methods: Option<Vec<String>>,
}

impl Admin {
    fn strongest(&self) -> Option<Option<Strength>> {
        self.methods.as_deref().map(strongest)
    }

    fn to_json(&self) -> Value {
        let strongest = self
            .strongest()
            .map(|s| s.map_or("none", Strength::as_str));
        json!({
            "upn": vouch_evidence::limits::truncate_echo(self.user.name()),
            "enabled": self.user.enabled(),
            "roles": self.roles,
            "eligible_roles": self.eligible_roles,
            "methods": self.methods.as_deref().map(method_names),
            "strongest": strongest,
        })
    }
}

/// The roles one user holds.
#[derive(Clone, Default)]
struct Held {
    /// Role names, held actively.
    active: BTreeSet<String>,
    /// Role names the user is eligible for.
    eligible: BTreeSet<String>,
    /// Whether one of them is Global Administrator.
    global: bool,
}

/// A role as granted: actively, or as eligible.
#[derive(Clone)]
struct Grant {
    role: DirectoryRole,
    eligible: bool,
}

/// Who holds the roles, as read from the roles' and groups' members and the eligibilities.
#[derive(Default)]
struct Holders {
    /// User id → the roles held.
    users: BTreeMap<String, Held>,
    /// Service principals, as `name (appId)`.
    applications: BTreeSet<String>,
}

impl Holders {
    fn grant(&mut self, user_id: &str, grant: &Grant) {
        let entry = self.users.entry(user_id.to_string()).or_default();
        let name = vouch_evidence::limits::truncate_echo(&grant.role.display_name);
        if grant.eligible {
            entry.eligible.insert(name);
        } else {
            entry.active.insert(name);
        }
        entry.global |= grant.role.role_template_id.as_deref() == Some(GLOBAL_ADMINISTRATOR);
    }

    fn application(&mut self, object: &DirectoryObject, eligible: bool) {
        let name = format!(
            "{} ({}){}",
            object.display_name.as_deref().unwrap_or("?"),
            object.app_id.as_deref().unwrap_or(&object.id),
            if eligible { ", eligible" } else { "" }
        );
        self.applications
            .insert(vouch_evidence::limits::truncate_echo(&name));
    }
}

/// The eligible assignments in force, and whether they could be read (else why not).
type Eligibilities = (Vec<Eligibility>, Result<(), String>);

/// What the administrators' facts are read from.
struct Read {
    admins: Vec<Admin>,
    applications: BTreeSet<String>,
    /// Whether the registration report could be read.
    methods: Result<(), String>,
}

/// The collector.
pub struct Admins(pub(super) Arc<Shared>);

impl Admins {
    /// The eligible assignments in force at the collection's clock, and whether they could be
    /// read: none, and the reason, when the tenant has no Entra ID P2 licence (it can have no
    /// eligible assignment); or why they cannot be read.
    async fn eligibilities(
        &self,
        ctx: &CollectContext,
    ) -> Result<Result<Eligibilities, String>, CollectError> {
        let api = self.0.api()?;
        let now = ctx.clock.now().datetime();
        match api.get_all::<Eligibility>(ctx, ELIGIBILITIES).await {
            Ok(all) => Ok(Ok((
                all.into_iter().filter(|e| e.current(now)).collect(),
                Ok(()),
            ))),
            // Without P2 no role can be made eligible: the active assignments are all there is.
            Err(e) if e.is_unlicensed() => Ok(Ok((Vec::new(), Err(e.to_string())))),
            Err(e) => fatal(Err(e)),
        }
    }

    /// Who holds which role, actively or as eligible, and whether the eligibilities could be
    /// read; or why not.
    async fn holders(
        &self,
        ctx: &CollectContext,
    ) -> Result<(Result<Holders, String>, Result<(), String>), CollectError> {
        let api = self.0.api()?;
        let concurrency = self.0.config.concurrency;
        let roles = fatal(api.get_all::<DirectoryRole>(ctx, "/v1.0/directoryRoles").await)?;
        let eligibilities = self.eligibilities(ctx).await?;
        let eligible_read = match &eligibilities {
            Ok((_, read)) => read.clone(),
            Err(e) => Err(e.clone()),
        };
        let (roles, eligibilities) = match (roles, eligibilities) {
            (Ok(roles), Ok((eligibilities, _))) => (roles, eligibilities),
            (Err(e), _) | (_, Err(e)) => return Ok((Err(e), eligible_read)),
        };
        let reads = roles
            .iter()
            .map(|role| {
                let api = api.clone();
                async move {
                    let path = format!("/v1.0/directoryRoles/{}/members", object_id(&role.id)?);
                    let members = api.get_all::<DirectoryObject>(ctx, &path).await?;
                    Ok::<_, ApiError>((role, members))
                }
            })
            .collect();
        let members = match each(concurrency, reads).await? {
            Ok(m) => m,
            Err(e) => return Ok((Err(e), eligible_read)),
        };
        let mut holders = Holders::default();
        let mut groups: BTreeMap<String, Vec<Grant>> = BTreeMap::new();
        for (role, members) in &members {
            let grant = Grant {
                role: (*role).clone(),
                eligible: false,
            };
            for m in members {
                if m.is("user") {
                    holders.grant(&m.id, &grant);
                } else if m.is("group") {
                    groups.entry(m.id.clone()).or_default().push(grant.clone());
                } else if m.is("servicePrincipal") {
                    holders.application(m, false);
                }
            }
        }
        for e in &eligibilities {
            let grant = Grant {
                role: e.role(),
                eligible: true,
            };
            if e.principal_is("user") {
                holders.grant(&e.principal_id, &grant);
            } else if e.principal_is("group") {
                groups
                    .entry(e.principal_id.clone())
                    .or_default()
                    .push(grant);
            } else if let Some(p) = e.principal.as_ref().filter(|p| p.is("servicePrincipal")) {
                holders.application(p, true);
            }
        }
        // A role-assignable group holds its roles, active or eligible, for its members (it
        // cannot nest groups).
        let reads = groups
            .iter()
            .map(|(id, grants)| {
                let api = api.clone();
                async move {
                    let path = format!("/v1.0/groups/{}/members", object_id(id)?);
                    let members = api.get_all::<DirectoryObject>(ctx, &path).await?;
                    Ok::<_, ApiError>((grants, members))
                }
            })
            .collect();
        match each(concurrency, reads).await? {
            Ok(read) => {
                for (grants, members) in read {
                    for m in members.iter().filter(|m| m.is("user")) {
                        for grant in grants {
                            holders.grant(&m.id, grant);
                        }
                    }
                }
            }
            Err(e) => return Ok((Err(e), eligible_read)),
        }
        Ok((Ok(holders), eligible_read))
    }

    /// Every administrator with their account and methods, and the applications holding roles,
    /// or why not; and whether the eligibilities could be read.
    async fn admins(
        &self,
        ctx: &CollectContext,
    ) -> Result<(Result<Read, String>, Result<(), String>), CollectError> {
        let api = self.0.api()?;
        let concurrency = self.0.config.concurrency;
        let (holders, eligible_read) = self.holders(ctx).await?;
        let holders = match holders {
            Ok(h) => h,
            Err(e) => return Ok((Err(e), eligible_read)),
        };
        let reads = holders
            .users
            .keys()
            .map(|id| {
                let api = api.clone();
                async move {
                    let path = format!(
                        "/v1.0/users/{}?$select=id,userPrincipalName,accountEnabled",
                        object_id(id)?
                    );
                    api.get::<User>(ctx, &path).await
                }
            })
            .collect();
        let users = match each(concurrency, reads).await? {
            Ok(u) => u,
            Err(e) => return Ok((Err(e), eligible_read)),
        };
        // The registration report knows enabled users only; a disabled one's methods do not
        // matter (it cannot sign in), and a user it has no record of registered nothing.
        let reads = users
            .iter()
            .filter(|u| u.enabled())
            .map(|u| {
                let api = api.clone();
                async move {
                    let path = format!(
                        "/v1.0/reports/authenticationMethods/userRegistrationDetails/{}",
                        object_id(&u.id)?
                    );
                    match api.get::<Registration>(ctx, &path).await {
                        Ok(r) => Ok((u.id.clone(), r.methods_registered)),
                        Err(e) if e.is_not_found() => Ok((u.id.clone(), Vec::new())),
                        Err(e) => Err(e),
                    }
                }
            })
            .collect();
        let mut methods: Result<BTreeMap<String, Vec<String>>, String> =
            each(concurrency, reads).await?.map(|m| m.into_iter().collect());
        let read = methods.as_ref().map(|_| ()).map_err(Clone::clone);
        let mut admins: Vec<Admin> = users
            .into_iter()
            .map(|user| {
                let held = holders.users.get(&user.id).cloned().unwrap_or_default();
                // A disabled administrator's methods are not asked for.
                let methods = match &mut methods {
                    Ok(m) if user.enabled() => Some(m.remove(&user.id).unwrap_or_default()),
                    _ => None,
                };
                Admin {
                    user,
                    roles: held.active,
                    eligible_roles: held.eligible,
                    global: held.global,
                    methods,
                }
            })
            .collect();
        admins.sort_by(|a, b| a.user.name().cmp(b.user.name()));
        Ok((
            Ok(Read {
                admins,
                applications: holders.applications,
                methods: read,
            }),
            eligible_read,
        ))
    }
}

#[async_trait]
impl Collector for Admins {
    fn name(&self) -> &'static str {
        "entra.admins"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let (read, eligible_read) = self.admins(ctx).await?;
        let admins = read.as_ref().map(|r| &r.admins).map_err(Clone::clone);
        let upns = |keep: &dyn Fn(&Admin) -> bool| {
            admins.clone().map(|admins| {
                listed(
                    admins
                        .iter()
                        .filter(|a| keep(a))
                        .map(|a| a.user.name()),
                )
            })
        };
        // The methods' facts need the registration report too.
        let by_method = |weak: &dyn Fn(Option<Strength>) -> bool| match &read {
            Ok(Read {
                admins,
                methods: Ok(()),
                ..
            }) => Ok(listed(
                admins
                    .iter()
                    .filter(|a| a.user.enabled() && a.strongest().is_some_and(weak))
                    .map(|a| a.user.name()),
            )),
            Ok(Read { methods: Err(e), .. }) | Err(e) => Err(e.clone()),
        };
        // The eligible users need the eligibilities, and the users they name.
        let eligible = match &eligible_read {
            Err(e) => Err(e.clone()),
            Ok(()) => upns(&|a| !a.eligible_roles.is_empty()),
        };
        let roles_source = || call("/v1.0/directoryRoles/{id}/members");
        let methods_source =
            || call("/v1.0/reports/authenticationMethods/userRegistrationDetails/{id}");
        Ok(vec![
            fact(
                "entra.admins.count",
                roles_source(),
                admins.clone().map(|a| a.len() as u64),
            ),
            fact(
                "entra.admins.users",
                call("/v1.0/users/{id}"),
                admins.clone().map(|a| {
                    a.iter()
                        .take(MAX_LISTED)
                        .map(Admin::to_json)
                        .collect::<Vec<_>>()
                }),
            ),
            fact(
                "entra.admins.global_admins",
                roles_source(),
                upns(&|a| a.global),
            ),
            fact(
                "entra.admins.service_principals",
                roles_source(),
                read.as_ref()
                    .map(|r| listed(r.applications.iter().map(String::as_str)))
                    .map_err(Clone::clone),
            ),
            fact(
                "entra.admins.without_strong_method",
                methods_source(),
                by_method(&|s| s.is_none_or(|s| s < Strength::Strong)),
            ),
            fact(
                "entra.admins.without_phishing_resistant_method",
                methods_source(),
                by_method(&|s| s != Some(Strength::PhishingResistant)),
            ),
            fact(
                "entra.admins.disabled_with_roles",
                roles_source(),
                upns(&|a| !a.user.enabled()),
            ),
            fact(
                "entra.admins.eligible",
                call("/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"),
                eligible,
            ),
        ])
    }
}
