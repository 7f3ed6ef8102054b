# METADATA
# title: The host does not route packets
# description: >-
#   IP forwarding is off, so the host does not pass traffic between networks it is attached
#   to. Routers, VPN gateways and container hosts need it: record them as exceptions.
# custom:
#   id: host.network.ip_forwarding_disabled
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: supporting
#       why: A host that does not route cannot bridge the networks it sits on; network devices themselves are not tested.
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: IP forwarding off on a host that is not a router is a CIS baseline setting, like the other kernel parameters.
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
