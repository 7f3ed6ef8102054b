//! Policies: whether conditional access or the security defaults make everyone present a
//! second factor (and who is excluded), the conditional access policies themselves, and the
//! password settings Graph exposes: each domain's password expiry and the smart lockout.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::api::{Api, ApiError};
use super::model::{
    ConditionalAccessPolicy, DirectorySetting, Domain, GLOBAL_ADMINISTRATOR, GrantControls, Group,
    NEVER_EXPIRES, PASSWORD_RULE_SETTINGS, SecurityDefaults, User,
};
use super::{MAX_LISTED, Shared, call, fatal, listed, object_id};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "entra.policies.security_defaults_enabled",
        value_type: ValueType::Bool,
        meaning: "Whether the security defaults are on: every user must register for multifactor authentication and is asked for it when Entra ID judges it necessary, administrators at every sign-in; legacy authentication is blocked.",
        source: "GET /v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.policies.conditional_access",
        value_type: ValueType::ObjectList,
        meaning: "One object per conditional access policy, by name: `name`, `state` (`enabled`, `disabled`, `enabledForReportingButNotEnforced`), `all_users`, `all_applications`, `grant` (the controls, an authentication strength as `authenticationStrength:<name>`), `operator` (`AND`, `OR`), `requires_mfa`, `narrowed_by` (conditions besides users and applications that limit it: `clientAppTypes`, `platforms`, `locations`, risk levels, `devices`…), `exclusions` (how many users, groups, roles, guests or applications it excludes); at most 100.",
        source: "GET /v1.0/identity/conditionalAccess/policies",
        context_only: Some(
            "the policies behind the judged verdict, for the auditor's review of access rules",
        ),
    },
    EvidenceSpec {
        id: "entra.policies.mfa_policies_for_everyone",
        value_type: ValueType::StringList,
        meaning: "Names of the enabled conditional access policies that require multifactor authentication (the `mfa` control, or an authentication strength, not one of several alternatives) of all users for all applications, with no other condition narrowing them.",
        source: "GET /v1.0/identity/conditionalAccess/policies",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.policies.mfa_exclusions",
        value_type: ValueType::ObjectList,
        meaning: "Who those policies leave out, when none of them leaves out nobody: one object per exclusion, `policy`, `kind` (`user`, `group`, `role`, `guests`, `application`) and `name` (a user's principal name, a group's name, else the id); empty when the security defaults are on or a policy excludes nobody. A principal one policy excludes may be covered by another: groups are not expanded.",
        source: "GET /v1.0/identity/conditionalAccess/policies; GET /v1.0/users/{id}; GET /v1.0/groups/{id}",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.policies.mfa_required_for_everyone",
        value_type: ValueType::Bool,
        meaning: "Every sign-in needs a second factor: the security defaults are on, or an enabled conditional access policy requires multifactor authentication of all users for all applications (with the exclusions named by `entra.policies.mfa_exclusions`).",
        source: "GET /v1.0/policies/identitySecurityDefaultsEnforcementPolicy; GET /v1.0/identity/conditionalAccess/policies",
        context_only: None,
    },
    EvidenceSpec {
        id: "entra.policies.password",
        value_type: ValueType::ObjectList,
        meaning: "One object per domain of the tenant: `domain`, `default`, `verified`, `authentication` (`Managed`: Entra ID checks the passwords; `Federated`: another identity provider does), `max_age_days` (null: passwords never expire), `notification_days`. The password rules themselves (8 to 256 characters, three of four kinds, Microsoft's global banned-password list) are fixed by Microsoft and not exposed by Graph.",
        source: "GET /v1.0/domains",
        context_only: Some(
            "password expiry is not required: periodic changes are no longer recommended where a second factor is in use, and the other password rules are Microsoft's, not the tenant's",
        ),
    },
    EvidenceSpec {
        id: "entra.policies.smart_lockout",
        value_type: ValueType::Object,
        meaning: "The smart lockout and custom banned passwords (the directory setting \"Password Rule Settings\"): `configured` (false: Microsoft's defaults apply), `lockout_threshold` (failed sign-ins before a lockout; 10 by default in the global cloud), `lockout_duration_secs` (60 by default), `custom_banned_passwords` (whether the tenant's own list is checked besides Microsoft's global one).",
        source: "GET /v1.0/groupSettings",
        context_only: None,
    },
];

/// The conditional access policies.
const CA_POLICIES: &str = "/v1.0/identity/conditionalAccess/policies";

