# METADATA
# title: Passwords are at least 14 characters long
# description: >-
#   pam_pwquality is in the PAM password stack and its minlen is at least 14, the CIS
#   benchmark value.
# custom:
#   id: host.password.min_length
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: A minimum length is a rule on the quality of passwords.
#   asset_kinds: [host]
#   evidence:
#     - host.password.quality_enforced
#     - host.password.min_length
#   remediation: >-
#     Set "minlen = 14" in /etc/security/pwquality.conf and make sure pam_pwquality.so is
#     in the password stack.
#   freshness: 24h
package vouch.policies.host.password.min_length

minimum := 14

length := input.evidence["host.password.min_length"]

deny contains sprintf("minlen is %d, below %d", [length, minimum]) if length < minimum

deny contains sprintf("minlen %d is not applied: pam_pwquality is not in the PAM password stack", [length]) if {
	input.evidence["host.password.quality_enforced"] == false
}

allow := sprintf("pam_pwquality requires at least %d characters", [length]) if {
	input.evidence["host.password.quality_enforced"] == true
	is_number(length)
	length >= minimum
}
