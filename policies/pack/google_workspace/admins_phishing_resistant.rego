# METADATA
# title: Google Workspace administrators have a phishing-resistant factor
# description: >-
#   Every administrator of the Google Workspace account who can sign in (super administrators
#   and holders of any admin role, directly or through a group) has enrolled a security key or a
#   passkey for 2-Step Verification, as the Reports API's user usage report of a day or two
#   before counts them. The Google prompt, authenticator codes, backup codes and SMS can be
#   relayed by a phishing page; security keys and passkeys are bound to Google's real origin.
#   Whether sign-in demands them (2-Step Verification methods set to "Only security key" for
#   the administrators' organisational unit) is not exposed by the Admin SDK and not judged.
# custom:
#   id: google_workspace.admins.phishing_resistant_factors
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: supporting
#       why: Phishing-resistant factors are the strength the control asks for privileged access; enrolment alone does not enforce them.
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: Guards the identity provider's privileged roles against relayed credentials.
#   asset_kinds: [google-workspace]
#   evidence:
#     - google_workspace.admins.without_phishing_resistant_factor
#     - google_workspace.users.usage_report_date
#   remediation: >-
#     Give each administrator listed a security key or have them create a passkey, then allow
#     only security keys as the 2-Step Verification method of their organisational unit (Admin
#     console > Security > Authentication > 2-step verification), as Google advises for
#     administrators.
#   freshness: 24h
package vouch.policies.google_workspace.admins.phishing_resistant_factors

import data.vouch.lib

without := input.evidence["google_workspace.admins.without_phishing_resistant_factor"]

day := input.evidence["google_workspace.users.usage_report_date"]

deny contains msg if {
	is_string(day)
	msg := lib.listed(sprintf("active administrators without a security key or passkey on %s", [day]), without)
}

allow := sprintf("every active administrator has a security key or passkey (usage report of %s)", [day]) if {
	without == []
	is_string(day)
}
