# METADATA
# title: LUKS volumes use XTS with a key of 256 bits or more
# description: >-
#   Every LUKS volume uses a cipher in XTS mode (aes-xts-plain64 and the like) with a key
#   of at least 256 bits (AES-128-XTS or stronger), read from the volume headers. CBC and
#   ECB modes and short keys fail.
# custom:
#   id: host.storage.luks_strong_cipher
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Encrypted volumes use a strong cipher mode and key size.
#   asset_kinds: [host]
#   evidence:
#     - host.storage.luks_volumes
#   remediation: >-
#     Re-encrypt each listed volume with "cryptsetup reencrypt --cipher aes-xts-plain64
#     --key-size 512" (LUKS2), after a backup.
#   freshness: 24h
package vouch.policies.host.storage.luks_strong_cipher

volumes := input.evidence["host.storage.luks_volumes"]

not_applicable := "no LUKS volumes" if volumes == []

strong(v) if {
	regex.match(`^[a-z0-9]+-xts-`, v.cipher)
	v.key_bits >= 256
}

deny contains sprintf("%s uses %v with a %v-bit key", [v.device, v.cipher, v.key_bits]) if {
	some v in volumes
	not strong(v)
}

allow := sprintf("%d LUKS volume(s), all XTS with keys of 256 bits or more", [count(volumes)]) if {
	count(volumes) > 0
	every v in volumes {
		strong(v)
	}
}
