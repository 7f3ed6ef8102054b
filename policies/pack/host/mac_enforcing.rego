# METADATA
# title: SELinux or AppArmor is enforcing
# description: >-
#   A mandatory access control system confines programs whatever their Unix permissions:
#   SELinux in enforcing mode, or AppArmor enabled with at least one profile in enforce mode.
#   SELinux in permissive mode only logs, and AppArmor profiles in complain mode only log:
#   neither counts. Profiles in complain mode beside enforcing ones are named in the verdict.
# custom:
#   id: host.mac.enforcing
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: Mandatory access control enforcing is part of every hardening baseline (CIS 1.3, 1.6).
#     - control: iso27001-2022:A.8.3  # Information access restriction
#       relation: supporting
#       why: Confines what each program may read, beyond Unix permissions; which data it protects is not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.mac.selinux_mode
#     - host.mac.apparmor_enabled
#     - host.mac.apparmor_profiles
#   remediation: >-
#     SELinux: set SELINUX=enforcing in /etc/selinux/config and run setenforce 1 (after fixing
#     the denials permissive mode logged). AppArmor: keep it enabled on the kernel command line
#     and put the profiles in enforce mode (aa-enforce /etc/apparmor.d/*).
#   freshness: 24h
package vouch.policies.host.mac.enforcing

selinux := input.evidence["host.mac.selinux_mode"]

apparmor := input.evidence["host.mac.apparmor_enabled"]

profiles := input.evidence["host.mac.apparmor_profiles"]

enforced := object.get(profiles, "enforce", 0)

complaining := object.get(profiles, "complain", 0)

apparmor_enforcing if {
	apparmor == true
	enforced > 0
}

complain_note := "" if complaining == 0

complain_note := sprintf(", %d in complain mode", [complaining]) if complaining > 0

deny contains sprintf("SELinux is %s and %s", [selinux, apparmor_state]) if {
	selinux != "enforcing"
	not apparmor_enforcing
}

apparmor_state := "AppArmor is not enabled" if apparmor == false

apparmor_state := sprintf("AppArmor has no profile in enforce mode (%d in complain mode)", [complaining]) if {
	apparmor == true
	enforced == 0
}

allow := "SELinux is enforcing" if selinux == "enforcing"

allow := sprintf("AppArmor is enforcing %d profile(s)%s", [enforced, complain_note]) if {
	selinux != "enforcing"
	apparmor_enforcing
}
