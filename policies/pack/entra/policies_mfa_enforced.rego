# METADATA
# title: Entra ID requires a second factor of every sign-in
# description: >-
#   The tenant makes every sign-in present a second factor: the security defaults are on, or an
#   enabled conditional access policy requires multifactor authentication (the MFA control, or
#   an authentication strength, not one of several alternatives) of all users for all
#   applications, with no other condition (client apps, platforms, locations, risk, devices)
#   narrowing it. Report-only policies enforce nothing. Individual users it excludes are named
#   in the verdict for review as emergency access accounts, which Microsoft advises to exclude;
#   an excluded group, role, guests or application fails the check, since whoever joins it signs
#   in with a password alone. The security defaults ask ordinary users for a second factor when
#   Entra ID judges it necessary, administrators every time.
# custom:
#   id: entra.policies.mfa_enforced
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: The identity provider's own rules refuse a sign-in that lacks a second factor.
#     - control: iso27001-2022:A.5.15  # Access control
#       relation: supporting
#       why: Conditional access policies are access rules the organisation has set and applies to every sign-in.
#   asset_kinds: [entra-tenant]
#   evidence:
#     - entra.policies.mfa_required_for_everyone
#     - entra.policies.mfa_policies_for_everyone
#     - entra.policies.mfa_exclusions
#     - entra.policies.security_defaults_enabled
#   remediation: >-
#     Create (or switch from report-only to on) a conditional access policy for all users and
#     all resources that grants access only with multifactor authentication or an authentication
#     strength, excluding only the emergency access accounts; or, without Entra ID P1, turn the
#     security defaults on.
#   freshness: 24h
package vouch.policies.entra.policies.mfa_enforced

import data.vouch.lib

required := input.evidence["entra.policies.mfa_required_for_everyone"]

policies := input.evidence["entra.policies.mfa_policies_for_everyone"]

exclusions := input.evidence["entra.policies.mfa_exclusions"]

defaults := input.evidence["entra.policies.security_defaults_enabled"]

# Exclusions beyond individual accounts: a group, a role, guests, an application.
broad := [sprintf("%s %s (%s)", [e.kind, e.name, e.policy]) | some e in exclusions; e.kind != "user"]

excluded_users := [e.name | some e in exclusions; e.kind == "user"]

deny contains "a sign-in can pass without a second factor: the security defaults are off and no enabled conditional access policy requires MFA of all users for all applications" if {
	required == false
}

deny contains sprintf("the policies requiring MFA of everyone leave out more than individual accounts: %s", [lib.names(broad)]) if {
	required == true
	count(broad) > 0
}

allow := "every sign-in needs a second factor: the security defaults are on" if {
	required == true
	defaults == true
}

allow := sprintf("every sign-in needs a second factor: conditional access policy %s%s", [lib.names(policies), user_note]) if {
	required == true
	defaults == false
	count(broad) == 0
}

user_note := "" if count(excluded_users) == 0

user_note := sprintf(" (excluded accounts, to review as emergency access accounts: %s)", [lib.names(excluded_users)]) if {
	count(excluded_users) > 0
}
