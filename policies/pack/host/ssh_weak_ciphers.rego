# METADATA
# title: SSH offers no weak ciphers
# description: >-
#   The ciphers sshd offers include none known to be weak (CBC modes, 3DES, Arcfour), so
#   SSH sessions, including file transfers, are protected by current cryptography.
# custom:
#   id: host.ssh.no_weak_ciphers
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Only strong ciphers are offered.
#     - control: iso27001-2022:A.5.14  # Information transfer
#       relation: supporting
#       why: Protects remote sessions in transfer; transfer rules and agreements are not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.ssh.server_installed
#     - host.ssh.weak_ciphers
#   remediation: >-
#     Set the ciphers in /etc/ssh/sshd_config (or the system crypto policy) to current
#     algorithms only, e.g. the defaults of OpenSSH 9, then reload sshd.
#   freshness: 24h
package vouch.policies.host.ssh.no_weak_ciphers

import data.vouch.lib

not_applicable := "no SSH server is installed" if input.evidence["host.ssh.server_installed"] == false

deny contains msg if msg := lib.listed("weak ciphers enabled", input.evidence["host.ssh.weak_ciphers"])

allow := "no weak cipher is enabled" if input.evidence["host.ssh.weak_ciphers"] == []
