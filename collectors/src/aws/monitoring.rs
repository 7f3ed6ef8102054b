//! Monitoring of the account's API activity, as CIS AWS Foundations section 4 asks it: the
//! CloudWatch Logs groups that receive a multi-region trail's events, the metric filters on them
//! that pick out root use, IAM policy changes and console sign-in failures, and the CloudWatch
//! alarms with an action on those filters' metrics. And whether GuardDuty and Security Hub are
//! on in each region.
//!
//! A filter is recognised by what its pattern tests (the CIS patterns' terms, compared without
//! case or spaces), not by its name.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::MetricAlarm;
use aws_sdk_cloudwatchlogs::types::MetricFilter;
use serde_json::json;
use vouch_evidence::Source as ItemSource;

use super::client::{ApiCall, Session, absent_if, api_error, client};
use super::{per_region, regional_fact};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "aws.monitoring.trail_log_groups",
        value_type: ValueType::StringList,
        meaning: "CloudWatch Logs groups that receive the events of a multi-region trail, as \
                  `region/log-group`: where metric filters can see the whole account's API \
                  activity.",
        source: "cloudtrail:DescribeTrails (CloudWatchLogsLogGroupArn)",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.monitoring.event_metric_filters",
        value_type: ValueType::Object,
        meaning: "For each event family CIS AWS 4.x asks an alarm for (`root_usage`, \
                  `iam_policy_changes`, `console_signin_failures`), the metric filters on those \
                  log groups whose pattern tests it, as `region/log-group/filter → \
                  namespace/metric`.",
        source: "logs:DescribeMetricFilters",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.monitoring.event_alarms",
        value_type: ValueType::Object,
        meaning: "For each event family, the CloudWatch alarms on a matching filter's metric \
                  that have an alarm action (actions enabled), as `region/alarm`.",
        source: "cloudwatch:DescribeAlarms",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.guardduty.detectors",
        value_type: ValueType::Object,
        meaning: "Per region (region → `enabled`, `disabled` or `none`): the state of the \
                  region's GuardDuty detector, `none` when it has none.",
        source: "guardduty:ListDetectors, guardduty:GetDetector",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.securityhub.enabled",
        value_type: ValueType::Object,
        meaning: "Per region (region → bool): the account is subscribed to Security Hub there \
                  (false when Security Hub answers that it is not).",
        source: "securityhub:DescribeHub",
        context_only: None,
    },
];

/// The calls this area makes (the SDK names CloudWatch Logs `cloudwatchlogs`, IAM `logs`).
pub const CALLS: &[ApiCall] = &[
    ApiCall {
        api: "cloudwatchlogs:DescribeMetricFilters",
        permission: "logs:DescribeMetricFilters",
    },
    ApiCall {
        api: "cloudwatch:DescribeAlarms",
        permission: "cloudwatch:DescribeAlarms",
    },
    ApiCall {
        api: "guardduty:ListDetectors",
        permission: "guardduty:ListDetectors",
    },
    ApiCall {
        api: "guardduty:GetDetector",
        permission: "guardduty:GetDetector",
    },
    ApiCall {
        api: "securityhub:DescribeHub",
        permission: "securityhub:DescribeHub",
    },
];

/// An event family: its name, the terms (lower case, no spaces) a filter pattern must all hold,
/// and the event names it must all test with `$.eventName =`.
struct Family {
    name: &'static str,
    terms: &'static [&'static str],
    events: &'static [&'static str],
}

/// The families, as the CIS patterns write them.
const FAMILIES: &[Family] = &[
    Family {
        name: "root_usage",
        terms: &[
            "$.useridentity.type=\"root\"",
            "$.useridentity.invokedbynotexists",
            "$.eventtype!=\"awsserviceevent\"",
        ],
        events: &[],
    },
    Family {
        name: "iam_policy_changes",
        terms: &[],
        events: &[
            "deletegrouppolicy",
            "deleterolepolicy",
            "deleteuserpolicy",
            "putgrouppolicy",
            "putrolepolicy",
            "putuserpolicy",
            "createpolicy",
            "deletepolicy",
            "createpolicyversion",
            "deletepolicyversion",
            "attachrolepolicy",
            "detachrolepolicy",
            "attachuserpolicy",
            "detachuserpolicy",
            "attachgrouppolicy",
            "detachgrouppolicy",
        ],
    },
    Family {
        name: "console_signin_failures",
        terms: &["$.errormessage=\"failedauthentication\""],
        events: &["consolelogin"],
    },
];

