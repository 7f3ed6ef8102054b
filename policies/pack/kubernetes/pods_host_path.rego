# METADATA
# title: No pod outside the system namespaces mounts a node directory
# description: >-
#   No running or pending pod outside kube-system, kube-public and kube-node-lease has a
#   hostPath volume, which exposes the node's files (credentials, the container runtime's
#   socket, other pods' data) to the pod.
# custom:
#   id: kubernetes.pods.no_host_path_volumes
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: No node directory mounted into pods is part of the workload baseline.
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: supporting
#       why: A node directory mounted into a pod exposes the node's files to it.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.pods.host_path_volumes
#   remediation: >-
#     Replace each hostPath volume listed with a persistentVolumeClaim, emptyDir, configMap
#     or projected volume; node agents that need one belong in a system namespace or an
#     exception.
#   freshness: 24h
package vouch.policies.kubernetes.pods.no_host_path_volumes

import data.vouch.lib.kubernetes

volumes := input.evidence["kubernetes.pods.host_path_volumes"]

# "namespace/pod (volume: /path)", which starts with the namespace like every reference.
mounts := [sprintf("%s (%s: %s)", [v.pod, v.volume, v.path]) | some v in volumes] if is_array(volumes)

deny contains msg if msg := kubernetes.workload_problem("hostPath volumes", mounts)

allow := kubernetes.workload_clean("hostPath volume", mounts)
