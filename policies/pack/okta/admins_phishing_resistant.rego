# METADATA
# title: Okta administrators have a phishing-resistant factor
# description: >-
#   Every Okta administrator who can sign in has an active phishing-resistant factor: a
#   WebAuthn/FIDO2 or U2F security key or platform authenticator, or Okta FastPass. Push and
#   one-time codes can be relayed by a phishing page; these are bound to the real origin.
#   Whether the admin console demands them is set in its authentication policy, which this
#   check does not read.
# custom:
#   id: okta.admins.phishing_resistant_factors
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: supporting
#       why: Phishing-resistant factors are the strength the control asks for privileged access; enrolment alone does not enforce them.
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: Guards the identity provider's privileged roles against relayed credentials.
#   asset_kinds: [okta-org]
#   evidence:
#     - okta.admins.without_phishing_resistant_factor
#   remediation: >-
#     Give each administrator listed a security key or Okta FastPass, then require a
#     phishing-resistant possession factor in the Okta Admin Console's authentication policy.
#   freshness: 24h
package vouch.policies.okta.admins.phishing_resistant_factors

import data.vouch.lib

without := input.evidence["okta.admins.without_phishing_resistant_factor"]

deny contains msg if msg := lib.listed("administrators without a phishing-resistant factor", without)

allow := "every administrator who can sign in has a phishing-resistant factor" if without == []
