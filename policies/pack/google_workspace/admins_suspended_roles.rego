# METADATA
# title: No suspended or archived Google Workspace user holds an admin role
# description: >-
#   No user whose account is suspended or archived still holds an admin role, directly or
#   through a group, nor the administrator flags. A role left on a suspended account comes back
#   with it when the account is restored, without anyone granting the privilege anew.
# custom:
#   id: google_workspace.admins.suspended_without_roles
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: exact
#       why: Privileged roles are removed from accounts switched off, rather than left to return with them.
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: supporting
#       why: Removal of access rights on leaving, for the identity provider's privileged roles.
#   asset_kinds: [google-workspace]
#   evidence:
#     - google_workspace.admins.suspended_with_roles
#   remediation: >-
#     In Account > Admin roles, remove each account listed from its roles (and from the groups
#     the roles are assigned to), or delete the account.
#   freshness: 24h
package vouch.policies.google_workspace.admins.suspended_without_roles

import data.vouch.lib

holding := input.evidence["google_workspace.admins.suspended_with_roles"]

deny contains msg if msg := lib.listed("suspended or archived users still holding admin roles", holding)

allow := "no suspended or archived user holds an admin role" if holding == []
