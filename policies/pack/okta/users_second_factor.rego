# METADATA
# title: Everyone who can sign in to Okta has a second factor
# description: >-
#   Every Okta user who can sign in (active, in recovery, with an expired password or locked out)
#   has an active factor besides the password: a security question, being knowledge like the
#   password, does not count. Enforcement is judged by okta.policies.mfa_enforced; this checks
#   that nobody is left who could not meet it.
# custom:
#   id: okta.users.second_factor_enrolled
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: Every person who can sign in to the identity provider has a second factor to sign in with.
#   asset_kinds: [okta-org]
#   evidence:
#     - okta.users.total
#     - okta.users.without_second_factor
#     - okta.users.without_second_factor_count
#   remediation: >-
#     Have each user listed enrol a factor (Okta Verify, a security key or FastPass) at their
#     next sign-in: require enrolment in the authenticator enrolment policy, or reset their
#     factors so that Okta asks for one.
#   freshness: 24h
package vouch.policies.okta.users.second_factor_enrolled

import data.vouch.lib

total := input.evidence["okta.users.total"]

without := input.evidence["okta.users.without_second_factor"]

n := input.evidence["okta.users.without_second_factor_count"]

deny contains sprintf("%d user(s) who can sign in have no second factor: %s", [n, lib.names(without)]) if n > 0

allow := sprintf("every user who can sign in has a second factor (%d users in the organisation)", [total]) if {
	n == 0
	is_number(total)
}
