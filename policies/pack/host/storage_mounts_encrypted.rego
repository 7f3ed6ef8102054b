# METADATA
# title: Every persistent filesystem is encrypted
# description: >-
#   Every persistent filesystem except /boot and /boot/efi (which hold only the kernel and
#   boot loader) sits on dm-crypt, so no data volume is readable off the disk.
# custom:
#   id: host.storage.persistent_mounts_encrypted
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Every persistent filesystem is encrypted at rest.
#     - control: iso27001-2022:A.7.10  # Storage media
#       relation: supporting
#       why: Encrypted disks protect data on media that leave the premises or are disposed of; media handling is not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.storage.unencrypted_mounts
#   remediation: >-
#     Move the data of each listed filesystem onto an encrypted volume (LUKS2), or encrypt
#     the volume in place with cryptsetup reencrypt.
#   freshness: 24h
package vouch.policies.host.storage.persistent_mounts_encrypted

import data.vouch.lib

boot := {"/boot", "/boot/efi"}

plain := [m | some m in input.evidence["host.storage.unencrypted_mounts"]; not m in boot]

deny contains msg if msg := lib.listed("filesystems not on an encrypted volume", plain)

allow := "every persistent filesystem outside /boot is on an encrypted volume" if {
	is_array(input.evidence["host.storage.unencrypted_mounts"])
	plain == []
}
