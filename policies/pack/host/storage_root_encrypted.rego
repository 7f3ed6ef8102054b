# METADATA
# title: The root filesystem is encrypted
# description: >-
#   The root filesystem sits on dm-crypt (LUKS), so the data on the disk, PII included,
#   cannot be read from a disk that is stolen, returned or disposed of.
# custom:
#   id: host.storage.root_encrypted
#   severity: high
#   controls:
#     - iso27001-2022:A.8.24  # Use of cryptography
#     - iso27001-2022:A.7.10  # Storage media
#     - iso27701-2025:A.3.26  # Use of cryptography (27701:2025, provisional)
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
