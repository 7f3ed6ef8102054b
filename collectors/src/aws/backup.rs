//! AWS Backup, per region: the backup plans, and for every EBS volume and RDS DB instance of
//! the account the newest recovery point AWS Backup holds of it (`backup:ListProtectedResources`
//! lists each resource it has backed up, with its last backup), so that a plan that selects
//! too little, or has stopped running, shows as resources without a recent recovery point.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_backup::primitives::DateTime;
use serde_json::{Value, json};
use vouch_evidence::Source as ItemSource;

use super::client::{ApiCall, Session, api_error, client};
use super::{all_regions, per_region};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "aws.backup.plans",
        value_type: ValueType::ObjectList,
        meaning: "One object per AWS Backup plan: `region`, `name`, `id`, `last_execution` (RFC 3339, the last time it ran a backup job; null: never).",
        source: "backup:ListBackupPlans",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.backup.resources",
        value_type: ValueType::ObjectList,
        meaning: "One object per EBS volume and RDS DB instance of the regions collected: `region`, `type` (`ebs-volume` or `rds-instance`), `id`, `last_backup` (RFC 3339, the newest recovery point AWS Backup holds of it; null: AWS Backup has none).",
        source: "ec2:DescribeVolumes; rds:DescribeDBInstances; backup:ListProtectedResources",
        context_only: None,
    },
];

/// The calls this area makes.
pub const CALLS: &[ApiCall] = &[
    ApiCall {
        api: "backup:ListBackupPlans",
        permission: "backup:ListBackupPlans",
    },
    ApiCall {
        api: "backup:ListProtectedResources",
        permission: "backup:ListProtectedResources",
    },
    ApiCall {
        api: "ec2:DescribeVolumes",
        permission: "ec2:DescribeVolumes",
    },
    ApiCall {
        api: "rds:DescribeDBInstances",
        permission: "rds:DescribeDBInstances",
    },
];

/// The collector.
pub struct BackupArea(pub Arc<Session>);

/// An instant as evidence (RFC 3339, as every instant of the evidence), or null.
fn instant(t: Option<&DateTime>) -> Value {
    t.and_then(|t| vouch_evidence::Timestamp::from_unix_micros(t.secs() * 1_000_000))
        .map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// The resource an ARN names, as (`ebs-volume` or `rds-instance`, id), when it is a volume
/// (`arn:aws:ec2:REGION:ACCOUNT:volume/vol-…`) or a DB instance (`arn:aws:rds:…:db:NAME`).
fn resource_of(arn: &str) -> Option<(&'static str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, _, _, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    match service {
        "ec2" => Some(("ebs-volume", resource.strip_prefix("volume/")?)),
        "rds" => Some(("rds-instance", resource.strip_prefix("db:")?)),
        _ => None,
    }
}

/// One region's resources as evidence: each of `volumes` and `instances` with the last backup
/// `protected` (ARN → last backup) gives it.
fn resources(
    region: &str,
    volumes: &[String],
    instances: &[String],
    protected: &BTreeMap<(&'static str, String), Value>,
) -> Vec<Value> {
    let entry = |kind: &'static str, id: &String| {
        json!({
            "region": region,
            "type": kind,
            "id": id,
            "last_backup": protected.get(&(kind, id.clone())).cloned().unwrap_or(Value::Null),
        })
    };
    volumes
        .iter()
        .map(|v| entry("ebs-volume", v))
        .chain(instances.iter().map(|i| entry("rds-instance", i)))
        .collect()
}

#[async_trait]
impl Collector for BackupArea {
    fn name(&self) -> &'static str {
        "aws.backup"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, _ctx: &CollectContext) -> Result<Facts, CollectError> {
        let session = &self.0;
        let plans = per_region(session, |sdk, region| async move {
            let backup = client!(aws_sdk_backup, session, &sdk);
            backup
                .list_backup_plans()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map(|all| {
                    all.iter()
                        .map(|p| {
                            json!({
                                "region": region,
                                "name": p.backup_plan_name(),
                                "id": p.backup_plan_id(),
                                "last_execution": instant(p.last_execution_date()),
                            })
                        })
                        .collect::<Vec<_>>()
                })
                .map_err(|e| api_error("backup:ListBackupPlans", &e))
        })
        .await
        .and_then(all_regions)
        .map(|r| r.into_iter().flat_map(|(_, p)| p).collect::<Vec<_>>());
        let covered = per_region(session, |sdk, region| async move {
            let backup = client!(aws_sdk_backup, session, &sdk);
            let ec2 = client!(aws_sdk_ec2, session, &sdk);
            let rds = client!(aws_sdk_rds, session, &sdk);
            let protected = backup
                .list_protected_resources()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| api_error("backup:ListProtectedResources", &e))?;
            let volumes = ec2
                .describe_volumes()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| api_error("ec2:DescribeVolumes", &e))?;
            let instances = rds
                .describe_db_instances()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| api_error("rds:DescribeDBInstances", &e))?;
            let by_resource: BTreeMap<(&'static str, String), Value> = protected
                .iter()
                .filter_map(|p| {
                    let (kind, id) = resource_of(p.resource_arn()?)?;
                    Some(((kind, id.to_string()), instant(p.last_backup_time())))
                })
                .collect();
            let volumes: Vec<String> = volumes
                .iter()
                .filter_map(|v| v.volume_id().map(str::to_string))
                .collect();
            let instances: Vec<String> = instances
                .iter()
                .filter_map(|i| i.db_instance_identifier().map(str::to_string))
                .collect();
            Ok(resources(&region, &volumes, &instances, &by_resource))
        })
        .await
        .and_then(all_regions)
        .map(|r| r.into_iter().flat_map(|(_, v)| v).collect::<Vec<_>>());
        Ok(vec![
            fact(
                "aws.backup.plans",
                ItemSource::Api("backup:ListBackupPlans".into()),
                plans,
            ),
            fact(
                "aws.backup.resources",
                ItemSource::Api("backup:ListProtectedResources".into()),
                covered,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_volumes_and_db_instances() {
        assert_eq!(
            resource_of("arn:aws:ec2:eu-west-1:123456789012:volume/vol-0a1b2c3d4e5f60718"),
            Some(("ebs-volume", "vol-0a1b2c3d4e5f60718"))
        );
        assert_eq!(
            resource_of("arn:aws:rds:eu-west-1:123456789012:db:orders"),
            Some(("rds-instance", "orders"))
        );
        for other in [
            "arn:aws:rds:eu-west-1:123456789012:cluster:orders",
            "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-1",
            "arn:aws:ec2:eu-west-1:123456789012:instance/i-1",
            "not an arn",
        ] {
            assert_eq!(resource_of(other), None, "{other}");
        }
    }

    #[test]
    fn a_resource_without_a_recovery_point_has_none() {
        let protected = BTreeMap::from([(
            ("ebs-volume", "vol-1".to_string()),
            json!("2025-11-23T01:00:00Z"),
        )]);
        let got = resources(
            "eu-west-1",
            &["vol-1".into(), "vol-2".into()],
            &["orders".into()],
            &protected,
        );
        assert_eq!(got[0]["last_backup"], "2025-11-23T01:00:00Z");
        assert_eq!(got[1]["last_backup"], Value::Null);
        assert_eq!(got[2]["type"], "rds-instance");
        assert_eq!(got[2]["last_backup"], Value::Null);
    }
}
