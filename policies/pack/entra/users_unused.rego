# METADATA
# title: No enabled Entra ID account has gone unused
# description: >-
#   No enabled account of the tenant, member or guest, has gone without a successful sign-in for
#   more than the collector's inactive_days (90 unless configured), or never signed in since
#   being created longer ago. An account nobody uses is access nobody needs, and one whose owner
#   would not notice its use. Sign-in activity needs an Entra ID P1 or P2 licence; without one
#   the check has no evidence and gives no verdict.
# custom:
#   id: entra.users.unused_accounts_removed
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: exact
#       why: Accounts unused for the period are access rights no longer needed, disabled or removed as the control asks.
#     - control: iso27001-2022:A.5.16  # Identity management
#       relation: supporting
#       why: Part of the identity life cycle, disabling identities no longer in use; joiners and movers are the process's.
#   asset_kinds: [entra-tenant]
#   evidence:
#     - entra.users.inactive
#     - entra.users.inactive_count
#     - entra.users.inactive_days
#   remediation: >-
#     Ask the owner (or, for a guest, the sponsor) of each account listed whether it is still
#     needed; disable or delete those that are not, or let an access review of inactive users
#     (Entra ID Governance) do it after the period.
#   freshness: 24h
package vouch.policies.entra.users.unused_accounts_removed

import data.vouch.lib

unused := input.evidence["entra.users.inactive"]

n := input.evidence["entra.users.inactive_count"]

days := input.evidence["entra.users.inactive_days"]

deny contains sprintf("%d enabled account(s) have not signed in for over %d days: %s", [n, days, lib.names(unused)]) if n > 0

allow := sprintf("every enabled account has signed in within %d days", [days]) if n == 0
