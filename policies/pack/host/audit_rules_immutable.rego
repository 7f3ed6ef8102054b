# METADATA
# title: The audit configuration is locked until reboot
# description: >-
#   The boot-time audit rules end with "-e 2": the rules cannot be changed or auditing turned
#   off until the next reboot, so an intruder with root cannot silently reduce what is
#   recorded (a reboot is itself recorded).
# custom:
#   id: host.audit.rules_immutable
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: supporting
#       why: Locks the audit rules so event logging cannot be reduced silently; the logs' own protection is not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.audit.immutable
#   remediation: >-
#     Add a last rules file, /etc/audit/rules.d/99-finalize.rules, holding "-e 2", and run
#     augenrules --load (it takes effect at the next boot).
#   freshness: 24h
package vouch.policies.host.audit.rules_immutable

deny contains "the audit rules do not end with -e 2: they can be changed until reboot" if {
	input.evidence["host.audit.immutable"] == false
}

allow := "the audit rules end with -e 2: locked until reboot" if input.evidence["host.audit.immutable"] == true
