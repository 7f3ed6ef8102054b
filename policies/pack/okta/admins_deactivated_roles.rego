# METADATA
# title: No suspended or deactivated Okta user holds an admin role
# description: >-
#   No Okta user who is suspended or deactivated still holds an active admin role assignment.
#   An assignment left on a switched-off account comes back with it when the account is
#   unsuspended or reactivated, without anyone granting the privileges again.
# custom:
#   id: okta.admins.deactivated_without_roles
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: exact
#       why: Privileged roles are removed from accounts switched off, rather than left to return with them.
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: supporting
#       why: Removal of access rights on leaving, for the identity provider's privileged roles.
#   asset_kinds: [okta-org]
#   evidence:
#     - okta.admins.deactivated_with_roles
#   remediation: >-
#     In Security > Administrators, remove the role assignments of each user listed (directly
#     and through groups).
#   freshness: 24h
package vouch.policies.okta.admins.deactivated_without_roles

import data.vouch.lib

holding := input.evidence["okta.admins.deactivated_with_roles"]

deny contains msg if msg := lib.listed("suspended or deactivated users still holding admin roles", holding)

allow := "no suspended or deactivated user holds an admin role" if holding == []
