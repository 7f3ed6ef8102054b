//! Secrets, counted by type; their values never leave the API server.
//!
//! Kubernetes RBAC cannot grant "list the secrets' names but not their data": `list` on
//! `secrets` is the least privilege that counts them at all, and it would allow reading every
//! value. What the collector can choose is what it asks for. It lists secrets *metadata only*
//! (`Accept: application/json;as=PartialObjectMetadataList`), so no value is ever sent to it,
//! but metadata carries no `type`; so it asks once per well-known type with the field selector
//! `type=<type>` (which the API server evaluates), and once more for every other type
//! (`type!=<each known type>`). Each secret is counted by exactly one of those lists. The cost is
//! one paginated call per type instead of one call in all; the counts come from separate calls,
//! so a secret created or deleted between them may be counted in neither or in two.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use serde_json::json;

use super::{Shared, call, pages};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "kubernetes.secrets.count_by_type",
        value_type: ValueType::Object,
        meaning: "Secrets by type: each well-known type (`Opaque`, `kubernetes.io/tls`, `kubernetes.io/service-account-token`, …) and `other`; counted from metadata-only lists, values never read.",
        source: "GET /api/v1/secrets?fieldSelector=type=… (metadata only)",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.secrets.total",
        value_type: ValueType::Integer,
        meaning: "Secrets in all namespaces.",
        source: "GET /api/v1/secrets?fieldSelector=type=… (metadata only)",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
];

/// The types counted by name; every other type is counted as `other`.
pub const KNOWN_TYPES: &[&str] = &[
    "Opaque",
    "bootstrap.kubernetes.io/token",
    "helm.sh/release.v1",
    "kubernetes.io/basic-auth",
    "kubernetes.io/dockercfg",
    "kubernetes.io/dockerconfigjson",
    "kubernetes.io/service-account-token",
    "kubernetes.io/ssh-auth",
    "kubernetes.io/tls",
];

const SECRETS: &str = "/api/v1/secrets";

/// The field selector of each count: `(key in the result, selector)`.
fn selectors() -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = KNOWN_TYPES
        .iter()
        .map(|t| (*t, format!("type={t}")))
        .collect();
    let others: Vec<String> = KNOWN_TYPES.iter().map(|t| format!("type!={t}")).collect();
    out.push(("other", others.join(",")));
    out
}

/// The collector.
pub struct Secrets(pub(super) Arc<Shared>);

#[async_trait]
impl Collector for Secrets {
    fn name(&self) -> &'static str {
        "kubernetes.secrets"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let (_run, client) = self.0.client().await?;
        let api = kube::Api::<Secret>::all(client);
        let counted = async {
            let mut counts = BTreeMap::new();
            for (key, selector) in selectors() {
                let path = format!("{SECRETS}?fieldSelector={selector}");
                let params = ListParams::default().fields(&selector);
                let found = pages(ctx, &self.0.config, &path, params, |lp| {
                    let api = &api;
                    async move { api.list_metadata(&lp).await }
                })
                .await?;
                counts.insert(key, found.len() as u64);
            }
            Ok::<_, String>(counts)
        }
        .await;
        let total = counted
            .as_ref()
            .map(|c| c.values().sum::<u64>())
            .map_err(Clone::clone);
        let source = || call(format!("{SECRETS} (metadata only, by fieldSelector type)"));
        Ok(vec![
            fact(
                "kubernetes.secrets.count_by_type",
                source(),
                counted.map(|c| json!(c)),
            ),
            fact("kubernetes.secrets.total", source(), total),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_falls_under_exactly_one_selector() {
        let s = selectors();
        assert_eq!(s.len(), KNOWN_TYPES.len() + 1);
        assert_eq!(s[0], ("Opaque", "type=Opaque".to_string()));
        let (key, other) = s.last().unwrap();
        assert_eq!(*key, "other");
        for t in KNOWN_TYPES {
            assert!(other.split(',').any(|c| c == format!("type!={t}")));
        }
    }
}
