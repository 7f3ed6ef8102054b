# METADATA
# title: The root user has MFA
# description: >-
#   The account's root user, which can do anything and cannot be restricted by IAM, has an
#   MFA device, so its password alone cannot sign in.
# custom:
#   id: aws.iam.root_has_mfa
#   severity: critical
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: MFA on the most privileged identity is secure authentication.
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: Protects the root identity; it says nothing of how privileged access is allocated.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.iam.root_mfa_enabled
#   remediation: >-
#     Sign in as the root user and assign an MFA device (preferably a hardware key) under
#     Security credentials; keep it with the root password in a controlled safe.
#   freshness: 24h
package vouch.policies.aws.iam.root_has_mfa

mfa := input.evidence["aws.iam.root_mfa_enabled"]

deny contains "the root user has no MFA device" if mfa == false

allow := "the root user has an MFA device" if mfa == true
