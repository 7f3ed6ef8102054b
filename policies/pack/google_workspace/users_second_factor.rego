# METADATA
# title: Every active Google Workspace user is enrolled in 2-Step Verification
# description: >-
#   Every user of the Google Workspace account who can sign in (neither suspended nor archived)
#   is enrolled in 2-Step Verification (isEnrolledIn2Sv). A user 2-Step Verification is
#   enforced for but who has not enrolled yet, in the new-user enrolment period, signs in with a
#   password alone until they do, and counts as not enrolled. Enforcement is judged by
#   google_workspace.policies.mfa_enforced; this checks that nobody is left who could not meet
#   it. Which second factor people enrolled is not judged here (for administrators, see
#   google_workspace.admins.phishing_resistant_factors).
# custom:
#   id: google_workspace.users.second_factor_enrolled
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: Every person who can sign in to the identity provider has a second factor to sign in with.
#   asset_kinds: [google-workspace]
#   evidence:
#     - google_workspace.users.total
#     - google_workspace.users.without_2sv
#     - google_workspace.users.without_2sv_count
#   remediation: >-
#     Have each user listed enrol at myaccount.google.com/signinoptions/twosv (a security key or
#     passkey where possible); enforce 2-Step Verification for their organisational unit with a
#     short new-user enrolment period so that Google asks them at their next sign-in.
#   freshness: 24h
package vouch.policies.google_workspace.users.second_factor_enrolled

import data.vouch.lib

total := input.evidence["google_workspace.users.total"]

without := input.evidence["google_workspace.users.without_2sv"]

n := input.evidence["google_workspace.users.without_2sv_count"]

deny contains sprintf("%d active user(s) are not enrolled in 2-Step Verification: %s", [n, lib.names(without)]) if n > 0

allow := sprintf("every active user is enrolled in 2-Step Verification (%d users in the account)", [total]) if {
	n == 0
	is_number(total)
}
