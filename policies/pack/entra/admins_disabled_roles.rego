# METADATA
# title: No disabled Entra ID account holds a directory role
# description: >-
#   No account whose sign-in is disabled still holds a directory role, directly or through a
#   role-assignable group, actively or as eligible through Privileged Identity Management. A role left on a disabled account comes back with it when the account
#   is enabled again, without anyone granting the privilege anew.
# custom:
#   id: entra.admins.disabled_without_roles
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: exact
#       why: Privileged roles are removed from accounts switched off, rather than left to return with them.
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: supporting
#       why: Removal of access rights on leaving, for the identity provider's privileged roles.
#   asset_kinds: [entra-tenant]
#   evidence:
#     - entra.admins.disabled_with_roles
#   remediation: >-
#     In Roles and administrators, remove each account listed from its roles (and from the
#     role-assignable groups that hold them), or delete the account.
#   freshness: 24h
package vouch.policies.entra.admins.disabled_without_roles

import data.vouch.lib

holding := input.evidence["entra.admins.disabled_with_roles"]

deny contains msg if msg := lib.listed("disabled accounts still holding directory roles", holding)

allow := "no disabled account holds a directory role" if holding == []
