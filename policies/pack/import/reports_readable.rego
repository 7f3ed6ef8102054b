# METADATA
# title: Every imported scanner report could be read
# description: >-
#   The import's path globs match at least one report, and every file they match was read and
#   parsed (SARIF 2.1.0, CycloneDX 1.5+, Trivy or Grype JSON, Prowler's OCSF findings). A file
#   that could not be is a gap in the evidence the vulnerability verdicts rest on: a scan that
#   ran but whose findings nobody judges.
# custom:
#   id: import.reports.all_readable
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: supporting
#       why: The scanner reports the vulnerability verdicts rest on were all read; an unreadable one is findings nobody judges.
#   asset_kinds: [import]
#   evidence:
#     - import.reports.imported
#     - import.reports.unreadable
#   remediation: >-
#     Fix what each problem names: write the report in a format and version the import reads
#     (e.g. `trivy --format json`, `prowler --output-formats json-ocsf`, CycloneDX 1.5 or
#     later), keep it under 16 MiB, let the agent's user read it, or narrow the paths.
#   freshness: 24h
package vouch.policies.import.reports.all_readable

import data.vouch.lib

imported := input.evidence["import.reports.imported"]

unreadable := input.evidence["import.reports.unreadable"]

problems := [sprintf("%s (%s)", [u.path, u.problem]) | some u in unreadable]

deny contains sprintf("%d file(s) could not be imported: %s", [count(problems), lib.names(problems)]) if count(problems) > 0

deny contains "no report matches the import's paths: nothing is imported" if {
	count(imported) == 0
	count(unreadable) == 0
}

allow := sprintf("every file matched was imported (%d report(s))", [count(imported)]) if {
	count(unreadable) == 0
	count(imported) > 0
}
