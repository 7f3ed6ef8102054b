# METADATA
# title: No imported Prowler finding of a public-access check failed
# description: >-
#   No imported Prowler finding of a check the pack maps to A.8.3 (Information access restriction) failed, unmuted.
#   Which checks those are is the pack's reviewed table (lib/prowler.rego, topic
#   data_exposure), not Prowler's framework lists; a muted finding is Prowler's accepted one.
# custom:
#   id: import.cloud.data_exposure
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: supporting
#       why: Failed Prowler checks on public access blocks and ACLs are data that could be opened to anyone.
#   asset_kinds: [import]
#   evidence:
#     - import.cloud.failed
#     - import.cloud.failed_count
#     - import.cloud.reports
#   remediation: >-
#     Block public access on the buckets and registries listed and disable ACLs; run Prowler again.
#   freshness: 7d
package vouch.policies.import.cloud.data_exposure

import data.vouch.lib
import data.vouch.lib.prowler

reports := input.evidence["import.cloud.reports"]

failed := input.evidence["import.cloud.failed"]

n := input.evidence["import.cloud.failed_count"]

not_applicable := "no Prowler report is imported" if reports == 0

found := prowler.failed_of(failed, "data_exposure")

deny contains sprintf("%d failed Prowler finding(s) of public-access checks: %s", [count(found), lib.names(found)]) if count(found) > 0

# A list cut at its limit may hide a failure of this topic.
inconclusive := sprintf("the list of failed findings holds %d of %d: some are not shown", [count(failed), n]) if {
	count(found) == 0
	n > count(failed)
}

allow := sprintf("no failed finding of the %d public-access checks in %d Prowler report(s)", [prowler.checks_of("data_exposure"), reports]) if {
	count(found) == 0
	n == count(failed)
}
