# METADATA
# title: Entra ID administrators have a phishing-resistant method
# description: >-
#   Every enabled holder of a directory role, active or eligible through Privileged Identity
#   Management, has registered a phishing-resistant method: a FIDO2
#   security key or passkey, Windows Hello for Business, the macOS Platform SSO key or a
#   multifactor certificate. Push and one-time codes can be relayed by a phishing page; these are
#   bound to the real origin or device. Whether sign-in demands them is set by conditional
#   access (an authentication strength), which this check does not judge.
# custom:
#   id: entra.admins.phishing_resistant_factors
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: supporting
#       why: Phishing-resistant methods are the strength the control asks for privileged access; registration alone does not enforce them.
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: Guards the identity provider's privileged roles against relayed credentials.
#   asset_kinds: [entra-tenant]
#   evidence:
#     - entra.admins.without_phishing_resistant_method
#   remediation: >-
#     Give each administrator listed a security key or passkey (or Windows Hello for Business),
#     then require the Phishing-resistant MFA authentication strength for directory roles in
#     conditional access.
#   freshness: 24h
package vouch.policies.entra.admins.phishing_resistant_factors

import data.vouch.lib

without := input.evidence["entra.admins.without_phishing_resistant_method"]

deny contains msg if msg := lib.listed("administrators without a phishing-resistant method", without)

allow := "every enabled administrator has a phishing-resistant method" if without == []
