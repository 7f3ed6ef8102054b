# METADATA
# title: Dependabot alerts are on in every repository
# description: >-
#   Dependabot alerts are enabled in every non-archived repository, so known vulnerabilities
#   in its dependencies are reported (and counted by github.dependabot.no_critical_high_alerts).
# custom:
#   id: github.repos.dependabot_alerts_enabled
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: exact
#       why: Alerts identify known vulnerabilities in each repository's dependencies.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#     - github.repos.dependabot_alerts_disabled
#   remediation: >-
#     Enable Dependabot alerts in each repository listed (Settings > Code security), or for
#     all repositories with the organisation's security configuration.
#   freshness: 24h
package vouch.policies.github.repos.dependabot_alerts_enabled

import data.vouch.lib
import data.vouch.lib.github

repos := input.evidence["github.repos.list"]

not_applicable := github.nothing_examined(repos)

silent := input.evidence["github.repos.dependabot_alerts_disabled"]

deny contains msg if msg := lib.listed("repositories with Dependabot alerts off", silent)

allow := github.all_examined("Dependabot alerts are on", repos, silent)
