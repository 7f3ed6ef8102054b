# METADATA
# title: Security Hub is enabled in every region collected
# description: >-
#   The account is subscribed to AWS Security Hub in each region collected, so the findings
#   of GuardDuty, Inspector and its own standards' checks are gathered in one place. Which
#   standards are enabled and whether findings are followed up is not tested.
# custom:
#   id: aws.securityhub.enabled
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.16  # Monitoring activities
#       relation: supporting
#       why: Gathers security findings for review; it detects little by itself and their handling is not tested.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.securityhub.enabled
#   remediation: >-
#     aws securityhub enable-security-hub --enable-default-standards in each region listed (or
#     for the organisation, with a delegated administrator and cross-region aggregation).
#   freshness: 24h
package vouch.policies.aws.securityhub.enabled

import data.vouch.lib

hubs := input.evidence["aws.securityhub.enabled"]

off := sort([region | some region, on in hubs; on != true])

deny contains msg if msg := lib.listed("regions not subscribed to Security Hub", off)

allow := sprintf("Security Hub is enabled in each of the %d region(s) collected", [count(hubs)]) if {
	count(hubs) > 0
	off == []
}
