# METADATA
# title: Every RDS DB instance keeps automated backups for the required period
# description: >-
#   Every RDS DB instance in the collected regions keeps automated backups for at least the
#   organisation's retention (parameter rds_backup_retention_days, 7 days by default as in
#   the CIS AWS Foundations Benchmark), so it can be restored to any point within that period.
#   One day of retention leaves a fault noticed after a weekend unrecoverable.
# custom:
#   id: aws.rds.automated_backups
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.13  # Information backup
#       relation: exact
#       why: Automated backups kept for the organisation's retention period are backup copies of each database.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.rds.instances
#     - aws.rds.instances_without_backups
#   remediation: >-
#     Set a backup retention period of at least the required days on each instance listed
#     (aws rds modify-db-instance --backup-retention-period 7), and test a restore.
#   freshness: 24h
package vouch.policies.aws.rds.automated_backups

import data.vouch.lib
import data.vouch.lib.aws

instances := input.evidence["aws.rds.instances"]

unbacked := input.evidence["aws.rds.instances_without_backups"]

required := data.vouch.config.parameters.rds_backup_retention_days

# Instances that keep backups, for fewer days than required: "region/id (N-day retention)".
short := sort([sprintf("%s (%d-day retention)", [aws.instance_ref(i), i.backup_retention_days]) |
	some i in instances
	i.backup_retention_days > 0
	i.backup_retention_days < required
])

# Instances whose retention is not a number: no verdict on them.
unknown := [aws.instance_ref(i) | some i in instances; not is_number(i.backup_retention_days)]

not_applicable := aws.no_instances(instances)

inconclusive := sprintf("backup retention unknown for %s", [lib.names(unknown)]) if count(unknown) > 0

deny contains msg if msg := lib.listed("DB instances without automated backups", unbacked)

deny contains msg if msg := lib.listed(sprintf("DB instances keeping backups for fewer than %d days", [required]), short)

allow := aws.all_instances(sprintf("automated backups are kept for at least %d days", [required]), instances, array.concat(unbacked, short))
