# METADATA
# title: Only root has UID 0
# description: >-
#   root is the only account with user id 0: another UID 0 account is a second, easily#
#   overlooked superuser.
# custom:
#   id: host.accounts.root_only_uid0
#   severity: critical
#   controls:#
#     - iso27001-2022:A.8.2  # Privileged access rights
#   asset_kinds: [host]
#   evidence:
#     - host.accounts.uid0
#   remediation: >-
#     Remove the extra account or give it its own UID; grant administrative rights through
#     sudo instead.
#   freshness: 24h
package vouch.policies.host.accounts.root_only_uid0

import data.vouch.lib

uid0 := input.evidence["host.accounts.uid0"]

others := [name | some name in uid0; name != "root"]

deny contains msg if msg := lib.listed("accounts other than root have UID 0", others)

allow := "only root has UID 0" if uid0 == ["root"]

inconclusive := "no account has UID 0: the account database read looks incomplete" if uid0 == []
