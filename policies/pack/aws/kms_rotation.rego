# METADATA
# title: Every customer KMS key that can rotate does
# description: >-
#   Every enabled customer-managed KMS key in the collected regions that supports automatic
#   rotation has it on, so its key material is renewed (yearly by default) without a change
#   for its users. Asymmetric, HMAC, imported and custom key store keys cannot rotate
#   automatically and are not judged.
# custom:
#   id: aws.kms.key_rotation_enabled
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Automatic key rotation is part of cryptographic key management.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.kms.customer_keys
#     - aws.kms.keys_without_rotation
#   remediation: >-
#     Run aws kms enable-key-rotation --key-id KEY (in its region) for each key listed.
#   freshness: 24h
package vouch.policies.aws.kms.key_rotation_enabled

import data.vouch.lib

keys := input.evidence["aws.kms.customer_keys"]

rotating := [k | some k in keys; k.rotation == "enabled"]

unrotated := input.evidence["aws.kms.keys_without_rotation"]

not_applicable := "no enabled customer-managed key supports automatic rotation" if {
	is_array(keys)
	rotating == []
	unrotated == []
}

deny contains msg if msg := lib.listed("customer-managed keys without automatic rotation", unrotated)

allow := sprintf("all %d customer-managed keys that can rotate do", [count(rotating)]) if {
	count(rotating) > 0
	unrotated == []
}
