//! Policies: the password policies' rules, and whether the global session (sign-on) policies or
//! the authentication (access) policies make everyone present a second factor.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::api::{Api, ApiError};
use super::model::{Policy, Rule};
use super::{Shared, call, fatal, listed};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "okta.policies.password",
        value_type: ValueType::ObjectList,
        meaning: "One object per active password policy, by priority: `name`, `priority`, `default` (Okta's system policy), `min_length`, `min_lowercase`, `min_uppercase`, `min_number`, `min_symbol`, `exclude_username`, `common_passwords_excluded`, `history_count` (previous passwords refused), `max_age_days` (0: never expire), `min_age_minutes`, `lockout_attempts` (0: no lockout), `auto_unlock_minutes`; null where Okta gives no value.",
        source: "GET /api/v1/policies?type=PASSWORD",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.policies.sign_on_rules_without_mfa",
        value_type: ValueType::StringList,
        meaning: "Active rules of active global session policies (`OKTA_SIGN_ON`) that allow access without requiring a second factor, as `policy / rule`.",
        source: "GET /api/v1/policies?type=OKTA_SIGN_ON; GET /api/v1/policies/{id}/rules",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.policies.access_rules_without_mfa",
        value_type: ValueType::StringList,
        meaning: "Active rules of active authentication policies (`ACCESS_POLICY`, Identity Engine) that allow access with one factor (`1FA`, or no factor mode), as `policy / rule`.",
        source: "GET /api/v1/policies?type=ACCESS_POLICY; GET /api/v1/policies/{id}/rules",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.policies.mfa_required_for_everyone",
        value_type: ValueType::Bool,
        meaning: "Every sign-in needs a second factor: no active global session rule allows access without one, or no active authentication policy rule allows access with one factor.",
        source: "GET /api/v1/policies?type=OKTA_SIGN_ON; GET /api/v1/policies?type=ACCESS_POLICY; their rules",
        context_only: None,
    },
];

/// The collector.
pub struct Policies(pub(super) Arc<Shared>);

/// A password policy as evidence.
fn password_json(p: &Policy) -> Value {
    let pw = p
        .settings
        .as_ref()
        .and_then(|s| s.password.clone())
        .unwrap_or_default();
    let c = &pw.complexity;
    json!({
        "name": vouch_evidence::limits::truncate_echo(&p.name),
        "priority": p.priority,
        "default": p.system,
        "min_length": c.min_length,
        "min_lowercase": c.min_lower_case,
        "min_uppercase": c.min_upper_case,
        "min_number": c.min_number,
        "min_symbol": c.min_symbol,
        "exclude_username": c.exclude_username,
        "common_passwords_excluded": c
            .dictionary
            .as_ref()
            .and_then(|d| d.common.as_ref())
            .is_some_and(|d| d.exclude),
        "history_count": pw.age.history_count,
        "max_age_days": pw.age.max_age_days,
        "min_age_minutes": pw.age.min_age_minutes,
        "lockout_attempts": pw.lockout.max_attempts,
        "auto_unlock_minutes": pw.lockout.auto_unlock_minutes,
    })
}

/// The active policies of `kind`, by priority.
async fn active_policies(
    api: &Api,
    ctx: &CollectContext,
    kind: &str,
) -> Result<Vec<Policy>, ApiError> {
    let mut policies: Vec<Policy> = api
        .get_all(ctx, &format!("/api/v1/policies?type={kind}"))
        .await?;
    policies.retain(|p| p.status == "ACTIVE");
    policies.sort_by_key(|p| p.priority.unwrap_or(i64::MAX));
    Ok(policies)
}

/// Of the active policies of `kind`: how many there are, and their active rules that let people
/// in with one factor, as `policy / rule`.
async fn one_factor_rules(
    api: &Api,
    ctx: &CollectContext,
    kind: &str,
) -> Result<(usize, Vec<String>), ApiError> {
    let policies = active_policies(api, ctx, kind).await?;
    let mut found = Vec::new();
    for p in &policies {
        let rules: Vec<Rule> = api
            .get_all(ctx, &format!("/api/v1/policies/{}/rules", p.id))
            .await?;
        found.extend(
            rules
                .iter()
                .filter(|r| r.allows_one_factor())
                .map(|r| format!("{} / {}", p.name, r.name)),
        );
    }
    Ok((policies.len(), found))
}

/// Whether everyone must present a second factor, from the two kinds of policy: either kind
/// requiring it of every sign-in it governs suffices.
fn mfa_for_everyone(
    sign_on: &Result<(usize, Vec<String>), String>,
    access: &Result<(usize, Vec<String>), String>,
) -> Result<bool, String> {
    let requires = |r: &Result<(usize, Vec<String>), String>| {
        matches!(r, Ok((n, rules)) if *n > 0 && rules.is_empty())
    };
    if requires(sign_on) || requires(access) {
        return Ok(true);
    }
    match (sign_on, access) {
        (Ok(_), Ok(_)) => Ok(false),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    }
}

#[async_trait]
impl Collector for Policies {
    fn name(&self) -> &'static str {
        "okta.policies"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let api = self.0.api()?;
        let password = fatal(active_policies(&api, ctx, "PASSWORD").await)?
            .map(|ps| ps.iter().map(password_json).collect::<Vec<_>>());
        let sign_on = fatal(one_factor_rules(&api, ctx, "OKTA_SIGN_ON").await)?;
        let access = fatal(one_factor_rules(&api, ctx, "ACCESS_POLICY").await)?;
        let required = mfa_for_everyone(&sign_on, &access);
        let names = |r: &Result<(usize, Vec<String>), String>| {
            r.as_ref()
                .map(|(_, rules)| listed(rules.iter().map(String::as_str)))
                .map_err(Clone::clone)
        };
        Ok(vec![
            fact(
                "okta.policies.password",
                call("/api/v1/policies?type=PASSWORD"),
                password,
            ),
            fact(
                "okta.policies.sign_on_rules_without_mfa",
                call("/api/v1/policies?type=OKTA_SIGN_ON"),
                names(&sign_on),
            ),
            fact(
                "okta.policies.access_rules_without_mfa",
                call("/api/v1/policies?type=ACCESS_POLICY"),
                names(&access),
            ),
            fact(
                "okta.policies.mfa_required_for_everyone",
                call("/api/v1/policies?type=OKTA_SIGN_ON"),
                required,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_kind_of_policy_can_require_mfa_of_everyone() {
        let none = Ok((1, vec![]));
        let some = Ok((2, vec!["Default Policy / Default Rule".to_string()]));
        let refused: Result<(usize, Vec<String>), String> = Err("HTTP 403".into());
        assert_eq!(mfa_for_everyone(&none, &some), Ok(true));
        assert_eq!(mfa_for_everyone(&some, &none), Ok(true));
        assert_eq!(mfa_for_everyone(&some, &some), Ok(false));
        assert_eq!(mfa_for_everyone(&none, &refused), Ok(true));
        assert_eq!(mfa_for_everyone(&some, &refused), Err("HTTP 403".into()));
        assert_eq!(mfa_for_everyone(&refused, &some), Err("HTTP 403".into()));
        // No active policy of a kind requires nothing.
        assert_eq!(mfa_for_everyone(&Ok((0, vec![])), &some), Ok(false));
    }
}
