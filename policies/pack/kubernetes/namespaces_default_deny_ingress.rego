# METADATA
# title: Every namespace outside the system namespaces denies ingress by default
# description: >-
#   Every namespace other than the system namespaces (parameter kubernetes_system_namespaces;
#   by default kube-system, kube-public and kube-node-lease) holds a default-deny ingress
#   NetworkPolicy: an empty podSelector, Ingress among its policyTypes and no ingress rule.
#   Pods then accept only the traffic another policy allows. Any other NetworkPolicy leaves
#   the pods it does not select open to the whole cluster. (NetworkPolicies are enforced only
#   when the cluster's network plugin supports them.)
# custom:
#   id: kubernetes.namespaces.default_deny_ingress
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.22  # Segregation of networks
#       relation: exact
#       why: A default-deny ingress policy per namespace segregates the cluster's network by namespace, admitting only the traffic allowed.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.namespaces.without_default_deny_ingress
#   remediation: >-
#     Add to each namespace listed a NetworkPolicy with podSelector {}, policyTypes [Ingress]
#     and no ingress rules, then policies allowing the traffic its workloads need.
#   freshness: 24h
package vouch.policies.kubernetes.namespaces.default_deny_ingress

import data.vouch.lib.kubernetes

open := input.evidence["kubernetes.namespaces.without_default_deny_ingress"]

deny contains msg if msg := kubernetes.workload_problem("namespaces without a default-deny ingress NetworkPolicy", open)

allow := kubernetes.workload_clean("namespace without a default-deny ingress NetworkPolicy", open)
