# METADATA
# title: TCP SYN cookies are on
# description: >-
#   The kernel answers SYN floods with SYN cookies (net.ipv4.tcp_syncookies 1), keeping
#   services reachable under such an attack.
# custom:
#   id: host.sysctl.tcp_syncookies
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: supporting
#       why: Resists SYN floods on the host; network devices themselves are not tested.
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: A CIS baseline kernel parameter.
#   asset_kinds: [host]
#   evidence:
#     - host.sysctl.tcp_syncookies
#   remediation: >-
#     Set net.ipv4.tcp_syncookies = 1 in a file under /etc/sysctl.d/ and run "sysctl
#     --system".
#   freshness: 24h
package vouch.policies.host.sysctl.tcp_syncookies

deny contains "TCP SYN cookies are off" if input.evidence["host.sysctl.tcp_syncookies"] == false

allow := "TCP SYN cookies are on" if input.evidence["host.sysctl.tcp_syncookies"] == true
