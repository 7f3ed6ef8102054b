# METADATA
# title: Symlink and hardlink protections are on
# description: >-
#   fs.protected_symlinks and fs.protected_hardlinks are 1, which stops the classic link
#   attacks on world-writable directories such as /tmp.
# custom:
#   id: host.sysctl.protected_links
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: A CIS baseline kernel parameter.
#   asset_kinds: [host]
#   evidence:
#     - host.sysctl.protected_symlinks
#     - host.sysctl.protected_hardlinks
#   remediation: >-
#     Set fs.protected_symlinks = 1 and fs.protected_hardlinks = 1 in a file under
#     /etc/sysctl.d/ and run "sysctl --system".
#   freshness: 24h
package vouch.policies.host.sysctl.protected_links

deny contains "fs.protected_symlinks is 0" if input.evidence["host.sysctl.protected_symlinks"] == false

deny contains "fs.protected_hardlinks is 0" if input.evidence["host.sysctl.protected_hardlinks"] == false

allow := "symlink and hardlink protections are on" if {
	input.evidence["host.sysctl.protected_symlinks"] == true
	input.evidence["host.sysctl.protected_hardlinks"] == true
}
