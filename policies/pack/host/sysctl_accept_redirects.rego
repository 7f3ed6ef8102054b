# METADATA
# title: ICMP redirects are ignored
# description: >-
#   The kernel ignores ICMP redirects (accept_redirects 0 for IPv4 and IPv6, all and
#   default), which an attacker on the local network could use to reroute traffic through
#   itself.
# custom:
#   id: host.sysctl.icmp_redirects_ignored
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: supporting
#       why: The network cannot change the host's routes; network devices themselves are not tested.
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: A CIS baseline kernel parameter.
#   asset_kinds: [host]
#   evidence:
#     - host.sysctl.accept_redirects
#   remediation: >-
#     Set net.ipv4.conf.all.accept_redirects = 0, net.ipv4.conf.default.accept_redirects =
#     0 and the net.ipv6 equivalents in a file under /etc/sysctl.d/ and run "sysctl
#     --system".
#   freshness: 24h
package vouch.policies.host.sysctl.icmp_redirects_ignored

deny contains "ICMP redirects are accepted on some interface" if input.evidence["host.sysctl.accept_redirects"] == true

allow := "ICMP redirects are ignored" if input.evidence["host.sysctl.accept_redirects"] == false
