# METADATA
# title: /etc/group is owned by root and not writable by others
# description: >-
#   /etc/group is owned by root:root with no permission beyond 0644: whoever can write it can
#   add any account to any group, sudo's and the shadow group included.
# custom:
#   id: host.files.group_permissions
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: exact
#       why: Only root can change group membership, and with it access to files and sudo.
#   asset_kinds: [host]
#   evidence:
#     - host.files.group
#   remediation: >-
#     Run "chown root:root /etc/group" and "chmod 0644 /etc/group".
#   freshness: 24h
package vouch.policies.host.files.group_permissions

import data.vouch.lib

f := input.evidence["host.files.group"]

deny contains sprintf("/etc/group: %s", [problem]) if some problem in lib.file_problems(f, ["root"], "0644")

allow := sprintf("/etc/group: %s", [lib.file_summary(f)]) if lib.file_ok(f, ["root"], "0644")
