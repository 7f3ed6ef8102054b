# METADATA
# title: No imported Prowler finding of a backup check failed
# description: >-
#   No imported Prowler finding of a check the pack maps to A.8.13 (Information backup) failed, unmuted.
#   Which checks those are is the pack's reviewed table (lib/prowler.rego, topic
#   backup), not Prowler's framework lists; a muted finding is Prowler's accepted one.
# custom:
#   id: import.cloud.backup
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.13  # Information backup
#       relation: supporting
#       why: Failed Prowler checks on backup plans, snapshots and versioning are data without a copy that survives its loss.
#   asset_kinds: [import]
#   evidence:
#     - import.cloud.failed
#     - import.cloud.failed_count
#     - import.cloud.reports
#   remediation: >-
#     Add the volumes listed to a backup plan and turn on versioning, replication or object lock for the buckets listed; run Prowler again.
#   freshness: 7d
package vouch.policies.import.cloud.backup

import data.vouch.lib
import data.vouch.lib.prowler

reports := input.evidence["import.cloud.reports"]

failed := input.evidence["import.cloud.failed"]

n := input.evidence["import.cloud.failed_count"]

not_applicable := "no Prowler report is imported" if reports == 0

found := prowler.failed_of(failed, "backup")

deny contains sprintf("%d failed Prowler finding(s) of backup checks: %s", [count(found), lib.names(found)]) if count(found) > 0

# A list cut at its limit may hide a failure of this topic.
inconclusive := sprintf("the list of failed findings holds %d of %d: some are not shown", [count(failed), n]) if {
	count(found) == 0
	n > count(failed)
}

allow := sprintf("no failed finding of the %d backup checks in %d Prowler report(s)", [prowler.checks_of("backup"), reports]) if {
	count(found) == 0
	n == count(failed)
}
