# METADATA
# title: Changes reach every default branch only through an approved review
# description: >-
#   In every non-archived repository, a change can reach the default branch only through a
#   pull request approved by at least one reviewer other than its author, by branch
#   protection or a ruleset.
# custom:
#   id: github.repos.reviews_required
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.32  # Change management
#       relation: exact
#       why: Changes reach the default branch only through an approved review.
#     - control: iso27001-2022:A.8.4  # Access to source code
#       relation: supporting
#       why: Controls how code is changed, not who has access to it.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#     - github.repos.default_branches_without_required_reviews
#   remediation: >-
#     In the ruleset or branch protection of each default branch listed, require a pull
#     request with at least one approving review.
#   freshness: 24h
package vouch.policies.github.repos.reviews_required

import data.vouch.lib
import data.vouch.lib.github

repos := input.evidence["github.repos.list"]

not_applicable := github.nothing_examined(repos)

unreviewed := input.evidence["github.repos.default_branches_without_required_reviews"]

deny contains msg if msg := lib.listed("default branches that accept changes without an approving review", unreviewed)

allow := github.all_examined("an approving review is required on the default branch", repos, unreviewed)
