# METADATA
# title: Default branches require status checks to pass
# description: >-
#   In every non-archived repository, branch protection or a ruleset names at least one status
#   check (a CI job) that must pass before a change reaches the default branch. Which checks
#   they are, and whether they test security, is not judged: the names are in the verdict.
# custom:
#   id: github.repos.status_checks_required
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.32  # Change management
#       relation: exact
#       why: Changes reach the default branch only after the checks the organisation set have passed.
#     - control: iso27001-2022:A.8.29  # Security testing in development and acceptance
#       relation: supporting
#       why: Required checks are where security tests gate a merge; what the checks test is not read.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#   remediation: >-
#     In the ruleset (Require status checks to pass) or branch protection of each default
#     branch listed, add the CI jobs that must succeed before merging.
#   freshness: 24h
package vouch.policies.github.repos.status_checks_required

import data.vouch.lib
import data.vouch.lib.github

list := input.evidence["github.repos.list"]

not_applicable := github.nothing_examined(list)

read := github.protection_read(list)

unchecked := [r.name | some r in read; r.default_branch_protection.required_status_checks == []]

deny contains msg if msg := lib.listed("default branches that require no status check", unchecked)

inconclusive := lib.listed("required status checks are unknown for", github.protection_unreadable(list)) if unchecked == []

allow := sprintf("every default branch requires status checks (%s)", [lib.names([sprintf("%s: %s", [r.name, concat(", ", r.default_branch_protection.required_status_checks)]) | some r in read])]) if {
	count(read) > 0
	unchecked == []
	github.protection_unreadable(list) == []
}
