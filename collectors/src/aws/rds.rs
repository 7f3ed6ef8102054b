//! RDS, per region: each database instance's storage encryption, automated backup retention,
//! public accessibility, deletion protection and tags, with summary lists.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_rds::types::DbInstance;
use serde_json::{Value, json};
use vouch_evidence::Source as ItemSource;

use super::client::{ApiCall, Session, api_error, client};
use super::{all_regions, per_region};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "aws.rds.instances",
        value_type: ValueType::ObjectList,
        meaning: "One object per DB instance: `region`, `id`, `engine`, `storage_encrypted`, \
                  `kms_key_id`, `backup_retention_days` (0: no automated backups), \
                  `publicly_accessible`, `multi_az`, `deletion_protection`, `tags` (key → \
                  value).",
        source: "rds:DescribeDBInstances",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.rds.unencrypted_instances",
        value_type: ValueType::StringList,
        meaning: "DB instances whose storage is not encrypted, as `region/id`.",
        source: "rds:DescribeDBInstances",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.rds.public_instances",
        value_type: ValueType::StringList,
        meaning: "DB instances that are publicly accessible (their endpoint resolves to a \
                  public address), as `region/id`.",
        source: "rds:DescribeDBInstances",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.rds.instances_without_backups",
        value_type: ValueType::StringList,
        meaning: "DB instances with automated backups off (retention 0 days), as `region/id`.",
        source: "rds:DescribeDBInstances",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.rds.instances_without_deletion_protection",
        value_type: ValueType::StringList,
        meaning: "DB instances that can be deleted (deletion protection off), as `region/id`: \
                  deleting one also deletes its automated backups unless asked to keep them.",
        source: "rds:DescribeDBInstances",
        context_only: None,
    },
];

/// The calls this area makes.
pub const CALLS: &[ApiCall] = &[ApiCall {
    api: "rds:DescribeDBInstances",
    permission: "rds:DescribeDBInstances",
}];

/// The collector.
pub struct RdsArea(pub Arc<Session>);

#[async_trait]
impl Collector for RdsArea {
    fn name(&self) -> &'static str {
        "aws.rds"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, _ctx: &CollectContext) -> Result<Facts, CollectError> {
        let session = &self.0;
        let instances = per_region(session, |sdk, region| async move {
            let rds = client!(aws_sdk_rds, session, &sdk);
            rds.describe_db_instances()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map(|all| all.iter().map(|i| instance(&region, i)).collect::<Vec<_>>())
                .map_err(|e| api_error("rds:DescribeDBInstances", &e))
        })
        .await
        .and_then(all_regions)
        .map(|r| r.into_iter().flat_map(|(_, i)| i).collect::<Vec<_>>());
        let source = || ItemSource::Api("rds:DescribeDBInstances".into());
        let which = |field: &str, listed: fn(&Value) -> bool| {
            instances
                .clone()
                .and_then(|all| where_field(&all, field, listed))
        };
        Ok(vec![
            fact(
                "aws.rds.unencrypted_instances",
                source(),
                which("storage_encrypted", |v| v == &json!(false)),
            ),
            fact(
                "aws.rds.public_instances",
                source(),
                which("publicly_accessible", |v| v == &json!(true)),
            ),
            fact(
                "aws.rds.instances_without_backups",
                source(),
                which("backup_retention_days", |v| v == &json!(0)),
            ),
            fact(
                "aws.rds.instances_without_deletion_protection",
                source(),
                which("deletion_protection", |v| v == &json!(false)),
            ),
            fact("aws.rds.instances", source(), instances),
        ])
    }
}

/// The instances (as `region/id`) whose `field` is `listed`; unavailable, naming them, when
/// AWS left the field out for some.
fn where_field(
    all: &[Value],
    field: &str,
    listed: fn(&Value) -> bool,
) -> Result<Vec<String>, String> {
    let name = |i: &Value| {
        format!(
            "{}/{}",
            i["region"].as_str().unwrap_or(""),
            i["id"].as_str().unwrap_or("")
        )
    };
    let unknown: Vec<String> = all
        .iter()
        .filter(|i| i[field].is_null())
        .map(name)
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "rds:DescribeDBInstances did not say {field} for {}",
            unknown.join(", ")
        ));
    }
    Ok(all.iter().filter(|i| listed(&i[field])).map(name).collect())
}

/// One instance as evidence; a field AWS left out is null, never a default.
fn instance(region: &str, i: &DbInstance) -> Value {
    let tags: BTreeMap<&str, &str> = i
        .tag_list()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or(""))))
        .collect();
    json!({
        "region": region,
        "id": i.db_instance_identifier(),
        "engine": i.engine(),
        "storage_encrypted": i.storage_encrypted(),
        "kms_key_id": i.kms_key_id(),
        "backup_retention_days": i.backup_retention_period(),
        "publicly_accessible": i.publicly_accessible(),
        "multi_az": i.multi_az(),
        "deletion_protection": i.deletion_protection(),
        "tags": tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::Tag;

    #[test]
    fn an_instance_as_evidence() {
        let i = DbInstance::builder()
            .db_instance_identifier("orders")
            .engine("postgres")
            .storage_encrypted(true)
            .backup_retention_period(7)
            .publicly_accessible(false)
            .tag_list(Tag::builder().key("data").value("personal").build())
            .build();
        let v = instance("eu-west-1", &i);
        assert_eq!(v["id"], "orders");
        assert_eq!(v["storage_encrypted"], true);
        assert_eq!(v["backup_retention_days"], 7);
        assert_eq!(v["publicly_accessible"], false);
        assert_eq!(v["tags"], json!({"data": "personal"}));
        // A field AWS leaves out is null, and a summary over it is unavailable, not empty.
        let bare = instance(
            "eu-west-1",
            &DbInstance::builder().db_instance_identifier("x").build(),
        );
        assert_eq!(bare["publicly_accessible"], Value::Null);
        assert_eq!(
            where_field(&[v.clone(), bare], "publicly_accessible", |p| p
                == &json!(true))
            .unwrap_err(),
            "rds:DescribeDBInstances did not say publicly_accessible for eu-west-1/x"
        );
        assert_eq!(
            where_field(std::slice::from_ref(&v), "publicly_accessible", |p| p
                == &json!(true))
            .unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            where_field(&[v], "storage_encrypted", |p| p == &json!(true)).unwrap(),
            ["eu-west-1/orders"]
        );
    }
}
