# METADATA
# title: Administrators cannot bypass default branch protection
# description: >-
#   Every protected default branch of a non-archived repository has its classic branch
#   protection enforced for administrators too, so an administrator cannot push past the
#   review and checks everyone else goes through. Where only rulesets protect a branch their
#   bypass lists are not collected, so there is no verdict for it; unprotected branches are
#   judged by github.repos.default_branch_protected.
# custom:
#   id: github.repos.admins_held_to_protection
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.32  # Change management
#       relation: exact
#       why: Administrators cannot bypass the review path, so every change goes through change control.
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: Limits what privileged users can do; it says nothing of who holds the privilege.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#   remediation: >-
#     Tick "Do not allow bypassing the above settings" (enforce for administrators) in the
#     branch protection of each default branch listed; keep rulesets' bypass lists empty or
#     limited to a break-glass role.
#   freshness: 24h
package vouch.policies.github.repos.admins_held_to_protection

import data.vouch.lib
import data.vouch.lib.github

repos := github.examined(input.evidence["github.repos.list"])

unreadable := [sprintf("%s (protection unreadable: %s)", [r.name, r.unavailable.default_branch_protection]) |
	some r in repos
	r.unavailable.default_branch_protection
]

protected := [r | some r in repos; is_object(r.default_branch_protection); r.default_branch_protection.protected == true]

bypassed := [r.name | some r in protected; r.default_branch_protection.enforce_admins == false]

rulesets_only := [sprintf("%s (rulesets only: their bypass lists are not collected)", [r.name]) |
	some r in protected
	r.default_branch_protection.enforce_admins == null
]

unknown := array.concat(unreadable, rulesets_only)

not_applicable := "no non-archived repository has a protected default branch" if {
	is_array(repos)
	protected == []
	unreadable == []
}

deny contains msg if msg := lib.listed("protected default branches that administrators can bypass", bypassed)

inconclusive := lib.listed("whether administrators can bypass protection is unknown for", unknown) if bypassed == []

allow := sprintf("administrators are held to the protection of all %d protected default branches", [count(protected)]) if {
	count(protected) > 0
	bypassed == []
	unknown == []
}
