# METADATA
# title: Entra ID locks out password guessing after few attempts
# description: >-
#   The tenant's smart lockout locks sign-ins out after at most the organisation's
#   lockout_max_attempts failed attempts (5 unless set); without the tenant's own setting,
#   Microsoft's default of 10 applies. Smart lockout counts failures from unfamiliar locations
#   apart from the owner's. The password rules themselves (length, character kinds, Microsoft's
#   global banned list) are fixed by Microsoft and not read: only the lockout is the tenant's
#   to set.
# custom:
#   id: entra.policies.lockout_threshold
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: The lockout threshold bounds the password guesses an attacker gets before sign-in locks.
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: supporting
#       why: Limits guessing of the passwords people choose; their quality rules are Microsoft's and not judged.
#   asset_kinds: [entra-tenant]
#   evidence:
#     - entra.policies.smart_lockout
#   remediation: >-
#     In Authentication methods > Password protection, set the lockout threshold to at most the
#     organisation's maximum (this needs Entra ID P1), and consider a custom banned password
#     list.
#   freshness: 24h
package vouch.policies.entra.policies.lockout_threshold

lockout := input.evidence["entra.policies.smart_lockout"]

max_attempts := data.vouch.config.parameters.lockout_max_attempts

origin := "the tenant's setting" if lockout.configured == true

origin := "Microsoft's default" if lockout.configured == false

deny contains sprintf("smart lockout locks after %d failed attempts (%s), more than %d", [lockout.lockout_threshold, origin, max_attempts]) if {
	lockout.lockout_threshold > max_attempts
}

deny contains "smart lockout never locks (threshold 0)" if lockout.lockout_threshold == 0

allow := sprintf("smart lockout locks after %d failed attempts (%s), at most %d", [lockout.lockout_threshold, origin, max_attempts]) if {
	is_number(lockout.lockout_threshold)
	lockout.lockout_threshold > 0
	lockout.lockout_threshold <= max_attempts
}
