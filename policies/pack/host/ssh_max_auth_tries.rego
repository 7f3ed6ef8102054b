# METADATA
# title: SSH limits authentication attempts per connection
# description: >-
#   sshd drops a connection after at most 4 failed authentication attempts (MaxAuthTries),
#   which slows down password and key guessing.
# custom:
#   id: host.ssh.max_auth_tries_limited
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: Authentication attempts per connection are limited.
#   asset_kinds: [host]
#   evidence:
#     - host.ssh.server_installed
#     - host.ssh.max_auth_tries
#   remediation: >-
#     Set "MaxAuthTries 4" (or lower) in /etc/ssh/sshd_config and reload sshd.
#   freshness: 24h
package vouch.policies.host.ssh.max_auth_tries_limited

not_applicable := "no SSH server is installed" if input.evidence["host.ssh.server_installed"] == false

limit := 4

tries := input.evidence["host.ssh.max_auth_tries"]

deny contains sprintf("MaxAuthTries is %d, more than %d", [tries, limit]) if tries > limit

allow := sprintf("MaxAuthTries is %d", [tries]) if {
	is_number(tries)
	tries <= limit
}
