# METADATA
# title: No default branch accepts force pushes
# description: >-
#   The default branch of every non-archived repository refuses force pushes, so its history
#   (the record of reviewed changes) cannot be rewritten or erased.
# custom:
#   id: github.repos.force_push_blocked
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.32  # Change management
#       relation: exact
#       why: A force push rewrites history and bypasses change control.
#     - control: iso27001-2022:A.8.4  # Access to source code
#       relation: supporting
#       why: Protects the integrity of the code's history rather than restricting access to it.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#     - github.repos.default_branches_allowing_force_push
#   remediation: >-
#     Add the "Block force pushes" rule to the default branch's ruleset, or untick "Allow
#     force pushes" in its branch protection.
#   freshness: 24h
package vouch.policies.github.repos.force_push_blocked

import data.vouch.lib
import data.vouch.lib.github

repos := input.evidence["github.repos.list"]

not_applicable := github.nothing_examined(repos)

forced := input.evidence["github.repos.default_branches_allowing_force_push"]

deny contains msg if msg := lib.listed("default branches that accept force pushes", forced)

allow := github.all_examined("the default branch refuses force pushes", repos, forced)
