# METADATA
# title: Every S3 bucket encrypts new objects by default
# description: >-
#   Every S3 bucket has default encryption (SSE-S3, SSE-KMS or DSSE-KMS), so every object
#   written is encrypted at rest whatever the writer asks for.
# custom:
#   id: aws.s3.default_encryption
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Default encryption applies cryptography to every new object.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.s3.buckets
#     - aws.s3.unencrypted_buckets
#   remediation: >-
#     Set default encryption on each bucket listed (aws s3api put-bucket-encryption), with a
#     KMS key where access to the data should also need key permissions.
#   freshness: 24h
package vouch.policies.aws.s3.default_encryption

import data.vouch.lib
import data.vouch.lib.aws

buckets := input.evidence["aws.s3.buckets"]

plain := input.evidence["aws.s3.unencrypted_buckets"]

not_applicable := aws.no_buckets(buckets)

deny contains msg if msg := lib.listed("buckets without default encryption", plain)

allow := aws.all_buckets("new objects are encrypted by default", buckets, plain)
