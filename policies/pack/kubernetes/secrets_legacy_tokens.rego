# METADATA
# title: No long-lived service account token secrets
# description: >-
#   No Secret of type kubernetes.io/service-account-token exists: such a token never expires
#   and stays valid until the Secret is deleted, unlike the short-lived, audience-bound tokens
#   pods get through projected volumes (Kubernetes no longer creates these Secrets by itself
#   since 1.24). Counted from metadata only; no token is read.
# custom:
#   id: kubernetes.secrets.no_legacy_service_account_tokens
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: Long-lived service account token secrets are unmanaged authentication information.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.secrets.count_by_type
#   remediation: >-
#     Find them (kubectl get secrets -A --field-selector type=kubernetes.io/service-account-token),
#     move their users to short-lived tokens (kubectl create token, TokenRequest, projected
#     volumes) and delete the Secrets.
#   freshness: 24h
package vouch.policies.kubernetes.secrets.no_legacy_service_account_tokens

n := input.evidence["kubernetes.secrets.count_by_type"]["kubernetes.io/service-account-token"]

deny contains sprintf("%d Secret(s) of type kubernetes.io/service-account-token hold non-expiring tokens", [n]) if n > 0

allow := "no Secret holds a non-expiring service account token" if n == 0
