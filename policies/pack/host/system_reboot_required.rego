# METADATA
# title: No reboot is pending after updates
# description: >-
#   The host runs what it has installed: no update left a reboot pending (/run/reboot-
#   required, or a running kernel older than the newest installed).
# custom:
#   id: host.system.no_reboot_pending
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: exact
#       why: Installed fixes take effect only after the pending reboot.
#   asset_kinds: [host]
#   evidence:
#     - host.system.reboot_required
#   remediation: >-
#     Reboot the host in its next maintenance window (or use live patching and record it).
#   freshness: 24h
package vouch.policies.host.system.no_reboot_pending

deny contains "a reboot is required to run the updated kernel or libraries" if input.evidence["host.system.reboot_required"] == true

allow := "no reboot is pending" if input.evidence["host.system.reboot_required"] == false
