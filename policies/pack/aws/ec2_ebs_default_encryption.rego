# METADATA
# title: New EBS volumes are encrypted by default in every region
# description: >-
#   EBS encryption by default is on in every collected region, so every new volume and
#   snapshot copy is encrypted whoever creates it.
# custom:
#   id: aws.ec2.ebs_encryption_by_default
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Encryption by default applies cryptography to every new volume of the region.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.ec2.ebs_encryption_by_default
#     - aws.ec2.regions_without_ebs_encryption_by_default
#   remediation: >-
#     Run aws ec2 enable-ebs-encryption-by-default in each region listed (or set it for the
#     organisation with a declarative policy).
#   freshness: 24h
package vouch.policies.aws.ec2.ebs_encryption_by_default

import data.vouch.lib

regions := input.evidence["aws.ec2.ebs_encryption_by_default"]

off := input.evidence["aws.ec2.regions_without_ebs_encryption_by_default"]

deny contains msg if msg := lib.listed("regions where new EBS volumes are not encrypted by default", off)

allow := sprintf("new EBS volumes are encrypted by default in all %d regions collected", [count(regions)]) if {
	count(regions) > 0
	off == []
}
