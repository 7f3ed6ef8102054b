# Shared rules of the built-in AWS policies: which resources hold PII under the organisation's
# settings (data.vouch.config) and which jurisdiction each region is in. Not a policy (no
# metadata): policies use it with `import data.vouch.lib.aws`. It reads no input; policies pass
# it the facts they list.
package vouch.lib.aws

import data.vouch.lib

# The organisation's PII tag keys, compared without case.
pii_keys := {lower(k) | some k in data.vouch.config.pii_tag_keys}

# Values of a PII tag key that say the resource holds none.
negative_values := {"false", "no", "none"}

# True when tags (key → value) mark a resource as holding PII: it carries one of the
# organisation's PII tag keys, with any value but false, no or none.
pii(tags) if {
	some key, value in tags
	lower(key) in pii_keys
	not lower(value) in negative_values
}

# Why a PII policy does not apply when the organisation has named no PII tag key.
no_pii_keys := "no PII tag key is configured (data.vouch.config.pii_tag_keys): no resource is known to hold PII" if {
	count(pii_keys) == 0
}

# True when a member of a bucket object (aws.s3.buckets) could not be read.
unknown(bucket, member) if bucket.unavailable[member]

# The buckets of aws.s3.buckets whose tags mark them as holding PII.
pii_buckets(buckets) := [b | some b in buckets; is_object(b.tags); pii(b.tags)] if is_array(buckets)

# The buckets whose tags could not be read: whether they hold PII is unknown.
buckets_with_unknown_tags(buckets) := [b | some b in buckets; unknown(b, "tags")] if is_array(buckets)

# The DB instances of aws.rds.instances whose tags mark them as holding PII.
pii_instances(instances) := [i | some i in instances; is_object(i.tags); pii(i.tags)] if is_array(instances)

# Why a PII policy does not apply when none of `what` (the buckets, and the DB instances
# unless `instances` is null) carries a PII tag and no bucket's tags are unknown.
no_pii(what, buckets, instances) := sprintf("no %s carries a PII tag (%s)", [what, concat(", ", sort(pii_keys))]) if {
	count(pii_keys) > 0
	pii_buckets(buckets) == []
	buckets_with_unknown_tags(buckets) == []
	no_pii_instances(instances)
}

no_pii_instances(instances) if instances == null

no_pii_instances(instances) if pii_instances(instances) == []

# A DB instance as `region/id`, as the RDS summaries name it.
instance_ref(i) := sprintf("%s/%s", [i.region, i.id])

# Why a PII policy has no verdict: the facts read leave `what` unknown for `names`.
unknown_reason(what, names) := sprintf("%s unknown for %s", [what, lib.names(names)]) if count(names) > 0

# The jurisdictions of each AWS region: ISO 3166-1 alpha-2 country codes (lower case), and
# "eu" for regions in a member state of the European Union. A region missing here has no
# known jurisdiction, and a policy that needs one has no verdict.
region_jurisdictions := {
	"us-east-1": {"us"},
	"us-east-2": {"us"},
	"us-west-1": {"us"},
	"us-west-2": {"us"},
	"us-gov-east-1": {"us"},
	"us-gov-west-1": {"us"},
	"ca-central-1": {"ca"},
	"ca-west-1": {"ca"},
	"mx-central-1": {"mx"},
	"sa-east-1": {"br"},
	"eu-west-1": {"eu", "ie"},
	"eu-west-2": {"gb"},
	"eu-west-3": {"eu", "fr"},
	"eu-central-1": {"eu", "de"},
	"eu-central-2": {"ch"},
	"eu-north-1": {"eu", "se"},
	"eu-south-1": {"eu", "it"},
	"eu-south-2": {"eu", "es"},
	"af-south-1": {"za"},
	"me-south-1": {"bh"},
	"me-central-1": {"ae"},
	"il-central-1": {"il"},
	"ap-east-1": {"hk"},
	"ap-east-2": {"tw"},
	"ap-south-1": {"in"},
	"ap-south-2": {"in"},
	"ap-northeast-1": {"jp"},
	"ap-northeast-2": {"kr"},
	"ap-northeast-3": {"jp"},
	"ap-southeast-1": {"sg"},
	"ap-southeast-2": {"au"},
	"ap-southeast-3": {"id"},
	"ap-southeast-4": {"au"},
	"ap-southeast-5": {"my"},
	"ap-southeast-6": {"nz"},
	"ap-southeast-7": {"th"},
	"cn-north-1": {"cn"},
	"cn-northwest-1": {"cn"},
}

# The organisation's allowed jurisdictions, compared without case.
allowed_jurisdictions := {lower(j) | some j in data.vouch.config.allowed_jurisdictions}

# True when a region lies in one of the allowed jurisdictions.
region_allowed(region) if {
	some j in region_jurisdictions[region]
	j in allowed_jurisdictions
}

# True when a region's jurisdiction is known and not allowed.
region_forbidden(region) if {
	region_jurisdictions[region]
	not region_allowed(region)
}

# Which regions a regional verdict covers (aws.account.regions), for reasons.
regions_note(regions) := sprintf("in the %d region(s) collected (%s)", [count(regions), lib.names(regions)]) if {
	is_array(regions)
}

# The reason a bucket summary policy passes: `what` holds for every bucket of aws.s3.buckets.
all_buckets(what, buckets, names) := sprintf("%s in each of the %d buckets", [what, count(buckets)]) if {
	names == []
	count(buckets) > 0
}

# Why a bucket policy does not apply: the account has no bucket.
no_buckets(buckets) := "the account has no S3 bucket" if buckets == []

# Why an RDS policy does not apply: no DB instance in the collected regions.
no_instances(instances) := "no DB instance in the collected regions" if instances == []

# The reason an RDS summary policy passes: `what` holds for every instance of aws.rds.instances.
all_instances(what, instances, refs) := sprintf("%s for each of the %d DB instances", [what, count(instances)]) if {
	refs == []
	count(instances) > 0
}
