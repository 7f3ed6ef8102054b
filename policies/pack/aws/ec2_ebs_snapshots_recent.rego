# METADATA
# title: Every EBS volume has a recent snapshot
# description: >-
#   Every EBS volume in the regions collected has a completed snapshot (by AWS Backup, Data
#   Lifecycle Manager or otherwise) started at most ebs_snapshot_max_age_days before
#   collection (the organisation's parameter, 7 unless set). Snapshots shared by other
#   accounts are not counted. Whether a snapshot restores is not tested.
# custom:
#   id: aws.ec2.ebs_snapshots_recent
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.13  # Information backup
#       relation: exact
#       why: Each volume has a backup copy no older than the organisation's backup interval.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.ec2.volume_snapshots
#   remediation: >-
#     Cover the volumes listed by an AWS Backup plan or a Data Lifecycle Manager policy that
#     snapshots them at least as often as ebs_snapshot_max_age_days, and test a restore.
#   freshness: 24h
package vouch.policies.aws.ec2.ebs_snapshots_recent

import data.vouch.lib

volumes := input.evidence["aws.ec2.volume_snapshots"]

max_days := data.vouch.config.parameters.ebs_snapshot_max_age_days

ref(v) := sprintf("%s/%s", [v.region, v.volume_id])

not_applicable := "no EBS volume in the collected regions" if volumes == []

never := [ref(v) | some v in volumes; v.latest_snapshot == null]

old := [sprintf("%s (%d days)", [ref(v), age]) |
	some v in volumes
	is_string(v.latest_snapshot)
	age := lib.days_between(v.latest_snapshot, input.collected_at)
	age > max_days
]

deny contains msg if msg := lib.listed("EBS volumes never snapshotted", never)

deny contains msg if msg := lib.listed(sprintf("EBS volumes whose newest snapshot is older than %d days", [max_days]), old)

allow := sprintf("each of the %d EBS volumes has a snapshot at most %d days old", [count(volumes), max_days]) if {
	count(volumes) > 0
	never == []
	old == []
}
