# Shared rules of the built-in policies. Not a policy (no metadata): policies use it with
# `import data.vouch.lib`. It reads no input; policies pass it the facts they list.
package vouch.lib

# Up to ten items of a list, joined for a reason, then how many more.
names(xs) := concat(", ", xs) if count(xs) <= 10

names(xs) := sprintf("%s and %d more", [concat(", ", array.slice(xs, 0, 10)), count(xs) - 10]) if {
	count(xs) > 10
}

# A reason naming the items of a non-empty list: "<what>: a, b, c".
listed(what, xs) := sprintf("%s: %s", [what, names(xs)]) if count(xs) > 0

# SSH settings are read for a connection that matches no Match block; when there are some, a
# verdict says so, since a Match block may override the global value.
match_note(n) := "" if n == 0

match_note(n) := sprintf(" (for connections matching none of the %d Match blocks, which may override it)", [n]) if {
	n > 0
}

# Password hash algorithms (crypt prefixes, lower case) an auditor accepts today.
strong_hash_algorithms := {"yescrypt", "gost-yescrypt", "sha512", "bcrypt"}

# The value of an octal mode string such as "0640" or "644"; undefined for anything else.
mode_bits(mode) := sum([v |
	some i, weight in [512, 64, 8, 1]
	v := to_number(substring(padded, i, 1)) * weight
]) if {
	regex.match(`^[0-7]{3,4}$`, mode)
	padded := concat("", [substring("0000", 0, 4 - count(mode)), mode])
}

# True when a file (an object {mode, owner, group}) is owned by root, has a group among
# `groups`, and grants no permission beyond the octal mode `max_mode`.
file_ok(f, groups, max_mode) if {
	f.owner == "root"
	f.group in groups
	bits.and(mode_bits(f.mode), 4095 - mode_bits(max_mode)) == 0
}

# Why a file falls short of file_ok, one reason per problem.
file_problems(f, groups, max_mode) := ((owner_problems(f) | group_problems(f, groups)) | mode_problems(f, max_mode))

owner_problems(f) := {sprintf("owner is %v, not root", [f.owner]) | f.owner != "root"}

group_problems(f, groups) := {sprintf("group is %v, not %s", [f.group, concat(" or ", groups)]) |
	not f.group in groups
}

mode_problems(f, max_mode) := {sprintf("mode %v is not an octal mode", [f.mode]) | not mode_bits(f.mode)} | {sprintf("mode %s grants more than %s", [f.mode, max_mode]) |
	bits.and(mode_bits(f.mode), 4095 - mode_bits(max_mode)) != 0
}

# A file's ownership and mode, for a reason.
file_summary(f) := sprintf("owner %s, group %s, mode %s", [f.owner, f.group, f.mode])

# Whole days from `earlier` to `later`, two RFC 3339 timestamps (negative when later is earlier).
days_between(earlier, later) := floor((time.parse_rfc3339_ns(later) - time.parse_rfc3339_ns(earlier)) / 86400000000000)
