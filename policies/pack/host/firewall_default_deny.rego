# METADATA
# title: Inbound traffic is denied unless allowed
# description: >-
#   The host firewall drops or rejects inbound traffic that no rule allows (an input policy
#   of drop, or a final drop rule).
# custom:
#   id: host.firewall.default_deny_inbound
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: exact
#       why: Inbound traffic is denied unless a rule allows it.
#   asset_kinds: [host]
#   evidence:
#     - host.firewall.default_deny_inbound
#   remediation: >-
#     Set the input chain policy to drop (nftables: "policy drop;", ufw default deny
#     incoming, firewalld: a zone with target DROP) after allowing the needed services.
#   freshness: 24h
package vouch.policies.host.firewall.default_deny_inbound

deny contains "inbound traffic is accepted unless a rule drops it" if input.evidence["host.firewall.default_deny_inbound"] == false

allow := "inbound traffic is dropped unless a rule allows it" if input.evidence["host.firewall.default_deny_inbound"] == true
