# METADATA
# title: Every EBS volume is encrypted
# description: >-
#   No EBS volume in the collected regions is unencrypted, so disks, their snapshots and the
#   data moving between an instance and its volumes are encrypted.
# custom:
#   id: aws.ec2.volumes_encrypted
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Every volume encrypted at rest is cryptography applied to stored data.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.account.regions
#     - aws.ec2.unencrypted_volumes
#   remediation: >-
#     Snapshot each volume listed, copy the snapshot with encryption, create a volume from the
#     copy and swap it in; then turn on EBS encryption by default.
#   freshness: 24h
package vouch.policies.aws.ec2.volumes_encrypted

import data.vouch.lib
import data.vouch.lib.aws

plain := input.evidence["aws.ec2.unencrypted_volumes"]

deny contains msg if msg := lib.listed("unencrypted EBS volumes", plain)

allow := sprintf("no unencrypted EBS volume %s", [aws.regions_note(input.evidence["aws.account.regions"])]) if plain == []
