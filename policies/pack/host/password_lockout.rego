# METADATA
# title: Repeated failed logins lock the account
# description: >-
#   The PAM auth stack runs pam_faillock (or pam_tally2), which locks an account after
#   repeated failed attempts and so stops online password guessing.
# custom:
#   id: host.password.lockout_enforced
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: Repeated failed logins lock the account, limiting password guessing.
#   asset_kinds: [host]
#   evidence:
#     - host.password.lockout_enforced
#   remediation: >-
#     Add pam_faillock.so to the auth and account stacks (RHEL: authselect enable-feature
#     with-faillock) and set deny and unlock_time in /etc/security/faillock.conf.
#   freshness: 24h
package vouch.policies.host.password.lockout_enforced

deny contains "no pam_faillock or pam_tally2 in the PAM auth stack" if {
	input.evidence["host.password.lockout_enforced"] == false
}

allow := "the PAM auth stack locks accounts after failed attempts" if input.evidence["host.password.lockout_enforced"] == true
