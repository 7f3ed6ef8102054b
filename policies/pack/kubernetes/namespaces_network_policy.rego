# METADATA
# title: Every namespace outside the system namespaces has a NetworkPolicy
# description: >-
#   Every namespace other than kube-system, kube-public and kube-node-lease holds at least
#   one NetworkPolicy. Without one, every pod in it accepts traffic from any pod of the
#   cluster and may reach any destination. (A NetworkPolicy is enforced only when the
#   cluster's network plugin supports them.)
# custom:
#   id: kubernetes.namespaces.network_policy_present
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.22  # Segregation of networks
#       relation: supporting
#       why: "Any NetworkPolicy passes, not only a default deny: evidence of segregation, not a test of it."
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.namespaces.without_network_policy
#   remediation: >-
#     Add a default-deny NetworkPolicy (podSelector: {}, policyTypes Ingress and Egress) to
#     each namespace listed, then policies allowing the traffic its workloads need.
#   freshness: 24h
package vouch.policies.kubernetes.namespaces.network_policy_present

import data.vouch.lib.kubernetes

open := input.evidence["kubernetes.namespaces.without_network_policy"]

deny contains msg if msg := kubernetes.workload_problem("namespaces without a NetworkPolicy", open)

allow := kubernetes.workload_clean("namespace without a NetworkPolicy", open)
