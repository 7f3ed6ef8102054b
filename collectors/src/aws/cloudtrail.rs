//! CloudTrail: the account's trails, whether each is logging, and whether a multi-region trail
//! logs with log file validation.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::Trail;
use serde_json::{Value, json};
use vouch_evidence::Source as ItemSource;

use super::client::{ApiCall, Session, api_error, client, for_each};
use super::{all_regions, per_region};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "aws.cloudtrail.trails",
        value_type: ValueType::ObjectList,
        meaning: "One object per trail seen from the collected regions (multi-region trails \
                  once): `name`, `arn`, `home_region`, `multi_region`, `organization`, \
                  `logging` (null when its status could not be read, with the reason in \
                  `unavailable`), `log_file_validation`, `s3_bucket`, `kms_encrypted`.",
        source: "cloudtrail:DescribeTrails, cloudtrail:GetTrailStatus",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.cloudtrail.multi_region_logging",
        value_type: ValueType::Bool,
        meaning: "Some multi-region trail is logging.",
        source: "cloudtrail:GetTrailStatus",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.cloudtrail.multi_region_log_validation",
        value_type: ValueType::Bool,
        meaning: "Some multi-region trail is logging and has log file validation (signed \
                  digest files) on.",
        source: "cloudtrail:DescribeTrails, cloudtrail:GetTrailStatus",
        context_only: None,
    },
];

/// The calls this area makes.
pub const CALLS: &[ApiCall] = &[
    ApiCall {
        api: "cloudtrail:DescribeTrails",
        permission: "cloudtrail:DescribeTrails",
    },
    ApiCall {
        api: "cloudtrail:GetTrailStatus",
        permission: "cloudtrail:GetTrailStatus",
    },
];

/// The collector.
pub struct CloudTrailArea(pub Arc<Session>);

#[async_trait]
impl Collector for CloudTrailArea {
    fn name(&self) -> &'static str {
        "aws.cloudtrail"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, _ctx: &CollectContext) -> Result<Facts, CollectError> {
        let session = &self.0;
        let limit = session.config().max_concurrent_requests;
        let trails = per_region(session, |sdk, _region| async move {
            let ct = client!(aws_sdk_cloudtrail, session, &sdk);
            let trails = ct
                .describe_trails()
                .include_shadow_trails(true)
                .send()
                .await
                .map_err(|e| api_error("cloudtrail:DescribeTrails", &e))?
                .trail_list
                .unwrap_or_default();
            Ok((ct, trails))
        })
        .await
        .and_then(all_regions);
        let trails = match trails {
            Ok(regions) => {
                // A multi-region trail shows in every region: keep it once, asking its
                // status (by ARN, which works from any region) with the first region's client.
                let mut seen = BTreeSet::new();
                let unique: Vec<(aws_sdk_cloudtrail::Client, Trail)> = regions
                    .into_iter()
                    .flat_map(|(_, (ct, trails))| trails.into_iter().map(move |t| (ct.clone(), t)))
                    .filter(|(_, t)| {
                        seen.insert(t.trail_arn().or(t.name()).unwrap_or("").to_string())
                    })
                    .collect();
                Ok(for_each(unique, limit, |(ct, t)| async move {
                    let logging = ct
                        .get_trail_status()
                        .name(t.trail_arn().or(t.name()).unwrap_or(""))
                        .send()
                        .await
                        .map(|s| s.is_logging().unwrap_or(false))
                        .map_err(|e| api_error("cloudtrail:GetTrailStatus", &e));
                    (t, logging)
                })
                .await)
            }
            Err(e) => Err(e),
        };
        let api = |a: &str| ItemSource::Api(a.into());
        let list = trails
            .as_ref()
            .map(|t| t.iter().map(|(t, l)| trail_json(t, l)).collect::<Vec<_>>())
            .map_err(Clone::clone);
        let logging = trails
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|t| some_multi_region(t, |_| true));
        let validated = trails
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|t| some_multi_region(t, |t| t.log_file_validation_enabled() == Some(true)));
        Ok(vec![
            fact(
                "aws.cloudtrail.trails",
                api("cloudtrail:DescribeTrails"),
                list,
            ),
            fact(
                "aws.cloudtrail.multi_region_logging",
                api("cloudtrail:GetTrailStatus"),
                logging,
            ),
            fact(
                "aws.cloudtrail.multi_region_log_validation",
                api("cloudtrail:GetTrailStatus"),
                validated,
            ),
        ])
    }
}

