# METADATA
# title: Google Workspace administrators are enrolled in and held to 2-Step Verification
# description: >-
#   Every administrator of the Google Workspace account who can sign in (super administrators
#   and holders of any admin role, directly or through a group) is enrolled in 2-Step
#   Verification and has it enforced, so that they can neither sign in with a password alone
#   nor turn it off. An administrator of the identity provider can reach every application it
#   signs people in to. Whether their second factor resists phishing (a security key or passkey)
#   is judged by google_workspace.admins.phishing_resistant_factors.
# custom:
#   id: google_workspace.admins.second_factor_enforced
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: Privileged identities sign in with a second factor the identity provider enforces.
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: Protects the use of Google Workspace's admin roles; who holds them is the access review's.
#   asset_kinds: [google-workspace]
#   evidence:
#     - google_workspace.admins.count
#     - google_workspace.admins.without_2sv
#     - google_workspace.admins.not_enforced_2sv
#   remediation: >-
#     Have each administrator listed enrol a security key or passkey, and enforce 2-Step
#     Verification for their organisational unit or a group of all administrators (Google
#     advises security keys only for them).
#   freshness: 24h
package vouch.policies.google_workspace.admins.second_factor_enforced

import data.vouch.lib

admins := input.evidence["google_workspace.admins.count"]

without := input.evidence["google_workspace.admins.without_2sv"]

not_enforced := input.evidence["google_workspace.admins.not_enforced_2sv"]

deny contains msg if msg := lib.listed("active administrators not enrolled in 2-Step Verification", without)

deny contains msg if msg := lib.listed("active administrators for whom 2-Step Verification is not enforced", not_enforced)

allow := sprintf("every active administrator is enrolled in 2-Step Verification and held to it (%d administrators)", [admins]) if {
	without == []
	not_enforced == []
	is_number(admins)
}
