# METADATA
# title: No container outside the system namespaces runs as root
# description: >-
#   No container of a running or pending pod outside kube-system, kube-public and
#   kube-node-lease has an effective runAsUser of 0, which makes a container escape a root
#   compromise of the node. Windows pods are not judged.
# custom:
#   id: kubernetes.pods.no_root_containers
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: A container running as root holds more privilege than it needs.
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: No container running as root is part of the workload baseline.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.pods.containers_run_as_root
#   remediation: >-
#     Set a non-zero runAsUser (and runAsNonRoot: true) in the securityContext of each
#     container listed, and build its image to run as an unprivileged user.
#   freshness: 24h
package vouch.policies.kubernetes.pods.no_root_containers

import data.vouch.lib.kubernetes

containers := input.evidence["kubernetes.pods.containers_run_as_root"]

deny contains msg if msg := kubernetes.workload_problem("containers running as root (runAsUser 0)", containers)

allow := kubernetes.workload_clean("container set to run as root", containers)
