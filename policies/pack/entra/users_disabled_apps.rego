# METADATA
# title: Disabled Entra ID accounts hold no application roles
# description: >-
#   No disabled account is still granted an application role (an enterprise application's
#   assignment), directly or through a group it is a direct member of. Entra ID refuses its
#   sign-in, but the assignment keeps the account provisioned in applications that provision
#   from Entra ID, and comes back with the account, so the access right itself has not been
#   removed.
# custom:
#   id: entra.users.disabled_without_app_assignments
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: exact
#       why: The access rights of people who left or were suspended are removed from the applications, not only from sign-in.
#     - control: iso27001-2022:A.5.16  # Identity management
#       relation: supporting
#       why: The end of an identity's life cycle reaches the accounts provisioned from it.
#   asset_kinds: [entra-tenant]
#   evidence:
#     - entra.users.disabled_with_app_roles
#   remediation: >-
#     Remove the application assignments of each account listed (and its memberships of the
#     groups assigned to applications), so that provisioning removes its accounts there too; or
#     delete the account.
#   freshness: 24h
package vouch.policies.entra.users.disabled_without_app_assignments

import data.vouch.lib

assigned := input.evidence["entra.users.disabled_with_app_roles"]

deny contains msg if msg := lib.listed("disabled accounts still granted application roles", assigned)

allow := "no disabled account is granted an application role" if assigned == []
