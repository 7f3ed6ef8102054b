# METADATA
# title: Every container outside the system namespaces has CPU and memory limits
# description: >-
#   Every container and init container of a running or pending pod outside kube-system,
#   kube-public and kube-node-lease has both a CPU and a memory limit (its own or its pod's),
#   so one workload cannot exhaust its node's capacity and starve the others.
# custom:
#   id: kubernetes.pods.resource_limits_set
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.6  # Capacity management
#       relation: supporting
#       why: Limits bound each container's use of resources; capacity planning is not tested.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.pods.containers_without_limits
#   remediation: >-
#     Set resources.limits.cpu and resources.limits.memory on each container listed, or a
#     LimitRange with defaults in its namespace.
#   freshness: 24h
package vouch.policies.kubernetes.pods.resource_limits_set

import data.vouch.lib.kubernetes

containers := input.evidence["kubernetes.pods.containers_without_limits"]

deny contains msg if msg := kubernetes.workload_problem("containers without both a CPU and a memory limit", containers)

allow := kubernetes.workload_clean("container without CPU and memory limits", containers)
