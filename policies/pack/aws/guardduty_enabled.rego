# METADATA
# title: GuardDuty is enabled in every region collected
# description: >-
#   Each region collected (every enabled region unless the agent names some) has a GuardDuty
#   detector that is enabled, so API activity, network flows and DNS queries there are
#   analysed for threats. Regions an attacker can use are not only the ones the organisation
#   uses. Whether someone acts on the findings is not tested.
# custom:
#   id: aws.guardduty.enabled
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.16  # Monitoring activities
#       relation: exact
#       why: The account's activity is continuously analysed for anomalous and malicious behaviour in every region.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.guardduty.detectors
#   remediation: >-
#     aws guardduty create-detector --enable in each region listed (or enable it for the
#     organisation from a delegated administrator account), and route findings to the team on
#     call.
#   freshness: 24h
package vouch.policies.aws.guardduty.enabled

import data.vouch.lib

detectors := input.evidence["aws.guardduty.detectors"]

off := sort([sprintf("%s (%s)", [region, state]) | some region, state in detectors; state != "enabled"])

deny contains msg if msg := lib.listed("regions without an enabled GuardDuty detector", off)

allow := sprintf("GuardDuty is enabled in each of the %d region(s) collected", [count(detectors)]) if {
	count(detectors) > 0
	off == []
}
