# METADATA
# title: PII is encrypted at rest
# description: >-
#   Every S3 bucket and RDS DB instance tagged as holding PII (a tag key among the
#   organisation's pii_tag_keys, whatever its value but false, no or none) encrypts its data
#   at rest: default encryption on the bucket, storage encryption on the instance. A bucket
#   whose tags could not be read and that is not encrypted leaves no verdict.
# custom:
#   id: aws.privacy.pii_encrypted_at_rest
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: "Stores holding PII are encrypted at rest: cryptography applied where the data is."
#     - control: iso27001-2022:A.5.34  # Privacy and protection of PII
#       relation: supporting
#       why: One technical safeguard of PII; the privacy requirements themselves are not tested.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.s3.buckets
#     - aws.rds.instances
#   remediation: >-
#     Set default encryption (preferably SSE-KMS with a customer key) on each bucket listed;
#     move each DB instance listed to an encrypted copy (snapshot, encrypted copy, restore).
#   freshness: 24h
package vouch.policies.aws.privacy.pii_encrypted_at_rest

import data.vouch.lib
import data.vouch.lib.aws

buckets := input.evidence["aws.s3.buckets"]

instances := input.evidence["aws.rds.instances"]

not_applicable := aws.no_pii_keys

not_applicable := aws.no_pii("S3 bucket or DB instance", buckets, instances)

encrypted(b) if is_object(b.encryption)

plain(b) if {
	b.encryption == null
	not aws.unknown(b, "encryption")
}

plain_buckets := [b.name | some b in aws.pii_buckets(buckets); plain(b)]

plain_instances := [aws.instance_ref(i) | some i in aws.pii_instances(instances); i.storage_encrypted == false]

unknown := array.concat(
	[b.name | some b in aws.pii_buckets(buckets); not encrypted(b); not plain(b)],
	array.concat(
		[sprintf("%s (tags unreadable)", [b.name]) | some b in aws.buckets_with_unknown_tags(buckets); not encrypted(b)],
		[aws.instance_ref(i) | some i in aws.pii_instances(instances); not is_boolean(i.storage_encrypted)],
	),
)

deny contains msg if msg := lib.listed("PII buckets without default encryption", plain_buckets)

deny contains msg if msg := lib.listed("PII DB instances with unencrypted storage", plain_instances)

inconclusive := aws.unknown_reason("encryption of PII at rest is", unknown) if {
	plain_buckets == []
	plain_instances == []
}

allow := sprintf("PII is encrypted at rest in %d bucket(s) and %d DB instance(s)", [count(aws.pii_buckets(buckets)), count(aws.pii_instances(instances))]) if {
	count(aws.pii_buckets(buckets)) + count(aws.pii_instances(instances)) > 0
	plain_buckets == []
	plain_instances == []
	unknown == []
}
