# METADATA
# title: No imported Prowler finding of a hardening check failed
# description: >-
#   No imported Prowler finding of a check the pack maps to A.8.9 (Configuration management) failed, unmuted.
#   Which checks those are is the pack's reviewed table (lib/prowler.rego, topic
#   configuration), not Prowler's framework lists; a muted finding is Prowler's accepted one.
# custom:
#   id: import.cloud.configuration
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: supporting
#       why: Failed Prowler checks on instance metadata and image tags are configurations short of the hardened baseline.
#   asset_kinds: [import]
#   evidence:
#     - import.cloud.failed
#     - import.cloud.failed_count
#     - import.cloud.reports
#   remediation: >-
#     Require IMDSv2 on the instances listed and make the registries' tags immutable; run Prowler again.
#   freshness: 7d
package vouch.policies.import.cloud.configuration

import data.vouch.lib
import data.vouch.lib.prowler

reports := input.evidence["import.cloud.reports"]

failed := input.evidence["import.cloud.failed"]

n := input.evidence["import.cloud.failed_count"]

not_applicable := "no Prowler report is imported" if reports == 0

found := prowler.failed_of(failed, "configuration")

deny contains sprintf("%d failed Prowler finding(s) of hardening checks: %s", [count(found), lib.names(found)]) if count(found) > 0

# A list cut at its limit may hide a failure of this topic.
inconclusive := sprintf("the list of failed findings holds %d of %d: some are not shown", [count(failed), n]) if {
	count(found) == 0
	n > count(failed)
}

allow := sprintf("no failed finding of the %d hardening checks in %d Prowler report(s)", [prowler.checks_of("configuration"), reports]) if {
	count(found) == 0
	n == count(failed)
}
