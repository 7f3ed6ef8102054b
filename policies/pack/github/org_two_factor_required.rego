# METADATA
# title: The organisation requires two-factor authentication
# description: >-
#   The GitHub organisation requires two-factor authentication of every member and outside
#   collaborator, so a stolen password alone cannot reach its code. GitHub removes people who
#   do not comply when the requirement is switched on.
# custom:
#   id: github.org.two_factor_required
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: The organisation refuses members without a second factor.
#   asset_kinds: [github-org]
#   evidence:
#     - github.org.two_factor_required
#   remediation: >-
#     In the organisation's Settings > Authentication security, tick "Require two-factor
#     authentication for everyone"; warn members first, since those without 2FA are removed.
#   freshness: 24h
package vouch.policies.github.org.two_factor_required

required := input.evidence["github.org.two_factor_required"]

deny contains "the organisation does not require two-factor authentication" if required == false

allow := "the organisation requires two-factor authentication of everyone" if required == true
