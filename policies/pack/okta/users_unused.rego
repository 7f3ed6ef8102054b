# METADATA
# title: No Okta account that can sign in has gone unused
# description: >-
#   No Okta user who can sign in has gone without signing in for more than the collector's
#   inactive_days (90 unless configured), or never signed in since being activated longer ago.
#   An account nobody uses is access nobody needs, and one whose owner would not notice its
#   use.
# custom:
#   id: okta.users.unused_accounts_removed
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: exact
#       why: Accounts unused for the period are access rights no longer needed, suspended or removed as the control asks.
#     - control: iso27001-2022:A.5.16  # Identity management
#       relation: supporting
#       why: Part of the identity life cycle, disabling identities no longer in use; joiners and movers are the process's.
#   asset_kinds: [okta-org]
#   evidence:
#     - okta.users.inactive
#     - okta.users.inactive_count
#     - okta.users.inactive_days
#   remediation: >-
#     Ask the owner of each account listed whether it is still needed; suspend or deactivate
#     those that are not (or let an Okta Workflows or lifecycle rule do it after the period).
#   freshness: 24h
package vouch.policies.okta.users.unused_accounts_removed

import data.vouch.lib

unused := input.evidence["okta.users.inactive"]

n := input.evidence["okta.users.inactive_count"]

days := input.evidence["okta.users.inactive_days"]

deny contains sprintf("%d account(s) that can sign in have not for over %d days: %s", [n, days, lib.names(unused)]) if n > 0

allow := sprintf("every account that can sign in has signed in within %d days", [days]) if n == 0