/// The security defaults.
const SECURITY_DEFAULTS: &str = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy";

/// Microsoft's smart lockout defaults in the global cloud (threshold, seconds).
const DEFAULT_LOCKOUT: (u64, u64) = (10, 60);

/// Whether a grant can only be met with a second factor: with `OR`, every alternative is the
/// `mfa` control or an authentication strength; with `AND`, one of them is.
fn requires_mfa(g: &GrantControls) -> bool {
    let mfa = |c: &str| c == "mfa";
    let strength = g.authentication_strength.is_some();
    let others = g
        .built_in_controls
        .iter()
        .filter(|c| !mfa(c))
        .count()
        + g.custom_authentication_factors.len()
        + g.terms_of_use.len();
    let any_mfa = strength || g.built_in_controls.iter().any(|c| mfa(c));
    if g.operator.eq_ignore_ascii_case("AND") {
        any_mfa && !g.built_in_controls.iter().any(|c| c == "block")
    } else {
        any_mfa && others == 0
    }
}

/// The grant's controls, by name.
fn grant_names(g: &GrantControls) -> Vec<String> {
    let mut names: Vec<String> = g
        .built_in_controls
        .iter()
        .chain(&g.custom_authentication_factors)
        .chain(&g.terms_of_use)
        .map(|c| vouch_evidence::limits::truncate_echo(c))
        .collect();
    if let Some(s) = &g.authentication_strength {
        names.push(vouch_evidence::limits::truncate_echo(&format!(
            "authenticationStrength:{}",
            s.display_name
        )));
    }
    names
}

/// Whether a list of ids or keywords is `All`.
fn all(list: &[String]) -> bool {
    list.iter().any(|v| v.eq_ignore_ascii_case("all"))
}

/// The conditions besides users and applications that limit where a policy applies.
fn narrowed_by(p: &ConditionalAccessPolicy) -> Vec<&'static str> {
    let c = &p.conditions;
    let mut found = Vec::new();
    if !c.client_app_types.is_empty() && !all(&c.client_app_types) {
        found.push("clientAppTypes");
    }
    for (name, condition) in [("platforms", &c.platforms), ("locations", &c.locations)] {
        if condition
            .as_ref()
            .is_some_and(|x| !all(&x.include) || !x.exclude.is_empty())
        {
            found.push(name);
        }
    }
    for (name, levels) in [
        ("userRiskLevels", &c.user_risk_levels),
        ("signInRiskLevels", &c.sign_in_risk_levels),
        ("servicePrincipalRiskLevels", &c.service_principal_risk_levels),
    ] {
        if !levels.is_empty() {
            found.push(name);
        }
    }
    for (name, condition) in [
        ("devices", &c.devices),
        ("clientApplications", &c.client_applications),
        ("insiderRiskLevels", &c.insider_risk_levels),
        ("authenticationFlows", &c.authentication_flows),
    ] {
        if condition.as_ref().is_some_and(|v| !v.is_null()) {
            found.push(name);
        }
    }
    found
}

/// Whether a policy applies to all users and all applications.
fn everyone_everywhere(p: &ConditionalAccessPolicy) -> (bool, bool) {
    let users = p
        .conditions
        .users
        .as_ref()
        .is_some_and(|u| all(&u.include_users));
    let apps = p
        .conditions
        .applications
        .as_ref()
        .is_some_and(|a| all(&a.include_applications));
    (users, apps)
}

/// Whether an enabled policy requires a second factor of everyone everywhere.
fn covers_everyone(p: &ConditionalAccessPolicy) -> bool {
    p.state == "enabled"
        && everyone_everywhere(p) == (true, true)
        && narrowed_by(p).is_empty()
        && p.grant_controls.as_ref().is_some_and(requires_mfa)
}

/// What a policy excludes, as (kind, id).
fn exclusions(p: &ConditionalAccessPolicy) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(u) = &p.conditions.users {
        for id in &u.exclude_users {
            if id.eq_ignore_ascii_case("GuestsOrExternalUsers") {
                out.push(("guests", "all guests or external users".to_string()));
            } else {
                out.push(("user", id.clone()));
            }
        }
        out.extend(u.exclude_groups.iter().map(|id| ("group", id.clone())));
        out.extend(u.exclude_roles.iter().map(|id| ("role", id.clone())));
        if u
            .exclude_guests_or_external_users
            .as_ref()
            .is_some_and(|v| !v.is_null())
        {
            out.push(("guests", "guests or external users (by kind)".to_string()));
        }
    }
    if let Some(a) = &p.conditions.applications {
        out.extend(
            a.exclude_applications
                .iter()
                .map(|id| ("application", id.clone())),
        );
    }
    out
}

