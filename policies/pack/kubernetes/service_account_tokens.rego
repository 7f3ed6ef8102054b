# METADATA
# title: No pod outside the system namespaces gets an API token it did not ask for
# description: >-
#   No running or pending pod outside kube-system, kube-public and kube-node-lease has its
#   service account's API token mounted by default: automountServiceAccountToken is false on
#   the pod or its service account unless the workload needs to call the API, so a
#   compromised container holds no credential to the cluster.
# custom:
#   id: kubernetes.service_accounts.no_automounted_tokens
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: Pods receive API credentials only when they ask for them.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.service_accounts.pods_with_automounted_tokens
#   remediation: >-
#     Set automountServiceAccountToken: false on the service accounts (or pod specs) of the
#     pods listed; workloads that call the API should mount a projected token explicitly.
#   freshness: 24h
package vouch.policies.kubernetes.service_accounts.no_automounted_tokens

import data.vouch.lib.kubernetes

pods := input.evidence["kubernetes.service_accounts.pods_with_automounted_tokens"]

deny contains msg if msg := kubernetes.workload_problem("pods with an automounted service account token", pods)

allow := kubernetes.workload_clean("pod with an automounted service account token", pods)
