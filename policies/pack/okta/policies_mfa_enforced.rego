# METADATA
# title: Okta requires a second factor of every sign-in
# description: >-
#   The Okta organisation's policies make every sign-in present a second factor: either no
#   active global session (sign-on) rule lets people in without one, or no active authentication
#   policy rule of any application, the Okta dashboard and admin console included, allows one
#   factor. A rule scoped to a group or a network zone that allows one factor fails the check:
#   people in that group or zone sign in with a password alone.
# custom:
#   id: okta.policies.mfa_enforced
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: The identity provider's own rules refuse a sign-in that lacks a second factor.
#     - control: iso27001-2022:A.5.15  # Access control
#       relation: supporting
#       why: The sign-on and authentication policies are access rules the organisation has set and applies to every sign-in.
#   asset_kinds: [okta-org]
#   evidence:
#     - okta.policies.mfa_required_for_everyone
#     - okta.policies.sign_on_rules_without_mfa
#     - okta.policies.access_rules_without_mfa
#   remediation: >-
#     In Security > Authentication Policies, set every rule that allows access to "Any two
#     factor types" (or require MFA in the global session policy's rules), including the
#     catch-all rules and the Okta Dashboard and Admin Console policies.
#   freshness: 24h
package vouch.policies.okta.policies.mfa_enforced

import data.vouch.lib

required := input.evidence["okta.policies.mfa_required_for_everyone"]

sign_on := input.evidence["okta.policies.sign_on_rules_without_mfa"]

access := input.evidence["okta.policies.access_rules_without_mfa"]

# The rules that let people in with one factor, of whichever kind could be read.
one_factor := array.concat(rules(sign_on), rules(access))

rules(xs) := xs if is_array(xs)

rules(xs) := [] if not is_array(xs)

deny contains sprintf("a sign-in can pass without a second factor: %s", [lib.names(one_factor)]) if {
	required == false
	count(one_factor) > 0
}

deny contains "a sign-in can pass without a second factor: no active policy requires one" if {
	required == false
	count(one_factor) == 0
}

allow := "every sign-in needs a second factor: the authentication policies allow no rule with one factor" if {
	required == true
	access == []
}

allow := "every sign-in needs a second factor: every global session rule that allows access requires one" if {
	required == true
	access != []
}
