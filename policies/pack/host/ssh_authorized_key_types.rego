# METADATA
# title: No account accepts DSA keys over SSH
# description: >-
#   No authorized_keys file holds an ssh-dss (DSA) key: DSA keys are limited to 1024 bits
#   and OpenSSH has dropped them. Only key types are collected, so RSA key sizes are not
#   judged here.
# custom:
#   id: host.ssh.no_dsa_authorized_keys
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: DSA keys are weak authenticators and are refused.
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: supporting
#       why: A key algorithm choice; key management is not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.ssh.server_installed
#     - host.ssh.authorized_keys
#   remediation: >-
#     Replace each ssh-dss key with an ssh-ed25519 (or ECDSA) key and remove the old line
#     from the account's authorized_keys.
#   freshness: 24h
package vouch.policies.host.ssh.no_dsa_authorized_keys

not_applicable := "no SSH server is installed" if input.evidence["host.ssh.server_installed"] == false

keys := input.evidence["host.ssh.authorized_keys"]

deny contains sprintf("%s accepts %d ssh-dss (DSA) key(s)", [account, n]) if {
	some account, k in keys
	n := k.types["ssh-dss"]
	n > 0
}

allow := sprintf("%d authorized keys across %d accounts, none of them DSA", [total, count(keys)]) if {
	is_object(keys)
	every k in keys {
		is_object(k.types)
		object.get(k.types, "ssh-dss", 0) == 0
	}
	total := sum([k.count | some k in keys])
}
