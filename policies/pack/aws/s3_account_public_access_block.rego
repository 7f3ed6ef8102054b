# METADATA
# title: The account's S3 public access block is fully on
# description: >-
#   All four settings of the account-wide S3 public access block are on (block and ignore
#   public ACLs, block public policies, restrict public buckets), so no bucket of the
#   account can be made public by an ACL or a bucket policy, present or future.
# custom:
#   id: aws.s3.account_public_access_blocked
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: exact
#       why: The account-wide block stops any bucket or object from being opened to everyone.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.s3.account_public_access_block
#   remediation: >-
#     aws s3control put-public-access-block --account-id ACCOUNT
#     --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
#     (serve public content through CloudFront with origin access control instead).
#   freshness: 24h
package vouch.policies.aws.s3.account_public_access_blocked

import data.vouch.lib

block := input.evidence["aws.s3.account_public_access_block"]

settings := ["block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"]

off := [s | some s in settings; block[s] != true]

deny contains msg if msg := lib.listed("the account's S3 public access block has settings off", off)

allow := "all four settings of the account's S3 public access block are on" if {
	every s in settings {
		block[s] == true
	}
}
