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
#     - control: iso27001-2022:A.5.18  # Access rights
#       relation: supporting
#       why: Outside collaborators are grants to review; having none is not itself a review of access rights.
#     - control: iso27001-2022:A.8.4  # Access to source code
#       relation: exact
#       why: Access to source code is held only by members of the organisation.
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
