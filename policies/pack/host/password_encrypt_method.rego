# METADATA
# title: New passwords are hashed with a strong algorithm
# description: >-
#   ENCRYPT_METHOD in /etc/login.defs is YESCRYPT, SHA512 or BCRYPT, so passwords set from
#   now on are stored with a strong hash.
# custom:
#   id: host.password.strong_encrypt_method
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: New passwords are stored with a strong hash.
#   asset_kinds: [host]
#   evidence:
#     - host.password.encrypt_method
#   remediation: >-
#     Set "ENCRYPT_METHOD YESCRYPT" (or SHA512) in /etc/login.defs.
#   freshness: 24h
package vouch.policies.host.password.strong_encrypt_method

import data.vouch.lib

method := input.evidence["host.password.encrypt_method"]

deny contains sprintf("ENCRYPT_METHOD is %s", [method]) if not lower(method) in lib.strong_hash_algorithms

allow := sprintf("ENCRYPT_METHOD is %s", [method]) if lower(method) in lib.strong_hash_algorithms
