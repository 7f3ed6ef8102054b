# METADATA
# title: Setuid programs leave no core dumps
# description: >-
#   fs.suid_dumpable is 0: a setuid program that crashes leaves no core dump, which could hold
#   the secrets it read with its privileges (password hashes, keys). 2 (dumps readable by root
#   only) still writes them to disk.
# custom:
#   id: host.sysctl.suid_dumpable_disabled
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: A CIS baseline kernel parameter (core dumps restricted).
#   asset_kinds: [host]
#   evidence:
#     - host.sysctl.suid_dumpable
#   remediation: >-
#     Set fs.suid_dumpable = 0 in a file under /etc/sysctl.d/ and run "sysctl --system"; add
#     "* hard core 0" to /etc/security/limits.conf.
#   freshness: 24h
package vouch.policies.host.sysctl.suid_dumpable_disabled

level := input.evidence["host.sysctl.suid_dumpable"]

deny contains sprintf("fs.suid_dumpable is %v, not 0", [level]) if level != 0

allow := "fs.suid_dumpable is 0" if level == 0
