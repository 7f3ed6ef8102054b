//! EKS, per region: each cluster's control-plane logging, API endpoint exposure and envelope
//! encryption of Kubernetes Secrets, as the EKS API describes them.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_eks::types::Cluster;
use serde_json::{Value, json};
use vouch_evidence::Source as ItemSource;

use super::client::{ApiCall, Session, api_error, client, for_each};
use super::{all_regions, per_region};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[EvidenceSpec {
    id: "aws.eks.clusters",
    value_type: ValueType::ObjectList,
    meaning: "One object per EKS cluster: `region`, `name`, `version`, `logging` (the \
              control-plane log types enabled: api, audit, authenticator, controllerManager, \
              scheduler), `endpoint_public`, `endpoint_private`, `public_access_cidrs` (whom \
              the public endpoint accepts), `secrets_encrypted` (a KMS key envelope-encrypts \
              the `secrets` resource).",
    source: "eks:ListClusters, eks:DescribeCluster",
    context_only: None,
}];

/// The calls this area makes.
pub const CALLS: &[ApiCall] = &[
    ApiCall {
        api: "eks:ListClusters",
        permission: "eks:ListClusters",
    },
    ApiCall {
        api: "eks:DescribeCluster",
        permission: "eks:DescribeCluster",
    },
];

/// The collector.
pub struct EksArea(pub Arc<Session>);

/// A cluster as evidence.
fn cluster_json(region: &str, c: &Cluster) -> Value {
    let mut logging: Vec<&str> = c
        .logging()
        .map(|l| l.cluster_logging())
        .unwrap_or_default()
        .iter()
        .filter(|setup| setup.enabled() == Some(true))
        .flat_map(|setup| setup.types().iter().map(|t| t.as_str()))
        .collect();
    logging.sort_unstable();
    logging.dedup();
    let vpc = c.resources_vpc_config();
    json!({
        "region": region,
        "name": c.name(),
        "version": c.version(),
        "logging": logging,
        "endpoint_public": vpc.map(|v| v.endpoint_public_access()),
        "endpoint_private": vpc.map(|v| v.endpoint_private_access()),
        "public_access_cidrs": vpc.map(|v| v.public_access_cidrs()),
        "secrets_encrypted": c
            .encryption_config()
            .iter()
            .any(|e| e.resources().iter().any(|r| r == "secrets")
                && e.provider().and_then(|p| p.key_arn()).is_some_and(|k| !k.is_empty())),
    })
}

#[async_trait]
impl Collector for EksArea {
    fn name(&self) -> &'static str {
        "aws.eks"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, _ctx: &CollectContext) -> Result<Facts, CollectError> {
        let session = &self.0;
        let limit = session.config().max_concurrent_requests;
        let clusters = per_region(session, |sdk, region| async move {
            let eks = client!(aws_sdk_eks, session, &sdk);
            let names: Vec<String> = eks
                .list_clusters()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| api_error("eks:ListClusters", &e))?;
            let described = for_each(names, limit, |name| {
                let eks = eks.clone();
                async move {
                    eks.describe_cluster()
                        .name(&name)
                        .send()
                        .await
                        .map_err(|e| api_error("eks:DescribeCluster", &e))
                }
            })
            .await;
            described
                .into_iter()
                .map(|d| {
                    d.and_then(|o| {
                        o.cluster()
                            .map(|c| cluster_json(&region, c))
                            .ok_or_else(|| "eks:DescribeCluster answered no cluster".to_string())
                    })
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .await
        .and_then(all_regions)
        .map(|r| r.into_iter().flat_map(|(_, c)| c).collect::<Vec<_>>());
        Ok(vec![fact(
            "aws.eks.clusters",
            ItemSource::Api("eks:DescribeCluster".into()),
            clusters,
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::types::{EncryptionConfig, LogSetup, LogType, Logging, Provider, VpcConfigResponse};

    #[test]
    fn a_cluster_as_evidence() {
        let c = Cluster::builder()
            .name("prod")
            .version("1.31")
            .logging(
                Logging::builder()
                    .cluster_logging(
                        LogSetup::builder()
                            .types(LogType::Audit)
                            .types(LogType::Api)
                            .enabled(true)
                            .build(),
                    )
                    .cluster_logging(
                        LogSetup::builder()
                            .types(LogType::Scheduler)
                            .enabled(false)
                            .build(),
                    )
                    .build(),
            )
            .resources_vpc_config(
                VpcConfigResponse::builder()
                    .endpoint_public_access(true)
                    .endpoint_private_access(true)
                    .public_access_cidrs("203.0.113.0/24")
                    .build(),
            )
            .encryption_config(
                EncryptionConfig::builder()
                    .resources("secrets")
                    .provider(
                        Provider::builder()
                            .key_arn("arn:aws:kms:eu-west-1:123456789012:key/1f2e")
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(
            cluster_json("eu-west-1", &c),
            json!({"region": "eu-west-1", "name": "prod", "version": "1.31",
                   "logging": ["api", "audit"], "endpoint_public": true, "endpoint_private": true,
                   "public_access_cidrs": ["203.0.113.0/24"], "secrets_encrypted": true})
        );
        let bare = cluster_json("eu-west-1", &Cluster::builder().name("dev").build());
        assert_eq!(bare["logging"], json!([]));
        assert_eq!(bare["endpoint_public"], Value::Null);
        assert_eq!(bare["secrets_encrypted"], false);
    }
}
