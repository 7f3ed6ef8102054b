# METADATA
# title: No security update is pending
# description: >-
#   Every installed package is at the newest version its security sources offer, as of the
#   package lists' last refresh (see host.packages.lists_fresh).
# custom:
#   id: host.packages.no_pending_security_updates
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: exact
#       why: No known vulnerability with a released fix is left unpatched.
#   asset_kinds: [host]
#   evidence:
#     - host.packages.pending_security_updates
#     - host.packages.pending_security_list
#     - host.packages.lists_updated_at
#   remediation: >-
#     Install the pending security updates ("apt-get upgrade" or "dnf upgrade --security")
#     and reboot if the kernel or core libraries changed.
#   freshness: 24h
package vouch.policies.host.packages.no_pending_security_updates

import data.vouch.lib

n := input.evidence["host.packages.pending_security_updates"]

deny contains sprintf("%d security update(s) pending: %s", [n, lib.names(input.evidence["host.packages.pending_security_list"])]) if {
	n > 0
}

allow := sprintf("no security update pending (package lists refreshed %s)", [input.evidence["host.packages.lists_updated_at"]]) if {
	n == 0
}
