# METADATA
# title: No clear-text legacy service is enabled
# description: >-
#   None of telnet, rsh, rlogin, rexec, FTP, TFTP or xinetd is enabled or running: they
#   send passwords and data unencrypted or trust hosts by address.
# custom:
#   id: host.services.no_insecure_legacy
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.21  # Security of network services
#       relation: exact
#       why: Clear-text legacy services (telnet, rsh and the like) are insecure network services.
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: supporting
#       why: Those services send credentials in clear text; authentication itself is not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.services.enabled_insecure
#   remediation: >-
#     Disable and remove each service listed (systemctl disable --now UNIT; apt purge / dnf
#     remove its package) and use SSH/SFTP instead.
#   freshness: 24h
package vouch.policies.host.services.no_insecure_legacy

import data.vouch.lib

services := input.evidence["host.services.enabled_insecure"]

deny contains msg if msg := lib.listed("clear-text legacy services enabled", services)

allow := "no clear-text legacy service is enabled" if services == []
