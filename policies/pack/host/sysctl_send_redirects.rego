# METADATA
# title: The host sends no ICMP redirects
# description: >-
#   The kernel does not send ICMP redirects (send_redirects 0): only a router should.
# custom:
#   id: host.sysctl.icmp_redirects_not_sent
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: supporting
#       why: The host cannot redirect others' traffic; network devices themselves are not tested.
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: A CIS baseline kernel parameter.
#   asset_kinds: [host]
#   evidence:
#     - host.sysctl.send_redirects
#   remediation: >-
#     Set net.ipv4.conf.all.send_redirects = 0 and net.ipv4.conf.default.send_redirects = 0
#     in a file under /etc/sysctl.d/ and run "sysctl --system".
#   freshness: 24h
package vouch.policies.host.sysctl.icmp_redirects_not_sent

deny contains "the host sends ICMP redirects" if input.evidence["host.sysctl.send_redirects"] == true

allow := "the host sends no ICMP redirects" if input.evidence["host.sysctl.send_redirects"] == false
