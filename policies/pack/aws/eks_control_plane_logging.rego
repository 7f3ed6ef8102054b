# METADATA
# title: EKS clusters log their control plane's API, audit and authenticator events
# description: >-
#   Every EKS cluster in the regions collected sends its api, audit and authenticator
#   control-plane logs to CloudWatch Logs: who called the Kubernetes API, what it did, and how
#   IAM identities were mapped to Kubernetes users.
# custom:
#   id: aws.eks.control_plane_logging
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: exact
#       why: The Kubernetes API's requests and authentications are recorded off the cluster (CIS EKS 2.1.1).
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.eks.clusters
#   remediation: >-
#     aws eks update-cluster-config --name NAME --logging
#     '{"clusterLogging":[{"types":["api","audit","authenticator"],"enabled":true}]}' for each
#     cluster listed.
#   freshness: 24h
package vouch.policies.aws.eks.control_plane_logging

import data.vouch.lib

clusters := input.evidence["aws.eks.clusters"]

required := ["api", "audit", "authenticator"]

not_applicable := "no EKS cluster in the collected regions" if clusters == []

missing(c) := [t | some t in required; not t in c.logging]

short := [sprintf("%s/%s (no %s)", [c.region, c.name, concat(", ", missing(c))]) | some c in clusters; count(missing(c)) > 0]

deny contains msg if msg := lib.listed("EKS clusters not logging their control plane", short)

allow := sprintf("each of the %d EKS cluster(s) logs api, audit and authenticator events", [count(clusters)]) if {
	count(clusters) > 0
	short == []
}
