# METADATA
# title: Every RDS DB instance has automated backups
# description: >-
#   Every RDS DB instance in the collected regions keeps automated backups (a retention of
#   at least one day), so it can be restored to any point within that period.
# custom:
#   id: aws.rds.automated_backups
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.13  # Information backup
#       relation: exact
#       why: Automated backups with a retention period are backup copies of each database.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.rds.instances
#     - aws.rds.instances_without_backups
#   remediation: >-
#     Set a backup retention period of at least 7 days on each instance listed (aws rds
#     modify-db-instance --backup-retention-period 7), and test a restore.
#   freshness: 24h
package vouch.policies.aws.rds.automated_backups

import data.vouch.lib
import data.vouch.lib.aws

instances := input.evidence["aws.rds.instances"]

unbacked := input.evidence["aws.rds.instances_without_backups"]

not_applicable := aws.no_instances(instances)

deny contains msg if msg := lib.listed("DB instances without automated backups", unbacked)

allow := aws.all_instances("automated backups are kept", instances, unbacked)
