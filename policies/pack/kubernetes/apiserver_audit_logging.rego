# METADATA
# title: The API server writes an audit log
# description: >-
#   Every kube-apiserver of a self-managed control plane runs with an audit policy
#   (--audit-policy-file: without one nothing is recorded) and a destination for the events
#   (--audit-log-path or --audit-webhook-config-file). A managed control plane does not show
#   its API server: there is no verdict then (its provider's control-plane logging is read
#   from its own API).
# custom:
#   id: kubernetes.apiserver.audit_logging
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: exact
#       why: The API server records who did what to the cluster's objects, and where the records go.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.apiserver.flags
#   remediation: >-
#     Give every kube-apiserver --audit-policy-file (at least Metadata level for all requests,
#     RequestResponse for RBAC and Secrets' metadata) and --audit-log-path with rotation
#     (--audit-log-maxage, --audit-log-maxbackup) or --audit-webhook-config-file.
#   freshness: 24h
package vouch.policies.kubernetes.apiserver.audit_logging

import data.vouch.lib

servers := input.evidence["kubernetes.apiserver.flags"]

no_policy := [s.pod | some s in servers; s.audit_policy_file == null]

no_destination := [s.pod | some s in servers; s.audit_log_path == null; s.audit_webhook_config_file == null]

deny contains msg if msg := lib.listed("API servers without --audit-policy-file, which record no audit event", no_policy)

deny contains msg if msg := lib.listed("API servers with neither --audit-log-path nor --audit-webhook-config-file", no_destination)

destination(s) := concat(" and ", [d | some d in [s.audit_log_path, s.audit_webhook_config_file]; d != null])

allow := lib.listed("every API server audits by a policy to a destination", [sprintf("%s: %s to %s", [s.pod, s.audit_policy_file, destination(s)]) | some s in servers]) if {
	count(servers) > 0
	no_policy == []
	no_destination == []
}
