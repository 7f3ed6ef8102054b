# METADATA
# title: No IAM user keeps a credential unused for over 90 days
# description: >-
#   No IAM user has a console password or an active access key that has gone unused for more
#   than 90 days (or was never used and is older than that), per the credential report:
#   access that nobody uses is access nobody needs.
# custom:
#   id: aws.iam.unused_credentials_removed
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: exact
#       why: Credentials unused for 90 days are access rights no longer needed, removed as the control asks.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.iam.credential_report_generated_at
#     - aws.iam.users_with_unused_credentials
#   remediation: >-
#     Remove the console password or deactivate the access key of each user listed, and
#     delete users who have left.
#   freshness: 24h
package vouch.policies.aws.iam.unused_credentials_removed

import data.vouch.lib

unused := input.evidence["aws.iam.users_with_unused_credentials"]

deny contains msg if msg := lib.listed("IAM users with a credential unused for over 90 days", unused)

allow := sprintf("every IAM user credential was used within 90 days (credential report of %s)", [input.evidence["aws.iam.credential_report_generated_at"]]) if {
	unused == []
}
