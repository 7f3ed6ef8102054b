# METADATA
# title: Alarms fire on root use, IAM policy changes and console sign-in failures
# description: >-
#   A multi-region trail sends the account's API events to CloudWatch Logs, metric filters on
#   that log group pick out root use, IAM policy changes and console sign-in failures (the
#   patterns of CIS AWS Foundations 4.3, 4.4 and 4.6, recognised by what they test), and a
#   CloudWatch alarm with an action watches each filter's metric. Whether anyone receives the
#   action (the SNS topic's subscribers) is not read.
# custom:
#   id: aws.monitoring.cloudtrail_alarms
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.16  # Monitoring activities
#       relation: exact
#       why: The events auditors look for first raise an alert as they happen, not at the next log review.
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: supporting
#       why: The alarms read the trail's events in CloudWatch Logs; the trail itself is judged by the CloudTrail checks.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.monitoring.trail_log_groups
#     - aws.monitoring.event_metric_filters
#     - aws.monitoring.event_alarms
#   remediation: >-
#     Send the multi-region trail to a CloudWatch Logs group (aws cloudtrail update-trail
#     --cloud-watch-logs-log-group-arn ... --cloud-watch-logs-role-arn ...), create the CIS
#     metric filters on it (aws logs put-metric-filter) and an alarm on each metric with an SNS
#     topic as action (aws cloudwatch put-metric-alarm --alarm-actions TOPIC).
#   freshness: 24h
package vouch.policies.aws.monitoring.cloudtrail_alarms

import data.vouch.lib

groups := input.evidence["aws.monitoring.trail_log_groups"]

filters := input.evidence["aws.monitoring.event_metric_filters"]

alarms := input.evidence["aws.monitoring.event_alarms"]

families := {
	"root_usage": "root use",
	"iam_policy_changes": "IAM policy changes",
	"console_signin_failures": "console sign-in failures",
}

deny contains "no multi-region trail sends its events to CloudWatch Logs: no metric filter sees the account's API activity" if {
	groups == []
}

unfiltered := sort([words | some family, words in families; count(object.get(filters, family, [])) == 0])

silent := sort([words |
	some family, words in families
	count(object.get(filters, family, [])) > 0
	count(object.get(alarms, family, [])) == 0
])

deny contains msg if {
	count(groups) > 0
	msg := lib.listed("no metric filter on the trail's log group tests", unfiltered)
}

deny contains msg if msg := lib.listed("metric filters with no alarm acting on them", silent)

allow := sprintf("alarms act on %s", [concat("; ", [sprintf("%s (%s)", [words, lib.names(alarms[family])]) |
	some family, words in families
])]) if {
	count(groups) > 0
	every family, _ in families {
		count(object.get(alarms, family, [])) > 0
	}
}
