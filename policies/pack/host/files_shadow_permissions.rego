# METADATA
# title: /etc/shadow is readable by root and the shadow group only
# description: >-
#   /etc/shadow is owned by root, group root or shadow, with no permission beyond 0640: the
#   password hashes in it must not be readable by users.
# custom:
#   id: host.files.shadow_permissions
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: exact
#       why: Password hashes are readable by root and the shadow group only.
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: supporting
#       why: Protects stored authentication information; its quality and handling are not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.files.shadow
#   remediation: >-
#     Run "chown root:shadow /etc/shadow" and "chmod 0640 /etc/shadow".
#   freshness: 24h
package vouch.policies.host.files.shadow_permissions

import data.vouch.lib

f := input.evidence["host.files.shadow"]

deny contains sprintf("/etc/shadow: %s", [problem]) if some problem in lib.file_problems(f, ["root", "shadow"], "0640")

allow := sprintf("/etc/shadow: %s", [lib.file_summary(f)]) if lib.file_ok(f, ["root", "shadow"], "0640")
