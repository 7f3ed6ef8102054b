# METADATA
# title: No privileged container outside the system namespaces
# description: >-
#   No container of a running or pending pod outside kube-system, kube-public and
#   kube-node-lease runs privileged: a privileged container has every capability and the
#   node's devices, so it is root on the node.
# custom:
#   id: kubernetes.pods.no_privileged_containers
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: No privileged container is part of the workload baseline.
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: A privileged container holds the node's privileges; who may run one is not tested.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.pods.privileged_containers
#   remediation: >-
#     Remove "privileged: true" from the securityContext of each container listed and add
#     only the capabilities it needs; enforce the baseline Pod Security level in its
#     namespace.
#   freshness: 24h
package vouch.policies.kubernetes.pods.no_privileged_containers

import data.vouch.lib.kubernetes

containers := input.evidence["kubernetes.pods.privileged_containers"]

deny contains msg if msg := kubernetes.workload_problem("privileged containers", containers)

allow := kubernetes.workload_clean("privileged container", containers)
