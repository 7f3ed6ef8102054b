# METADATA
# title: No imported Prowler finding of a privileged-access check failed
# description: >-
#   No imported Prowler finding of a check the pack maps to A.8.2 (Privileged access rights) failed, unmuted.
#   Which checks those are is the pack's reviewed table (lib/prowler.rego, topic
#   privileged_access), not Prowler's framework lists; a muted finding is Prowler's accepted one.
# custom:
#   id: import.cloud.privileged_access
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: Failed Prowler checks on administrative and full-service grants are privileged rights beyond need.
#   asset_kinds: [import]
#   evidence:
#     - import.cloud.failed
#     - import.cloud.failed_count
#     - import.cloud.reports
#   remediation: >-
#     Replace each administrative or full-access policy listed with one scoped to the duties it serves; run Prowler again.
#   freshness: 7d
package vouch.policies.import.cloud.privileged_access

import data.vouch.lib
import data.vouch.lib.prowler

reports := input.evidence["import.cloud.reports"]

failed := input.evidence["import.cloud.failed"]

n := input.evidence["import.cloud.failed_count"]

not_applicable := "no Prowler report is imported" if reports == 0

found := prowler.failed_of(failed, "privileged_access")

deny contains sprintf("%d failed Prowler finding(s) of privileged-access checks: %s", [count(found), lib.names(found)]) if count(found) > 0

# A list cut at its limit may hide a failure of this topic.
inconclusive := sprintf("the list of failed findings holds %d of %d: some are not shown", [count(failed), n]) if {
	count(found) == 0
	n > count(failed)
}

allow := sprintf("no failed finding of the %d privileged-access checks in %d Prowler report(s)", [prowler.checks_of("privileged_access"), reports]) if {
	count(found) == 0
	n == count(failed)
}
