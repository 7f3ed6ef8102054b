//! KMS, per region: automatic rotation of customer-managed keys (AWS-managed keys rotate on
//! AWS's schedule and are left out).

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyState, OriginType};
use serde_json::{Value, json};
use vouch_evidence::Source as ItemSource;

use super::client::{ApiCall, Session, api_error, client, for_each};
use super::{all_regions, per_region};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "aws.kms.customer_keys",
        value_type: ValueType::ObjectList,
        meaning: "One object per customer-managed key: `region`, `key_id`, `state`, `spec`, \
                  `origin`, `rotation` (enabled, disabled, not_supported for asymmetric, HMAC, \
                  imported and custom key store keys, not_applicable for keys pending deletion \
                  or import), `rotation_period_days`.",
        source: "kms:ListKeys, kms:DescribeKey, kms:GetKeyRotationStatus",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.kms.keys_without_rotation",
        value_type: ValueType::StringList,
        meaning: "Enabled customer-managed keys that support automatic rotation but do not \
                  have it on, as `region/key-id`.",
        source: "kms:GetKeyRotationStatus",
        context_only: None,
    },
];

/// The calls this area makes.
pub const CALLS: &[ApiCall] = &[
    ApiCall {
        api: "kms:ListKeys",
        permission: "kms:ListKeys",
    },
    ApiCall {
        api: "kms:DescribeKey",
        permission: "kms:DescribeKey",
    },
    ApiCall {
        api: "kms:GetKeyRotationStatus",
        permission: "kms:GetKeyRotationStatus",
    },
];

/// The collector.
pub struct KmsArea(pub Arc<Session>);

#[async_trait]
impl Collector for KmsArea {
    fn name(&self) -> &'static str {
        "aws.kms"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, _ctx: &CollectContext) -> Result<Facts, CollectError> {
        let session = &self.0;
        let limit = session.config().max_concurrent_requests;
        let keys = per_region(session, |sdk, region| async move {
            let kms = client!(aws_sdk_kms, session, &sdk);
            let ids: Vec<String> = kms
                .list_keys()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| api_error("kms:ListKeys", &e))?
                .into_iter()
                .filter_map(|k| k.key_id().map(str::to_string))
                .collect();
            let keys = for_each(ids, limit, |id| customer_key(&kms, &region, id)).await;
            let keys: Vec<Option<Value>> = keys.into_iter().collect::<Result<_, _>>()?;
            Ok(keys.into_iter().flatten().collect::<Vec<_>>())
        })
        .await
        .and_then(all_regions)
        .map(|r| r.into_iter().flat_map(|(_, keys)| keys).collect::<Vec<_>>());
        let without_rotation = keys.clone().map(|keys| {
            keys.iter()
                .filter(|k| k["state"] == "Enabled" && k["rotation"] == "disabled")
                .map(|k| {
                    format!(
                        "{}/{}",
                        k["region"].as_str().unwrap_or(""),
                        k["key_id"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
        });
        Ok(vec![
            fact(
                "aws.kms.customer_keys",
                ItemSource::Api("kms:DescribeKey".into()),
                keys,
            ),
            fact(
                "aws.kms.keys_without_rotation",
                ItemSource::Api("kms:GetKeyRotationStatus".into()),
                without_rotation,
            ),
        ])
    }
}

/// Whether KMS rotates keys of this spec and origin automatically.
fn rotation_supported(spec: Option<&KeySpec>, origin: Option<&OriginType>) -> bool {
    spec == Some(&KeySpec::SymmetricDefault) && origin == Some(&OriginType::AwsKms)
}

/// The key as evidence when it is customer-managed; `None` for AWS-managed keys.
async fn customer_key(
    kms: &aws_sdk_kms::Client,
    region: &str,
    id: String,
) -> Result<Option<Value>, String> {
    let described = kms
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .map_err(|e| api_error("kms:DescribeKey", &e))?;
    let Some(meta) = described.key_metadata() else {
        return Err(format!("kms:DescribeKey answered no metadata for key {id}"));
    };
    if meta.key_manager() != Some(&KeyManagerType::Customer) {
        return Ok(None);
    }
    let state = meta.key_state();
    let (rotation, period) = if !rotation_supported(meta.key_spec(), meta.origin()) {
        ("not_supported", None)
    } else if !matches!(state, Some(KeyState::Enabled) | Some(KeyState::Disabled)) {
        ("not_applicable", None)
    } else {
        let status = kms
            .get_key_rotation_status()
            .key_id(&id)
            .send()
            .await
            .map_err(|e| api_error("kms:GetKeyRotationStatus", &e))?;
        let on = status.key_rotation_enabled();
        (
            if on { "enabled" } else { "disabled" },
            status.rotation_period_in_days().filter(|_| on),
        )
    };
    Ok(Some(json!({
        "region": region,
        "key_id": meta.key_id(),
        "state": state.map(|s| s.as_str()),
        "spec": meta.key_spec().map(|s| s.as_str()),
        "origin": meta.origin().map(|o| o.as_str()),
        "rotation": rotation,
        "rotation_period_days": period,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_symmetric_kms_generated_keys_rotate() {
        assert!(rotation_supported(
            Some(&KeySpec::SymmetricDefault),
            Some(&OriginType::AwsKms)
        ));
        assert!(!rotation_supported(
            Some(&KeySpec::Rsa2048),
            Some(&OriginType::AwsKms)
        ));
        assert!(!rotation_supported(
            Some(&KeySpec::Hmac256),
            Some(&OriginType::AwsKms)
        ));
        assert!(!rotation_supported(
            Some(&KeySpec::SymmetricDefault),
            Some(&OriginType::External)
        ));
        assert!(!rotation_supported(
            Some(&KeySpec::SymmetricDefault),
            Some(&OriginType::AwsCloudhsm)
        ));
        assert!(!rotation_supported(None, None));
    }
}
