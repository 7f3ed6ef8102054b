# METADATA
# title: A multi-region CloudTrail trail is logging
# description: >-
#   Some multi-region CloudTrail trail is logging, so management API calls in every region,
#   including those not in use, are recorded.
# custom:
#   id: aws.cloudtrail.multi_region_logging
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: exact
#       why: "A multi-region trail records the account's API activity in every region: its event log."
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.cloudtrail.trails
#     - aws.cloudtrail.multi_region_logging
#   remediation: >-
#     Create a multi-region trail (or an organisation trail) into a dedicated, access-logged
#     bucket and start logging it (aws cloudtrail start-logging).
#   freshness: 24h
package vouch.policies.aws.cloudtrail.multi_region_logging

import data.vouch.lib

logging := [t.name | some t in input.evidence["aws.cloudtrail.trails"]; t.multi_region == true; t.logging == true]

deny contains "no multi-region trail is logging" if input.evidence["aws.cloudtrail.multi_region_logging"] == false

allow := lib.listed("multi-region trails logging", logging) if input.evidence["aws.cloudtrail.multi_region_logging"] == true
