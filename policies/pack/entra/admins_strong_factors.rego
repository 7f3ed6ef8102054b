# METADATA
# title: Entra ID administrators sign in with a strong method
# description: >-
#   Every enabled holder of a directory role, active or eligible through Privileged Identity
#   Management, has registered a method stronger than SMS, a voice
#   call, a Temporary Access Pass, an email address or security questions: Microsoft
#   Authenticator, an OATH code, a FIDO2 security key or passkey, Windows Hello for Business or a
#   certificate. An administrator of the identity provider can reach every application it signs
#   people in to, so a one-time code that a SIM swap or a mailbox takeover yields is not enough.
# custom:
#   id: entra.admins.strong_factors
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: Privileged identities authenticate with a factor that interception of SMS, calls or email cannot yield.
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: Protects the use of the identity provider's privileged roles; who holds them is the access review's.
#   asset_kinds: [entra-tenant]
#   evidence:
#     - entra.admins.count
#     - entra.admins.without_strong_method
#   remediation: >-
#     Have each administrator listed register Microsoft Authenticator, a passkey or a security
#     key, then require an authentication strength for directory roles in conditional access and
#     disable SMS and voice in the authentication methods policy for them.
#   freshness: 24h
package vouch.policies.entra.admins.strong_factors

import data.vouch.lib

admins := input.evidence["entra.admins.count"]

weak := input.evidence["entra.admins.without_strong_method"]

deny contains msg if msg := lib.listed(sprintf("%d of the %d administrators can sign in without a strong method", [count(weak), admins]), weak)

allow := sprintf("each of the %d administrators has a strong method", [admins]) if {
	weak == []
	is_number(admins)
}
