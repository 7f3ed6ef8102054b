# METADATA
# title: PII is stored only in allowed jurisdictions
# description: >-
#   Every S3 bucket and RDS DB instance tagged as holding PII (a tag key among the
#   organisation's pii_tag_keys, whatever its value but false, no or none) is in a region
#   whose jurisdiction is among the organisation's allowed_jurisdictions (ISO 3166 country
#   codes in lower case, or eu for the European Union). A region whose jurisdiction this pack
#   does not know leaves no verdict. Replication and backups copied elsewhere are not seen.
# custom:
#   id: aws.privacy.pii_location_allowed
#   severity: high
#   controls:
#     - control: iso27001-2022:A.5.34  # Privacy and protection of PII
#       relation: supporting
#       why: One technical safeguard of PII; the privacy requirements themselves are not tested.
#     - control: iso27701-2019:A.7.5.2  # Countries and international organizations to which PII can be transferred (controller)
#       relation: exact
#       why: PII stored only in the allowed jurisdictions shows where it is transferred to; the list is the organisation's.
#     - control: iso27701-2019:B.8.5.2  # Countries and international organizations to which PII can be transferred (processor)
#       relation: exact
#       why: PII stored only in the allowed jurisdictions shows where it is transferred to; the list is the organisation's.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.s3.buckets
#     - aws.rds.instances
#   remediation: >-
#     Move the data of each resource listed to a region in an allowed jurisdiction (S3
#     replication or batch copy; an RDS snapshot copied and restored there), then delete the
#     original, or record the legal basis of the transfer and allow the jurisdiction.
#   freshness: 24h
package vouch.policies.aws.privacy.pii_location_allowed

import data.vouch.lib
import data.vouch.lib.aws

buckets := input.evidence["aws.s3.buckets"]

instances := input.evidence["aws.rds.instances"]

not_applicable := aws.no_pii_keys

not_applicable := "no allowed jurisdiction is configured (data.vouch.config.allowed_jurisdictions)" if {
	count(aws.pii_keys) > 0
	count(aws.allowed_jurisdictions) == 0
}

not_applicable := aws.no_pii("S3 bucket or DB instance", buckets, instances) if count(aws.allowed_jurisdictions) > 0

# Every PII resource as [name, region].
located := array.concat(
	[[sprintf("bucket %s", [b.name]), b.region] | some b in aws.pii_buckets(buckets)],
	[[sprintf("DB instance %s", [aws.instance_ref(i)]), i.region] | some i in aws.pii_instances(instances)],
)

where(region) := concat("/", sort(aws.region_jurisdictions[region]))

outside := [sprintf("%s (%s: %s)", [name, region, where(region)]) | some [name, region] in located; aws.region_forbidden(region)]

unknown := array.concat(
	[sprintf("%s (jurisdiction of region %v unknown)", [name, region]) |
		some [name, region] in located
		not aws.region_jurisdictions[region]
	],
	[sprintf("bucket %s (tags unreadable)", [b.name]) |
		some b in aws.buckets_with_unknown_tags(buckets)
		not aws.region_allowed(b.region)
	],
)

deny contains msg if msg := lib.listed(sprintf("PII stored outside the allowed jurisdictions (%s)", [concat(", ", sort(aws.allowed_jurisdictions))]), outside)

inconclusive := aws.unknown_reason("the location of PII is", unknown) if outside == []

allow := lib.listed(sprintf("PII is stored only in allowed jurisdictions (%s)", [concat(", ", sort(aws.allowed_jurisdictions))]), [sprintf("%s (%s)", [name, region]) | some [name, region] in located]) if {
	outside == []
	unknown == []
}
