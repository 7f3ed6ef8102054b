# METADATA
# title: Audit rules are configured
# description: >-
#   At least one audit rule is configured (/etc/audit/rules.d/*.rules or audit.rules):
#   auditd with no rules records almost nothing.
# custom:
#   id: host.audit.rules_configured
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.15  # Logging
#       relation: supporting
#       why: "Passes with any audit rule: shows auditing is configured, not that the expected events are recorded."
#   asset_kinds: [host]
#   evidence:
#     - host.audit.rule_count
#   remediation: >-
#     Install a rule set covering identity files, privilege use, time changes and logins
#     (e.g. the CIS or STIG rules shipped with auditd) in /etc/audit/rules.d/ and run
#     augenrules --load.
#   freshness: 24h
package vouch.policies.host.audit.rules_configured

n := input.evidence["host.audit.rule_count"]

deny contains "no audit rules are configured" if n == 0

allow := sprintf("%d audit rule(s) configured", [n]) if n > 0
