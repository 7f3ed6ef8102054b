# METADATA
# title: No imported Prowler finding of a network-exposure check failed
# description: >-
#   No imported Prowler finding of a check the pack maps to A.8.20 (Networks security) failed, unmuted.
#   Which checks those are is the pack's reviewed table (lib/prowler.rego, topic
#   network), not Prowler's framework lists; a muted finding is Prowler's accepted one.
# custom:
#   id: import.cloud.network
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: supporting
#       why: Failed Prowler checks on network ACLs, security groups and public addresses are services the internet can reach.
#   asset_kinds: [import]
#   evidence:
#     - import.cloud.failed
#     - import.cloud.failed_count
#     - import.cloud.reports
#   remediation: >-
#     Restrict the ACLs and security groups listed to the sources that need them and remove public addresses not needed; run Prowler again.
#   freshness: 7d
package vouch.policies.import.cloud.network

import data.vouch.lib
import data.vouch.lib.prowler

reports := input.evidence["import.cloud.reports"]

failed := input.evidence["import.cloud.failed"]

n := input.evidence["import.cloud.failed_count"]

not_applicable := "no Prowler report is imported" if reports == 0

found := prowler.failed_of(failed, "network")

deny contains sprintf("%d failed Prowler finding(s) of network-exposure checks: %s", [count(found), lib.names(found)]) if count(found) > 0

# A list cut at its limit may hide a failure of this topic.
inconclusive := sprintf("the list of failed findings holds %d of %d: some are not shown", [count(failed), n]) if {
	count(found) == 0
	n > count(failed)
}

allow := sprintf("no failed finding of the %d network-exposure checks in %d Prowler report(s)", [prowler.checks_of("network"), reports]) if {
	count(found) == 0
	n == count(failed)
}