/// A policy as context evidence.
fn policy_json(p: &ConditionalAccessPolicy) -> Value {
    let (users, apps) = everyone_everywhere(p);
    json!({
        "name": vouch_evidence::limits::truncate_echo(&p.display_name),
        "state": vouch_evidence::limits::truncate_echo(&p.state),
        "all_users": users,
        "all_applications": apps,
        "grant": p.grant_controls.as_ref().map(grant_names).unwrap_or_default(),
        "operator": p.grant_controls.as_ref().map(|g| vouch_evidence::limits::truncate_echo(&g.operator)),
        "requires_mfa": p.grant_controls.as_ref().is_some_and(requires_mfa),
        "narrowed_by": narrowed_by(p),
        "exclusions": exclusions(p).len(),
    })
}

/// The name of an excluded principal: a user's principal name, a group's name, the Global
/// Administrator role by name; else (unreadable, deleted, or another kind) its id.
async fn exclusion_name(
    api: &Api,
    ctx: &CollectContext,
    kind: &str,
    id: &str,
) -> Result<String, ApiError> {
    let named = match kind {
        "user" => {
            let path = format!(
                "/v1.0/users/{}?$select=id,userPrincipalName,accountEnabled",
                object_id(id)?
            );
            api.get::<User>(ctx, &path)
                .await
                .map(|u| u.user_principal_name)
        }
        "group" => {
            let path = format!("/v1.0/groups/{}?$select=id,displayName", object_id(id)?);
            api.get::<Group>(ctx, &path).await.map(|g| g.display_name)
        }
        "role" if id == GLOBAL_ADMINISTRATOR => Ok(Some("Global Administrator".to_string())),
        _ => Ok(None),
    };
    match named {
        Ok(Some(name)) => Ok(vouch_evidence::limits::truncate_echo(&name)),
        Ok(None) => Ok(vouch_evidence::limits::truncate_echo(id)),
        Err(e) if e.is_unauthorized() => Err(e),
        Err(_) => Ok(vouch_evidence::limits::truncate_echo(id)),
    }
}

/// Whether everyone must present a second factor: the security defaults, or a covering policy,
/// suffices; nothing read is no answer.
fn mfa_for_everyone(defaults: &Result<bool, String>, covering: &Result<Vec<String>, String>) -> Result<bool, String> {
    match (defaults, covering) {
        (Ok(true), _) => Ok(true),
        (_, Ok(c)) if !c.is_empty() => Ok(true),
        (Ok(false), Ok(_)) => Ok(false),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    }
}

/// A domain's password settings as evidence.
fn domain_json(d: &Domain) -> Value {
    json!({
        "domain": vouch_evidence::limits::truncate_echo(&d.id),
        "default": d.is_default,
        "verified": d.is_verified,
        "authentication": vouch_evidence::limits::truncate_echo(&d.authentication_type),
        "max_age_days": d.password_validity_period_in_days.filter(|&n| n != NEVER_EXPIRES),
        "notification_days": d.password_notification_window_in_days,
    })
}

