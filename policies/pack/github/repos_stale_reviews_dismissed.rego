# METADATA
# title: Approvals are dismissed when new commits are pushed
# description: >-
#   In every non-archived repository whose default branch requires an approving review, a
#   push to the pull request dismisses the approvals given before it (classic "Dismiss stale
#   pull request approvals" or the ruleset's dismiss_stale_reviews_on_push), so what is merged
#   is what was approved. Branches that require no review are judged by
#   github.repos.reviews_required.
# custom:
#   id: github.repos.stale_reviews_dismissed
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.32  # Change management
#       relation: exact
#       why: An approval covers the change as merged, not an earlier version of it.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#   remediation: >-
#     Tick "Dismiss stale pull request approvals when new commits are pushed" in the branch
#     protection (or "Dismiss stale pull request approvals" in the ruleset's pull request rule)
#     of each default branch listed.
#   freshness: 24h
package vouch.policies.github.repos.stale_reviews_dismissed

import data.vouch.lib
import data.vouch.lib.github

list := input.evidence["github.repos.list"]

reviewed := github.review_required(list)

not_applicable := "no non-archived repository requires a review on its default branch" if {
	is_array(list)
	reviewed == []
	github.protection_unreadable(list) == []
}

stale := [r.name | some r in reviewed; r.default_branch_protection.dismiss_stale_reviews != true]

deny contains msg if msg := lib.listed("default branches that keep approvals after new commits", stale)

inconclusive := lib.listed("stale review dismissal is unknown for", github.protection_unreadable(list)) if stale == []

allow := sprintf("approvals are dismissed on new commits on all %d default branches that require a review", [count(reviewed)]) if {
	count(reviewed) > 0
	stale == []
	github.protection_unreadable(list) == []
}
