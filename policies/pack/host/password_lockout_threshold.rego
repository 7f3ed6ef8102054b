# METADATA
# title: Accounts lock after at most five failed logins
# description: >-
#   Where the PAM auth stack locks accounts (pam_faillock or pam_tally2), its deny= threshold
#   (from the module's argument, else /etc/security/faillock.conf, the largest over the stack
#   files) is at most the organisation's maximum (parameter lockout_max_attempts, 5 by default
#   as in the CIS benchmarks). A lockout after 50 attempts stops little guessing. Whether
#   accounts lock at all is host.password.lockout_enforced.
# custom:
#   id: host.password.lockout_threshold
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: The lockout threshold bounds the password guesses an attacker gets before the account locks.
#   asset_kinds: [host]
#   evidence:
#     - host.password.lockout_enforced
#     - host.password.lockout_attempts
#   remediation: >-
#     Set deny = 5 (or fewer) in /etc/security/faillock.conf and remove larger deny= arguments
#     of pam_faillock.so in the PAM stack files.
#   freshness: 24h
package vouch.policies.host.password.lockout_threshold

attempts := input.evidence["host.password.lockout_attempts"]

limit := data.vouch.config.parameters.lockout_max_attempts

not_applicable := "accounts are not locked after failed logins (see host.password.lockout_enforced)" if {
	input.evidence["host.password.lockout_enforced"] == false
}

deny contains sprintf("accounts lock after %d failed logins, more than %d", [attempts, limit]) if {
	is_number(attempts)
	attempts > limit
}

allow := sprintf("accounts lock after %d failed logins (at most %d)", [attempts, limit]) if {
	input.evidence["host.password.lockout_enforced"] == true
	is_number(attempts)
	attempts >= 1
	attempts <= limit
}
