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
