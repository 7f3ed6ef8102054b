# METADATA
# title: PII buckets refuse requests without TLS
# description: >-
#   Every S3 bucket tagged as holding PII (a tag key among the organisation's pii_tag_keys,
#   whatever its value but false, no or none) has a policy denying every request made
#   without TLS, so PII is never transmitted to or from it in clear.
# custom:
#   id: aws.privacy.pii_buckets_tls_only
#   severity: high
#   controls:
#     - control: iso27001-2022:A.5.14  # Information transfer
#       relation: exact
#       why: Refusing requests without TLS protects PII while it is transferred.
#     - control: iso27001-2022:A.5.34  # Privacy and protection of PII
#       relation: supporting
#       why: One technical safeguard of PII; the privacy requirements themselves are not tested.
#     - control: iso27701-2019:A.7.4.9  # PII transmission controls (controller)
#       relation: exact
#       why: TLS-only access is a transmission control over PII sent across networks.
#     - control: iso27701-2019:B.8.4.3  # PII transmission controls (processor)
#       relation: exact
#       why: TLS-only access is a transmission control over PII sent across networks.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.s3.buckets
#   remediation: >-
#     Add to each bucket's policy a statement with Effect Deny, Principal "*", Action "s3:*",
#     the bucket and its objects as Resource, and Condition Bool aws:SecureTransport "false".
#   freshness: 24h
package vouch.policies.aws.privacy.pii_buckets_tls_only

import data.vouch.lib
import data.vouch.lib.aws

buckets := input.evidence["aws.s3.buckets"]

not_applicable := aws.no_pii_keys

not_applicable := aws.no_pii("S3 bucket", buckets, null)

tls_only(b) if b.policy.tls_only == true

clear(b) if {
	not tls_only(b)
	not aws.unknown(b, "policy")
}

clear_buckets := [b.name | some b in aws.pii_buckets(buckets); clear(b)]

unknown := array.concat(
	[b.name | some b in aws.pii_buckets(buckets); aws.unknown(b, "policy")],
	[sprintf("%s (tags unreadable)", [b.name]) | some b in aws.buckets_with_unknown_tags(buckets); not tls_only(b)],
)

deny contains msg if msg := lib.listed("PII buckets that accept requests without TLS", clear_buckets)

inconclusive := aws.unknown_reason("whether PII buckets require TLS is", unknown) if clear_buckets == []

allow := lib.listed("PII buckets refusing requests without TLS", [b.name | some b in aws.pii_buckets(buckets)]) if {
	clear_buckets == []
	unknown == []
}
