# METADATA
# title: The journal is kept on disk
# description: >-
#   systemd-journald stores logs persistently (Storage=persistent, or auto with
#   /var/log/journal present), so they survive a reboot.
# custom:
#   id: host.logging.journald_persistent
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: exact
#       why: The journal is kept on disk, so logs survive a reboot.
#   asset_kinds: [host]
#   evidence:
#     - host.logging.journald_persistent
#   remediation: >-
#     Set Storage=persistent in /etc/systemd/journald.conf (or create /var/log/journal) and
#     restart systemd-journald.
#   freshness: 24h
package vouch.policies.host.logging.journald_persistent

deny contains "the journal is kept in memory only and is lost on reboot" if input.evidence["host.logging.journald_persistent"] == false

allow := "the journal is stored on disk" if input.evidence["host.logging.journald_persistent"] == true
