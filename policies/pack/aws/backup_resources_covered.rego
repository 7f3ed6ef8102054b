# METADATA
# title: AWS Backup plans cover every EBS volume and RDS DB instance
# description: >-
#   The account has an AWS Backup plan, and AWS Backup holds a recovery point of every EBS
#   volume and RDS DB instance in the regions collected, the newest at most backup_max_age_days
#   old (the organisation's parameter, 7 unless set). A plan that selects too few resources, or
#   has stopped running, shows as resources without a recent recovery point. Each resource's
#   own backups, by whatever mechanism, are judged by aws.ec2.ebs_snapshots_recent and
#   aws.rds.automated_backups; this policy holds the organisation to one managed, scheduled
#   backup service. Where another mechanism is the organisation's backup, record an exception.
#   Whether a recovery point restores is not tested.
# custom:
#   id: aws.backup.resources_covered
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.13  # Information backup
#       relation: supporting
#       why: A managed backup plan keeps recovery points of every volume and database on a schedule; restore testing and the backup policy itself are not shown.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.backup.plans
#     - aws.backup.resources
#   remediation: >-
#     Create an AWS Backup plan whose resource assignment selects every EBS volume and RDS DB
#     instance (by tag, or all resources of those types), with a rule at least as frequent as
#     backup_max_age_days, and check its jobs complete.
#   freshness: 24h
package vouch.policies.aws.backup.resources_covered

import data.vouch.lib

plans := input.evidence["aws.backup.plans"]

resources := input.evidence["aws.backup.resources"]

max_days := data.vouch.config.parameters.backup_max_age_days

ref(r) := sprintf("%s/%s", [r.region, r.id])

not_applicable := "no EBS volume or RDS DB instance in the collected regions" if resources == []

never := [ref(r) | some r in resources; r.last_backup == null]

old := [sprintf("%s (%d days)", [ref(r), age]) |
	some r in resources
	is_string(r.last_backup)
	age := lib.days_between(r.last_backup, input.collected_at)
	age > max_days
]

deny contains "no AWS Backup plan in the collected regions" if {
	count(resources) > 0
	plans == []
}

deny contains msg if msg := lib.listed("volumes and DB instances AWS Backup holds no recovery point of", never)

deny contains msg if msg := lib.listed(sprintf("volumes and DB instances whose newest AWS Backup recovery point is older than %d days", [max_days]), old)

allow := sprintf("%d AWS Backup plan(s); each of the %d volumes and DB instances has a recovery point at most %d days old", [count(plans), count(resources), max_days]) if {
	count(resources) > 0
	count(plans) > 0
	never == []
	old == []
}
