//! Policies: the password policies of the account, one per organisational unit or group an
//! administrator set one for, and Google's default, read from the Cloud Identity Policy API.
//!
//! Google answers that API for super administrators only, so it is asked as its own
//! administrator (`policy_admin_email`), with a token of its own that carries the one scope
//! `cloud-identity.policies.readonly`: that token can read settings, never change them, and the
//! other areas keep acting as the read-only administrator. Without `policy_admin_email` the
//! password policies are unavailable, saying so; nothing is asked.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::model::{CloudPolicy, PasswordSetting};
use super::{Shared, call, fatal};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The setting type of password policies.
pub(crate) const PASSWORD_SETTING: &str = "settings/security.password";

/// The filter of the listing (a CEL expression): password policies only.
pub(crate) const PASSWORD_FILTER: &str = r"setting.type.matches('^settings/security\\.password$')";

/// The first page of the password policies' listing, the filter percent-encoded.
fn passwords_path() -> String {
    format!(
        "/v1/policies?filter={}&pageSize=100",
        super::api::query_value(PASSWORD_FILTER)
    )
}

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[EvidenceSpec {
    id: "google_workspace.policies.password",
    value_type: ValueType::ObjectList,
    meaning: "One object per password policy of the account, Google's default (`type` `SYSTEM`) and each an administrator set (`ADMIN`) for an organisational unit or a group, the one that applies most widely first: `applies_to` (`orgUnits/…` or `groups/…`), `type`, `sort_order` (of several on one unit, the higher wins), `strength` (`STRONG` or `WEAK`), `min_length`, `max_length`, `enforce_at_login` (a password that does not meet the policy must be changed at the next sign-in), `reuse_allowed`, `expiration_days` (0: never expire); null where Google gives no value. Read as `policy_admin_email`, a super administrator (the only role the Policy API answers), with the one scope `cloud-identity.policies.readonly`.",
    source: "GET /v1/policies (Cloud Identity Policy API)",
    context_only: None,
}];

/// The collector.
pub struct Policies(pub(super) Arc<Shared>);

/// A duration as the Policy API writes it (`7776000s`, `0s`, `3.5s`) in whole days, rounded
/// down; `None` when it is not one.
fn days(duration: &str) -> Option<u64> {
    let seconds: f64 = duration.strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds / 86_400.0) as u64)
}

/// A password policy as evidence. The error names what is not as the API documents.
fn password_json(p: &CloudPolicy) -> Result<Value, String> {
    let pw: PasswordSetting = serde_json::from_value(p.setting.value.clone())
        .map_err(|e| format!("a password policy's value is not as documented: {e}"))?;
    let q = &p.policy_query;
    let applies_to = q.group.as_deref().or(q.org_unit.as_deref()).unwrap_or("");
    let expiration_days = match pw.expiration_duration.as_deref() {
        None => None,
        Some(d) => Some(days(d).ok_or_else(|| {
            format!(
                "a password policy's expirationDuration {:?} is not a duration",
                vouch_evidence::limits::truncate_echo(d)
            )
        })?),
    };
    Ok(json!({
        "applies_to": vouch_evidence::limits::truncate_echo(applies_to),
        "type": vouch_evidence::limits::truncate_echo(&p.kind),
        "sort_order": q.sort_order,
        "strength": pw.allowed_strength.as_deref().map(vouch_evidence::limits::truncate_echo),
        "min_length": pw.minimum_length,
        "max_length": pw.maximum_length,
        "enforce_at_login": pw.enforce_requirements_at_login,
        "reuse_allowed": pw.allow_reuse,
        "expiration_days": expiration_days,
    }))
}

