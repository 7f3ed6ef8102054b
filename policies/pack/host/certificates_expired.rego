# METADATA
# title: No certificate has expired
# description: >-
#   No certificate found in the configured paths is past its notAfter date at collection:
#   an expired certificate breaks TLS or is a leftover nobody manages.
# custom:
#   id: host.certificates.none_expired
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Certificate validity is part of managing keys through their life cycle.
#     - control: iso27001-2022:A.8.21  # Security of network services
#       relation: supporting
#       why: An expired certificate breaks the TLS of the services using it; other service mechanisms are not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.certificates.list
#     - host.certificates.expired_count
#   remediation: >-
#     Renew or remove each certificate listed, and automate renewal (ACME, cert-manager)
#     where possible.
#   freshness: 24h
package vouch.policies.host.certificates.none_expired

import data.vouch.lib

certificates := input.evidence["host.certificates.list"]

n := input.evidence["host.certificates.expired_count"]

not_applicable := "no certificate in the configured paths" if certificates == []

expired := [c.path |
	some c in certificates
	time.parse_rfc3339_ns(c.not_after) < time.parse_rfc3339_ns(input.collected_at)
]

deny contains sprintf("%d certificate(s) expired: %s", [n, lib.names(expired)]) if n > 0

allow := sprintf("none of the %d certificate(s) expired", [count(certificates)]) if {
	count(certificates) > 0
	n == 0
}