/// The families whose terms and event names a filter pattern holds.
fn families_of(pattern: &str) -> Vec<&'static str> {
    let flat: String = pattern
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    // Every name compared with `$.eventName =`, quoted or not.
    let events: BTreeSet<&str> = flat
        .split("$.eventname=")
        .skip(1)
        .map(|rest| {
            let rest = rest.trim_start_matches('"');
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    FAMILIES
        .iter()
        .filter(|f| f.terms.iter().all(|t| flat.contains(t)))
        .filter(|f| f.events.iter().all(|e| events.contains(e)))
        .map(|f| f.name)
        .collect()
}

/// The name of a log group from its ARN (`arn:aws:logs:r:a:log-group:NAME:*`).
fn log_group_name(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":log-group:")?.1;
    Some(rest.strip_suffix(":*").unwrap_or(rest))
}

/// A metric filter that tests an event family: (family, `region/log-group/filter →
/// namespace/metric`, (namespace, metric)).
type Found = (&'static str, String, (String, String));

/// What one region's monitoring answered.
struct Region {
    log_groups: Result<Vec<String>, String>,
    filters: Result<Vec<Found>, String>,
    alarms: Result<Vec<MetricAlarm>, String>,
    guardduty: Result<&'static str, String>,
    securityhub: Result<bool, String>,
}

/// The collector.
pub struct MonitoringArea(pub Arc<Session>);

/// Every (family, reference, metric) of the filters of `group` in `region`.
fn matching(
    region: &str,
    group: &str,
    filters: &[MetricFilter],
) -> Vec<Found> {
    let mut out = Vec::new();
    for f in filters {
        let families = families_of(f.filter_pattern().unwrap_or(""));
        for t in f.metric_transformations() {
            let metric = (
                t.metric_namespace().to_string(),
                t.metric_name().to_string(),
            );
            for family in &families {
                out.push((
                    *family,
                    format!(
                        "{region}/{group}/{} → {}/{}",
                        f.filter_name().unwrap_or(""),
                        metric.0,
                        metric.1
                    ),
                    metric.clone(),
                ));
            }
        }
    }
    out
}

/// `region/alarm` of the alarms with an action on a metric of `metrics`.
fn alarms_on(region: &str, alarms: &[MetricAlarm], metrics: &BTreeSet<(String, String)>) -> Vec<String> {
    alarms
        .iter()
        .filter(|a| a.actions_enabled() != Some(false) && !a.alarm_actions().is_empty())
        .filter(|a| match (a.namespace(), a.metric_name()) {
            (Some(ns), Some(m)) => metrics.contains(&(ns.to_string(), m.to_string())),
            _ => false,
        })
        .map(|a| format!("{region}/{}", a.alarm_name().unwrap_or("")))
        .collect()
}

#[async_trait]
impl Collector for MonitoringArea {
    fn name(&self) -> &'static str {
        "aws.monitoring"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, _ctx: &CollectContext) -> Result<Facts, CollectError> {
        let session = &self.0;
        let regions = per_region(session, |sdk, region| async move {
            let ct = client!(aws_sdk_cloudtrail, session, &sdk);
            let logs = client!(aws_sdk_cloudwatchlogs, session, &sdk);
            let cw = client!(aws_sdk_cloudwatch, session, &sdk);
            let gd = client!(aws_sdk_guardduty, session, &sdk);
            let hub = client!(aws_sdk_securityhub, session, &sdk);
            // Trails homed here; a multi-region trail's log group is in its home region.
            let groups: Result<Vec<String>, String> = ct
                .describe_trails()
                .include_shadow_trails(false)
                .send()
                .await
                .map(|o| {
                    o.trail_list()
                        .iter()
                        .filter(|t| t.is_multi_region_trail() == Some(true))
                        .filter_map(|t| t.cloud_watch_logs_log_group_arn())
                        .filter_map(log_group_name)
                        .map(str::to_string)
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect()
                })
                .map_err(|e| api_error("cloudtrail:DescribeTrails", &e));
            let filters: Result<Vec<_>, String> = async {
                let mut all = Vec::new();
                for group in groups.as_ref().map_err(Clone::clone)? {
                    let found: Vec<MetricFilter> = logs
                        .describe_metric_filters()
                        .log_group_name(group)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect()
                        .await
                        .map_err(|e| api_error("logs:DescribeMetricFilters", &e))?;
                    all.extend(matching(&region, group, &found));
                }
                Ok(all)
            }
            .await;
            let alarms = match &filters {
                Ok(f) if f.is_empty() => Ok(Vec::new()),
                _ => cw
                    .describe_alarms()
                    .into_paginator()
                    .send()
                    .try_collect()
                    .await
                    .map(|pages| {
                        pages
                            .iter()
                            .flat_map(|p| p.metric_alarms().iter().cloned())
                            .collect()
                    })
                    .map_err(|e| api_error("cloudwatch:DescribeAlarms", &e)),
            };
            let guardduty = guardduty_state(&gd).await;
            let securityhub = subscribed(hub.describe_hub().send().await);
            Ok(Region {
                log_groups: groups.map(|g| g.iter().map(|n| format!("{region}/{n}")).collect()),
                filters,
                alarms,
                guardduty,
                securityhub,
            })
        })
        .await;
        let api = |a: &str| ItemSource::Api(a.into());
        let groups = regional_fact(&regions, |r| &r.log_groups)
            .map(|g| g.into_iter().flat_map(|(_, g)| g).collect::<Vec<_>>());
        let filters = regional_fact(&regions, |r| &r.filters);
        let by_family = filters.as_ref().map_err(Clone::clone).map(|all| {
            let mut out: BTreeMap<&str, Vec<String>> =
                FAMILIES.iter().map(|f| (f.name, Vec::new())).collect();
            for (_, found) in all {
                for (family, reference, _) in found {
                    out.entry(*family).or_default().push(reference.clone());
                }
            }
            json!(out)
        });
        let alarms = regional_fact(&regions, |r| &r.alarms).and_then(|alarms| {
            let filters = filters.clone()?;
            let mut out: BTreeMap<&str, Vec<String>> =
                FAMILIES.iter().map(|f| (f.name, Vec::new())).collect();
            for ((region, found), (_, alarms)) in filters.iter().zip(&alarms) {
                for family in FAMILIES {
                    let metrics: BTreeSet<(String, String)> = found
                        .iter()
                        .filter(|(f, _, _)| *f == family.name)
                        .map(|(_, _, m)| m.clone())
                        .collect();
                    out.entry(family.name)
                        .or_default()
                        .extend(alarms_on(region, alarms, &metrics));
                }
            }
            Ok(json!(out))
        });
        let detectors = regional_fact(&regions, |r| &r.guardduty)
            .map(|d| json!(d.into_iter().collect::<BTreeMap<_, _>>()));
        let hubs = regional_fact(&regions, |r| &r.securityhub)
            .map(|h| json!(h.into_iter().collect::<BTreeMap<_, _>>()));
        Ok(vec![
            fact(
                "aws.monitoring.trail_log_groups",
                api("cloudtrail:DescribeTrails"),
                groups,
            ),
            fact(
                "aws.monitoring.event_metric_filters",
                api("logs:DescribeMetricFilters"),
                by_family,
            ),
            fact(
                "aws.monitoring.event_alarms",
                api("cloudwatch:DescribeAlarms"),
                alarms,
            ),
            fact(
                "aws.guardduty.detectors",
                api("guardduty:GetDetector"),
                detectors,
            ),
            fact(
                "aws.securityhub.enabled",
                api("securityhub:DescribeHub"),
                hubs,
            ),
        ])
    }
}

