# METADATA
# title: No imported Prowler finding of an access-rights check failed
# description: >-
#   No imported Prowler finding of a check the pack maps to A.5.18 (Access rights) failed, unmuted.
#   Which checks those are is the pack's reviewed table (lib/prowler.rego, topic
#   access_rights), not Prowler's framework lists; a muted finding is Prowler's accepted one.
# custom:
#   id: import.cloud.access_rights
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: supporting
#       why: Failed Prowler checks on grants to users and unused credentials are access rights not reviewed or not removed.
#   asset_kinds: [import]
#   evidence:
#     - import.cloud.failed
#     - import.cloud.failed_count
#     - import.cloud.reports
#   remediation: >-
#     Grant through groups or roles, remove or rotate the unused credentials listed; run Prowler again.
#   freshness: 7d
package vouch.policies.import.cloud.access_rights

import data.vouch.lib
import data.vouch.lib.prowler

reports := input.evidence["import.cloud.reports"]

failed := input.evidence["import.cloud.failed"]

n := input.evidence["import.cloud.failed_count"]

not_applicable := "no Prowler report is imported" if reports == 0

found := prowler.failed_of(failed, "access_rights")

deny contains sprintf("%d failed Prowler finding(s) of access-rights checks: %s", [count(found), lib.names(found)]) if count(found) > 0

# A list cut at its limit may hide a failure of this topic.
inconclusive := sprintf("the list of failed findings holds %d of %d: some are not shown", [count(failed), n]) if {
	count(found) == 0
	n > count(failed)
}

allow := sprintf("no failed finding of the %d access-rights checks in %d Prowler report(s)", [prowler.checks_of("access_rights"), reports]) if {
	count(found) == 0
	n == count(failed)
}
