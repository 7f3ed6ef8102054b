# METADATA
# title: Passwords are stored with strong hashes
# description: >-
#   Every password in /etc/shadow is hashed with yescrypt, SHA-512 crypt or bcrypt; MD5,
#   DES and other old schemes can be cracked quickly once the file leaks. Only the
#   algorithm prefixes are collected, never a hash.
# custom:
#   id: host.accounts.strong_password_hashes
#   severity: high
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: Stored passwords are protected by strong hashes.
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: supporting
#       why: Relies on cryptographic hashing; no key or cipher rule is tested.
#   asset_kinds: [host]
#   evidence:
#     - host.accounts.password_hash_algorithms
#   remediation: >-
#     Set ENCRYPT_METHOD YESCRYPT (or SHA512) in /etc/login.defs and the PAM password
#     stack, then have the users concerned change their passwords.
#   freshness: 24h
package vouch.policies.host.accounts.strong_password_hashes

import data.vouch.lib

algorithms := input.evidence["host.accounts.password_hash_algorithms"]

deny contains sprintf("%d password(s) hashed with %s", [n, algorithm]) if {
	some algorithm, n in algorithms
	not lower(algorithm) in lib.strong_hash_algorithms
	n > 0
}

allow := sprintf("password hashes: %s", [concat(", ", [sprintf("%s (%d)", [a, n]) | some a, n in algorithms])]) if {
	is_object(algorithms)
	count(algorithms) > 0
	every algorithm, _ in algorithms {
		lower(algorithm) in lib.strong_hash_algorithms
	}
}

allow := "no account has a password hash" if algorithms == {}