/// The smart lockout as evidence, from the tenant's directory settings.
fn lockout_json(settings: &[DirectorySetting]) -> Value {
    let rules = settings
        .iter()
        .find(|s| s.template_id.as_deref() == Some(PASSWORD_RULE_SETTINGS));
    let number = |name: &str, default: u64| {
        rules
            .and_then(|r| r.value(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(default)
    };
    json!({
        "configured": rules.is_some(),
        "lockout_threshold": number("LockoutThreshold", DEFAULT_LOCKOUT.0),
        "lockout_duration_secs": number("LockoutDurationInSeconds", DEFAULT_LOCKOUT.1),
        "custom_banned_passwords": rules
            .and_then(|r| r.value("EnableBannedPasswordCheck"))
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
    })
}

/// The collector.
pub struct Policies(pub(super) Arc<Shared>);

#[async_trait]
impl Collector for Policies {
    fn name(&self) -> &'static str {
        "entra.policies"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let api = self.0.api()?;
        let defaults: Result<bool, String> =
            fatal(api.get::<SecurityDefaults>(ctx, SECURITY_DEFAULTS).await)?
                .map(|d| d.is_enabled);
        let mut policies: Result<Vec<ConditionalAccessPolicy>, String> =
            fatal(api.get_all(ctx, CA_POLICIES).await)?;
        if let Ok(p) = &mut policies {
            p.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        }
        let covering: Result<Vec<&ConditionalAccessPolicy>, String> = policies
            .as_ref()
            .map(|p| p.iter().filter(|p| covers_everyone(p)).collect())
            .map_err(Clone::clone);
        let covering_names: Result<Vec<String>, String> = covering
            .as_ref()
            .map(|c| listed(c.iter().map(|p| p.display_name.as_str())))
            .map_err(Clone::clone);

        let excluded: Result<Vec<Value>, String> = match (&defaults, &covering) {
            (Ok(true), _) => Ok(Vec::new()),
            (_, Ok(c)) if c.iter().any(|p| exclusions(p).is_empty()) => Ok(Vec::new()),
            (_, Ok(c)) => {
                let mut found = Vec::new();
                for p in c {
                    for (kind, id) in exclusions(p) {
                        let name = fatal(exclusion_name(&api, ctx, kind, &id).await)?;
                        let name = name.unwrap_or_else(|_| id.clone());
                        found.push(json!({
                            "policy": vouch_evidence::limits::truncate_echo(&p.display_name),
                            "kind": kind,
                            "name": name,
                        }));
                    }
                }
                found.truncate(MAX_LISTED);
                Ok(found)
            }
            (_, Err(e)) => Err(e.clone()),
        };
        let required = mfa_for_everyone(&defaults, &covering_names);

        let domains: Result<Vec<Value>, String> =
            fatal(api.get_all::<Domain>(ctx, "/v1.0/domains").await)?
                .map(|d| d.iter().take(MAX_LISTED).map(domain_json).collect());
        let lockout: Result<Value, String> =
            fatal(api.get_all::<DirectorySetting>(ctx, "/v1.0/groupSettings").await)?
                .map(|s| lockout_json(&s));

        Ok(vec![
            fact(
                "entra.policies.security_defaults_enabled",
                call(SECURITY_DEFAULTS),
                defaults,
            ),
            fact(
                "entra.policies.conditional_access",
                call(CA_POLICIES),
                policies.as_ref().map_err(Clone::clone).map(|p| {
                    p.iter()
                        .take(MAX_LISTED)
                        .map(policy_json)
                        .collect::<Vec<_>>()
                }),
            ),
            fact(
                "entra.policies.mfa_policies_for_everyone",
                call(CA_POLICIES),
                covering_names,
            ),
            fact(
                "entra.policies.mfa_exclusions",
                call(CA_POLICIES),
                excluded,
            ),
            fact(
                "entra.policies.mfa_required_for_everyone",
                call(CA_POLICIES),
                required,
            ),
            fact("entra.policies.password", call("/v1.0/domains"), domains),
            fact(
                "entra.policies.smart_lockout",
                call("/v1.0/groupSettings"),
                lockout,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(value: Value) -> ConditionalAccessPolicy {
        serde_json::from_value(value).unwrap()
    }

    fn mfa_for_all(grant: Value, extra: Value) -> ConditionalAccessPolicy {
        let mut conditions = json!({
            "clientAppTypes": ["all"],
            "platforms": null,
            "locations": null,
            "userRiskLevels": [],
            "signInRiskLevels": [],
            "applications": {"includeApplications": ["All"], "excludeApplications": []},
            "users": {"includeUsers": ["All"], "excludeUsers": [], "excludeGroups": [], "excludeRoles": []}
        });
        for (k, v) in extra.as_object().unwrap() {
            conditions[k] = v.clone();
        }
        policy(json!({
            "displayName": "p",
            "state": "enabled",
            "conditions": conditions,
            "grantControls": grant,
        }))
    }

    #[test]
    fn only_policies_that_cannot_be_met_without_mfa_cover_everyone() {
        let grant = |op: &str, controls: Value, strength: Value| {
            json!({"operator": op, "builtInControls": controls, "customAuthenticationFactors": [], "termsOfUse": [], "authenticationStrength": strength})
        };
        let none = json!({});
        let strength = json!({"id": "00000000-0000-0000-0000-000000000004", "displayName": "Phishing-resistant MFA"});
        assert!(covers_everyone(&mfa_for_all(grant("OR", json!(["mfa"]), Value::Null), none.clone())));
        assert!(covers_everyone(&mfa_for_all(grant("OR", json!([]), strength), none.clone())));
        assert!(covers_everyone(&mfa_for_all(
            grant("AND", json!(["mfa", "compliantDevice"]), Value::Null),
            none.clone()
        )));
        // A compliant device instead of MFA, a block, no grant at all.
        assert!(!covers_everyone(&mfa_for_all(
            grant("OR", json!(["mfa", "compliantDevice"]), Value::Null),
            none.clone()
        )));
        assert!(!covers_everyone(&mfa_for_all(grant("OR", json!(["block"]), Value::Null), none.clone())));
        assert!(!covers_everyone(&mfa_for_all(Value::Null, none.clone())));
        // Narrowed: browsers only, outside trusted locations, risky sign-ins only.
        let mfa = grant("OR", json!(["mfa"]), Value::Null);
        for extra in [
            json!({"clientAppTypes": ["browser"]}),
            json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
            json!({"signInRiskLevels": ["high"]}),
            json!({"platforms": {"includePlatforms": ["android", "iOS"], "excludePlatforms": []}}),
            json!({"devices": {"deviceFilter": {"mode": "exclude", "rule": "device.isCompliant -eq True"}}}),
        ] {
            let p = mfa_for_all(mfa.clone(), extra.clone());
            assert!(!covers_everyone(&p), "{extra}");
            assert_eq!(narrowed_by(&p).len(), 1, "{extra}");
        }
        // Report-only enforces nothing.
        let mut report_only = mfa_for_all(mfa.clone(), none);
        report_only.state = "enabledForReportingButNotEnforced".into();
        assert!(!covers_everyone(&report_only));
    }

    #[test]
    fn exclusions_are_named_by_kind() {
        let p = mfa_for_all(
            json!({"operator": "OR", "builtInControls": ["mfa"]}),
            json!({
                "users": {"includeUsers": ["All"], "excludeUsers": ["u1", "GuestsOrExternalUsers"], "excludeGroups": ["g1"], "excludeRoles": ["r1"],
                          "excludeGuestsOrExternalUsers": null},
                "applications": {"includeApplications": ["All"], "excludeApplications": ["a1"]}
            }),
        );
        assert_eq!(
            exclusions(&p),
            [
                ("user", "u1".to_string()),
                ("guests", "all guests or external users".to_string()),
                ("group", "g1".to_string()),
                ("role", "r1".to_string()),
                ("application", "a1".to_string()),
            ]
        );
    }

    #[test]
    fn security_defaults_or_a_covering_policy_suffice() {
        let refused: Result<bool, String> = Err("HTTP 403".into());
        let none: Result<Vec<String>, String> = Ok(vec![]);
        let one: Result<Vec<String>, String> = Ok(vec!["Require MFA".into()]);
        let unread: Result<Vec<String>, String> = Err("HTTP 403".into());
        assert_eq!(mfa_for_everyone(&Ok(true), &unread), Ok(true));
        assert_eq!(mfa_for_everyone(&refused, &one), Ok(true));
        assert_eq!(mfa_for_everyone(&Ok(false), &none), Ok(false));
        assert_eq!(mfa_for_everyone(&refused, &none), Err("HTTP 403".into()));
        assert_eq!(mfa_for_everyone(&Ok(false), &unread), Err("HTTP 403".into()));
    }

    #[test]
    fn lockout_falls_back_to_microsofts_defaults() {
        assert_eq!(
            lockout_json(&[]),
            json!({"configured": false, "lockout_threshold": 10, "lockout_duration_secs": 60, "custom_banned_passwords": false})
        );
        let set: Vec<DirectorySetting> = serde_json::from_value(json!([{
            "id": "s1", "displayName": "Password Rule Settings", "templateId": PASSWORD_RULE_SETTINGS,
            "values": [
                {"name": "LockoutThreshold", "value": "5"},
                {"name": "LockoutDurationInSeconds", "value": "300"},
                {"name": "EnableBannedPasswordCheck", "value": "True"},
                {"name": "BannedPasswordList", "value": "acme\tAcme2025"}
            ]
        }]))
        .unwrap();
        assert_eq!(
            lockout_json(&set),
            json!({"configured": true, "lockout_threshold": 5, "lockout_duration_secs": 300, "custom_banned_passwords": true})
        );
    }
}