/// Whether DescribeHub found the account subscribed: Security Hub refuses an account that is
/// not with InvalidAccessException.
fn subscribed<T, E, R>(answer: Result<T, aws_sdk_securityhub::error::SdkError<E, R>>) -> Result<bool, String>
where
    E: aws_sdk_securityhub::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    absent_if("securityhub:DescribeHub", answer, &["InvalidAccessException"]).map(|hub| hub.is_some())
}

/// The region's detector state: `enabled` when any detector is, else `disabled`, else `none`.
async fn guardduty_state(gd: &aws_sdk_guardduty::Client) -> Result<&'static str, String> {
    let ids: Vec<String> = gd
        .list_detectors()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| api_error("guardduty:ListDetectors", &e))?;
    let mut state = "none";
    for id in ids {
        let detector = gd
            .get_detector()
            .detector_id(&id)
            .send()
            .await
            .map_err(|e| api_error("guardduty:GetDetector", &e))?;
        if detector.status() == Some(&aws_sdk_guardduty::types::DetectorStatus::Enabled) {
            return Ok("enabled");
        }
        state = "disabled";
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::types::MetricTransformation;

    fn alarm(name: &str, namespace: &str, metric: &str, actions: &[&str]) -> MetricAlarm {
        let mut a = MetricAlarm::builder()
            .alarm_name(name)
            .namespace(namespace)
            .metric_name(metric)
            .actions_enabled(true);
        for action in actions {
            a = a.alarm_actions(*action);
        }
        a.build()
    }

    /// The patterns of the CIS AWS Foundations Benchmark, as its remediation gives them.
    const ROOT: &str = r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#;
    const IAM: &str = r#"{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}"#;
    const SIGNIN: &str =
        r#"{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }"#;

    fn filter(name: &str, pattern: &str, metric: &str) -> MetricFilter {
        MetricFilter::builder()
            .filter_name(name)
            .filter_pattern(pattern)
            .metric_transformations(
                MetricTransformation::builder()
                    .metric_namespace("CISBenchmark")
                    .metric_name(metric)
                    .metric_value("1")
                    .build()
                    .unwrap(),
            )
            .build()
    }

    #[test]
    fn the_cis_patterns_are_recognised_and_partial_ones_are_not() {
        assert_eq!(families_of(ROOT), ["root_usage"]);
        assert_eq!(families_of(IAM), ["iam_policy_changes"]);
        assert_eq!(families_of(SIGNIN), ["console_signin_failures"]);
        // Root use without excluding AWS services' own events; IAM changes missing detaches.
        assert!(families_of(r#"{ $.userIdentity.type = "Root" }"#).is_empty());
        assert!(
            families_of(&IAM.replace("||($.eventName=DetachGroupPolicy)", "")).is_empty()
        );
        // DeletePolicyVersion does not stand for DeletePolicy.
        assert!(families_of(&IAM.replace("||($.eventName=DeletePolicy)", "")).is_empty());
        assert!(families_of(r#"{ $.eventName = ConsoleLogin }"#).is_empty());
    }

    #[test]
    fn the_cis_signin_pattern_with_quotes_is_recognised() {
        // The quotes around ConsoleLogin are optional in the filter syntax.
        assert_eq!(
            families_of(r#"{ ($.eventName = "ConsoleLogin") && ($.errorMessage = "Failed authentication") }"#),
            ["console_signin_failures"]
        );
    }

    #[test]
    fn alarms_count_only_with_an_action_on_a_matching_metric() {
        let found = matching(
            "us-east-1",
            "cloudtrail-logs",
            &[
                filter("root-usage", ROOT, "RootUsage"),
                filter("iam-changes", IAM, "IAMPolicyChanges"),
                filter("everything", "", "AllEvents"),
            ],
        );
        assert_eq!(
            found.iter().map(|(f, r, _)| (*f, r.as_str())).collect::<Vec<_>>(),
            [
                ("root_usage", "us-east-1/cloudtrail-logs/root-usage → CISBenchmark/RootUsage"),
                (
                    "iam_policy_changes",
                    "us-east-1/cloudtrail-logs/iam-changes → CISBenchmark/IAMPolicyChanges"
                ),
            ]
        );
        let root: BTreeSet<(String, String)> =
            [("CISBenchmark".to_string(), "RootUsage".to_string())].into();
        let sns = "arn:aws:sns:us-east-1:123456789012:security-alerts";
        let alarms = [
            alarm("root-usage", "CISBenchmark", "RootUsage", &[sns]),
            alarm("root-usage-silent", "CISBenchmark", "RootUsage", &[]),
            alarm("iam", "CISBenchmark", "IAMPolicyChanges", &[sns]),
        ];
        assert_eq!(alarms_on("us-east-1", &alarms, &root), ["us-east-1/root-usage"]);
        let disabled = MetricAlarm::builder()
            .alarm_name("off")
            .namespace("CISBenchmark")
            .metric_name("RootUsage")
            .actions_enabled(false)
            .alarm_actions(sns)
            .build();
        assert!(alarms_on("us-east-1", &[disabled], &root).is_empty());
    }

    #[test]
    fn an_account_not_subscribed_to_security_hub_is_false_other_refusals_are_reasons() {
        use aws_sdk_securityhub::error::{ErrorMetadata, SdkError};
        use aws_sdk_securityhub::operation::describe_hub::DescribeHubError;
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        let refused = |status: u16, code: &str, message: &str| {
            let meta = ErrorMetadata::builder().code(code).message(message).build();
            SdkError::service_error(
                DescribeHubError::generic(meta),
                Response::new(
                    StatusCode::try_from(status).unwrap(),
                    aws_sdk_s3::primitives::SdkBody::empty(),
                ),
            )
        };
        assert_eq!(
            subscribed::<(), _, _>(Err(refused(
                401,
                "InvalidAccessException",
                "Account 123456789012 is not subscribed to AWS Security Hub"
            ))),
            Ok(false)
        );
        assert_eq!(
            subscribed::<(), _, _>(Err(refused(403, "AccessDeniedException", "not authorized"))),
            Err("securityhub:DescribeHub: AccessDeniedException: not authorized".to_string())
        );
        assert_eq!(
            subscribed::<_, DescribeHubError, Response>(Ok(())),
            Ok(true)
        );
    }

    #[test]
    fn log_group_names_come_from_their_arns() {
        assert_eq!(
            log_group_name("arn:aws:logs:us-east-1:123456789012:log-group:aws-cloudtrail-logs:*"),
            Some("aws-cloudtrail-logs")
        );
        assert_eq!(
            log_group_name("arn:aws:logs:us-east-1:123456789012:log-group:/org/trail"),
            Some("/org/trail")
        );
        assert_eq!(log_group_name("arn:aws:s3:::bucket"), None);
    }
}
