# METADATA
# title: SSH refuses accounts with empty passwords
# description: >-
#   sshd does not let an account with an empty password log in (PermitEmptyPasswords no).
# custom:
#   id: host.ssh.empty_passwords_refused
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: SSH refuses to authenticate accounts with empty passwords.
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: supporting
#       why: Keeps empty passwords from being usable remotely; whether they exist is another policy.
#   asset_kinds: [host]
#   evidence:
#     - host.ssh.server_installed
#     - host.ssh.permit_empty_passwords
#   remediation: >-
#     Set "PermitEmptyPasswords no" in /etc/ssh/sshd_config (the default) and reload sshd.
#   freshness: 24h
package vouch.policies.host.ssh.empty_passwords_refused

not_applicable := "no SSH server is installed" if input.evidence["host.ssh.server_installed"] == false

deny contains "PermitEmptyPasswords is yes: an account without a password can log in over SSH" if {
	input.evidence["host.ssh.permit_empty_passwords"] == true
}

allow := "PermitEmptyPasswords is no" if input.evidence["host.ssh.permit_empty_passwords"] == false
