# METADATA
# title: Every password in use expires within a year
# description: >-
#   Every account with a usable password has a maximum password age in /etc/shadow between 1
#   and the organisation's maximum (parameter password_max_days, 365 days by default as in
#   the CIS benchmarks). PASS_MAX_DAYS in login.defs applies only to accounts created after it
#   was set: accounts made before, and root, often keep 99999 (never). Only the ageing fields
#   of /etc/shadow are read into evidence, never a password hash.
# custom:
#   id: host.accounts.password_max_age
#   severity: low
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: Every password in use must change within the maximum age, a rule on authentication information applied to each account.
#   asset_kinds: [host]
#   evidence:
#     - host.accounts.password_ageing
#   remediation: >-
#     For each account listed, run "chage --maxdays 365 ACCOUNT" (or your policy's value), or
#     lock the password ("passwd -l") of accounts that log in with keys only.
#   freshness: 24h
package vouch.policies.host.accounts.password_max_age

import data.vouch.lib

ageing := input.evidence["host.accounts.password_ageing"]

limit := data.vouch.config.parameters.password_max_days

# "account (never)" or "account (N days)" for each password whose maximum age is unset, never
# or beyond the limit.
too_long := [sprintf("%s (%s)", [a.account, age_text(a.max_days)]) |
	some a in ageing
	not within(a.max_days)
]

within(days) if {
	is_number(days)
	days >= 1
	days <= limit
}

age_text(days) := "no maximum" if days == null

age_text(days) := "never: 99999" if days >= 99999

age_text(days) := sprintf("%d days", [days]) if {
	is_number(days)
	days < 99999
}

age_text(days) := sprintf("%v", [days]) if {
	not is_number(days)
	days != null
}

deny contains msg if msg := lib.listed(sprintf("passwords that need not change within %d days", [limit]), too_long)

allow := sprintf("every one of the %d password(s) in use must change within %d days", [count(ageing), limit]) if {
	is_array(ageing)
	too_long == []
}
