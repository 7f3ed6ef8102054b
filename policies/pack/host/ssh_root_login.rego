# METADATA
# title: Root cannot log in over SSH
# description: >-
#   sshd refuses logins as root (PermitRootLogin no), so administrators log in as
#   themselves and elevate with an audited sudo. prohibit-password and forced-commands-only
#   still let a root key in and fail.
# custom:
#   id: host.ssh.root_login_disabled
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: exact
#       why: Privileged access goes through named accounts, never a direct root login.
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: supporting
#       why: Removes one target of password guessing; the authentication method is not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.ssh.server_installed
#     - host.ssh.permit_root_login
#     - host.ssh.match_blocks
#   remediation: >-
#     Set "PermitRootLogin no" in /etc/ssh/sshd_config (and in any Match block that sets
#     it), then reload sshd. Give administrators personal accounts with sudo.
#   freshness: 24h
package vouch.policies.host.ssh.root_login_disabled

import data.vouch.lib

not_applicable := "no SSH server is installed" if input.evidence["host.ssh.server_installed"] == false

root_login := input.evidence["host.ssh.permit_root_login"]

how := {
	"yes": "with a password or a key",
	"prohibit-password": "with a key",
	"without-password": "with a key",
	"forced-commands-only": "with a key, to run forced commands",
}

deny contains msg if {
	root_login != "no"
	msg := sprintf("PermitRootLogin is %v: root can log in over SSH %s%s", [
		root_login,
		object.get(how, root_login, "(unrecognised value)"),
		lib.match_note(input.evidence["host.ssh.match_blocks"]),
	])
}

allow := sprintf("PermitRootLogin is no%s", [lib.match_note(input.evidence["host.ssh.match_blocks"])]) if {
	root_login == "no"
}
