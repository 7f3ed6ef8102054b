//! Administrators: the users holding directory roles (directly, or through a role-assignable
//! group), their roles and registered methods, who among them can sign in without a strong or a
//! phishing-resistant method, which disabled accounts still hold roles, and which applications
//! (service principals) hold roles.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::api::ApiError;
use super::model::{
    DirectoryObject, DirectoryRole, GLOBAL_ADMINISTRATOR, Registration, Strength, User,
    method_names, strongest,
};
use super::{MAX_LISTED, Shared, call, each, fatal, listed, object_id};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "entra.admins.count",
        value_type: ValueType::Integer,
        meaning: "Users holding at least one directory role (built-in roles activated in the tenant, Directory Readers included), directly or as members of a role-assignable group, enabled or not. Active assignments only: Privileged Identity Management's eligible assignments are not read.",
        source: "GET /v1.0/directoryRoles; GET /v1.0/directoryRoles/{id}/members; GET /v1.0/groups/{id}/members",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.admins.users",
        value_type: ValueType::ObjectList,
        meaning: "One object per administrator: `upn`, `enabled`, `roles` (role names), `methods` (the methods registered; null for a disabled account, or when the registration report cannot be read), `strongest` (`none`, `recovery_only`, `weak`, `strong`, `phishing_resistant`; null likewise); sorted by user principal name, at most 100.",
        source: "GET /v1.0/users/{id}; GET /v1.0/reports/authenticationMethods/userRegistrationDetails/{id}",
        context_only: Some(
            "the detail behind the judged administrator lists, for the auditor's review of privileged access",
        ),
    },
    EvidenceSpec {
        id: "entra.admins.global_admins",
        value_type: ValueType::StringList,
        meaning: "User principal names of the holders of the Global Administrator role (template 62e90394-69f5-4237-9190-012177145e10), directly or through a group, enabled or not; sorted, at most 100.",
        source: "GET /v1.0/directoryRoles/{id}/members",
        context_only: Some(
            "who holds the most privileged role, for the access review; how many is the organisation's choice (Microsoft advises fewer than five)",
        ),
    },
    EvidenceSpec {
        id: "entra.admins.service_principals",
        value_type: ValueType::StringList,
        meaning: "Applications (service principals) holding a directory role, as `name (appId)`; sorted, at most 100.",
        source: "GET /v1.0/directoryRoles/{id}/members",
        context_only: Some(
            "privileged workload identities for the access review; they sign in with their own credentials, not with the people's methods judged here",
        ),
    },
    EvidenceSpec {
        id: "entra.admins.without_strong_method",
        value_type: ValueType::StringList,
        meaning: "User principal names of enabled administrators whose best registered method is SMS, a voice call, a Temporary Access Pass, an email address or security questions, or none (strong: Microsoft Authenticator, OATH codes, FIDO2, Windows Hello for Business, certificates).",
        source: "GET /v1.0/reports/authenticationMethods/userRegistrationDetails/{id}",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.admins.without_phishing_resistant_method",
        value_type: ValueType::StringList,
        meaning: "User principal names of enabled administrators who registered no phishing-resistant method (FIDO2 security key or passkey, Windows Hello for Business, macOS Platform SSO key, multifactor certificate).",
        source: "GET /v1.0/reports/authenticationMethods/userRegistrationDetails/{id}",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.admins.disabled_with_roles",
        value_type: ValueType::StringList,
        meaning: "User principal names of disabled accounts (`accountEnabled` false) that still hold a directory role.",
        source: "GET /v1.0/directoryRoles/{id}/members; GET /v1.0/users/{id}",
        context_only: None,
    },
];

/// What is read of one administrator.
struct Admin {
    user: User,
    roles: BTreeSet<String>,
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
            "methods": self.methods.as_deref().map(method_names),
            "strongest": strongest,
        })
    }
}

/// Who holds the roles, as read from the roles' and groups' members.
#[derive(Default)]
struct Holders {
    /// User id → role names, and whether one of them is Global Administrator.
    users: BTreeMap<String, (BTreeSet<String>, bool)>,
    /// Service principals, as `name (appId)`.
    applications: BTreeSet<String>,
}

