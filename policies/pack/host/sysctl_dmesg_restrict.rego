# METADATA
# title: Only privileged users read the kernel log
# description: >-
#   kernel.dmesg_restrict is 1: the kernel log, which holds addresses useful to an exploit,
#   is readable by privileged users only.
# custom:
#   id: host.sysctl.dmesg_restricted
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: A CIS baseline kernel parameter.
#   asset_kinds: [host]
#   evidence:
#     - host.sysctl.dmesg_restrict
#   remediation: >-
#     Set kernel.dmesg_restrict = 1 in a file under /etc/sysctl.d/ and run "sysctl
#     --system".
#   freshness: 24h
package vouch.policies.host.sysctl.dmesg_restricted

deny contains "any user can read the kernel log" if input.evidence["host.sysctl.dmesg_restrict"] == false

allow := "only privileged users can read the kernel log" if input.evidence["host.sysctl.dmesg_restrict"] == true
