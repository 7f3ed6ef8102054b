# METADATA
# title: Only the built-in system:masters group is bound to cluster-admin
# description: >-
#   No user, group or service account other than the bootstrap system:masters group is
#   bound cluster-wide to the cluster-admin ClusterRole, which can do anything to every
#   object. Administrators should hold narrower roles and elevate through a reviewed,
#   temporary grant.
# custom:
#   id: kubernetes.rbac.cluster_admin_restricted
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: exact
#       why: cluster-admin is held only by the built-in break-glass group.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.rbac.cluster_admin_subjects
#   remediation: >-
#     Delete the ClusterRoleBindings listed (kubectl delete clusterrolebinding NAME) and bind
#     each subject to a role with the rights it needs; record any break-glass binding as an
#     exception.
#   freshness: 24h
package vouch.policies.kubernetes.rbac.cluster_admin_restricted

import data.vouch.lib

subjects := input.evidence["kubernetes.rbac.cluster_admin_subjects"]

bootstrap(s) if {
	s.kind == "Group"
	s.name == "system:masters"
}

# "ServiceAccount ci/deployer (binding ci-deployer)".
subject(s) := sprintf("%s %s/%s (binding %s)", [s.kind, s.namespace, s.name, s.binding]) if s.kind == "ServiceAccount"

subject(s) := sprintf("%s %s (binding %s)", [s.kind, s.name, s.binding]) if s.kind != "ServiceAccount"

others := [subject(s) | some s in subjects; not bootstrap(s)]

deny contains msg if msg := lib.listed("bound to cluster-admin", others)

allow := "only the built-in system:masters group is bound to cluster-admin" if {
	is_array(subjects)
	others == []
}
