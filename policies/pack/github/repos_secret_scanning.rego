# METADATA
# title: Secret scanning is on in every repository
# description: >-
#   GitHub secret scanning is enabled in every non-archived repository, so credentials
#   committed to code are detected and reported for revocation.
# custom:
#   id: github.repos.secret_scanning_enabled
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.12  # Data leakage prevention
#       relation: exact
#       why: Secret scanning detects credentials leaked into repositories.
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: supporting
#       why: Finds authentication information exposed in code; its issue and handling are not tested.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#     - github.repos.secret_scanning_disabled
#   remediation: >-
#     Enable secret scanning in each repository listed (Settings > Code security), or for all
#     repositories with the organisation's security configuration.
#   freshness: 24h
package vouch.policies.github.repos.secret_scanning_enabled

import data.vouch.lib
import data.vouch.lib.github

repos := input.evidence["github.repos.list"]

not_applicable := github.nothing_examined(repos)

unscanned := input.evidence["github.repos.secret_scanning_disabled"]

deny contains msg if msg := lib.listed("repositories with secret scanning off", unscanned)

allow := github.all_examined("secret scanning is on", repos, unscanned)
