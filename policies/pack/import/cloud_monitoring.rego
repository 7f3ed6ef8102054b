# METADATA
# title: No imported Prowler finding of a monitoring check failed
# description: >-
#   No imported Prowler finding of a check the pack maps to A.8.16 (Monitoring activities) failed, unmuted.
#   Which checks those are is the pack's reviewed table (lib/prowler.rego, topic
#   monitoring), not Prowler's framework lists; a muted finding is Prowler's accepted one.
# custom:
#   id: import.cloud.monitoring
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.16  # Monitoring activities
#       relation: supporting
#       why: Failed Prowler checks on threat detection are monitoring the cloud does not do.
#   asset_kinds: [import]
#   evidence:
#     - import.cloud.failed
#     - import.cloud.failed_count
#     - import.cloud.reports
#   remediation: >-
#     Enable GuardDuty (with a delegated administrator for all regions) and the monitoring listed; run Prowler again.
#   freshness: 7d
package vouch.policies.import.cloud.monitoring

import data.vouch.lib
import data.vouch.lib.prowler

reports := input.evidence["import.cloud.reports"]

failed := input.evidence["import.cloud.failed"]

n := input.evidence["import.cloud.failed_count"]

not_applicable := "no Prowler report is imported" if reports == 0

found := prowler.failed_of(failed, "monitoring")

deny contains sprintf("%d failed Prowler finding(s) of monitoring checks: %s", [count(found), lib.names(found)]) if count(found) > 0

# A list cut at its limit may hide a failure of this topic.
inconclusive := sprintf("the list of failed findings holds %d of %d: some are not shown", [count(failed), n]) if {
	count(found) == 0
	n > count(failed)
}

allow := sprintf("no failed finding of the %d monitoring checks in %d Prowler report(s)", [prowler.checks_of("monitoring"), reports]) if {
	count(found) == 0
	n == count(failed)
}
