# METADATA
# title: Passwords cannot be changed back at once
# description: >-
#   PASS_MIN_DAYS in /etc/login.defs is at least 1, so a user cannot cycle through
#   passwords to get back to an old one the same day.
# custom:
#   id: host.password.min_age_set
#   severity: low
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: A minimum age stops a password being changed straight back.
#   asset_kinds: [host]
#   evidence:
#     - host.password.min_days
#   remediation: >-
#     Set PASS_MIN_DAYS 1 in /etc/login.defs and apply it with "chage --mindays 1".
#   freshness: 24h
package vouch.policies.host.password.min_age_set

days := input.evidence["host.password.min_days"]

acceptable if {
	days >= 1
}

deny contains sprintf("PASS_MIN_DAYS is %d", [days]) if {
	is_number(days)
	not acceptable
}

allow := sprintf("PASS_MIN_DAYS is %d", [days]) if acceptable
