# METADATA
# title: sudo asks for a password
# description: >-
#   No sudoers rule grants NOPASSWD, so every privileged command needs the user to
#   authenticate again and a stolen session cannot silently become root.
# custom:
#   id: host.sudo.no_nopasswd
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: exact
#       why: Using privilege through sudo requires re-authentication.
#     - control: iso27001-2022:A.8.18  # Use of privileged utility programs
#       relation: supporting
#       why: sudo is the utility through which privilege is used; which utilities are allowed is not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.sudo.nopasswd_count
#     - host.sudo.nopasswd_rules
#   remediation: >-
#     Remove NOPASSWD from the rules listed (in /etc/sudoers or /etc/sudoers.d with
#     visudo). Automation that needs it should use a narrowly scoped command list, recorded
#     as an exception.
#   freshness: 24h
package vouch.policies.host.sudo.no_nopasswd

import data.vouch.lib

n := input.evidence["host.sudo.nopasswd_count"]

deny contains sprintf("%d NOPASSWD rule(s): %s", [n, lib.names(input.evidence["host.sudo.nopasswd_rules"])]) if n > 0

allow := "no sudoers rule grants NOPASSWD" if n == 0
