# METADATA
# title: The host does not route packets
# description: >-
#   IP forwarding is off, so the host does not pass traffic between networks it is attached
#   to. Routers, VPN gateways and container hosts need it: record them as exceptions.
# custom:
#   id: host.network.ip_forwarding_disabled
#   severity: medium
#   controls:
#     - iso27001-2022:A.8.20  # Networks security
#     - iso27001-2022:A.8.22  # Segregation of networks
#   asset_kinds: [host]
#   evidence:
#     - host.network.ip_forwarding
#   remediation: >-
#     Set net.ipv4.ip_forward = 0 and net.ipv6.conf.all.forwarding = 0 in /etc/sysctl.d/
#     unless the host is meant to route.
#   freshness: 24h
package vouch.policies.host.network.ip_forwarding_disabled

deny contains "IP forwarding is on: the host routes packets between its networks" if input.evidence["host.network.ip_forwarding"] == true

allow := "IP forwarding is off" if input.evidence["host.network.ip_forwarding"] == false
