# METADATA
# title: The operating system still receives its vendor's security updates
# description: >-
#   The distribution release (os-release ID and VERSION_ID) has not passed the last day its
#   vendor publishes security updates for every installation, by the end-of-life table shipped
#   with the pack (lib/os_eol.rego: Debian, Ubuntu, RHEL, Rocky Linux, AlmaLinux, CentOS,
#   Alpine, Amazon Linux). The date is compared with the snapshot's collection time. A paid
#   extension (Ubuntu Pro ESM, RHEL ELS) is named in the verdict but not counted: the collector
#   does not see a subscription. A release the table does not list gives no verdict.
# custom:
#   id: host.os.supported
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: exact
#       why: A release past its vendor's end of life gets no fixes, so its vulnerabilities cannot be remediated.
#   asset_kinds: [host]
#   evidence:
#     - host.os.id
#     - host.os.version_id
#   remediation: >-
#     Upgrade the host to a supported release of its distribution (or rebuild it on one); where
#     a paid extension covers the release, record it as an exception with its end date.
#   freshness: 7d
package vouch.policies.host.os.supported

import data.vouch.lib
import data.vouch.lib.os_eol

id := input.evidence["host.os.id"]

version := input.evidence["host.os.version_id"]

release := os_eol.release(id, version)

today := substring(input.collected_at, 0, 10)

# The end date is the last day of support: it runs to that day's end.
days_left := lib.days_between(input.collected_at, sprintf("%sT23:59:59Z", [release.end]))

days_past := lib.days_between(sprintf("%sT00:00:00Z", [release.end]), input.collected_at)

inconclusive := sprintf("the pack's end-of-life table has no entry for %v %v", [id, version]) if {
	not release
}

extension := sprintf("; a paid extension may run to %s, which this check does not see", [release.extended]) if release.extended

extension := "" if not release.extended

deny contains sprintf("%s %s is past its end of life: %s ended on %s, %d day(s) before collection%s", [id, version, release.phase, release.end, days_past, extension]) if {
	today > release.end
}

allow := sprintf("%s %s receives security updates (%s) until %s, %d day(s) after collection", [id, version, release.phase, release.end, days_left]) if {
	today <= release.end
}