impl Holders {
    fn grant(&mut self, user_id: &str, role: &DirectoryRole) {
        let entry = self.users.entry(user_id.to_string()).or_default();
        entry
            .0
            .insert(vouch_evidence::limits::truncate_echo(&role.display_name));
        entry.1 |= role.role_template_id.as_deref() == Some(GLOBAL_ADMINISTRATOR);
    }
}

/// The collector.
pub struct Admins(pub(super) Arc<Shared>);

impl Admins {
    /// Who holds which role, or why not.
    async fn holders(&self, ctx: &CollectContext) -> Result<Result<Holders, String>, CollectError> {
        let api = self.0.api()?;
        let concurrency = self.0.config.concurrency;
        let roles = match fatal(api.get_all::<DirectoryRole>(ctx, "/v1.0/directoryRoles").await)? {
            Ok(roles) => roles,
            Err(e) => return Ok(Err(e)),
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
            Err(e) => return Ok(Err(e)),
        };
        let mut holders = Holders::default();
        let mut groups: BTreeMap<String, Vec<&DirectoryRole>> = BTreeMap::new();
        for (role, members) in &members {
            for m in members {
                if m.is("user") {
                    holders.grant(&m.id, role);
                } else if m.is("group") {
                    groups.entry(m.id.clone()).or_default().push(role);
                } else if m.is("servicePrincipal") {
                    holders.applications.insert(vouch_evidence::limits::truncate_echo(&format!(
                        "{} ({})",
                        m.display_name.as_deref().unwrap_or("?"),
                        m.app_id.as_deref().unwrap_or(&m.id)
                    )));
                }
            }
        }
        // A role-assignable group holds its roles for its members (it cannot nest groups).
        let reads = groups
            .iter()
            .map(|(id, roles)| {
                let api = api.clone();
                async move {
                    let path = format!("/v1.0/groups/{}/members", object_id(id)?);
                    let members = api.get_all::<DirectoryObject>(ctx, &path).await?;
                    Ok::<_, ApiError>((roles, members))
                }
            })
            .collect();
        match each(concurrency, reads).await? {
            Ok(read) => {
                for (roles, members) in read {
                    for m in members.iter().filter(|m| m.is("user")) {
                        for role in roles {
                            holders.grant(&m.id, role);
                        }
                    }
                }
            }
            Err(e) => return Ok(Err(e)),
        }
        Ok(Ok(holders))
    }

    /// Every administrator with their account and methods, the applications holding roles,
    /// or why not.
    async fn admins(
        &self,
        ctx: &CollectContext,
    ) -> Result<Result<(Vec<Admin>, BTreeSet<String>, Result<(), String>), String>, CollectError>
    {
        let api = self.0.api()?;
        let concurrency = self.0.config.concurrency;
        let holders = match self.holders(ctx).await? {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
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
            Err(e) => return Ok(Err(e)),
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
                let (roles, global) = holders.users.get(&user.id).cloned().unwrap_or_default();
                // A disabled administrator's methods are not asked for.
                let methods = match &mut methods {
                    Ok(m) if user.enabled() => Some(m.remove(&user.id).unwrap_or_default()),
                    _ => None,
                };
                Admin {
                    user,
                    roles,
                    global,
                    methods,
                }
            })
            .collect();
        admins.sort_by(|a, b| a.user.name().cmp(b.user.name()));
        Ok(Ok((admins, holders.applications, read)))
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
        let read = self.admins(ctx).await?;
        let admins = read.as_ref().map(|(a, _, _)| a).map_err(Clone::clone);
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
            Ok((admins, _, Ok(()))) => Ok(listed(
                admins
                    .iter()
                    .filter(|a| a.user.enabled() && a.strongest().is_some_and(weak))
                    .map(|a| a.user.name()),
            )),
            Ok((_, _, Err(e))) | Err(e) => Err(e.clone()),
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
                    .map(|(_, apps, _)| listed(apps.iter().map(String::as_str)))
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
        ])
    }
}
