# METADATA
# title: The multi-region trail's logs are tamper-evident
# description: >-
#   Some logging multi-region CloudTrail trail has log file validation on: CloudTrail signs
#   a digest of each hour's log files, so a log file deleted or changed afterwards is
#   detected.
# custom:
#   id: aws.cloudtrail.log_file_validation
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: exact
#       why: Log-file validation makes the account's activity log tamper-evident, as logging requires.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.cloudtrail.trails
#     - aws.cloudtrail.multi_region_log_validation
#   remediation: >-
#     Turn on log file validation on the multi-region trail (aws cloudtrail update-trail
#     --name TRAIL --enable-log-file-validation).
#   freshness: 24h
package vouch.policies.aws.cloudtrail.log_file_validation

import data.vouch.lib

validated := [t.name |
	some t in input.evidence["aws.cloudtrail.trails"]
	t.multi_region == true
	t.logging == true
	t.log_file_validation == true
]

deny contains "no logging multi-region trail has log file validation on" if {
	input.evidence["aws.cloudtrail.multi_region_log_validation"] == false
}

allow := lib.listed("multi-region trails logging with log file validation", validated) if {
	input.evidence["aws.cloudtrail.multi_region_log_validation"] == true
}
