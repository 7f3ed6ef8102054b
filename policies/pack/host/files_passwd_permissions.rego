# METADATA
# title: /etc/passwd is owned by root and not writable by others
# description: >-
#   /etc/passwd is owned by root:root with no permission beyond 0644: whoever can write it
#   can create accounts or change UIDs.
# custom:
#   id: host.files.passwd_permissions
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: exact
#       why: Only root can change the account database.
#   asset_kinds: [host]
#   evidence:
#     - host.files.passwd
#   remediation: >-
#     Run "chown root:root /etc/passwd" and "chmod 0644 /etc/passwd".
#   freshness: 24h
package vouch.policies.host.files.passwd_permissions

import data.vouch.lib

f := input.evidence["host.files.passwd"]

deny contains sprintf("/etc/passwd: %s", [problem]) if some problem in lib.file_problems(f, ["root"], "0644")

allow := sprintf("/etc/passwd: %s", [lib.file_summary(f)]) if lib.file_ok(f, ["root"], "0644")
