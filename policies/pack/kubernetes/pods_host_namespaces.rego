# METADATA
# title: No pod outside the system namespaces shares the node's namespaces
# description: >-
#   No running or pending pod outside kube-system, kube-public and kube-node-lease uses the
#   node's network (hostNetwork: it bypasses NetworkPolicies and reaches every node
#   service), process (hostPID) or IPC (hostIPC) namespace.
# custom:
#   id: kubernetes.pods.no_host_namespaces
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: No sharing of the node's namespaces is part of the workload baseline.
#     - control: iso27001-2022:A.8.22  # Segregation of networks
#       relation: supporting
#       why: A pod on the node's network namespace escapes the cluster's network segregation.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.pods.host_network
#     - kubernetes.pods.host_pid
#     - kubernetes.pods.host_ipc
#   remediation: >-
#     Remove hostNetwork, hostPID and hostIPC from the pods listed (their Deployments or
#     DaemonSets); node agents that need them belong in a system namespace or an exception.
#   freshness: 24h
package vouch.policies.kubernetes.pods.no_host_namespaces

import data.vouch.lib.kubernetes

shared := {
	"network (hostNetwork)": input.evidence["kubernetes.pods.host_network"],
	"process (hostPID)": input.evidence["kubernetes.pods.host_pid"],
	"IPC (hostIPC)": input.evidence["kubernetes.pods.host_ipc"],
}

deny contains msg if {
	some namespace, pods in shared
	msg := kubernetes.workload_problem(sprintf("pods sharing the node's %s namespace", [namespace]), pods)
}

# Each pod once, however many namespaces it shares.
all_pods := [p | some p in {q | some pods in shared; some q in pods}]

allow := kubernetes.workload_clean("pod sharing the node's network, process or IPC namespace", all_pods)
