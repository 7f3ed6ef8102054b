# METADATA
# title: No active access key is older than 90 days
# description: >-
#   Every active IAM user access key was created or rotated within the last 90 days, per the
#   credential report, limiting how long a leaked key stays useful.
# custom:
#   id: aws.iam.access_keys_rotated
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: Rotating long-lived access keys is part of managing authentication information.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.iam.credential_report_generated_at
#     - aws.iam.users_with_old_access_keys
#   remediation: >-
#     Rotate each listed user's key (create a new one, switch its users over, deactivate and
#     delete the old one), or replace the key with a role.
#   freshness: 24h
package vouch.policies.aws.iam.access_keys_rotated

import data.vouch.lib

old := input.evidence["aws.iam.users_with_old_access_keys"]

deny contains msg if msg := lib.listed("IAM users with an active access key older than 90 days", old)

allow := sprintf("no active access key is older than 90 days (credential report of %s)", [input.evidence["aws.iam.credential_report_generated_at"]]) if {
	old == []
}
