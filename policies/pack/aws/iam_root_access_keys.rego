# METADATA
# title: The root user has no access key
# description: >-
#   The account's root user has no active access key: a root key is an unrestricted,
#   long-lived credential that no IAM policy or MFA can limit.
# custom:
#   id: aws.iam.no_root_access_keys
#   severity: critical
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: exact
#       why: A root access key is an unrestricted privileged credential that should not exist.
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: supporting
#       why: A root key is authentication information; its absence is first a matter of privileged access.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.iam.root_access_keys_present
#   remediation: >-
#     Sign in as the root user, move whatever uses the key to an IAM role, then deactivate
#     and delete the key under Security credentials.
#   freshness: 24h
package vouch.policies.aws.iam.no_root_access_keys

keys := input.evidence["aws.iam.root_access_keys_present"]

deny contains "the root user has an active access key" if keys == true

allow := "the root user has no active access key" if keys == false
