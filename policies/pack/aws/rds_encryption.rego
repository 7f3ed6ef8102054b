# METADATA
# title: Every RDS DB instance encrypts its storage
# description: >-
#   Every RDS DB instance in the collected regions has storage encryption on, covering its
#   data files, automated backups, snapshots and read replicas.
# custom:
#   id: aws.rds.storage_encrypted
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Database storage encrypted at rest is cryptography applied to stored data.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.rds.instances
#     - aws.rds.unencrypted_instances
#   remediation: >-
#     Encryption cannot be turned on in place: snapshot each instance listed, copy the
#     snapshot with a KMS key, restore a new instance from the copy and switch over.
#   freshness: 24h
package vouch.policies.aws.rds.storage_encrypted

import data.vouch.lib
import data.vouch.lib.aws

instances := input.evidence["aws.rds.instances"]

plain := input.evidence["aws.rds.unencrypted_instances"]

not_applicable := aws.no_instances(instances)

deny contains msg if msg := lib.listed("DB instances with unencrypted storage", plain)

allow := aws.all_instances("storage is encrypted", instances, plain)
