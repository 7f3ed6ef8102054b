# Shared rules of the built-in GitHub policies. Not a policy (no metadata): policies use it
# with `import data.vouch.lib.github`. It reads no input; policies pass it the facts they list.
package vouch.lib.github

# The non-archived repositories of github.repos.list: those the repository summaries examine.
examined(repos) := [r | some r in repos; r.archived == false] if is_array(repos)

# Why a repository policy does not apply: no non-archived repository is covered.
nothing_examined(repos) := "no non-archived repository is covered" if {
	is_array(repos)
	examined(repos) == []
}

# The reason a summary policy passes: `what` holds in every examined repository.
all_examined(what, repos, names) := sprintf("%s in each of the %d non-archived repositories", [what, count(examined(repos))]) if {
	names == []
	count(examined(repos)) > 0
}

# The examined repositories whose default-branch protection was read, and a reason for each
# whose protection could not be read.
protection_read(repos) := [r | some r in examined(repos); is_object(r.default_branch_protection)]

protection_unreadable(repos) := [sprintf("%s (protection unreadable: %s)", [r.name, r.unavailable.default_branch_protection]) |
	some r in examined(repos)
	r.unavailable.default_branch_protection
]

# The examined repositories that require an approving review on their default branch.
review_required(repos) := [r | some r in protection_read(repos); r.default_branch_protection.required_reviews == true]
