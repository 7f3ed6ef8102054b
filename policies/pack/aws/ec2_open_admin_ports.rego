# METADATA
# title: No security group opens SSH or RDP to the internet
# description: >-
#   No security group in the collected regions has an inbound rule from 0.0.0.0/0 or ::/0
#   covering SSH (22/tcp) or RDP (3389), whether by the port itself, a port range or all
#   traffic: administrative access comes through a bastion, VPN or Session Manager.
# custom:
#   id: aws.ec2.no_open_admin_ports
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: exact
#       why: Security groups are network controls; SSH or RDP open to the internet defeats them.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.account.regions
#     - aws.ec2.open_admin_security_groups
#   remediation: >-
#     Remove the rules listed, or narrow their source to the addresses of a bastion or VPN;
#     prefer Systems Manager Session Manager, which needs no inbound port.
#   freshness: 24h
package vouch.policies.aws.ec2.no_open_admin_ports

import data.vouch.lib
import data.vouch.lib.aws

# "all traffic" for protocol -1, else "tcp 3000-4000".
ports(r) := "all traffic" if r.protocol == "-1"

ports(r) := sprintf("%s %v", [r.protocol, r.from_port]) if {
	r.protocol != "-1"
	r.from_port == r.to_port
}

ports(r) := sprintf("%s %v-%v", [r.protocol, r.from_port, r.to_port]) if {
	r.protocol != "-1"
	r.from_port != r.to_port
}

groups := [sprintf("%s/%s (%s: %s)", [g.region, g.group_id, g.group_name, concat(", ", [sprintf("%s from %s", [ports(r), r.source]) | some r in g.rules])]) |
	some g in input.evidence["aws.ec2.open_admin_security_groups"]
]

deny contains msg if msg := lib.listed("security groups open to the internet on an administrative port", groups)

allow := sprintf("no security group opens SSH or RDP to the internet %s", [aws.regions_note(input.evidence["aws.account.regions"])]) if {
	input.evidence["aws.ec2.open_admin_security_groups"] == []
}
