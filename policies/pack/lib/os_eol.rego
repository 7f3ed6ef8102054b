# The operating systems' published end-of-life dates, shipped with the pack as data (so that a
# new date is a reviewed change of the pack and of its digest). Not a policy (no metadata):
# policies use it with `import data.vouch.lib.os_eol`. It reads no input.
#
# For each distribution (the ID of os-release) and release, `end` is the last day the vendor
# publishes security updates that every installation receives without a further subscription,
# `phase` names that support, and `extended` (when there is one) the last day of a paid or
# separately subscribed extension, which the verdict mentions but does not count. Sources, as
# published by each vendor and collected by endoflife.date (read 2026-12): Debian's security
# team and Debian LTS (wiki.debian.org/LTS), Ubuntu's release cycle (ubuntu.com/about/release-
# cycle: standard security maintenance, then Expanded Security Maintenance with Ubuntu Pro),
# Red Hat's life cycle (access.redhat.com/support/policy/updates/errata: Maintenance Support,
# then the ELS add-on), Rocky Linux's and AlmaLinux's release pages, Alpine's release table
# (alpinelinux.org/releases) and Amazon Linux's FAQs. Releases not listed (interim releases not
# tracked, releases newer than the table) give no verdict rather than a guess.
package vouch.lib.os_eol

releases := {
	"debian": {
		"9": {"end": "2022-07-01", "phase": "Debian LTS"},
		"10": {"end": "2024-06-30", "phase": "Debian LTS"},
		"11": {"end": "2026-08-31", "phase": "Debian LTS"},
		"12": {"end": "2028-06-30", "phase": "Debian LTS"},
		"13": {"end": "2030-06-30", "phase": "Debian LTS"},
	},
	"ubuntu": {
		"16.04": {"end": "2021-04-02", "phase": "standard security maintenance", "extended": "2026-04-02"},
		"18.04": {"end": "2023-05-31", "phase": "standard security maintenance", "extended": "2028-04-01"},
		"20.04": {"end": "2025-05-31", "phase": "standard security maintenance", "extended": "2030-04-02"},
		"22.04": {"end": "2027-04-01", "phase": "standard security maintenance", "extended": "2032-04-09"},
		"23.10": {"end": "2024-07-12", "phase": "interim release support"},
		"24.04": {"end": "2029-05-31", "phase": "standard security maintenance", "extended": "2036-05-31"},
		"24.10": {"end": "2025-07-10", "phase": "interim release support"},
		"25.04": {"end": "2026-01-17", "phase": "interim release support"},
		"25.10": {"end": "2026-07-01", "phase": "interim release support"},
		"26.04": {"end": "2031-04-30", "phase": "standard security maintenance", "extended": "2036-04-30"},
	},
	"rhel": {
		"7": {"end": "2024-06-30", "phase": "Maintenance Support", "extended": "2028-06-30"},
		"8": {"end": "2029-05-31", "phase": "Maintenance Support", "extended": "2032-05-31"},
		"9": {"end": "2032-05-31", "phase": "Maintenance Support", "extended": "2035-05-31"},
		"10": {"end": "2035-05-31", "phase": "Maintenance Support"},
	},
	"rocky": {
		"8": {"end": "2029-05-31", "phase": "security support"},
		"9": {"end": "2032-05-31", "phase": "security support"},
		"10": {"end": "2035-05-31", "phase": "security support"},
	},
	"almalinux": {
		"8": {"end": "2029-03-01", "phase": "security support"},
		"9": {"end": "2032-05-31", "phase": "security support"},
		"10": {"end": "2035-05-31", "phase": "security support"},
	},
	"centos": {
		"7": {"end": "2024-06-30", "phase": "CentOS Linux maintenance updates"},
		# CentOS Linux 8 (ended 2021-12-31) and CentOS Stream 8 share ID and VERSION_ID: the later.
		"8": {"end": "2024-05-31", "phase": "CentOS Stream 8 updates"},
		"9": {"end": "2027-05-31", "phase": "CentOS Stream 9 updates"},
	},
	"alpine": {
		"3.17": {"end": "2024-11-22", "phase": "security fixes"},
		"3.18": {"end": "2025-05-09", "phase": "security fixes"},
		"3.19": {"end": "2025-11-01", "phase": "security fixes"},
		"3.20": {"end": "2026-04-01", "phase": "security fixes"},
		"3.21": {"end": "2026-11-01", "phase": "security fixes"},
		"3.22": {"end": "2027-05-01", "phase": "security fixes"},
		"3.23": {"end": "2027-11-01", "phase": "security fixes"},
	},
	"amzn": {
		"2018.03": {"end": "2023-12-31", "phase": "maintenance support"},
		"2": {"end": "2026-06-30", "phase": "security updates"},
		"2023": {"end": "2029-06-30", "phase": "maintenance support"},
	},
}

# The release key of a VERSION_ID: the major version for Debian and the RHEL family ("9.4" →
# "9"), major.minor for Alpine ("3.19.1" → "3.19"), as written for Ubuntu and Amazon Linux.
release_key(id, version) := split(version, ".")[0] if id in {"debian", "rhel", "rocky", "almalinux", "centos"}

release_key("alpine", version) := concat(".", array.slice(split(version, "."), 0, 2))

release_key(id, version) := version if id in {"ubuntu", "amzn"}

# The table's entry for a distribution and VERSION_ID; undefined when it has none.
release(id, version) := releases[id][release_key(id, version)]
