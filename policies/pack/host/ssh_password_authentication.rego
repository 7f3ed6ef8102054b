# METADATA
# title: SSH does not accept passwords
# description: >-
#   sshd accepts neither PasswordAuthentication nor KbdInteractiveAuthentication (through
#   which PAM asks for the same password), so logins need a key and cannot be brute-forced
#   with guessed passwords.
# custom:
#   id: host.ssh.password_authentication_disabled
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: SSH authenticates with keys only.
#   asset_kinds: [host]
#   evidence:
#     - host.ssh.server_installed
#     - host.ssh.password_authentication
#     - host.ssh.kbd_interactive_authentication
#     - host.ssh.match_blocks
#   remediation: >-
#     Set "PasswordAuthentication no" and "KbdInteractiveAuthentication no" in
#     /etc/ssh/sshd_config, make sure every user has a key, then reload sshd.
#   freshness: 24h
package vouch.policies.host.ssh.password_authentication_disabled

import data.vouch.lib

not_applicable := "no SSH server is installed" if input.evidence["host.ssh.server_installed"] == false

note := lib.match_note(input.evidence["host.ssh.match_blocks"])

deny contains sprintf("PasswordAuthentication is yes%s", [note]) if {
	input.evidence["host.ssh.password_authentication"] == true
}

deny contains sprintf("KbdInteractiveAuthentication is yes: PAM can still ask for a password%s", [note]) if {
	input.evidence["host.ssh.kbd_interactive_authentication"] == true
}

allow := sprintf("password and keyboard-interactive authentication are off%s", [note]) if {
	input.evidence["host.ssh.password_authentication"] == false
	input.evidence["host.ssh.kbd_interactive_authentication"] == false
}
