# METADATA
# title: No critical or high Dependabot alert is open
# description: >-
#   No open Dependabot alert of critical or high severity in the covered repositories: known
#   serious vulnerabilities in dependencies are fixed or dismissed with a reason. A repository
#   with alerts off has none to count, so while any has them off there is no pass.
# custom:
#   id: github.dependabot.no_critical_high_alerts
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: exact
#       why: An open critical or high alert is a known vulnerability not yet remedied.
#   asset_kinds: [github-org]
#   evidence:
#     - github.dependabot.open_alerts
#     - github.dependabot.open_alerts_by_repository
#     - github.repos.dependabot_alerts_disabled
#   remediation: >-
#     Update the vulnerable dependencies (merge Dependabot's pull requests), or dismiss an
#     alert with the reason it does not apply; turn alerts on where they are off.
#   freshness: 24h
package vouch.policies.github.dependabot.no_critical_high_alerts

import data.vouch.lib

open := input.evidence["github.dependabot.open_alerts"]

serious := open.critical + open.high

repos := [sprintf("%s (%d critical, %d high)", [name, c.critical, c.high]) |
	some name, c in input.evidence["github.dependabot.open_alerts_by_repository"]
	c.critical + c.high > 0
]

silent := input.evidence["github.repos.dependabot_alerts_disabled"]

deny contains sprintf("%d critical and %d high Dependabot alert(s) open: %s", [open.critical, open.high, lib.names(repos)]) if {
	serious > 0
}

inconclusive := sprintf("no critical or high alert is open, but %s: their vulnerabilities are not counted", [lib.listed("Dependabot alerts are off in", silent)]) if {
	serious == 0
	count(silent) > 0
}

allow := sprintf("no critical or high Dependabot alert is open (%d medium, %d low)", [open.medium, open.low]) if {
	serious == 0
	silent == []
}
