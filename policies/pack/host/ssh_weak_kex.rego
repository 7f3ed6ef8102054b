# METADATA
# title: SSH offers no weak key exchange algorithms
# description: >-
#   The key exchange algorithms sshd offers include none known to be weak (diffie-hellman-
#   group1-sha1, group14-sha1, group-exchange-sha1), so SSH sessions, including file
#   transfers, are protected by current cryptography.
# custom:
#   id: host.ssh.no_weak_kex
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Only strong key exchange algorithms are offered.
#     - control: iso27001-2022:A.5.14  # Information transfer
#       relation: supporting
#       why: Protects remote sessions in transfer; transfer rules and agreements are not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.ssh.server_installed
#     - host.ssh.weak_kex
#   remediation: >-
#     Set the key exchange algorithms in /etc/ssh/sshd_config (or the system crypto policy)
#     to current algorithms only, e.g. the defaults of OpenSSH 9, then reload sshd.
#   freshness: 24h
package vouch.policies.host.ssh.no_weak_kex

import data.vouch.lib

not_applicable := "no SSH server is installed" if input.evidence["host.ssh.server_installed"] == false

deny contains msg if msg := lib.listed("weak key exchange algorithms enabled", input.evidence["host.ssh.weak_kex"])

allow := "no weak key exchange algorithm is enabled" if input.evidence["host.ssh.weak_kex"] == []
