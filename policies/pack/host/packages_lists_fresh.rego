# METADATA
# title: The package lists were refreshed within 7 days
# description: >-
#   The package index (apt lists, dnf metadata) was refreshed at most 7 days before
#   collection; pending-update counts are only as current as this index.
# custom:
#   id: host.packages.lists_fresh
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: supporting
#       why: Fresh package lists are a precondition for seeing pending security updates.
#   asset_kinds: [host]
#   evidence:
#     - host.packages.lists_updated_at
#   remediation: >-
#     Refresh the index daily: enable apt-daily.timer (APT::Periodic::Update-Package-Lists
#     "1") or dnf-makecache.timer.
#   freshness: 24h
package vouch.policies.host.packages.lists_fresh

import data.vouch.lib

max_days := 7

age := lib.days_between(input.evidence["host.packages.lists_updated_at"], input.collected_at)

deny contains sprintf("package lists last refreshed %d days before collection (more than %d)", [age, max_days]) if {
	age > max_days
}

allow := sprintf("package lists refreshed %d day(s) before collection", [max([age, 0])]) if age <= max_days
