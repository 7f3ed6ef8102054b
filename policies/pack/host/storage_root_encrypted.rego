# METADATA
# title: The root filesystem is encrypted
# description: >-
#   The root filesystem sits on dm-crypt (LUKS), so the data on the disk, PII included,
#   cannot be read from a disk that is stolen, returned or disposed of.
# custom:
#   id: host.storage.root_encrypted
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: The root filesystem is encrypted at rest.
#     - control: iso27001-2022:A.7.10  # Storage media
#       relation: supporting
#       why: Encrypted disks protect data on media that leave the premises or are disposed of; media handling is not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.storage.root_encrypted
#   remediation: >-
#     Reinstall on an encrypted volume (LUKS2) or migrate the root filesystem onto one;
#     keep the key in a TPM or a network key server (Clevis/Tang) for unattended boots.
#   freshness: 24h
package vouch.policies.host.storage.root_encrypted

deny contains "the root filesystem is not on an encrypted volume" if input.evidence["host.storage.root_encrypted"] == false

allow := "the root filesystem is on an encrypted volume" if input.evidence["host.storage.root_encrypted"] == true
