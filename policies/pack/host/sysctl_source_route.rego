# METADATA
# title: Source-routed packets are refused
# description: >-
#   The kernel refuses source-routed packets (accept_source_route 0), which let a sender
#   choose the path and bypass filtering.
# custom:
#   id: host.sysctl.source_routing_refused
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: supporting
#       why: Senders cannot choose the route through the host; network devices themselves are not tested.
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: A CIS baseline kernel parameter.
#   asset_kinds: [host]
#   evidence:
#     - host.sysctl.accept_source_route
#   remediation: >-
#     Set net.ipv4.conf.all.accept_source_route = 0,
#     net.ipv4.conf.default.accept_source_route = 0 and the net.ipv6 equivalents in a file
#     under /etc/sysctl.d/ and run "sysctl --system".
#   freshness: 24h
package vouch.policies.host.sysctl.source_routing_refused

deny contains "source-routed packets are accepted on some interface" if input.evidence["host.sysctl.accept_source_route"] == true

allow := "source-routed packets are refused" if input.evidence["host.sysctl.accept_source_route"] == false
