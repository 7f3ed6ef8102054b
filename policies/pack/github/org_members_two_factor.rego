# METADATA
# title: Every organisation member has two-factor authentication on
# description: >-
#   No member of the GitHub organisation lacks two-factor authentication, whether or not the
#   organisation requires it (members can be in a grace period or added before the
#   requirement).
# custom:
#   id: github.org.all_members_two_factor
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: Every member signs in with a second factor.
#   asset_kinds: [github-org]
#   evidence:
#     - github.org.members
#     - github.org.members_without_2fa
#   remediation: >-
#     Ask the members listed under People > "2FA: disabled" to enable two-factor
#     authentication, and require it for the organisation.
#   freshness: 24h
package vouch.policies.github.org.all_members_two_factor

members := input.evidence["github.org.members"]

without := input.evidence["github.org.members_without_2fa"]

deny contains sprintf("%d of the %d members have not enabled two-factor authentication", [without, members]) if {
	without > 0
}

allow := sprintf("all %d members have two-factor authentication on", [members]) if without == 0
