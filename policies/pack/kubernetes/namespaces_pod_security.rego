# METADATA
# title: Pod Security Admission enforces a level in every namespace outside the system namespaces
# description: >-
#   Every namespace other than kube-system, kube-public and kube-node-lease has the
#   pod-security.kubernetes.io/enforce label at baseline or restricted, so the API server
#   refuses pods that break that level (privileged containers, host namespaces, hostPath, …).
#   An admission configuration default set on the API server is not visible to the collector
#   and is not counted.
# custom:
#   id: kubernetes.namespaces.pod_security_enforced
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: A Pod Security level enforced per namespace is a configuration baseline for workloads.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.namespaces.pod_security
#     - kubernetes.namespaces.without_enforced_pod_security
#   remediation: >-
#     Label each namespace listed: kubectl label namespace NAME
#     pod-security.kubernetes.io/enforce=restricted (or baseline), after checking its pods
#     with the warn label or a server-side dry run.
#   freshness: 24h
package vouch.policies.kubernetes.namespaces.pod_security_enforced

import data.vouch.lib
import data.vouch.lib.kubernetes

labels := input.evidence["kubernetes.namespaces.pod_security"]

unenforced := kubernetes.workloads(input.evidence["kubernetes.namespaces.without_enforced_pod_security"])

not_applicable := "no namespace outside the system namespaces" if {
	is_object(labels)
	kubernetes.workloads([ns | some ns, _ in labels]) == []
}

level(ns) := "no enforce label" if labels[ns].enforce == null

level(ns) := sprintf("enforce=%s", [labels[ns].enforce]) if is_string(labels[ns].enforce)

level(ns) := "labels not collected" if not labels[ns]

# Namespaces outside the system ones whose enforce label is not a level that restricts pods,
# judged from the labels too (an agent from before the collector's list held every such value).
weak := [ns |
	some ns in kubernetes.workloads([n | some n, _ in labels])
	not labels[ns].enforce in {"baseline", "restricted"}
	not ns in unenforced
]

deny contains msg if msg := lib.listed("namespaces where Pod Security enforces nothing", [sprintf("%s (%s)", [ns, level(ns)]) | some ns in array.concat(unenforced, weak)])

enforced := [ns | some ns, l in labels; l.enforce in {"baseline", "restricted"}]

allow := sprintf("every namespace outside the system namespaces enforces a Pod Security level (%s)", [lib.names([sprintf("%s: %s", [ns, labels[ns].enforce]) | some ns in enforced])]) if {
	unenforced == []
	weak == []
	count(enforced) > 0
}
