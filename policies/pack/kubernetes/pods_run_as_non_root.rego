# METADATA
# title: Every container outside the system namespaces is barred from running as root
# description: >-
#   Every container of a running or pending pod outside kube-system, kube-public and
#   kube-node-lease has an effective runAsNonRoot of true, so the kubelet refuses to start it
#   as root whatever its image says (the restricted Pod Security level). Windows pods are not
#   judged.
# custom:
#   id: kubernetes.pods.run_as_non_root_enforced
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: Containers barred from running as root is part of the workload baseline.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.pods.containers_without_run_as_non_root
#   remediation: >-
#     Set runAsNonRoot: true in the pod's or each container's securityContext, with a
#     non-zero runAsUser or an image whose USER is numeric and not 0.
#   freshness: 24h
package vouch.policies.kubernetes.pods.run_as_non_root_enforced

import data.vouch.lib.kubernetes

containers := input.evidence["kubernetes.pods.containers_without_run_as_non_root"]

deny contains msg if msg := kubernetes.workload_problem("containers without runAsNonRoot", containers)

allow := kubernetes.workload_clean("container without runAsNonRoot", containers)
