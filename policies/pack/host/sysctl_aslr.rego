# METADATA
# title: Address space layout randomisation is full
# description: >-
#   kernel.randomize_va_space is 2: stack, heap, libraries and the program break are placed
#   at random addresses, which makes memory-corruption exploits much harder.
# custom:
#   id: host.sysctl.aslr_full
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: A CIS baseline kernel parameter.
#   asset_kinds: [host]
#   evidence:
#     - host.sysctl.kernel_randomize_va_space
#   remediation: >-
#     Set kernel.randomize_va_space = 2 in a file under /etc/sysctl.d/ and run "sysctl
#     --system".
#   freshness: 24h
package vouch.policies.host.sysctl.aslr_full

level := input.evidence["host.sysctl.kernel_randomize_va_space"]

deny contains sprintf("kernel.randomize_va_space is %v, not 2", [level]) if level != 2

allow := "kernel.randomize_va_space is 2" if level == 2
