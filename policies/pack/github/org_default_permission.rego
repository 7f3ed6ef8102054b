# METADATA
# title: Members get no write access to every repository by default
# description: >-
#   The organisation's base permission, which every member holds on every repository, is
#   `none` or `read`: write and admin access are granted per repository or team, not to
#   everyone at once.
# custom:
#   id: github.org.default_permission_restricted
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: supporting
#       why: A restrictive base permission is one access-restriction setting among the organisation's.
#     - control: iso27001-2022:A.8.4  # Access to source code
#       relation: exact
#       why: Members get no write access to all source code by default.
#   asset_kinds: [github-org]
#   evidence:
#     - github.org.default_repository_permission
#   remediation: >-
#     Set Settings > Member privileges > Base permissions to "No permission" (or "Read"), and
#     grant write access through teams on the repositories that need it.
#   freshness: 24h
package vouch.policies.github.org.default_permission_restricted

permission := input.evidence["github.org.default_repository_permission"]

deny contains sprintf("the base permission is %s: every member can change every repository", [permission]) if {
	permission in {"write", "admin"}
}

allow := "the base permission is none: members reach only the repositories granted to them" if permission == "none"

allow := "the base permission is read: members can read, but not change, every repository" if permission == "read"
