//! The cluster: the API server's version and the nodes' kubelet versions.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Node;

use super::{Shared, call, list, request};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "kubernetes.cluster.server_version",
        value_type: ValueType::String,
        meaning: "The API server's version (`gitVersion`, e.g. `v1.33.2`).",
        source: "GET /version",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.nodes.count",
        value_type: ValueType::Integer,
        meaning: "Nodes registered in the cluster.",
        source: "GET /api/v1/nodes",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
    EvidenceSpec {
        id: "kubernetes.nodes.kubelet_versions",
        value_type: ValueType::Object,
        meaning: "Node name → the kubelet version it reports (`status.nodeInfo.kubeletVersion`).",
        source: "GET /api/v1/nodes",
        context_only: None,
    },
];

const NODES: &str = "/api/v1/nodes";

/// The collector.
pub struct Cluster(pub(super) Arc<Shared>);

/// Node name → kubelet version; a node reporting none is an error (not a silent gap).
fn kubelet_versions(nodes: &[Node]) -> Result<BTreeMap<String, String>, String> {
    nodes
        .iter()
        .map(|n| {
            let name = n.metadata.name.clone().unwrap_or_default();
            let version = n
                .status
                .as_ref()
                .and_then(|s| s.node_info.as_ref())
                .map(|i| i.kubelet_version.clone())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("node {name} reports no kubelet version"))?;
            Ok((name, version))
        })
        .collect()
}

#[async_trait]
impl Collector for Cluster {
    fn name(&self) -> &'static str {
        "kubernetes.cluster"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let (_run, client) = self.0.client().await?;
        let version = request(ctx, "/version", || client.apiserver_version())
            .await
            .map(|info| info.git_version);
        let api = kube::Api::<Node>::all(client.clone());
        let nodes = list(ctx, &self.0.config, NODES, &api).await;
        Ok(vec![
            fact(
                "kubernetes.cluster.server_version",
                call("/version"),
                version,
            ),
            fact(
                "kubernetes.nodes.count",
                call(NODES),
                nodes.as_ref().map(|n| n.len() as u64).map_err(Clone::clone),
            ),
            fact(
                "kubernetes.nodes.kubelet_versions",
                call(NODES),
                nodes
                    .and_then(|n| kubelet_versions(&n))
                    .map(|m| serde_json::json!(m)),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_versions_by_node_and_missing_ones_refused() {
        let nodes: Vec<Node> = serde_json::from_value(serde_json::json!([
            {"metadata": {"name": "n1"}, "status": {"nodeInfo": {"kubeletVersion": "v1.33.2", "architecture": "amd64", "bootID": "", "containerRuntimeVersion": "", "kernelVersion": "", "kubeProxyVersion": "", "machineID": "", "operatingSystem": "linux", "osImage": "", "systemUUID": ""}}},
            {"metadata": {"name": "n2"}, "status": {"nodeInfo": {"kubeletVersion": "v1.32.5", "architecture": "amd64", "bootID": "", "containerRuntimeVersion": "", "kernelVersion": "", "kubeProxyVersion": "", "machineID": "", "operatingSystem": "linux", "osImage": "", "systemUUID": ""}}}
        ]))
        .unwrap();
        let v = kubelet_versions(&nodes).unwrap();
        assert_eq!(v["n1"], "v1.33.2");
        assert_eq!(v["n2"], "v1.32.5");
        let bare: Vec<Node> =
            serde_json::from_value(serde_json::json!([{"metadata": {"name": "n3"}}])).unwrap();
        assert_eq!(
            kubelet_versions(&bare).unwrap_err(),
            "node n3 reports no kubelet version"
        );
    }
}
