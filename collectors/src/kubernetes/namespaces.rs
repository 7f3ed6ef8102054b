//! Namespaces: their Pod Security Admission levels, whether any NetworkPolicy selects pods in
//! them, and whether one denies all ingress by default.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::{Value, json};

use super::{Shared, call, list};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "kubernetes.namespaces.pod_security",
        value_type: ValueType::Object,
        meaning: "Namespace → its Pod Security Admission labels: `enforce`, `audit`, `warn` (`privileged`, `baseline`, `restricted`, or null when the label is absent).",
        source: "GET /api/v1/namespaces (labels pod-security.kubernetes.io/*)",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.namespaces.without_enforced_pod_security",
        value_type: ValueType::StringList,
        meaning: "Namespaces whose `pod-security.kubernetes.io/enforce` label is neither `baseline` nor `restricted` (absent, `privileged`, or a value Pod Security Admission does not define): no level is known to be enforced there (the cluster's admission configuration may set a default, which the API does not show).",
        source: "GET /api/v1/namespaces",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.namespaces.without_network_policy",
        value_type: ValueType::StringList,
        meaning: "Namespaces holding no NetworkPolicy, so all traffic to and from their pods is allowed.",
        source: "GET /api/v1/namespaces, GET /apis/networking.k8s.io/v1/networkpolicies",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.namespaces.without_default_deny_ingress",
        value_type: ValueType::StringList,
        meaning: "Namespaces holding no default-deny ingress NetworkPolicy: one selecting every pod (an empty `podSelector`), with `Ingress` among its `policyTypes` (implied when they are not given) and no ingress rule. Without one, a pod no other policy selects accepts traffic from anywhere. System namespaces included (policies leave them out).",
        source: "GET /api/v1/namespaces, GET /apis/networking.k8s.io/v1/networkpolicies",
        context_only: None,
    },
];

const NAMESPACES: &str = "/api/v1/namespaces";
const NETWORK_POLICIES: &str = "/apis/networking.k8s.io/v1/networkpolicies";
const MODES: [&str; 3] = ["enforce", "audit", "warn"];

/// The collector.
pub struct Namespaces(pub(super) Arc<Shared>);

/// Namespace → `{enforce, audit, warn}`.
fn pod_security(namespaces: &[Namespace]) -> BTreeMap<String, Value> {
    namespaces
        .iter()
        .map(|ns| {
            let labels = ns.metadata.labels.as_ref();
            let levels: serde_json::Map<String, Value> = MODES
                .iter()
                .map(|mode| {
                    let key = format!("pod-security.kubernetes.io/{mode}");
                    (mode.to_string(), json!(labels.and_then(|l| l.get(&key))))
                })
                .collect();
            (
                ns.metadata.name.clone().unwrap_or_default(),
                Value::Object(levels),
            )
        })
        .collect()
}

fn unenforced(levels: &BTreeMap<String, Value>) -> Vec<String> {
    levels
        .iter()
        .filter(|(_, l)| !matches!(l["enforce"].as_str(), Some("baseline" | "restricted")))
        .map(|(ns, _)| ns.clone())
        .collect()
}

/// A NetworkPolicy that denies all ingress to every pod of its namespace: an empty
/// `podSelector` (no labels, no expressions), `Ingress` among its `policyTypes` (Kubernetes
/// implies it when they are not given) and no ingress rule (an empty rule `{}` allows all).
fn denies_all_ingress(p: &NetworkPolicy) -> bool {
    let Some(spec) = p.spec.as_ref().and_then(|s| serde_json::to_value(s).ok()) else {
        return false;
    };
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    let selects_all = spec
        .get("podSelector")
        .is_none_or(|s| s.as_object().is_some_and(|o| o.values().all(empty)) || s.is_null());
    let ingress_type = spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_none_or(|types| types.iter().any(|t| t == "Ingress"));
    let no_rule = spec.get("ingress").is_none_or(empty);
    selects_all && ingress_type && no_rule
}

/// The namespaces none of whose policies `keep` accepts.
fn without_policy(namespaces: &[Namespace], policies: &[NetworkPolicy]) -> Vec<String> {
    without(namespaces, policies, |_| true)
}

/// The namespaces holding no policy that `keep` accepts.
fn without(
    namespaces: &[Namespace],
    policies: &[NetworkPolicy],
    keep: impl Fn(&NetworkPolicy) -> bool,
) -> Vec<String> {
    let covered: BTreeSet<&str> = policies
        .iter()
        .filter(|p| keep(p))
        .filter_map(|p| p.metadata.namespace.as_deref())
        .collect();
    namespaces
        .iter()
        .filter_map(|ns| ns.metadata.name.clone())
        .filter(|name| !covered.contains(name.as_str()))
        .collect()
}

