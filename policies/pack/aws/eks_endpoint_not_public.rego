# METADATA
# title: EKS API endpoints are not open to the internet
# description: >-
#   No EKS cluster in the regions collected accepts calls to its Kubernetes API endpoint from
#   anywhere: the public endpoint is off (private access only), or limited to the listed
#   address ranges, none of them 0.0.0.0/0 or ::/0.
# custom:
#   id: aws.eks.endpoint_not_public
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: exact
#       why: The cluster's control plane is reachable only from the networks meant to reach it (CIS EKS 5.4.1, 5.4.2).
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.eks.clusters
#   remediation: >-
#     aws eks update-cluster-config --name NAME --resources-vpc-config
#     endpointPrivateAccess=true,endpointPublicAccess=false (or publicAccessCidrs limited to
#     the organisation's addresses) for each cluster listed.
#   freshness: 24h
package vouch.policies.aws.eks.endpoint_not_public

import data.vouch.lib

clusters := input.evidence["aws.eks.clusters"]

world := {"0.0.0.0/0", "::/0"}

not_applicable := "no EKS cluster in the collected regions" if clusters == []

open := [sprintf("%s/%s", [c.region, c.name]) |
	some c in clusters
	c.endpoint_public == true
	some cidr in c.public_access_cidrs
	cidr in world
]

unknown := [sprintf("%s/%s", [c.region, c.name]) | some c in clusters; not is_boolean(c.endpoint_public)]

inconclusive := lib.listed("endpoint access not described for", unknown) if open == []

deny contains msg if msg := lib.listed("EKS clusters whose API endpoint accepts the whole internet", open)

scope(c) := "private only" if c.endpoint_public == false

scope(c) := sprintf("public to %s", [concat(", ", c.public_access_cidrs)]) if c.endpoint_public == true

allow := lib.listed("no EKS API endpoint is open to the internet", [sprintf("%s/%s: %s", [c.region, c.name, scope(c)]) | some c in clusters]) if {
	count(clusters) > 0
	open == []
	unknown == []
}
