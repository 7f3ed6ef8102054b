# METADATA
# title: A host firewall is active
# description: >-
#   A packet filter (nftables, iptables, ufw or firewalld) is loaded and active on the
#   host.
# custom:
#   id: host.firewall.active
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: exact
#       why: A host firewall controls the traffic reaching the host.
#   asset_kinds: [host]
#   evidence:
#     - host.firewall.active
#     - host.firewall.backend
#   remediation: >-
#     Enable the distribution's firewall (ufw enable, systemctl enable --now firewalld or
#     nftables) with rules that allow only the services the host provides.
#   freshness: 24h
package vouch.policies.host.firewall.active

deny contains "no host firewall is active" if input.evidence["host.firewall.active"] == false

allow := sprintf("%s is active", [input.evidence["host.firewall.backend"]]) if input.evidence["host.firewall.active"] == true
