# METADATA
# title: Google Workspace password policies require strong, long passwords, checked at sign-in
# description: >-
#   Every password policy of the Google Workspace account (Google's default and each one set
#   for an organisational unit or group) requires a strong password of at least 12 characters,
#   refuses a previous password, and makes anyone whose password does not meet it change it at
#   the next sign-in. Expiry is not required: forced periodic changes are no longer recommended
#   where a second factor is in use. Google has no lockout threshold to set (it throttles and
#   challenges guessing itself), so none is judged.
# custom:
#   id: google_workspace.policies.password_strong
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: Strength, length, reuse and enforcement at sign-in govern the quality of the passwords people choose and keep.
#   asset_kinds: [google-workspace]
#   evidence:
#     - google_workspace.policies.password
#   remediation: >-
#     In Security > Authentication > Password management, for the top-level organisational unit
#     and every unit or group listed: "Enforce strong password", minimum length 12 or more,
#     "Allow password reuse" off, and "Enforce password policy at next sign-in" on.
#   freshness: 24h
package vouch.policies.google_workspace.policies.password_strong

policies := input.evidence["google_workspace.policies.password"]

min_length := 12

problems(p) := (((weak(p) | short(p)) | reuse(p)) | unenforced(p))

weak(p) := {sprintf("strength %v, not STRONG", [p.strength]) | p.strength != "STRONG"}

short(p) := {sprintf("%v characters, below %d", [p.min_length, min_length]) | not p.min_length >= min_length}

reuse(p) := {"reuse allowed" | p.reuse_allowed != false}

unenforced(p) := {"not enforced at the next sign-in" | p.enforce_at_login != true}

deny contains sprintf("password policy of %s (%s): %s", [p.applies_to, p.type, concat(", ", sort(problems(p)))]) if {
	some p in policies
	count(problems(p)) > 0
}

deny contains "no password policy was listed" if policies == []

allow := sprintf("the %d password policies require strong passwords of %d+ characters, no reuse, enforced at the next sign-in", [count(policies), min_length]) if {
	count(policies) > 0
	every p in policies {
		count(problems(p)) == 0
	}
}
