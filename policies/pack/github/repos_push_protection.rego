# METADATA
# title: Pushes containing secrets are blocked in every repository
# description: >-
#   Secret scanning push protection is on in every non-archived repository: a push that
#   contains a recognised credential is refused before the secret reaches the repository.
# custom:
#   id: github.repos.push_protection_enabled
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.12  # Data leakage prevention
#       relation: exact
#       why: Pushes carrying secrets are blocked before the secret leaks into the repository.
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: supporting
#       why: Keeps authentication information out of code; its issue and handling are not tested.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#     - github.repos.push_protection_disabled
#   remediation: >-
#     Enable push protection with secret scanning in each repository listed (Settings > Code
#     security), or in the organisation's security configuration.
#   freshness: 24h
package vouch.policies.github.repos.push_protection_enabled

import data.vouch.lib
import data.vouch.lib.github

repos := input.evidence["github.repos.list"]

not_applicable := github.nothing_examined(repos)

unprotected := input.evidence["github.repos.push_protection_disabled"]

deny contains msg if msg := lib.listed("repositories whose pushes are not checked for secrets", unprotected)

allow := github.all_examined("pushes containing secrets are blocked", repos, unprotected)
