# The reviewed table from Prowler's check ids to the topics the pack judges imported cloud
# findings under, one policy per topic and control (policies/pack/import/cloud_*.rego). Not a
# policy (no metadata): policies use it with `import data.vouch.lib.prowler`.
#
# Written check by check from what each check tests, not copied from Prowler's own framework
# lists (its findings' `unmapped.compliance`): a check maps here only when a failure is a
# shortfall of that control. A check not listed is not judged (its failures stay visible in
# import.cloud.failed); `unjudged` names the ones left out on purpose, with why. A change to
# this table is a reviewed diff, held by policies/tests/import_pack.rs to the checks of the
# committed Prowler fixture.
package vouch.lib.prowler

topics := {
	# A.8.5 Secure authentication: second factors and password rules.
	"iam_root_mfa_enabled": "authentication",
	"iam_root_hardware_mfa_enabled": "authentication",
	"iam_user_mfa_enabled_console_access": "authentication",
	"iam_user_hardware_mfa_enabled": "authentication",
	"iam_password_policy_minimum_length_14": "authentication",
	"iam_password_policy_lowercase": "authentication",
	"iam_password_policy_uppercase": "authentication",
	"iam_password_policy_number": "authentication",
	"iam_password_policy_symbol": "authentication",
	"iam_password_policy_reuse_24": "authentication",
	"iam_password_policy_expires_passwords_within_90_days_or_less": "authentication",
	"iam_check_saml_providers_sts": "authentication",
	# A.8.2 Privileged access rights: administrative and full-service grants.
	"iam_customer_attached_policy_no_administrative_privileges": "privileged_access",
	"iam_aws_attached_policy_no_administrative_privileges": "privileged_access",
	"iam_inline_policy_no_administrative_privileges": "privileged_access",
	"iam_policy_no_full_access_to_cloudtrail": "privileged_access",
	"iam_policy_no_full_access_to_kms": "privileged_access",
	"iam_no_custom_policy_permissive_role_assumption": "privileged_access",
	"iam_policy_no_wildcard_marketplace_subscribe": "privileged_access",
	"iam_no_root_access_key": "privileged_access",
	"iam_root_credentials_management_enabled": "privileged_access",
	# A.5.18 Access rights: grants reviewed and removed when unused.
	"iam_policy_attached_only_to_group_or_roles": "access_rights",
	"iam_user_accesskey_unused": "access_rights",
	"iam_user_console_access_unused": "access_rights",
	"iam_rotate_access_key_90_days": "access_rights",
	# A.8.15 Logging: audit trails recorded.
	"cloudtrail_multi_region_enabled": "logging",
	"cloudtrail_multi_region_enabled_logging_management_events": "logging",
	"cloudtrail_s3_dataevents_read_enabled": "logging",
	"cloudtrail_s3_dataevents_write_enabled": "logging",
	"cloudtrail_bedrock_logging_enabled": "logging",
	"cloudtrail_log_file_validation_enabled": "logging",
	"cloudtrail_kms_encryption_enabled": "logging",
	"s3_bucket_server_access_logging_enabled": "logging",
	# A.8.16 Monitoring activities: threat detection switched on.
	"guardduty_is_enabled": "monitoring",
	"guardduty_delegated_admin_enabled_all_regions": "monitoring",
	"securityhub_enabled": "monitoring",
	"ec2_instance_detailed_monitoring_enabled": "monitoring",
	# A.8.24 Use of cryptography: encryption at rest and in transit.
	"ec2_ebs_default_encryption": "cryptography",
	"ec2_ebs_volume_encryption": "cryptography",
	"ec2_ebs_snapshots_encrypted": "cryptography",
	"s3_bucket_default_encryption": "cryptography",
	"s3_bucket_kms_encryption": "cryptography",
	"s3_bucket_secure_transport_policy": "cryptography",
	# A.8.20 Networks security: what the internet can reach.
	"ec2_networkacl_allow_ingress_any_port": "network",
	"ec2_networkacl_allow_ingress_tcp_port_22": "network",
	"ec2_networkacl_allow_ingress_tcp_port_3389": "network",
	"ec2_securitygroup_default_restrict_traffic": "network",
	"ec2_securitygroup_allow_ingress_from_internet_to_all_ports": "network",
	"ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22": "network",
	"ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389": "network",
	"ec2_instance_public_ip": "network",
	# A.8.8 Management of technical vulnerabilities: patching and image scanning in place.
	"ec2_instance_managed_by_ssm": "vulnerability_management",
	"ssm_managed_compliant_patching": "vulnerability_management",
	"ecr_registry_scan_images_on_push_enabled": "vulnerability_management",
	"ecr_repositories_scan_images_on_push_enabled": "vulnerability_management",
	"ecr_registry_enhanced_scanning_enabled": "vulnerability_management",
	"inspector2_is_enabled": "vulnerability_management",
	"inspector2_active_findings_exist": "vulnerability_management",
	# A.8.13 Information backup: copies exist and cannot be destroyed with the original.
	"ec2_ebs_volume_protected_by_backup_plan": "backup",
	"ec2_ebs_volume_snapshots_exists": "backup",
	"s3_bucket_object_versioning": "backup",
	"s3_bucket_cross_region_replication": "backup",
	"s3_bucket_object_lock": "backup",
	"s3_bucket_no_mfa_delete": "backup",
	# A.8.3 Information access restriction: nothing public by accident.
	"s3_bucket_level_public_access_block": "data_exposure",
	"s3_account_level_public_access_blocks": "data_exposure",
	"s3_bucket_acl_prohibited": "data_exposure",
	"s3_bucket_public_access": "data_exposure",
	"ecr_repositories_not_publicly_accessible": "data_exposure",
	# A.8.9 Configuration management: hardened defaults.
	"ec2_instance_imdsv2_enabled": "configuration",
	"ecr_repositories_tag_immutability": "configuration",
}

# Checks Prowler runs that the pack deliberately does not judge, with why.
unjudged := {
	# Having an AWS Support role or a SecurityAudit role is an organisational choice, not a
	# shortfall of any control.
	"iam_support_role_created",
	"iam_securityaudit_role_created",
	# Instance profiles, unused groups, lifecycle rules and bucket event notifications are
	# housekeeping: no control asks for them.
	"ec2_instance_profile_attached",
	"ec2_securitygroup_not_used",
	"s3_bucket_lifecycle_enabled",
	"ecr_repositories_lifecycle_policy_enabled",
	"s3_bucket_event_notifications_enabled",
}

# The failed findings (objects of import.cloud.failed) of checks of `topic`, for a reason.
failed_of(findings, topic) := [sprintf("%s (%s)", [f.check_id, resource(f)]) |
	some f in findings
	topics[f.check_id] == topic
]

resource(f) := f.resource if f.resource != ""

resource(f) := sprintf("%s %s", [f.provider, f.account]) if f.resource == ""

# How many checks of the table are of `topic`.
checks_of(topic) := count({c | some c, t in topics; t == topic})
