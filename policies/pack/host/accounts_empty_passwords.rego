# METADATA
# title: No account has an empty password
# description: >-
#   No entry of /etc/shadow has an empty password field, which would let anyone log in as
#   that account without a password wherever password logins are allowed.
# custom:
#   id: host.accounts.no_empty_passwords
#   severity: critical
#   controls:
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: exact
#       why: An empty password is authentication information that meets no rule.
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: An account without a password can be entered without authenticating.
#   asset_kinds: [host]
#   evidence:
#     - host.accounts.empty_password_count
#   remediation: >-
#     Lock each such account ("passwd -l NAME") or set a password; find them with "awk -F:
#     '$2 == ""' /etc/shadow".
#   freshness: 24h
package vouch.policies.host.accounts.no_empty_passwords

n := input.evidence["host.accounts.empty_password_count"]

deny contains sprintf("%d account(s) have an empty password", [n]) if n > 0

allow := "no account has an empty password" if n == 0
