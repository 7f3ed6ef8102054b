# METADATA
# title: Every enabled Entra ID member is registered for multifactor authentication
# description: >-
#   Every enabled member of the Entra ID tenant has registered a method Entra ID accepts for
#   multifactor authentication (isMfaRegistered in the authentication methods registration
#   report); a member the report has no record of counts as registered for nothing. Guests are
#   left out: they usually present their home organisation's factors. Enforcement is judged by
#   entra.policies.mfa_enforced; this checks that nobody is left who could not meet it.
# custom:
#   id: entra.users.second_factor_enrolled
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: Every person who can sign in to the identity provider has a second factor to sign in with.
#   asset_kinds: [entra-tenant]
#   evidence:
#     - entra.users.total
#     - entra.users.without_mfa
#     - entra.users.without_mfa_count
#   remediation: >-
#     Have each user listed register Microsoft Authenticator, a passkey or a security key at
#     https://aka.ms/mysecurityinfo: require registration with the registration campaign or a
#     conditional access policy for security info registration, or issue a Temporary Access Pass.
#   freshness: 24h
package vouch.policies.entra.users.second_factor_enrolled

import data.vouch.lib

total := input.evidence["entra.users.total"]

without := input.evidence["entra.users.without_mfa"]

n := input.evidence["entra.users.without_mfa_count"]

deny contains sprintf("%d enabled member(s) are not registered for multifactor authentication: %s", [n, lib.names(without)]) if n > 0

allow := sprintf("every enabled member is registered for multifactor authentication (%d users in the tenant)", [total]) if {
	n == 0
	is_number(total)
}
