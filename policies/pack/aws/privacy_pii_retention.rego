# METADATA
# title: PII buckets delete objects after a retention period
# description: >-
#   Every S3 bucket tagged as holding PII (a tag key among the organisation's pii_tag_keys,
#   whatever its value but false, no or none) has an enabled lifecycle rule over the whole
#   bucket that expires objects, and, when the bucket is or was versioned, one that expires
#   noncurrent versions too (expiring a versioned object only hides it behind a delete
#   marker). PII is then disposed of when its retention period ends instead of kept forever;
#   whether each period matches the retention schedule is for the reviewer, to whom the pass
#   names it.
# custom:
#   id: aws.privacy.pii_retention_limited
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.10  # Information deletion
#       relation: exact
#       why: A lifecycle expiry deletes stored information once its retention period ends.
#     - control: iso27001-2022:A.5.34  # Privacy and protection of PII
#       relation: supporting
#       why: One technical safeguard of PII; the privacy requirements themselves are not tested.
#     - control: iso27701-2019:A.7.4.7  # Retention (controller)
#       relation: supporting
#       why: Expiry bounds how long PII is kept; whether each period fits its purpose is for the reviewer.
#     - control: iso27701-2019:A.7.4.8  # Disposal (controller)
#       relation: exact
#       why: An expiry rule over the whole bucket, noncurrent versions included, is a disposal mechanism for PII.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.s3.buckets
#   remediation: >-
#     Add a lifecycle rule to each bucket listed with no filter, an Expiration after the
#     retention period and, for versioned buckets, a NoncurrentVersionExpiration.
#   freshness: 24h
package vouch.policies.aws.privacy.pii_retention_limited

import data.vouch.lib
import data.vouch.lib.aws

buckets := input.evidence["aws.s3.buckets"]

not_applicable := aws.no_pii_keys

not_applicable := aws.no_pii("S3 bucket", buckets, null)

# Enabled lifecycle rules over the whole bucket.
rules(b) := [r | some r in b.lifecycle; r.enabled == true; r.whole_bucket == true] if is_array(b.lifecycle)

expires(r) if is_number(r.expiration_days)

expires(r) if is_string(r.expiration_date)

# How long objects live: "365 days", or "until 2027-01-01T00:00:00Z".
period(r) := sprintf("%d days", [r.expiration_days]) if is_number(r.expiration_days)

period(r) := sprintf("until %s", [r.expiration_date]) if {
	not is_number(r.expiration_days)
	is_string(r.expiration_date)
}

current_expire(b) if {
	some r in rules(b)
	expires(r)
}

noncurrent_expire(b) if {
	some r in rules(b)
	is_number(r.noncurrent_expiration_days)
}

# Why a bucket keeps PII without limit, when its lifecycle and versioning are known.
problem(b) := "no lifecycle rule expires its objects" if {
	is_array(b.lifecycle)
	not current_expire(b)
}

problem(b) := sprintf("versioning is %s and no rule expires noncurrent versions", [b.versioning]) if {
	current_expire(b)
	b.versioning in {"Enabled", "Suspended"}
	not noncurrent_expire(b)
}

limited(b) if {
	current_expire(b)
	b.versioning == "Disabled"
}

limited(b) if {
	current_expire(b)
	noncurrent_expire(b)
}

kept := [sprintf("%s (%s)", [b.name, problem(b)]) | some b in aws.pii_buckets(buckets); problem(b)]

unknown := array.concat(
	[b.name | some b in aws.pii_buckets(buckets); not limited(b); not problem(b)],
	[sprintf("%s (tags unreadable)", [b.name]) | some b in aws.buckets_with_unknown_tags(buckets); not limited(b)],
)

deny contains msg if msg := lib.listed("PII buckets keeping objects without limit", kept)

inconclusive := aws.unknown_reason("the retention of PII is", unknown) if kept == []

allow := lib.listed("PII buckets expiring objects", [sprintf("%s (%s)", [b.name, concat(", ", [period(r) | some r in rules(b); expires(r)])]) | some b in aws.pii_buckets(buckets)]) if {
	kept == []
	unknown == []
}
