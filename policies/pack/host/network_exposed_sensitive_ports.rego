# METADATA
# title: No database, remote-desktop or clear-text admin port listens beyond loopback
# description: >-
#   No socket bound to a non-loopback address serves a port that should never face a
#   network directly: databases and caches (MySQL, PostgreSQL, Redis, MongoDB,
#   Elasticsearch, memcached), remote desktops (RDP, VNC), unauthenticated control APIs
#   (Docker, etcd) or clear-text logins (telnet, FTP, rsh, TFTP). A host firewall may still
#   filter the port; this checks what listens.
# custom:
#   id: host.network.no_exposed_sensitive_ports
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: exact
#       why: Databases and clear-text administration ports reachable beyond loopback are network exposures.
#   asset_kinds: [host]
#   evidence:
#     - host.network.exposed_ports
#   remediation: >-
#     Bind the service to 127.0.0.1 or a private interface (e.g. bind-address,
#     listen_addresses), or put it behind an authenticated, encrypted proxy; remove clear-
#     text services.
#   freshness: 24h
package vouch.policies.host.network.no_exposed_sensitive_ports

import data.vouch.lib

sensitive := {
	"tcp/21": "FTP",
	"tcp/23": "telnet",
	"udp/69": "TFTP",
	"tcp/111": "rpcbind",
	"udp/111": "rpcbind",
	"tcp/512": "rexec",
	"tcp/513": "rlogin",
	"tcp/514": "rsh",
	"tcp/2375": "Docker API without TLS",
	"tcp/2379": "etcd",
	"tcp/3306": "MySQL",
	"tcp/3389": "RDP",
	"tcp/5432": "PostgreSQL",
	"tcp/5900": "VNC",
	"tcp/6379": "Redis",
	"tcp/9200": "Elasticsearch",
	"tcp/11211": "memcached",
	"udp/11211": "memcached",
	"tcp/27017": "MongoDB",
}

# "tcp6/5432" is the same service as "tcp/5432".
service(port) := sensitive[concat("/", [trim_suffix(split(port, "/")[0], "6"), split(port, "/")[1]])]

exposed := input.evidence["host.network.exposed_ports"]

deny contains msg if {
	some port in exposed
	name := service(port)
	msg := sprintf("%s (%s) listens on a non-loopback address", [port, name])
}

allow := sprintf("no sensitive port among the %d exposed: %s", [count(exposed), lib.names(exposed)]) if {
	count(exposed) > 0
	every port in exposed {
		regex.match(`^(tcp|udp)6?/[0-9]+$`, port)
		not service(port)
	}
}

allow := "nothing listens beyond loopback" if exposed == []
