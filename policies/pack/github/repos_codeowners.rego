# METADATA
# title: Every repository names its code owners
# description: >-
#   Every non-archived repository has a CODEOWNERS file (in .github/, the root or docs/), so
#   changes are routed to the people responsible for the code they touch.
# custom:
#   id: github.repos.codeowners_present
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.32  # Change management
#       relation: supporting
#       why: A CODEOWNERS file names reviewers; it does not by itself make their review of a change required.
#   asset_kinds: [github-org]
#   evidence:
#     - github.repos.list
#     - github.repos.without_codeowners
#   remediation: >-
#     Add .github/CODEOWNERS to each repository listed, naming a team per path, and require
#     code owners' review in its default branch's protection.
#   freshness: 24h
package vouch.policies.github.repos.codeowners_present

import data.vouch.lib
import data.vouch.lib.github

repos := input.evidence["github.repos.list"]

not_applicable := github.nothing_examined(repos)

ownerless := input.evidence["github.repos.without_codeowners"]

deny contains msg if msg := lib.listed("repositories without a CODEOWNERS file", ownerless)

allow := github.all_examined("a CODEOWNERS file names the code owners", repos, ownerless)
