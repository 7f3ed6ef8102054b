# METADATA
# title: No open error from the imported static analysis
# description: >-
#   No result of level `error` in the imported SARIF logs is open: each was fixed or suppressed
#   in the code or a baseline (a SARIF suppression that is not rejected or under review).
#   Warnings and notes are the team's to triage and are not judged.
# custom:
#   id: import.static_analysis.no_open_errors
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.28  # Secure coding
#       relation: supporting
#       why: The analyser's errors, insecure calls and weak primitives, are fixed or knowingly suppressed; the coding practice itself is not judged.
#   asset_kinds: [import]
#   evidence:
#     - import.static_analysis.errors
#     - import.static_analysis.errors_count
#     - import.static_analysis.reports
#   remediation: >-
#     Fix each result listed, or suppress it where the code is safe (e.g. `# nosec B602` with
#     the reason for bandit, or a SARIF baseline), and run the analyser again.
#   freshness: 7d
package vouch.policies.import.static_analysis.no_open_errors

import data.vouch.lib

errors := input.evidence["import.static_analysis.errors"]

n := input.evidence["import.static_analysis.errors_count"]

reports := input.evidence["import.static_analysis.reports"]

not_applicable := "no SARIF log is imported" if reports == 0

place(e) := sprintf("%s:%d", [e.file, e.line]) if {
	is_string(e.file)
	is_number(e.line)
}

place(e) := e.file if {
	is_string(e.file)
	not is_number(e.line)
}

place(e) := "no location" if not is_string(e.file)

shown := [sprintf("%s %s at %s", [e.tool, e.rule_id, place(e)]) | some e in errors]

deny contains sprintf("%d open error(s) of static analysis: %s", [n, lib.names(shown)]) if n > 0

allow := sprintf("no open error in %d SARIF log(s)", [reports]) if n == 0
