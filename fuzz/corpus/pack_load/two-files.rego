#-- file: host/accounts_empty_passwords.rego
# METADATA
# title: No account has an empty password
# description: >-
#   No entry of /etc/shadow has an empty password field, which would let anyone log in as
#   that account without a password wherever password logins are allowed.
# custom:
#   id: host.accounts.no_empty_passwords
#   severity: critical
#   controls:
#     - iso27001-2022:A.5.17  # Authentication information
#     - iso27001-2022:A.8.5  # Secure authentication
#   asset_kinds: [host]
#   evidence:
#     - host.accounts.empty_password_count
#   remediation: >-
#     Lock each such account ("passwd -l NAME") or set a password; find them with "awk -F:
#     '$2 == ""' /etc/shadow".
#   freshness: 24h
package vouch.policies.host.accounts.no_empty_passwords

n := input.evidence["host.accounts.empty_password_count"]

deny contains sprintf("%d account(s) have an empty password", [n]) if n > 0

allow := "no account has an empty password" if n == 0
#-- file: host/accounts_password_hashes.rego
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
#     - iso27001-2022:A.5.17  # Authentication information
#     - iso27001-2022:A.8.24  # Use of cryptography
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