#[async_trait]
impl Collector for Namespaces {
    fn name(&self) -> &'static str {
        "kubernetes.namespaces"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let (_run, client) = self.0.client().await?;
        let config = &self.0.config;
        let ns_api = kube::Api::<Namespace>::all(client.clone());
        let np_api = kube::Api::<NetworkPolicy>::all(client);
        let namespaces = list(ctx, config, NAMESPACES, &ns_api).await;
        let policies = list(ctx, config, NETWORK_POLICIES, &np_api).await;
        let levels = namespaces
            .as_ref()
            .map(|n| pod_security(n))
            .map_err(Clone::clone);
        let (isolated, undenied) = match (&namespaces, policies) {
            (Ok(n), Ok(p)) => (
                Ok(without_policy(n, &p)),
                Ok(without(n, &p, denies_all_ingress)),
            ),
            (Err(e), _) => (Err(e.clone()), Err(e.clone())),
            (_, Err(e)) => (Err(e.clone()), Err(e)),
        };
        let both = || vouch_evidence::Source::Api(format!("GET {NAMESPACES}, GET {NETWORK_POLICIES}"));
        Ok(vec![
            fact(
                "kubernetes.namespaces.pod_security",
                call(NAMESPACES),
                levels.clone().map(|l| json!(l)),
            ),
            fact(
                "kubernetes.namespaces.without_enforced_pod_security",
                call(NAMESPACES),
                levels.map(|l| unenforced(&l)),
            ),
            fact("kubernetes.namespaces.without_network_policy", both(), isolated),
            fact(
                "kubernetes.namespaces.without_default_deny_ingress",
                both(),
                undenied,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_gaps_per_namespace() {
        let namespaces: Vec<Namespace> = serde_json::from_value(json!([
            {"metadata": {"name": "prod", "labels": {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}}},
            {"metadata": {"name": "dev", "labels": {"pod-security.kubernetes.io/audit": "baseline"}}},
            {"metadata": {"name": "kube-system", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
            // Not a level Pod Security Admission defines: nothing known to be enforced.
            {"metadata": {"name": "typo", "labels": {"pod-security.kubernetes.io/enforce": "strict"}}}
        ]))
        .unwrap();
        let levels = pod_security(&namespaces);
        assert_eq!(
            levels["prod"],
            json!({"enforce": "restricted", "audit": null, "warn": "restricted"})
        );
        assert_eq!(unenforced(&levels), ["dev", "kube-system", "typo"]);
        let policies: Vec<NetworkPolicy> = serde_json::from_value(json!([
            {"metadata": {"name": "default-deny", "namespace": "prod"}, "spec": {"podSelector": {}}}
        ]))
        .unwrap();
        assert_eq!(
            without_policy(&namespaces, &policies),
            ["dev", "kube-system", "typo"]
        );
    }

    /// Only a policy selecting every pod, of type Ingress, without ingress rules, denies all
    /// ingress; the manifests are those the Kubernetes documentation and common charts ship.
    #[test]
    fn default_deny_ingress_needs_an_empty_selector_the_ingress_type_and_no_rule() {
        let namespaces: Vec<Namespace> = serde_json::from_value(json!([
            {"metadata": {"name": "shop"}}, {"metadata": {"name": "batch"}},
            {"metadata": {"name": "monitoring"}}, {"metadata": {"name": "web"}},
            {"metadata": {"name": "legacy"}}, {"metadata": {"name": "egress-only"}},
            {"metadata": {"name": "kube-system"}}
        ]))
        .unwrap();
        let policies: Vec<NetworkPolicy> = serde_json::from_value(json!([
            // The documentation's default-deny-ingress.
            {"metadata": {"name": "default-deny-ingress", "namespace": "shop"},
             "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
            // Deny all, both directions.
            {"metadata": {"name": "default-deny-all", "namespace": "batch"},
             "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
            // No policyTypes: Ingress is implied.
            {"metadata": {"name": "deny", "namespace": "legacy"}, "spec": {"podSelector": {}}},
            // Selects only some pods.
            {"metadata": {"name": "deny-api", "namespace": "monitoring"},
             "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"]}},
            // An empty rule allows every source.
            {"metadata": {"name": "allow-all", "namespace": "web"},
             "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}},
            // Egress only.
            {"metadata": {"name": "deny-egress", "namespace": "egress-only"},
             "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}
        ]))
        .unwrap();
        assert_eq!(
            without(&namespaces, &policies, denies_all_ingress),
            ["monitoring", "web", "egress-only", "kube-system"]
        );
        assert_eq!(without_policy(&namespaces, &policies), ["kube-system"]);
    }
}
