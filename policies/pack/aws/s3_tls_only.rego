# METADATA
# title: Every S3 bucket refuses requests without TLS
# description: >-
#   Every S3 bucket's policy denies every action to every principal when
#   aws:SecureTransport is false, so its data never travels unencrypted.
# custom:
#   id: aws.s3.tls_only
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.14  # Information transfer
#       relation: exact
#       why: Refusing requests without TLS protects information while it is transferred.
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: supporting
#       why: Requires cryptography in transit; cipher choice and keys are not tested.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.s3.buckets
#     - aws.s3.buckets_without_tls_only_policy
#   remediation: >-
#     Add to each bucket's policy a statement with Effect Deny, Principal "*", Action "s3:*",
#     the bucket and its objects as Resource, and Condition Bool aws:SecureTransport "false".
#   freshness: 24h
package vouch.policies.aws.s3.tls_only

import data.vouch.lib
import data.vouch.lib.aws

buckets := input.evidence["aws.s3.buckets"]

clear := input.evidence["aws.s3.buckets_without_tls_only_policy"]

not_applicable := aws.no_buckets(buckets)

deny contains msg if msg := lib.listed("buckets that accept requests without TLS", clear)

allow := aws.all_buckets("the bucket policy refuses requests without TLS", buckets, clear)
