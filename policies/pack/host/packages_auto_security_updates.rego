# METADATA
# title: Security updates install automatically
# description: >-
#   unattended-upgrades (APT::Periodic::Unattended-Upgrade) or dnf-automatic is set to
#   apply security updates without waiting for a person.
# custom:
#   id: host.packages.auto_security_updates
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: exact
#       why: Security fixes are installed without waiting for a person.
#   asset_kinds: [host]
#   evidence:
#     - host.packages.auto_security_updates
#   remediation: >-
#     Debian/Ubuntu: install unattended-upgrades and run "dpkg-reconfigure -plow
#     unattended-upgrades". RHEL: install dnf-automatic, set upgrade_type = security and
#     apply_updates = yes, enable dnf-automatic.timer.
#   freshness: 24h
package vouch.policies.host.packages.auto_security_updates

deny contains "security updates are not applied automatically" if input.evidence["host.packages.auto_security_updates"] == false

allow := "security updates are applied automatically" if input.evidence["host.packages.auto_security_updates"] == true
