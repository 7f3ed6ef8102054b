# METADATA
# title: Users are warned before their password expires
# description: >-
#   PASS_WARN_AGE in /etc/login.defs is at least 7 days.
# custom:
#   id: host.password.expiry_warning
#   severity: low
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: supporting
#       why: Warning users before expiry helps them renew passwords; it is no rule on the passwords themselves.
#   asset_kinds: [host]
#   evidence:
#     - host.password.warn_age
#   remediation: >-
#     Set PASS_WARN_AGE 7 in /etc/login.defs and apply it with "chage --warndays 7".
#   freshness: 24h
package vouch.policies.host.password.expiry_warning

days := input.evidence["host.password.warn_age"]

acceptable if {
	days >= 7
}

deny contains sprintf("PASS_WARN_AGE is %d, fewer than 7 days", [days]) if {
	is_number(days)
	not acceptable
}

allow := sprintf("PASS_WARN_AGE is %d", [days]) if acceptable
