# METADATA
# title: No world-writable files in system directories
# description: >-
#   No file in the scanned system directories (by default /etc, /usr/bin, /usr/sbin,
#   /usr/local) is writable by every user. If the scan stopped at its limit without finding
#   one, there is no verdict.
# custom:
#   id: host.files.no_world_writable
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: supporting
#       why: World-writable system files let any user alter them; read access to information is not tested.
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: No world-writable file in system directories is part of the secure configuration baseline.
#   asset_kinds: [host]
#   evidence:
#     - host.files.world_writable
#     - host.files.world_writable_scan_truncated
#   remediation: >-
#     Remove the write bit for others ("chmod o-w FILE") on each file listed, and find what
#     set it.
#   freshness: 24h
package vouch.policies.host.files.no_world_writable

import data.vouch.lib

files := input.evidence["host.files.world_writable"]

truncated := input.evidence["host.files.world_writable_scan_truncated"]

deny contains msg if msg := lib.listed("world-writable files", files)

allow := "no world-writable file in the scanned directories" if {
	files == []
	truncated == false
}

inconclusive := "the scan stopped at its entry limit before finding any world-writable file" if {
	files == []
	truncated == true
}
