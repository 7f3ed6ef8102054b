# METADATA
# title: No certificate expires within 30 days
# description: >-
#   Every valid certificate in the configured paths remains valid for at least 30 more days
#   after collection, leaving time to renew it.
# custom:
#   id: host.certificates.none_expiring_30d
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Renewal before expiry is part of managing keys through their life cycle.
#     - control: iso27001-2022:A.8.21  # Security of network services
#       relation: supporting
#       why: An expiring certificate will break the TLS of the services using it; other service mechanisms are not tested.
#   asset_kinds: [host]
#   evidence:
#     - host.certificates.list
#     - host.certificates.expiring_30d_count
#   remediation: >-
#     Renew each certificate listed now, and automate renewal (ACME, cert-manager) where
#     possible.
#   freshness: 24h
package vouch.policies.host.certificates.none_expiring_30d

import data.vouch.lib

certificates := input.evidence["host.certificates.list"]

n := input.evidence["host.certificates.expiring_30d_count"]

not_applicable := "no certificate in the configured paths" if certificates == []

expiring := [c.path |
	some c in certificates
	now := time.parse_rfc3339_ns(input.collected_at)
	end := time.parse_rfc3339_ns(c.not_after)
	end >= now
	end - now <= ((30 * 24) * 3600) * 1000000000
]

deny contains sprintf("%d certificate(s) expire within 30 days: %s", [n, lib.names(expiring)]) if n > 0

allow := sprintf("none of the %d certificate(s) expire within 30 days", [count(certificates)]) if {
	count(certificates) > 0
	n == 0
}
