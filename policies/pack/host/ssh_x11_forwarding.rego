# METADATA
# title: SSH does not forward X11
# description: >-
#   sshd does not forward X11 (X11Forwarding no): a server needs no graphical sessions, and
#   a forwarded display exposes the client to the server.
# custom:
#   id: host.ssh.x11_forwarding_disabled
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: X11 forwarding off is a CIS baseline setting of the SSH server.
#   asset_kinds: [host]
#   evidence:
#     - host.ssh.server_installed
#     - host.ssh.x11_forwarding
#   remediation: >-
#     Set "X11Forwarding no" in /etc/ssh/sshd_config and reload sshd.
#   freshness: 24h
package vouch.policies.host.ssh.x11_forwarding_disabled

not_applicable := "no SSH server is installed" if input.evidence["host.ssh.server_installed"] == false

deny contains "X11Forwarding is yes" if input.evidence["host.ssh.x11_forwarding"] == true

allow := "X11Forwarding is no" if input.evidence["host.ssh.x11_forwarding"] == false
