# METADATA
# title: Logs are forwarded off the host
# description: >-
#   rsyslog, syslog-ng or systemd-journal-upload forwards logs to another host, where an
#   intruder on this one cannot erase them and where they can be monitored.
# custom:
#   id: host.logging.remote_forwarding
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: exact
#       why: Logs copied off the host are protected from tampering and loss on it.
#   asset_kinds: [host]
#   evidence:
#     - host.logging.remote_forwarding
#     - host.logging.remote_targets
#   remediation: >-
#     Forward logs to your central log service: an rsyslog action (*.* @@loghost:6514 with
#     TLS), syslog-ng destination or systemd-journal-upload.
#   freshness: 24h
package vouch.policies.host.logging.remote_forwarding

import data.vouch.lib

deny contains "logs are not forwarded to another host" if input.evidence["host.logging.remote_forwarding"] == false

allow := sprintf("logs are forwarded to %s", [lib.names(input.evidence["host.logging.remote_targets"])]) if {
	input.evidence["host.logging.remote_forwarding"] == true
}