/// The password policies of `customer` (`C03az79cb`) among `listed`, as evidence: Google's
/// default first, then by unit and order. A policy of another customer is an error, as for the
/// users: the super administrator belongs to another account.
fn passwords(listed: &[CloudPolicy], customer: &str) -> Result<Vec<Value>, String> {
    let own = format!("customers/{customer}");
    if let Some(other) = listed
        .iter()
        .map(|p| p.customer.as_str())
        .find(|c| !c.is_empty() && *c != own)
    {
        return Err(format!(
            "GET /v1/policies: the policies listed belong to customer {}, not to customer_id {customer}: policy_admin_email is an administrator of another account",
            vouch_evidence::limits::truncate_echo(other.trim_start_matches("customers/"))
        ));
    }
    let mut found: Vec<&CloudPolicy> = listed
        .iter()
        .filter(|p| p.setting.kind == PASSWORD_SETTING)
        .collect();
    found.sort_by(|a, b| {
        let key = |p: &CloudPolicy| {
            (
                p.kind != "SYSTEM",
                p.policy_query.group.is_some(),
                p.policy_query.org_unit.clone().unwrap_or_default(),
            )
        };
        key(a).cmp(&key(b)).then(
            a.policy_query
                .sort_order
                .unwrap_or(0.0)
                .total_cmp(&b.policy_query.sort_order.unwrap_or(0.0)),
        )
    });
    found
        .into_iter()
        .map(password_json)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("GET /v1/policies: unexpected answer: {e}"))
}

/// Why the password policies are not read when no super administrator is configured.
fn not_configured() -> String {
    format!(
        "not read: policy_admin_email is not set (the Cloud Identity Policy API, which holds the password policies, answers super administrators only; name one, and grant the delegation the scope {})",
        super::POLICY_SCOPE
    )
}

#[async_trait]
impl Collector for Policies {
    fn name(&self) -> &'static str {
        "google_workspace.policies"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let password = match self.0.policy_api() {
            None => Err(not_configured()),
            Some(api) => {
                let api = api?;
                fatal(api.get_all::<CloudPolicy>(ctx, &passwords_path()).await)?
                    .and_then(|listed| passwords(&listed, &self.0.config.customer_id))
            }
        };
        Ok(vec![fact(
            "google_workspace.policies.password",
            call("/v1/policies"),
            password,
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(customer: &str, kind: &str, unit: &str, value: Value) -> CloudPolicy {
        serde_json::from_value(json!({
            "name": "policies/a",
            "customer": customer,
            "policyQuery": {"orgUnit": unit, "query": "true", "sortOrder": 1},
            "setting": {"type": PASSWORD_SETTING, "value": value},
            "type": kind,
        }))
        .unwrap()
    }

    #[test]
    fn durations_are_whole_days() {
        assert_eq!(days("0s"), Some(0));
        assert_eq!(days("7776000s"), Some(90));
        assert_eq!(days("86399.5s"), Some(0));
        for bad in ["90d", "-1s", "s", "NaNs", "infs", ""] {
            assert_eq!(days(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_default_comes_first_and_another_customer_is_refused() {
        let weak = json!({"allowedStrength": "WEAK", "minimumLength": 8, "maximumLength": 100, "enforceRequirementsAtLogin": false, "allowReuse": true, "expirationDuration": "0s"});
        let listed = vec![
            policy("customers/C03az79cb", "ADMIN", "orgUnits/03ph8a2z2", weak.clone()),
            policy("customers/C03az79cb", "SYSTEM", "orgUnits/03ph8a2z1", json!({})),
        ];
        let got = passwords(&listed, "C03az79cb").unwrap();
        assert_eq!(got[0]["type"], "SYSTEM");
        assert_eq!(got[0]["min_length"], Value::Null);
        assert_eq!(got[1]["strength"], "WEAK");
        assert_eq!(got[1]["expiration_days"], 0);
        let other = vec![policy("customers/C0other00", "SYSTEM", "orgUnits/x", weak)];
        let e = passwords(&other, "C03az79cb").unwrap_err();
        assert!(e.contains("belong to customer C0other00, not"), "{e}");
        let odd = vec![policy(
            "customers/C03az79cb",
            "ADMIN",
            "orgUnits/x",
            json!({"expirationDuration": "90 days"}),
        )];
        let e = passwords(&odd, "C03az79cb").unwrap_err();
        assert!(e.contains("is not a duration"), "{e}");
    }
}
