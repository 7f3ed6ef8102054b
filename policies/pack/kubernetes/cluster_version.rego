# METADATA
# title: The API server runs a Kubernetes release still maintained upstream
# description: >-
#   The API server's minor release still received upstream patches, security fixes
#   included, when the evidence was collected, by the end-of-life dates published on
#   kubernetes.io/releases. A provider's extended support (EKS, GKE, AKS) is not upstream
#   maintenance: record it as an exception where the organisation relies on it.
# custom:
#   id: kubernetes.cluster.version_maintained
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: exact
#       why: A release no longer maintained upstream gets no security fixes.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.cluster.server_version
#   remediation: >-
#     Upgrade the control plane to a maintained minor release, one minor at a time, then the
#     nodes.
#   freshness: 24h
package vouch.policies.kubernetes.cluster.version_maintained

import data.vouch.lib.kubernetes

version := input.evidence["kubernetes.cluster.server_version"]

deny contains msg if {
	kubernetes.unmaintained(version, input.collected_at)
	msg := sprintf("the API server runs %s: upstream maintenance of Kubernetes %s ended %s", [
		version,
		kubernetes.minor_release(version),
		kubernetes.ended_text(version),
	])
}

inconclusive := kubernetes.unknown_release(version)

allow := sprintf("the API server runs %s, maintained upstream until %s", [version, kubernetes.end_date(version)]) if {
	kubernetes.maintained(version, input.collected_at)
}
