# METADATA
# title: No RDS DB instance is publicly accessible
# description: >-
#   No RDS DB instance in the collected regions is publicly accessible: its endpoint
#   resolves to a private address, reachable only from inside its VPC and connected networks.
# custom:
#   id: aws.rds.not_publicly_accessible
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: exact
#       why: A database endpoint reachable from the internet is an exposure the network controls must prevent.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.rds.instances
#     - aws.rds.public_instances
#   remediation: >-
#     Turn off public accessibility on each instance listed (aws rds modify-db-instance
#     --no-publicly-accessible) and reach it through the VPC, a VPN or a bastion.
#   freshness: 24h
package vouch.policies.aws.rds.not_publicly_accessible

import data.vouch.lib
import data.vouch.lib.aws

instances := input.evidence["aws.rds.instances"]

public := input.evidence["aws.rds.public_instances"]

not_applicable := aws.no_instances(instances)

deny contains msg if msg := lib.listed("publicly accessible DB instances", public)

allow := aws.all_instances("the endpoint is private", instances, public)
