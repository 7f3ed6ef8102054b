# METADATA
# title: The account password policy requires 14 characters and prevents reuse
# description: >-
#   The IAM account password policy requires passwords of at least 14 characters and
#   refuses the user's last 24 passwords, the CIS AWS Foundations values.
# custom:
#   id: aws.iam.password_policy_strong
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: Length and reuse rules govern the quality of the passwords users choose.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.iam.password_policy
#   remediation: >-
#     aws iam update-account-password-policy --minimum-password-length 14
#     --password-reuse-prevention 24 (plus the other settings your policy requires).
#   freshness: 24h
package vouch.policies.aws.iam.password_policy_strong

policy := input.evidence["aws.iam.password_policy"]

min_length := 14

reuse := 24

deny contains "no account password policy is set: AWS's defaults apply" if policy.present == false

deny contains "the password policy sets no minimum length" if {
	policy.present == true
	not is_number(policy.minimum_length)
}

deny contains sprintf("the minimum password length is %d, below %d", [policy.minimum_length, min_length]) if {
	is_number(policy.minimum_length)
	policy.minimum_length < min_length
}

deny contains "the password policy does not prevent reuse" if {
	policy.present == true
	not is_number(policy.reuse_prevention)
}

deny contains sprintf("password reuse prevention remembers %d passwords, below %d", [policy.reuse_prevention, reuse]) if {
	is_number(policy.reuse_prevention)
	policy.reuse_prevention < reuse
}

allow := sprintf("passwords need at least %d characters and may not repeat the last %d", [policy.minimum_length, policy.reuse_prevention]) if {
	policy.present == true
	policy.minimum_length >= min_length
	policy.reuse_prevention >= reuse
}
