# METADATA
# title: Swap is encrypted or absent
# description: >-
#   Every swap area is on dm-crypt, or there is none: memory paged out to disk can hold
#   keys, passwords and PII.
# custom:
#   id: host.storage.swap_encrypted
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Swap, which can hold any memory page, is encrypted or absent.
#   asset_kinds: [host]
#   evidence:
#     - host.storage.swap_encrypted_or_absent
#   remediation: >-
#     Put swap on an encrypted volume (e.g. LVM inside LUKS, or a random-key swap in
#     /etc/crypttab), or disable it.
#   freshness: 24h
package vouch.policies.host.storage.swap_encrypted

deny contains "swap is on an unencrypted device" if input.evidence["host.storage.swap_encrypted_or_absent"] == false

allow := "swap is encrypted or absent" if input.evidence["host.storage.swap_encrypted_or_absent"] == true
