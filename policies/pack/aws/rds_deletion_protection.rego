# METADATA
# title: RDS DB instances have deletion protection
# description: >-
#   Every DB instance in the regions collected has deletion protection on, so neither a
#   mistaken call nor a compromised credential without the right to modify it deletes the
#   database, and with it its automated backups.
# custom:
#   id: aws.rds.deletion_protection
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.13  # Information backup
#       relation: supporting
#       why: Deleting an instance deletes its automated backups by default; protection keeps them, it is no backup itself.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.rds.instances
#     - aws.rds.instances_without_deletion_protection
#   remediation: >-
#     aws rds modify-db-instance --db-instance-identifier ID --deletion-protection
#     --apply-immediately for each instance listed.
#   freshness: 24h
package vouch.policies.aws.rds.deletion_protection

import data.vouch.lib
import data.vouch.lib.aws

instances := input.evidence["aws.rds.instances"]

unprotected := input.evidence["aws.rds.instances_without_deletion_protection"]

not_applicable := aws.no_instances(instances)

deny contains msg if msg := lib.listed("DB instances without deletion protection", unprotected)

allow := aws.all_instances("deletion protection is on", instances, unprotected)
