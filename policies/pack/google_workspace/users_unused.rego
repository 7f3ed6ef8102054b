# METADATA
# title: No active Google Workspace account has gone unused
# description: >-
#   No user of the Google Workspace account who can sign in (neither suspended nor archived) has
#   gone without signing in for more than the collector's inactive_days (90 unless configured),
#   or never signed in since being created longer ago. An account nobody uses is access nobody
#   needs, and one whose owner would not notice its use.
# custom:
#   id: google_workspace.users.unused_accounts_removed
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: exact
#       why: Accounts unused for the period are access rights no longer needed, suspended or removed as the control asks.
#     - control: iso27001-2022:A.5.16  # Identity management
#       relation: supporting
#       why: Part of the identity life cycle, disabling identities no longer in use; joiners and movers are the process's.
#   asset_kinds: [google-workspace]
#   evidence:
#     - google_workspace.users.inactive
#     - google_workspace.users.inactive_count
#     - google_workspace.users.inactive_days
#   remediation: >-
#     Ask the owner of each account listed whether it is still needed; suspend or delete those
#     that are not (archive them, where the data must be kept).
#   freshness: 24h
package vouch.policies.google_workspace.users.unused_accounts_removed

import data.vouch.lib

unused := input.evidence["google_workspace.users.inactive"]

n := input.evidence["google_workspace.users.inactive_count"]

days := input.evidence["google_workspace.users.inactive_days"]

deny contains sprintf("%d active account(s) have not signed in for over %d days: %s", [n, days, lib.names(unused)]) if n > 0

allow := sprintf("every active account has signed in within %d days", [days]) if n == 0
