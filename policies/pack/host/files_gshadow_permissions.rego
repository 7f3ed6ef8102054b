# METADATA
# title: /etc/gshadow is readable by root and the shadow group only
# description: >-
#   /etc/gshadow is owned by root, group root or shadow, with no permission beyond 0640: it
#   holds the group passwords' hashes and the group administrators, which users must not read.
# custom:
#   id: host.files.gshadow_permissions
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: exact
#       why: Group password hashes are readable by root and the shadow group only.
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: supporting
#       why: Protects stored group passwords; their quality and handling are not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.files.gshadow
#   remediation: >-
#     Run "chown root:shadow /etc/gshadow" and "chmod 0640 /etc/gshadow".
#   freshness: 24h
package vouch.policies.host.files.gshadow_permissions

import data.vouch.lib

f := input.evidence["host.files.gshadow"]

deny contains sprintf("/etc/gshadow: %s", [problem]) if some problem in lib.file_problems(f, ["root", "shadow"], "0640")

allow := sprintf("/etc/gshadow: %s", [lib.file_summary(f)]) if lib.file_ok(f, ["root", "shadow"], "0640")
