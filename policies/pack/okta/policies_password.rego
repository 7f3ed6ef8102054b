# METADATA
# title: Okta password policies require long, fresh passwords and lock out guessing
# description: >-
#   Every active Okta password policy requires at least 12 characters, refuses common
#   passwords and the last 5 used, and locks an account after at most the organisation's
#   lockout_max_attempts failed attempts (5 unless set). Expiry is not required: forced
#   periodic changes are no longer recommended where a second factor is in use.
# custom:
#   id: okta.policies.password_strong
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: Length, dictionary, history and lockout rules govern the quality and guessing of the passwords people choose.
#   asset_kinds: [okta-org]
#   evidence:
#     - okta.policies.password
#   remediation: >-
#     In Security > Authenticators > Password, edit each policy listed: minimum length 12 or
#     more, "Restrict use of common passwords", "Enforce password history for last 5
#     passwords" or more, and "Lock out user after" at most the configured number of attempts.
#   freshness: 24h
package vouch.policies.okta.policies.password_strong

policies := input.evidence["okta.policies.password"]

min_length := 12

history := 5

max_attempts := data.vouch.config.parameters.lockout_max_attempts

problems(p) := (((short(p) | common(p)) | reuse(p)) | lockout(p))

short(p) := {sprintf("%v characters, below %d", [p.min_length, min_length]) | not p.min_length >= min_length}

common(p) := {"common passwords allowed" | p.common_passwords_excluded != true}

reuse(p) := {sprintf("remembers %v passwords, below %d", [p.history_count, history]) | not p.history_count >= history}

lockout(p) := {"no lockout" | not p.lockout_attempts > 0} | {sprintf("locks after %d attempts, more than %d", [p.lockout_attempts, max_attempts]) |
	p.lockout_attempts > max_attempts
}

deny contains sprintf("password policy %q: %s", [p.name, concat(", ", sort(problems(p)))]) if {
	some p in policies
	count(problems(p)) > 0
}

deny contains "no active password policy was found" if policies == []

allow := sprintf("the %d active password policies require %d+ characters, no common or last %d passwords, lockout after %d attempts at most", [count(policies), min_length, history, max_attempts]) if {
	count(policies) > 0
	every p in policies {
		count(problems(p)) == 0
	}
}
