# METADATA
# title: New accounts' passwords expire within a year
# description: >-
#   PASS_MAX_DAYS in /etc/login.defs is between 1 and the organisation's maximum (parameter
#   password_max_days, 365 days by default as in the CIS benchmarks), so a password that
#   leaked unnoticed stops working in time. 99999 means never. It applies to accounts created
#   from now on; host.accounts.password_max_age checks the accounts that exist.
# custom:
#   id: host.password.max_age_limited
#   severity: low
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: Passwords expire, a rule on authentication information.
#   asset_kinds: [host]
#   evidence:
#     - host.password.max_days
#   remediation: >-
#     Set PASS_MAX_DAYS 365 (or your policy's value) in /etc/login.defs and apply it to
#     existing accounts with "chage --maxdays".
#   freshness: 24h
package vouch.policies.host.password.max_age_limited

days := input.evidence["host.password.max_days"]

limit := data.vouch.config.parameters.password_max_days

acceptable if {
	days >= 1
	days <= limit
}

deny contains sprintf("PASS_MAX_DAYS is %d, not between 1 and %d days (99999 means never)", [days, limit]) if {
	is_number(days)
	not acceptable
}

allow := sprintf("PASS_MAX_DAYS is %d", [days]) if acceptable
