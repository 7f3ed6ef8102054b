# METADATA
# title: Every node's kubelet is a Kubernetes release still maintained upstream
# description: >-
#   The kubelet of every registered node is of a minor release that still received upstream
#   patches, security fixes included, when the evidence was collected, by the end-of-life
#   dates published on kubernetes.io/releases.
# custom:
#   id: kubernetes.nodes.kubelet_versions_maintained
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: exact
#       why: A kubelet release no longer maintained upstream gets no security fixes.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.nodes.kubelet_versions
#   remediation: >-
#     Upgrade or replace the nodes listed (a new node pool or image) so that their kubelets
#     run a maintained minor release no newer than the API server.
#   freshness: 24h
package vouch.policies.kubernetes.nodes.kubelet_versions_maintained

import data.vouch.lib
import data.vouch.lib.kubernetes

kubelets := input.evidence["kubernetes.nodes.kubelet_versions"]

ended := [sprintf("%s (%s, ended %s)", [node, v, kubernetes.ended_text(v)]) |
	some node, v in kubelets
	kubernetes.unmaintained(v, input.collected_at)
]

unknown := [sprintf("%s (%s)", [node, kubernetes.unknown_release(v)]) | some node, v in kubelets; kubernetes.unknown_release(v)]

not_applicable := "no node is registered" if {
	is_object(kubelets)
	count(kubelets) == 0
}

deny contains msg if msg := lib.listed("nodes whose kubelet release is no longer maintained upstream", ended)

inconclusive := lib.listed("nodes whose kubelet release this pack cannot judge", unknown) if ended == []

releases := {kubernetes.minor_release(v) | some v in kubelets}

allow := sprintf("the kubelets of all %d nodes are of maintained releases (%s)", [count(kubelets), concat(", ", sort(releases))]) if {
	count(kubelets) > 0
	every _, v in kubelets {
		kubernetes.maintained(v, input.collected_at)
	}
}
