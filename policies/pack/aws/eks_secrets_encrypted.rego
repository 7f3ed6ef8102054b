# METADATA
# title: EKS clusters envelope-encrypt Kubernetes Secrets with a KMS key
# description: >-
#   Every EKS cluster in the regions collected has an encryption configuration for the
#   secrets resource with a KMS key, so Secrets are encrypted with a key the account controls
#   before they reach etcd.
# custom:
#   id: aws.eks.secrets_encrypted
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Kubernetes Secrets are encrypted at rest with a key the organisation manages (CIS EKS 5.3.1).
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.eks.clusters
#   remediation: >-
#     aws eks associate-encryption-config --cluster-name NAME --encryption-config
#     '[{"resources":["secrets"],"provider":{"keyArn":"KEY"}}]' for each cluster listed.
#   freshness: 24h
package vouch.policies.aws.eks.secrets_encrypted

import data.vouch.lib

clusters := input.evidence["aws.eks.clusters"]

not_applicable := "no EKS cluster in the collected regions" if clusters == []

plain := [sprintf("%s/%s", [c.region, c.name]) | some c in clusters; c.secrets_encrypted != true]

deny contains msg if msg := lib.listed("EKS clusters that do not encrypt Secrets with a KMS key", plain)

allow := sprintf("each of the %d EKS cluster(s) encrypts Secrets with a KMS key", [count(clusters)]) if {
	count(clusters) > 0
	plain == []
}