/// A trail with its logging status as evidence.
fn trail_json(t: &Trail, logging: &Result<bool, String>) -> Value {
    let unavailable = match logging {
        Ok(_) => json!({}),
        Err(reason) => json!({"logging": reason}),
    };
    json!({
        "name": t.name(),
        "arn": t.trail_arn(),
        "home_region": t.home_region(),
        "multi_region": t.is_multi_region_trail().unwrap_or(false),
        "organization": t.is_organization_trail().unwrap_or(false),
        "logging": logging.as_ref().ok(),
        "log_file_validation": t.log_file_validation_enabled().unwrap_or(false),
        "s3_bucket": t.s3_bucket_name(),
        "kms_encrypted": t.kms_key_id().is_some_and(|k| !k.is_empty()),
        "unavailable": unavailable,
    })
}

/// Whether some multi-region trail that also meets `also` is logging. True as soon as one is
/// known to; false only when every such trail's status was read; otherwise the reasons.
fn some_multi_region(
    trails: &[(Trail, Result<bool, String>)],
    also: impl Fn(&Trail) -> bool,
) -> Result<bool, String> {
    let candidates: Vec<_> = trails
        .iter()
        .filter(|(t, _)| t.is_multi_region_trail() == Some(true) && also(t))
        .collect();
    if candidates.iter().any(|(_, l)| l == &Ok(true)) {
        return Ok(true);
    }
    let unknown: Vec<String> = candidates
        .iter()
        .filter_map(|(t, l)| {
            l.as_ref()
                .err()
                .map(|e| format!("{}: {e}", t.name().unwrap_or("?")))
        })
        .collect();
    if unknown.is_empty() {
        Ok(false)
    } else {
        Err(unknown.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail(name: &str, multi: bool, validation: bool) -> Trail {
        Trail::builder()
            .name(name)
            .is_multi_region_trail(multi)
            .log_file_validation_enabled(validation)
            .build()
    }

    #[test]
    fn a_known_logging_multi_region_trail_decides() {
        let trails = vec![
            (trail("regional", false, true), Ok(true)),
            (trail("all", true, false), Ok(true)),
            (
                trail("unknown", true, true),
                Err("AccessDenied".to_string()),
            ),
        ];
        assert_eq!(some_multi_region(&trails, |_| true), Ok(true));
        // With validation required only the unknown one qualifies: unavailable, not false.
        assert_eq!(
            some_multi_region(&trails, |t| t.log_file_validation_enabled() == Some(true)),
            Err("unknown: AccessDenied".to_string())
        );
        let stopped = vec![
            (trail("regional", false, true), Ok(true)),
            (trail("all", true, true), Ok(false)),
        ];
        assert_eq!(some_multi_region(&stopped, |_| true), Ok(false));
        assert_eq!(some_multi_region(&[], |_| true), Ok(false));
    }

    #[test]
    fn trail_objects_name_what_could_not_be_read() {
        let t = trail("all", true, true);
        let v = trail_json(&t, &Err("cloudtrail:GetTrailStatus: AccessDenied".into()));
        assert_eq!(v["logging"], Value::Null);
        assert_eq!(
            v["unavailable"]["logging"],
            "cloudtrail:GetTrailStatus: AccessDenied"
        );
        assert_eq!(trail_json(&t, &Ok(true))["logging"], true);
    }
}
