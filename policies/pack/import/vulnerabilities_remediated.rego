# METADATA
# title: No critical or high vulnerability open past its deadline
# description: >-
#   No critical vulnerability that the imported Trivy, Grype or CycloneDX reports find has been
#   known for longer than the import's critical_max_age_days (14 unless configured), and no
#   high one for longer than high_max_age_days (30), unless a CycloneDX VEX statement says the
#   product is not affected (`not_affected`, or `false_positive`). A vulnerability is known
#   since its advisory's publication, or, when the report does not say, since the report was
#   written; one whose age cannot be told counts as overdue. Ages are measured at the
#   snapshot's collection time. A risk accepted for longer is an exception on the asset.
# custom:
#   id: import.vulnerabilities.remediated_in_time
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: exact
#       why: Known critical and high vulnerabilities are fixed, or shown not to apply, within the deadlines set for them.
#   asset_kinds: [import]
#   evidence:
#     - import.vulnerabilities.critical_high
#     - import.vulnerabilities.critical_high_count
#     - import.vulnerabilities.max_age_days
#     - import.vulnerabilities.reports
#   remediation: >-
#     Upgrade each package listed to its fixed version and rebuild the artifact; where the
#     vulnerable code cannot be reached, publish a CycloneDX VEX statement `not_affected` with
#     its justification beside the reports; where the fix must wait, record an exception with
#     its expiry.
#   freshness: 24h
package vouch.policies.import.vulnerabilities.remediated_in_time

import data.vouch.lib

vulns := input.evidence["import.vulnerabilities.critical_high"]

limits := input.evidence["import.vulnerabilities.max_age_days"]

reports := input.evidence["import.vulnerabilities.reports"]

not_applicable := "no imported report carries vulnerability findings" if reports == 0

# VEX states that say the vulnerability does not apply to the product.
not_applying := {"not_affected", "false_positive"}

exempt := [v | some v in vulns; v.vex in not_applying]

age(v) := lib.days_between(v.since, input.collected_at) if is_string(v.since)

overdue contains sprintf("%s in %s %s (%s, %s, %d days, %s)", [v.id, v.package, v.version, v.artifact, v.severity, age(v), v.tool]) if {
	some v in vulns
	not v.vex in not_applying
	age(v) > limits[v.severity]
}

overdue contains sprintf("%s in %s %s (%s, %s, age unknown, %s)", [v.id, v.package, v.version, v.artifact, v.severity, v.tool]) if {
	some v in vulns
	not v.vex in not_applying
	not is_string(v.since)
}

listed := sort(overdue)

# The list holds the critical ones first, then the oldest: what a cut leaves out is newer than
# everything shown, so a cut list with nothing overdue has nothing overdue beyond it either.
deny contains sprintf("%d critical or high vulnerabilit(ies) open past the deadline (critical %d days, high %d days): %s", [count(listed), limits.critical, limits.high, lib.names(listed)]) if count(listed) > 0

allow := sprintf("no critical vulnerability open over %d days nor high one over %d days (%d critical or high found, %d not affecting the product by VEX)", [limits.critical, limits.high, input.evidence["import.vulnerabilities.critical_high_count"], count(exempt)]) if {
	count(listed) == 0
	is_number(limits.critical)
	is_number(limits.high)
}
