# METADATA
# title: Suspended and deactivated Okta users hold no application assignments
# description: >-
#   No suspended or deactivated Okta user is still assigned to an application. Okta refuses
#   their sign-in, but an assignment left in place keeps their account provisioned in the
#   application (and is restored with the Okta account), so the access right itself has not
#   been removed.
# custom:
#   id: okta.users.deactivated_without_app_assignments
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: exact
#       why: The access rights of people who left or were suspended are removed from the applications, not only from sign-in.
#     - control: iso27001-2022:A.5.16  # Identity management
#       relation: supporting
#       why: The end of an identity's life cycle reaches the accounts provisioned from it.
#   asset_kinds: [okta-org]
#   evidence:
#     - okta.users.deactivated_with_apps
#   remediation: >-
#     Unassign the applications of each user listed (directly and through groups), with
#     deprovisioning on, so that their accounts in the applications are removed too.
#   freshness: 24h
package vouch.policies.okta.users.deactivated_without_app_assignments

import data.vouch.lib

assigned := input.evidence["okta.users.deactivated_with_apps"]

deny contains msg if msg := lib.listed("suspended or deactivated users still assigned to applications", assigned)

allow := "no suspended or deactivated user is assigned to an application" if assigned == []
