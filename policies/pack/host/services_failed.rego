# METADATA
# title: No systemd unit has failed
# description: >-
#   No systemd unit is in the failed state. A failed unit can be a security service
#   (auditd, a backup, a log shipper) that silently stopped; Vouch checking this on every
#   collection is part of monitoring the host.
# custom:
#   id: host.services.none_failed
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.16  # Monitoring activities
#       relation: supporting
#       why: A failed unit may be a stopped security service; it is evidence the host is watched, not monitoring itself.
#   asset_kinds: [host]
#   evidence:
#     - host.services.failed
#   remediation: >-
#     Inspect each unit listed (systemctl status UNIT, journalctl -u UNIT), fix or remove
#     it, then "systemctl reset-failed".
#   freshness: 24h
package vouch.policies.host.services.none_failed

import data.vouch.lib

failed := input.evidence["host.services.failed"]

deny contains msg if msg := lib.listed("failed units", failed)

allow := "no systemd unit has failed" if failed == []
