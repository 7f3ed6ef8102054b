# METADATA
# title: Every IAM user who can sign in to the console has MFA
# description: >-
#   Every IAM user with a console password also has an active MFA device, per the
#   credential report.
# custom:
#   id: aws.iam.console_users_have_mfa
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: MFA for every console user is secure authentication.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.iam.users
#     - aws.iam.console_users_without_mfa
#   remediation: >-
#     Have each user listed assign an MFA device, or remove their console password; enforce
#     it with a policy denying actions without aws:MultiFactorAuthPresent, or move people to
#     IAM Identity Center.
#   freshness: 24h
package vouch.policies.aws.iam.console_users_have_mfa

import data.vouch.lib

console := [u.name | some u in input.evidence["aws.iam.users"]; u.console_access == true]

without := input.evidence["aws.iam.console_users_without_mfa"]

deny contains msg if msg := lib.listed("IAM users who can sign in to the console without MFA", without)

allow := sprintf("all %d IAM users with console access have MFA", [count(console)]) if without == []
