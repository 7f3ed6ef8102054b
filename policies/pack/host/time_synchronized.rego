# METADATA
# title: The clock is synchronised
# description: >-
#   The running time service reports the clock synchronised to its sources.
# custom:
#   id: host.time.synchronized
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.17  # Clock synchronization
#       relation: exact
#       why: The clock is synchronised now.
#   asset_kinds: [host]
#   evidence:
#     - host.time.synchronized
#   remediation: >-
#     Check that the time sources are reachable (chronyc sources, timedatectl timesync-
#     status) and that UDP 123 is allowed out.
#   freshness: 24h
package vouch.policies.host.time.synchronized

deny contains "the time service reports the clock unsynchronised" if input.evidence["host.time.synchronized"] == false

allow := "the clock is synchronised" if input.evidence["host.time.synchronized"] == true
