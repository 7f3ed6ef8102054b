# METADATA
# title: Every S3 bucket logs access to it
# description: >-
#   Every S3 bucket has server access logging on, except the buckets that receive other
#   buckets' access logs (logging a log bucket into itself would log its own writes
#   endlessly), so who read or changed which object can be traced.
# custom:
#   id: aws.s3.access_logging_enabled
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: exact
#       why: Server access logs record the requests made to each bucket.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.s3.buckets
#     - aws.s3.buckets_without_logging
#   remediation: >-
#     Turn on server access logging for each bucket listed, into a dedicated log bucket (or
#     record S3 data events with CloudTrail and record that as an exception).
#   freshness: 24h
package vouch.policies.aws.s3.access_logging_enabled

import data.vouch.lib
import data.vouch.lib.aws

buckets := input.evidence["aws.s3.buckets"]

targets := {b.logging.target_bucket | some b in buckets; is_object(b.logging)}

unlogged := [n | some n in input.evidence["aws.s3.buckets_without_logging"]; not n in targets]

not_applicable := aws.no_buckets(buckets)

deny contains msg if msg := lib.listed("buckets without server access logging", unlogged)

allow := sprintf("every bucket but the log bucket(s) %s logs access to it", [lib.names(sort(targets))]) if {
	unlogged == []
	count(targets) > 0
}

allow := aws.all_buckets("server access logging is on", buckets, unlogged) if count(targets) == 0
