# METADATA
# title: No custom role grants every verb or every resource
# description: >-
#   No ClusterRole or Role other than the built-in ones (cluster-admin and the system:
#   roles the API server maintains) has a rule with `*` as its verbs or resources, which
#   grants rights that were never reviewed, including those of resources added later.
# custom:
#   id: kubernetes.rbac.no_wildcard_roles
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.15  # Access control
#       relation: supporting
#       why: Shows access rules are specific; the access-control policy itself is a document.
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: exact
#       why: A role granting every verb or resource is unbounded privilege.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.rbac.wildcard_roles
#   remediation: >-
#     Replace the wildcards in each role listed with the verbs and resources its subjects
#     need (kubectl auth can-i --list helps find them).
#   freshness: 24h
package vouch.policies.kubernetes.rbac.no_wildcard_roles

import data.vouch.lib

roles := input.evidence["kubernetes.rbac.wildcard_roles"]

builtin(r) if {
	r.kind == "ClusterRole"
	r.name == "cluster-admin"
}

builtin(r) if {
	r.kind == "ClusterRole"
	startswith(r.name, "system:")
}

wildcards(r) := "every verb and every resource" if {
	r.wildcard_verbs == true
	r.wildcard_resources == true
}

wildcards(r) := "every verb" if {
	r.wildcard_verbs == true
	r.wildcard_resources == false
}

wildcards(r) := "every resource" if {
	r.wildcard_verbs == false
	r.wildcard_resources == true
}

role(r) := sprintf("Role %s/%s (%s)", [r.namespace, r.name, wildcards(r)]) if r.kind == "Role"

role(r) := sprintf("ClusterRole %s (%s)", [r.name, wildcards(r)]) if r.kind == "ClusterRole"

custom := [role(r) | some r in roles; not builtin(r)]

deny contains msg if msg := lib.listed("roles granting wildcards", custom)

allow := sprintf("no custom role grants wildcards (%d built-in roles do)", [count(roles)]) if {
	is_array(roles)
	custom == []
}
