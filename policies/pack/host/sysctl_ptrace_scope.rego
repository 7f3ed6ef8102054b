# METADATA
# title: ptrace is restricted
# description: >-
#   kernel.yama.ptrace_scope is 1 or more, so a process can only debug its own descendants
#   (or nothing, at 2 and 3): a compromised user process cannot read the memory of the
#   user's other processes, such as an SSH agent.
# custom:
#   id: host.sysctl.ptrace_restricted
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.18  # Use of privileged utility programs
#       relation: exact
#       why: ptrace can override process isolation; restricting it restricts that utility.
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: A CIS baseline kernel parameter.
#   asset_kinds: [host]
#   evidence:
#     - host.sysctl.ptrace_scope
#   remediation: >-
#     Set kernel.yama.ptrace_scope = 1 (or higher) in a file under /etc/sysctl.d/ and run
#     "sysctl --system".
#   freshness: 24h
package vouch.policies.host.sysctl.ptrace_restricted

scope := input.evidence["host.sysctl.ptrace_scope"]

deny contains "kernel.yama.ptrace_scope is 0: any process may trace others of the same user" if scope == 0

allow := sprintf("kernel.yama.ptrace_scope is %d", [scope]) if {
	is_number(scope)
	scope >= 1
}
