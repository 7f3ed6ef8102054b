# METADATA
# title: Google Workspace enforces 2-Step Verification for everyone
# description: >-
#   2-Step Verification is enforced for every user of the Google Workspace account who can sign
#   in (isEnforcedIn2Sv for each active user), whichever organisational unit or group enforces
#   it: none of them may sign in with a password alone, or turn 2-Step Verification off. The
#   enforcement settings themselves are not exposed by the Directory API and not judged: a
#   new-user enrolment period (those users are judged by
#   google_workspace.users.second_factor_enrolled), trusted devices that skip the second step,
#   and the methods allowed.
# custom:
#   id: google_workspace.policies.mfa_enforced
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: The identity provider's own settings refuse a sign-in that lacks a second factor, for every active user.
#     - control: iso27001-2022:A.5.15  # Access control
#       relation: supporting
#       why: 2-Step Verification enforcement is an access rule the organisation has set and applies to every sign-in.
#   asset_kinds: [google-workspace]
#   evidence:
#     - google_workspace.users.mfa_required_for_everyone
#     - google_workspace.users.not_enforced_2sv
#     - google_workspace.users.not_enforced_2sv_count
#   remediation: >-
#     In Security > Authentication > 2-Step Verification, turn on enforcement for the top-level
#     organisational unit (and every unit or group that overrides it), with a short new-user
#     enrolment period; exempt no unit.
#   freshness: 24h
package vouch.policies.google_workspace.policies.mfa_enforced

import data.vouch.lib

required := input.evidence["google_workspace.users.mfa_required_for_everyone"]

not_enforced := input.evidence["google_workspace.users.not_enforced_2sv"]

n := input.evidence["google_workspace.users.not_enforced_2sv_count"]

deny contains sprintf("2-Step Verification is not enforced for %d active user(s), who may sign in with a password alone: %s", [n, lib.names(not_enforced)]) if {
	required == false
	n > 0
}

allow := "every active user is held to 2-Step Verification: it is enforced for each of them" if {
	required == true
	n == 0
}
