# METADATA
# title: Kernel live patches loaded are in effect
# description: >-
#   Every live patch loaded into the running kernel (kpatch, canonical-livepatch and others,
#   read from /sys/kernel/livepatch) is enabled and has finished its transition, so its fixes
#   apply to every task; a patch stuck in transition or disabled leaves the kernel
#   vulnerable while looking patched. Hosts without live patches are not applicable here:
#   whether the running kernel is the installed one is host.system.no_reboot_pending.
# custom:
#   id: host.kernel.livepatches_effective
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: supporting
#       why: A live patch remediates kernel vulnerabilities only once enabled and fully transitioned.
#   asset_kinds: [host]
#   evidence:
#     - host.kernel.livepatches
#   remediation: >-
#     Check the patch with kpatch list or canonical-livepatch status; a transition that does
#     not finish names the blocking tasks in the kernel log (restart them or reboot into the
#     fixed kernel); re-enable or unload a disabled patch.
#   freshness: 24h
package vouch.policies.host.kernel.livepatches_effective

import data.vouch.lib

patches := input.evidence["host.kernel.livepatches"]

not_applicable := "no kernel live patch is loaded" if patches == []

deny contains msg if msg := lib.listed("live patches not enabled", [p.name | some p in patches; p.enabled != true])

deny contains msg if msg := lib.listed("live patches still in transition, not yet in effect for every task", [p.name | some p in patches; p.transition != false])

allow := lib.listed("live patches enabled and in effect", [p.name | some p in patches; p.enabled == true; p.transition == false]) if {
	count(patches) > 0
	every p in patches {
		p.enabled == true
		p.transition == false
	}
}
