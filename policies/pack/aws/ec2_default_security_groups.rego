# METADATA
# title: Default security groups allow no traffic
# description: >-
#   The default security group of every VPC in the regions collected has no inbound and no
#   outbound rule, so a resource placed in it by omission is reachable by nothing and reaches
#   nothing; traffic goes through groups made for it. AWS creates each default group allowing
#   traffic within the group and all outbound traffic.
# custom:
#   id: aws.ec2.default_security_groups_closed
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.20  # Networks security
#       relation: exact
#       why: Network access is granted only by rules made for it, never by the default group (CIS AWS 5.4).
#     - control: iso27001-2022:A.8.22  # Segregation of networks
#       relation: supporting
#       why: Resources left in a default group all reach each other; how the VPCs are segregated is not tested.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.account.regions
#     - aws.ec2.default_security_groups_open
#   remediation: >-
#     Move the resources of each group listed to groups of their own, then remove every
#     inbound and outbound rule of the default group (aws ec2 revoke-security-group-ingress and
#     revoke-security-group-egress).
#   freshness: 24h
package vouch.policies.aws.ec2.default_security_groups_closed

import data.vouch.lib
import data.vouch.lib.aws

open := input.evidence["aws.ec2.default_security_groups_open"]

deny contains msg if msg := lib.listed("default security groups with rules", open)

allow := sprintf("every default security group has no rule %s", [aws.regions_note(input.evidence["aws.account.regions"])]) if open == []
