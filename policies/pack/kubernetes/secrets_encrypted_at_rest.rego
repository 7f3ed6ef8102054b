# METADATA
# title: The API server encrypts Secrets at rest
# description: >-
#   Every kube-apiserver of a self-managed control plane runs with
#   --encryption-provider-config, so Secrets are written to etcd through the encryption
#   providers it names. The configuration file itself is on the control-plane nodes and not
#   read: a file whose first provider is identity would not encrypt, and the verdict says so.
#   A managed control plane does not show its API server: there is no verdict then (its
#   provider's encryption setting, e.g. EKS's encryptionConfig, is read from its own API).
# custom:
#   id: kubernetes.secrets.encrypted_at_rest
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: supporting
#       why: The flag names an encryption configuration; its providers and keys are not visible through the API.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.apiserver.flags
#   remediation: >-
#     Write an EncryptionConfiguration for secrets with aescbc, aesgcm, secretbox or a kms v2
#     provider first, pass it with --encryption-provider-config on every kube-apiserver, then
#     rewrite the existing Secrets (kubectl get secrets -A -o json | kubectl replace -f -).
#   freshness: 24h
package vouch.policies.kubernetes.secrets.encrypted_at_rest

import data.vouch.lib

servers := input.evidence["kubernetes.apiserver.flags"]

plain := [s.pod | some s in servers; s.encryption_provider_config == null]

deny contains msg if msg := lib.listed("API servers without --encryption-provider-config (Secrets stored in etcd as they are)", plain)

allow := sprintf("%s (the providers in the file are not visible: it must not list identity first)", [lib.listed("Secrets pass through an encryption configuration on every API server", [sprintf("%s: %s", [s.pod, s.encryption_provider_config]) | some s in servers])]) if {
	count(servers) > 0
	plain == []
}
