# METADATA
# title: Okta administrators sign in with a strong factor
# description: >-
#   Every Okta administrator who can sign in has an active factor stronger than SMS, voice call,
#   email or a security question: Okta Verify push, a TOTP or hardware token, WebAuthn/FIDO2,
#   U2F or FastPass. An administrator of the identity provider can reach every application it
#   signs people in to, so a one-time code that a SIM swap or a mailbox takeover yields is not
#   enough.
# custom:
#   id: okta.admins.strong_factors
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: Privileged identities authenticate with a factor that interception of SMS, calls or email cannot yield.
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: Protects the use of the identity provider's privileged roles; who holds them is the access review's.
#   asset_kinds: [okta-org]
#   evidence:
#     - okta.admins.count
#     - okta.admins.without_strong_factor
#   remediation: >-
#     Have each administrator listed enrol Okta Verify, a security key or FastPass, then remove
#     SMS, voice and email from the authenticators the Admin Console's authentication policy
#     accepts.
#   freshness: 24h
package vouch.policies.okta.admins.strong_factors

import data.vouch.lib

admins := input.evidence["okta.admins.count"]

weak := input.evidence["okta.admins.without_strong_factor"]

deny contains msg if msg := lib.listed(sprintf("%d of the %d administrators can sign in without a strong factor", [count(weak), admins]), weak)

allow := sprintf("each of the %d administrators has a strong factor", [admins]) if {
	weak == []
	is_number(admins)
}
