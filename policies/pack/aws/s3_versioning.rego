# METADATA
# title: Every S3 bucket keeps previous versions of its objects
# description: >-
#   Versioning is Enabled on every S3 bucket, so an object that is overwritten or deleted,
#   by mistake or by ransomware, can be recovered from its previous version.
# custom:
#   id: aws.s3.versioning_enabled
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.13  # Information backup
#       relation: supporting
#       why: "Versions recover overwritten or deleted objects but stay in the same bucket and account: no independent backup copy."
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.s3.buckets
#     - aws.s3.unversioned_buckets
#   remediation: >-
#     Enable versioning on each bucket listed (aws s3api put-bucket-versioning
#     --versioning-configuration Status=Enabled), with a lifecycle rule expiring old versions.
#   freshness: 24h
package vouch.policies.aws.s3.versioning_enabled

import data.vouch.lib
import data.vouch.lib.aws

buckets := input.evidence["aws.s3.buckets"]

unversioned := input.evidence["aws.s3.unversioned_buckets"]

not_applicable := aws.no_buckets(buckets)

deny contains msg if msg := lib.listed("buckets without versioning", unversioned)

allow := aws.all_buckets("versioning is enabled", buckets, unversioned)
