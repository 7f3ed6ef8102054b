# METADATA
# title: Every repository's default branch is protected
# description: >-
#   The default branch of every non-archived repository has branch protection or a ruleset,
#   so changes to the main line follow the rules the organisation sets instead of any
#   direct push.
# custom:
#   id: github.repos.default_branch_protected
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.32  # Change management
#       relation: exact
#       why: A protected default branch puts every change under the repository's change rules.
#     - control: iso27001-2022:A.8.4  # Access to source code
#       relation: supporting
#       why: Restricts how code reaches the default branch, not who may read or write it.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#     - github.repos.unprotected_default_branches
#   remediation: >-
#     Add a branch ruleset (Settings > Rules > Rulesets, or one at organisation level
#     targeting every default branch) or classic branch protection to each repository listed.
#   freshness: 24h
package vouch.policies.github.repos.default_branch_protected

import data.vouch.lib
import data.vouch.lib.github

repos := input.evidence["github.repos.list"]

not_applicable := github.nothing_examined(repos)

unprotected := input.evidence["github.repos.unprotected_default_branches"]

deny contains msg if msg := lib.listed("default branches with neither branch protection nor a ruleset", unprotected)

allow := github.all_examined("the default branch is protected", repos, unprotected)
