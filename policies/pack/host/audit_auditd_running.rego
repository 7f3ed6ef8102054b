# METADATA
# title: The Linux audit daemon is running
# description: >-
#   auditd runs, so the kernel's audit events (logins, privilege use, changes to watched
#   files) are recorded.
# custom:
#   id: host.audit.auditd_running
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: exact
#       why: The audit daemon records security-relevant events on the host.
#   asset_kinds: [host]
#   evidence:
#     - host.audit.auditd_running
#   remediation: >-
#     Install auditd and run "systemctl enable --now auditd".
#   freshness: 24h
package vouch.policies.host.audit.auditd_running

deny contains "auditd is not running" if input.evidence["host.audit.auditd_running"] == false

allow := "auditd is running" if input.evidence["host.audit.auditd_running"] == true
