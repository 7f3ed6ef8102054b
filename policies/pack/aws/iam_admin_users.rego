# METADATA
# title: AdministratorAccess is not attached directly to IAM users
# description: >-
#   The AWS managed AdministratorAccess policy is attached to no IAM user directly: full
#   administrative rights are held through a group or a role, where they are granted,
#   reviewed and revoked in one place. The groups and roles holding it are named for review.
# custom:
#   id: aws.iam.no_direct_admin_users
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.2  # Privileged access rights
#       relation: exact
#       why: Full administrator rights attached directly to users escape controlled allocation of privilege.
#   asset_kinds: [aws-account]
#   evidence:
#     - aws.iam.admin_principals
#   remediation: >-
#     Detach AdministratorAccess from each user listed; grant it through an administrators
#     group or, better, a role assumed with MFA.
#   freshness: 24h
package vouch.policies.aws.iam.no_direct_admin_users

import data.vouch.lib

admins := input.evidence["aws.iam.admin_principals"]

users := [a | some a in admins; startswith(a, "user/")]

deny contains msg if msg := lib.listed("IAM users with AdministratorAccess attached directly", users)

allow := sprintf("no IAM user holds AdministratorAccess directly; %s", [lib.listed("it is attached to", admins)]) if {
	count(admins) > 0
	users == []
}

allow := "AdministratorAccess is attached to no user, group or role" if admins == []
