# METADATA
# title: A time synchronisation service runs
# description: >-
#   chrony, systemd-timesyncd or ntpd keeps the clock in step, so timestamps in logs and
#   evidence can be compared across hosts.
# custom:
#   id: host.time.sync_configured
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.17  # Clock synchronization
#       relation: exact
#       why: A time synchronisation service keeps the clock to its configured sources.
#   asset_kinds: [host]
#   evidence:
#     - host.time.sync_daemon
#   remediation: >-
#     Enable chrony (or systemd-timesyncd) pointing at your organisation's time sources.
#   freshness: 24h
package vouch.policies.host.time.sync_configured

daemon := input.evidence["host.time.sync_daemon"]

deny contains "no time synchronisation service runs" if daemon == "none"

allow := sprintf("%s synchronises the clock", [daemon]) if {
	is_string(daemon)
	daemon != "none"
}
