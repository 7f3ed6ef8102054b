# METADATA
# title: sshd_config is owned by root and not writable by others
# description: >-
#   /etc/ssh/sshd_config is owned by root:root with no permission beyond 0644, so only root
#   can change how SSH authenticates.
# custom:
#   id: host.files.sshd_config_permissions
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: The SSH server's configuration cannot be changed by other users.
#   asset_kinds: [host]
#   evidence:
#     - host.ssh.server_installed
#     - host.files.sshd_config
#   remediation: >-
#     Run "chown root:root /etc/ssh/sshd_config" and "chmod 0644 /etc/ssh/sshd_config".
#   freshness: 24h
package vouch.policies.host.files.sshd_config_permissions

import data.vouch.lib

not_applicable := "no SSH server is installed" if input.evidence["host.ssh.server_installed"] == false

f := input.evidence["host.files.sshd_config"]

deny contains sprintf("/etc/ssh/sshd_config: %s", [problem]) if some problem in lib.file_problems(f, ["root"], "0644")

allow := sprintf("/etc/ssh/sshd_config: %s", [lib.file_summary(f)]) if lib.file_ok(f, ["root"], "0644")
