# METADATA
# title: EC2 instances require IMDSv2
# description: >-
#   Every instance that is not terminated, in the regions collected, has its instance
#   metadata service require a session token (HttpTokens required, IMDSv2) or turned off.
#   IMDSv1 answers any request from the instance, so a server-side request forgery there reads
#   the instance role's credentials. The account-level default for new instances is not read
#   (moto, the emulator the tests run against, does not implement it).
# custom:
#   id: aws.ec2.imdsv2_required
#   severity: high
#   controls:
#     - control: iso27001-2022:A.8.9  # Configuration management
#       relation: exact
#       why: IMDSv2 required is a hardened instance setting of every AWS baseline (CIS AWS 5.6).
#     - control: iso27001-2022:A.5.17  # Authentication information
#       relation: supporting
#       why: Protects the instance role's temporary credentials from request forgery; their use is not tested.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.account.regions
#     - aws.ec2.instances_without_imdsv2
#   remediation: >-
#     For each instance listed: aws ec2 modify-instance-metadata-options --instance-id ID
#     --http-tokens required --http-endpoint enabled (after checking its software uses IMDSv2);
#     set the account default with aws ec2 modify-instance-metadata-defaults --http-tokens
#     required in each region.
#   freshness: 24h
package vouch.policies.aws.ec2.imdsv2_required

import data.vouch.lib
import data.vouch.lib.aws

v1 := input.evidence["aws.ec2.instances_without_imdsv2"]

deny contains msg if msg := lib.listed("instances whose metadata service accepts IMDSv1", v1)

allow := sprintf("every instance requires IMDSv2 %s", [aws.regions_note(input.evidence["aws.account.regions"])]) if v1 == []
