# METADATA
# title: No bucket policy makes a bucket public
# description: >-
#   No bucket has a policy that lets anyone in (an Allow for every principal without a
#   condition pinning the caller's network, account or VPC endpoint) unless
#   RestrictPublicBuckets, on the bucket or the account, confines it to the account and AWS
#   services. Public ACLs are not judged here: see aws.s3.account_public_access_blocked.
# custom:
#   id: aws.s3.no_public_bucket_policies
#   severity: critical
#   controls:
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: exact
#       why: A public bucket policy grants access to anyone, which access restriction forbids.
#     - control: iso27001-2022:A.5.15  # Access control
#       relation: supporting
#       why: Shows access rules applied to buckets; the access-control policy itself is a document.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.s3.buckets
#     - aws.s3.public_policy_buckets
#     - aws.s3.account_public_access_block
#   remediation: >-
#     Remove the public statements from the policy of each bucket listed (or add conditions
#     that pin the callers), or turn on RestrictPublicBuckets; serve public content through
#     CloudFront with origin access control.
#   freshness: 24h
package vouch.policies.aws.s3.no_public_bucket_policies

import data.vouch.lib
import data.vouch.lib.aws

public := input.evidence["aws.s3.public_policy_buckets"]

account_restricts if input.evidence["aws.s3.account_public_access_block"].restrict_public_buckets == true

bucket(name) := b if {
	some b in input.evidence["aws.s3.buckets"]
	b.name == name
}

restricted(name) if account_restricts

restricted(name) if bucket(name).public_access_block.restrict_public_buckets == true

undecided(name) if {
	not restricted(name)
	aws.unknown(bucket(name), "public_access_block")
}

exposed := [n | some n in public; not restricted(n); not undecided(n)]

deny contains msg if msg := lib.listed("buckets whose policy grants public access", exposed)

inconclusive := lib.listed("public bucket policies, and whether RestrictPublicBuckets confines them is unknown", [n | some n in public; undecided(n)]) if {
	exposed == []
}

allow := "no bucket policy grants public access" if public == []

allow := lib.listed("RestrictPublicBuckets confines the public policies of", public) if {
	count(public) > 0
	every n in public {
		restricted(n)
	}
}
