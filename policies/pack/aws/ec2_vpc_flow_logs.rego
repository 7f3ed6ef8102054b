# METADATA
# title: Every VPC has flow logs
# description: >-
#   Every VPC in the regions collected has an active flow log of its own that is not failing
#   to deliver, so the traffic of its network interfaces is recorded (to CloudWatch Logs, S3
#   or Firehose). Which traffic it keeps (accepted, rejected or all) is not judged.
# custom:
#   id: aws.ec2.vpc_flow_logs
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: exact
#       why: Network traffic of every VPC is recorded (CIS AWS 3.7).
#     - control: iso27001-2022:A.8.16  # Monitoring activities
#       relation: supporting
#       why: Flow logs are what network monitoring reads; whether anyone watches them is not tested.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.account.regions
#     - aws.ec2.vpcs_without_flow_logs
#   remediation: >-
#     aws ec2 create-flow-logs --resource-type VPC --resource-ids VPC --traffic-type ALL (or
#     REJECT) with a CloudWatch Logs group or an S3 bucket as destination, for each VPC listed;
#     fix the delivery role of any flow log failing to deliver.
#   freshness: 24h
package vouch.policies.aws.ec2.vpc_flow_logs

import data.vouch.lib
import data.vouch.lib.aws

unlogged := input.evidence["aws.ec2.vpcs_without_flow_logs"]

deny contains msg if msg := lib.listed("VPCs without an active flow log", unlogged)

allow := sprintf("every VPC has an active flow log %s", [aws.regions_note(input.evidence["aws.account.regions"])]) if unlogged == []
