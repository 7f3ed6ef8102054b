# METADATA
# title: No certificate has a weak key
# description: >-
#   Every certificate in the configured paths has an RSA key of at least 2048 bits or an
#   elliptic-curve key of at least 256 bits.
# custom:
#   id: host.certificates.no_weak_keys
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.24  # Use of cryptography
#       relation: exact
#       why: Certificate keys meet minimum sizes and algorithms.
#   asset_kinds: [host]
#   evidence:
#     - host.certificates.list
#     - host.certificates.weak_key_count
#   remediation: >-
#     Issue a replacement with an RSA 3072 or ECDSA P-256 (or stronger) key, deploy it and
#     revoke the old certificate.
#   freshness: 24h
package vouch.policies.host.certificates.no_weak_keys

import data.vouch.lib

certificates := input.evidence["host.certificates.list"]

n := input.evidence["host.certificates.weak_key_count"]

not_applicable := "no certificate in the configured paths" if certificates == []

weak := [sprintf("%s (%s %d)", [c.path, c.key_type, c.key_bits]) |
	some c in certificates
	minimum := {"rsa": 2048, "ec": 256}[c.key_type]
	c.key_bits < minimum
]

deny contains sprintf("%d certificate(s) have weak keys: %s", [n, lib.names(weak)]) if n > 0

allow := sprintf("none of the %d certificate(s) have weak keys", [count(certificates)]) if {
	count(certificates) > 0
	n == 0
}
