# METADATA
# title: The organisation has no more owners than the organisation allows
# description: >-
#   Owners hold every right over the organisation, its repositories, members and settings.
#   Their number is at most the organisation's parameter github_max_owners (3 unless set; no
#   benchmark gives a number, GitHub recommends at least two). Who they are is for the access
#   review: only the count is collected.
# custom:
#   id: github.org.owners_limited
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: supporting
#       why: Bounds how many hold the organisation's privileged role; whether each should is the access review's.
#   asset_kinds: [github-org]
#   evidence:
#     - github.org.admins
#   remediation: >-
#     Review the owners (Organization settings, People, Role: Owner) and change those who do
#     not need every right to members with narrower roles (repository admin, security
#     manager); or raise github_max_owners in the server's configuration with the reason.
#   freshness: 24h
package vouch.policies.github.org.owners_limited

owners := input.evidence["github.org.admins"]

max_owners := data.vouch.config.parameters.github_max_owners

deny contains sprintf("the organisation has %d owners, more than %d", [owners, max_owners]) if owners > max_owners

allow := sprintf("the organisation has %d owner(s) (at most %d)", [owners, max_owners]) if {
	is_number(owners)
	owners <= max_owners
}
