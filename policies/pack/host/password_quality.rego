# METADATA
# title: Password quality is enforced
# description: >-
#   The PAM password stack runs pam_pwquality (or pam_cracklib), so new passwords are
#   checked for length and complexity when they are set.
# custom:
#   id: host.password.quality_enforced
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: Quality rules refuse weak passwords.
#   asset_kinds: [host]
#   evidence:
#     - host.password.quality_enforced
#   remediation: >-
#     Add pam_pwquality.so to the password stack (Debian: install libpam-pwquality; RHEL:
#     authselect with with-pwquality) and configure /etc/security/pwquality.conf.
#   freshness: 24h
package vouch.policies.host.password.quality_enforced

deny contains "no pam_pwquality or pam_cracklib in the PAM password stack" if {
	input.evidence["host.password.quality_enforced"] == false
}

allow := "the PAM password stack checks password quality" if input.evidence["host.password.quality_enforced"] == true
