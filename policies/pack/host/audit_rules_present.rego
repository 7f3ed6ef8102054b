# METADATA
# title: Audit rules record the events auditors expect
# description: >-
#   The boot-time audit rules (/etc/audit/rules.d/*.rules or audit.rules) record every event
#   family auditors expect, as the CIS Linux benchmarks list them: changes to the identity
#   files (passwd, group, shadow, gshadow) and to the sudo rules, login records, changes of the
#   clock and time zone, loading and unloading of kernel modules, permission and ownership
#   changes, and mounts. Any rule used to pass; a rule set missing a family leaves those
#   events unrecorded.
# custom:
#   id: host.audit.rules_configured
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: exact
#       why: "Audit rules record the security events auditors expect: identity, sudo, logins, time, modules, permissions, mounts."
#   asset_kinds: [host]
#   evidence:
#     - host.audit.rule_count
#     - host.audit.event_coverage
#     - host.audit.events_missing
#   remediation: >-
#     Install the rules of each family listed (the CIS or STIG rule files shipped with auditd
#     in /usr/share/doc/auditd/examples/rules or /usr/share/audit/sample-rules: 30-stig.rules,
#     or the CIS benchmark's) in /etc/audit/rules.d/ and run augenrules --load.
#   freshness: 24h
package vouch.policies.host.audit.rules_configured

import data.vouch.lib

n := input.evidence["host.audit.rule_count"]

coverage := input.evidence["host.audit.event_coverage"]

missing := input.evidence["host.audit.events_missing"]

deny contains "no audit rules are configured" if n == 0

deny contains msg if {
	n > 0
	msg := lib.listed("the audit rules do not record", missing)
}

allow := sprintf("%d audit rule(s) record every expected event family: %s", [n, lib.names(sort([f | some f, _ in coverage]))]) if {
	n > 0
	missing == []
	count(coverage) > 0
	every _, covered in coverage {
		covered == true
	}
}
