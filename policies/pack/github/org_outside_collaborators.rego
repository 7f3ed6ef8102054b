# METADATA
# title: No outside collaborators have repository access
# description: >-
#   Nobody outside the organisation's membership holds access to its repositories. Outside
#   collaborators escape the organisation's teams, SSO and 2FA reporting, so each one is an
#   access right to review; record the ones that are justified as exceptions.
# custom:
#   id: github.org.no_outside_collaborators
#   severity: low
#   controls:
#     - iso27001-2022:A.5.18  # Access rights
#     - iso27001-2022:A.8.4  # Access to source code
#   asset_kinds: [github-org]
#   evidence:
#     - github.org.outside_collaborators
#   remediation: >-
#     Review People > Outside collaborators: remove those who no longer need access, make
#     long-term contributors members of a team, and record the rest as exceptions.
#   freshness: 24h
package vouch.policies.github.org.no_outside_collaborators

n := input.evidence["github.org.outside_collaborators"]

deny contains sprintf("%d outside collaborator(s) have access to repositories", [n]) if n > 0

allow := "no outside collaborator has access to any repository" if n == 0
