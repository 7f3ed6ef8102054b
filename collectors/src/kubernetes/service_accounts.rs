//! Service-account tokens mounted into pods automatically.
//!
//! A pod gets its service account's API token mounted unless `automountServiceAccountToken` is
//! false: the pod's own setting wins, else its service account's, else it is mounted.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};

use super::{PODS, Shared, call, list, pods::active, qualified};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "kubernetes.service_accounts.automounting_tokens",
        value_type: ValueType::StringList,
        meaning: "Service accounts (`namespace/name`) whose token is mounted into their pods by default (`automountServiceAccountToken` not false).",
        source: "GET /api/v1/serviceaccounts",
        context_only: Some(
            "service accounts that mount a token by default; which running pods do is judged by kubernetes.service_accounts.no_automounted_tokens.",
        ),
    },
    EvidenceSpec {
        id: "kubernetes.service_accounts.pods_with_automounted_tokens",
        value_type: ValueType::StringList,
        meaning: "Running or pending pods (`namespace/pod`) that get their service account's token mounted: the pod's `automountServiceAccountToken`, else the service account's, else true.",
        source: "GET /api/v1/pods, GET /api/v1/serviceaccounts",
        context_only: None,
    },
];

const SERVICE_ACCOUNTS: &str = "/api/v1/serviceaccounts";

/// The collector.
pub struct ServiceAccounts(pub(super) Arc<Shared>);

fn automounting(accounts: &[ServiceAccount]) -> Vec<String> {
    accounts
        .iter()
        .filter(|sa| sa.automount_service_account_token != Some(false))
        .map(|sa| qualified(&sa.metadata))
        .collect()
}

fn pods_with_tokens(pods: &[Pod], accounts: &[ServiceAccount]) -> Vec<String> {
    let by_name: BTreeMap<String, Option<bool>> = accounts
        .iter()
        .map(|sa| (qualified(&sa.metadata), sa.automount_service_account_token))
        .collect();
    pods.iter()
        .filter(|p| active(p))
        .filter(|pod| {
            let spec = pod.spec.as_ref();
            let account = format!(
                "{}/{}",
                pod.metadata.namespace.as_deref().unwrap_or(""),
                spec.and_then(|s| s.service_account_name.as_deref())
                    .unwrap_or("default")
            );
            spec.and_then(|s| s.automount_service_account_token)
                .or_else(|| by_name.get(&account).copied().flatten())
                .unwrap_or(true)
        })
        .map(|p| qualified(&p.metadata))
        .collect()
}

#[async_trait]
impl Collector for ServiceAccounts {
    fn name(&self) -> &'static str {
        "kubernetes.service_accounts"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let (_run, client) = self.0.client().await?;
        let api = kube::Api::<ServiceAccount>::all(client);
        let accounts = list(ctx, &self.0.config, SERVICE_ACCOUNTS, &api).await;
        let pods = match &accounts {
            Ok(a) => self.0.pods(ctx).await.map(|p| pods_with_tokens(&p, a)),
            Err(e) => Err(e.clone()),
        };
        Ok(vec![
            fact(
                "kubernetes.service_accounts.automounting_tokens",
                call(SERVICE_ACCOUNTS),
                accounts.map(|a| automounting(&a)),
            ),
            fact(
                "kubernetes.service_accounts.pods_with_automounted_tokens",
                vouch_evidence::Source::Api(format!("GET {PODS}, GET {SERVICE_ACCOUNTS}")),
                pods,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_pods_setting_wins_then_the_accounts_then_true() {
        let accounts: Vec<ServiceAccount> = serde_json::from_value(json!([
            {"metadata": {"namespace": "shop", "name": "default"}},
            {"metadata": {"namespace": "shop", "name": "quiet"}, "automountServiceAccountToken": false},
            {"metadata": {"namespace": "shop", "name": "api"}, "automountServiceAccountToken": true}
        ]))
        .unwrap();
        assert_eq!(automounting(&accounts), ["shop/default", "shop/api"]);
        let pods: Vec<Pod> = serde_json::from_value(json!([
            {"metadata": {"namespace": "shop", "name": "a"}, "spec": {"containers": []}},
            {"metadata": {"namespace": "shop", "name": "b"}, "spec": {"serviceAccountName": "quiet", "containers": []}},
            {"metadata": {"namespace": "shop", "name": "c"}, "spec": {"serviceAccountName": "quiet", "automountServiceAccountToken": true, "containers": []}},
            {"metadata": {"namespace": "shop", "name": "d"}, "spec": {"serviceAccountName": "api", "automountServiceAccountToken": false, "containers": []}},
            {"metadata": {"namespace": "shop", "name": "e"}, "spec": {"serviceAccountName": "gone", "containers": []}},
            {"metadata": {"namespace": "shop", "name": "f"}, "spec": {"containers": []}, "status": {"phase": "Failed"}}
        ]))
        .unwrap();
        assert_eq!(
            pods_with_tokens(&pods, &accounts),
            ["shop/a", "shop/c", "shop/e"]
        );
    }
}
