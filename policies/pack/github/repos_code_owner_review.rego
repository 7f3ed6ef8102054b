# METADATA
# title: Code owners must approve changes to what they own
# description: >-
#   In every non-archived repository whose default branch requires an approving review, the
#   review of a code owner is required too (classic "Require review from Code Owners" or the
#   ruleset's require_code_owner_review), and a CODEOWNERS file says who they are: without one
#   the requirement has no effect. Branches that require no review are judged by
#   github.repos.reviews_required.
# custom:
#   id: github.repos.code_owner_review_required
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.32  # Change management
#       relation: exact
#       why: Each change is approved by the people responsible for the code it touches.
#     - control: iso27001-2022:A.8.4  # Access to source code
#       relation: supporting
#       why: Write access alone does not change owned code; who may read or write it is not tested.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#   remediation: >-
#     Tick "Require review from Code Owners" in the branch protection (or the ruleset's pull
#     request rule) of each default branch listed, and commit a CODEOWNERS file (.github/,
#     the root or docs/).
#   freshness: 24h
package vouch.policies.github.repos.code_owner_review_required

import data.vouch.lib
import data.vouch.lib.github

list := input.evidence["github.repos.list"]

reviewed := github.review_required(list)

not_applicable := "no non-archived repository requires a review on its default branch" if {
	is_array(list)
	reviewed == []
	github.protection_unreadable(list) == []
}

not_required := [r.name | some r in reviewed; r.default_branch_protection.require_code_owner_reviews != true]

no_owners := [r.name |
	some r in reviewed
	r.default_branch_protection.require_code_owner_reviews == true
	r.codeowners_file == null
	not r.unavailable.codeowners_file
]

unknown := array.concat(github.protection_unreadable(list), [sprintf("%s (CODEOWNERS unreadable: %s)", [r.name, r.unavailable.codeowners_file]) |
	some r in reviewed
	r.unavailable.codeowners_file
])

deny contains msg if msg := lib.listed("default branches that do not require a code owner's review", not_required)

deny contains msg if msg := lib.listed("code owners' review required but no CODEOWNERS file names them", no_owners)

inconclusive := lib.listed("code owner review is unknown for", unknown) if {
	not_required == []
	no_owners == []
}

allow := sprintf("a code owner's review is required on all %d default branches that require a review", [count(reviewed)]) if {
	count(reviewed) > 0
	not_required == []
	no_owners == []
	unknown == []
}
