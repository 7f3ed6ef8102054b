//! The AWS source against a moto server (see `aws_moto`): the test builds an account with the
//! SDK (buckets with and without encryption, a public policy, a TLS-only policy, users with and
//! without MFA, admins, security groups, volumes and a snapshot, instances with and without
//! IMDSv2, a VPC flow log, keys, trails with a CloudWatch Logs group and CIS metric filters,
//! databases with and without deletion protection, GuardDuty, Security Hub, an EKS cluster),
//! collects it, and checks the evidence item by item. Without moto the tests fail and say how
//! to start it.

#[path = "aws_moto/mod.rs"]
mod aws_moto;

use std::collections::BTreeSet;

use aws_moto::{Moto, START_MOTO};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use vouch_collectors::aws::{API_CALLS, AwsSource, UNRESOLVED_ACCOUNT};
use vouch_collectors::{Collected, Source, all_specs, run_source};
use vouch_evidence::{AssetKind, ItemStatus, RunOutcome};

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// A bucket name unique to the account (bucket names are global).
fn unique(m: &Moto, name: &str) -> String {
    format!("vouch-{name}-{}", m.account)
}

async fn collect(source: &AwsSource) -> Collected {
    run_source(source, &source.context(CancellationToken::new())).await
}

/// The value of an item that must have been read.
fn ok(c: &Collected, id: &str) -> Value {
    let item = c.evidence.get(id).unwrap_or_else(|| panic!("{id} missing"));
    assert_eq!(item.status, ItemStatus::Ok, "{id}: {:?}", item.reason);
    item.value.clone()
}

/// A list of strings as a set.
fn set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v} is not a list"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn names(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Every AWS id declared is present, typed as declared when read, and nothing undeclared.
fn check_declarations(c: &Collected) {
    let specs: Vec<_> = all_specs()
        .into_iter()
        .filter(|s| s.id.starts_with("aws."))
        .collect();
    for spec in &specs {
        let item = c
            .evidence
            .get(spec.id)
            .unwrap_or_else(|| panic!("{} not emitted", spec.id));
        if item.status == ItemStatus::Ok {
            assert!(
                spec.value_type.matches(&item.value),
                "{} = {} is not {:?}",
                spec.id,
                item.value,
                spec.value_type
            );
        } else {
            assert!(
                !item.reason.as_deref().unwrap_or("").is_empty(),
                "{}",
                spec.id
            );
        }
    }
    for id in c.evidence.keys() {
        assert!(
            specs.iter().any(|s| s.id == id),
            "{id} emitted but not declared"
        );
    }
}

/// An S3 Control endpoint without the account id in front of the host name.
#[derive(Debug)]
struct Fixed(String);
impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for Fixed {
    fn resolve_endpoint<'a>(
        &'a self,
        _: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_sdk_s3control::config::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

/// What the test built and expects to find.
struct Built {
    kms_bucket: String,
    logs_bucket: String,
    plain_bucket: String,
    public_bucket: String,
    tls_bucket: String,
    locked_bucket: String,
    trail_bucket: String,
    unencrypted_volume: String,
    rotating_key: String,
    unrotated_key: String,
    asymmetric_key: String,
}

impl Built {
    fn buckets(&self) -> BTreeSet<String> {
        [
            &self.kms_bucket,
            &self.logs_bucket,
            &self.plain_bucket,
            &self.public_bucket,
            &self.tls_bucket,
            &self.locked_bucket,
            &self.trail_bucket,
        ]
        .into_iter()
        .cloned()
        .collect()
    }

    fn except(&self, keep: &[&String]) -> BTreeSet<String> {
        self.buckets()
            .into_iter()
            .filter(|b| !keep.contains(&b))
            .collect()
    }
}

/// Tags a bucket with one tag.
async fn tag(client: &aws_sdk_s3::Client, bucket: &str, key: &str, value: &str) {
    use aws_sdk_s3::types::{Tag, Tagging};
    let tag = Tag::builder().key(key).value(value).build().unwrap();
    let tagging = Tagging::builder().tag_set(tag).build().unwrap();
    client
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging)
        .send()
        .await
        .unwrap();
}

async fn build_s3(m: &Moto, kms_key_arn: &str) -> Built {
    use aws_sdk_s3::types::*;
    let s3e = m.s3("us-east-1");
    let s3w = m.s3("eu-west-1");
    let built = Built {
        kms_bucket: unique(m, "kms"),
        logs_bucket: unique(m, "logs"),
        plain_bucket: unique(m, "plain"),
        public_bucket: unique(m, "public"),
        tls_bucket: unique(m, "tls"),
        locked_bucket: unique(m, "locked"),
        trail_bucket: unique(m, "trail"),
        unencrypted_volume: String::new(),
        rotating_key: String::new(),
        unrotated_key: String::new(),
        asymmetric_key: String::new(),
    };
    for b in [
        &built.kms_bucket,
        &built.logs_bucket,
        &built.plain_bucket,
        &built.public_bucket,
        &built.trail_bucket,
    ] {
        s3e.create_bucket().bucket(b).send().await.unwrap();
    }
    s3e.create_bucket()
        .bucket(&built.locked_bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    s3w.create_bucket()
        .bucket(&built.tls_bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let encrypt = |algorithm: ServerSideEncryption, key: Option<&str>| {
        ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(algorithm)
                            .set_kms_master_key_id(key.map(str::to_string))
                            .build()
                            .unwrap(),
                    )
                    .bucket_key_enabled(key.is_some())
                    .build(),
            )
            .build()
            .unwrap()
    };
    for (bucket, client, config) in [
        (
            &built.kms_bucket,
            &s3e,
            encrypt(ServerSideEncryption::AwsKms, Some(kms_key_arn)),
        ),
        (
            &built.logs_bucket,
            &s3e,
            encrypt(ServerSideEncryption::Aes256, None),
        ),
        (
            &built.trail_bucket,
            &s3e,
            encrypt(ServerSideEncryption::Aes256, None),
        ),
        (
            &built.locked_bucket,
            &s3e,
            encrypt(ServerSideEncryption::AwsKmsDsse, Some(kms_key_arn)),
        ),
        (
            &built.tls_bucket,
            &s3w,
            encrypt(ServerSideEncryption::Aes256, None),
        ),
    ] {
        client
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(config)
            .send()
            .await
            .unwrap();
    }
    s3e.put_bucket_versioning()
        .bucket(&built.kms_bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3e.put_public_access_block()
        .bucket(&built.kms_bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    tag(&s3e, &built.kms_bucket, "owner", "security").await;
    let public = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{}/*", built.public_bucket)}]});
    // A service principal, and anyone but only through one VPC endpoint: neither is public.
    let trail = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "CloudTrailWrite", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": format!("arn:aws:s3:::{}/AWSLogs/*", built.trail_bucket)},
        {"Sid": "ThroughVpce", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": format!("arn:aws:s3:::{}/*", built.trail_bucket),
         "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}]});
    let tls = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{}", built.tls_bucket), format!("arn:aws:s3:::{}/*", built.tls_bucket)],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    let logs = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "S3ServerAccessLogs", "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
        "Resource": format!("arn:aws:s3:::{}/*", built.logs_bucket)}]});
    for (bucket, client, policy) in [
        (&built.logs_bucket, &s3e, logs),
        (&built.public_bucket, &s3e, public),
        (&built.trail_bucket, &s3e, trail),
        (&built.tls_bucket, &s3w, tls),
    ] {
        client
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy.to_string())
            .send()
            .await
            .unwrap();
    }
    // Logging needs the target bucket to let the logging service write.
    s3e.put_bucket_logging()
        .bucket(&built.kms_bucket)
        .bucket_logging_status(
            BucketLoggingStatus::builder()
                .logging_enabled(
                    LoggingEnabled::builder()
                        .target_bucket(&built.logs_bucket)
                        .target_prefix("kms/")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3w.put_bucket_lifecycle_configuration()
        .bucket(&built.tls_bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    LifecycleRule::builder()
                        .id("retention-1y")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("").build())
                        .expiration(LifecycleExpiration::builder().days(365).build())
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    tag(&s3w, &built.tls_bucket, "data-class", "personal").await;
    let control = aws_sdk_s3control::Client::from_conf(
        aws_sdk_s3control::config::Builder::from(&m.sdk("us-east-1"))
            .endpoint_resolver(Fixed(m.url.clone()))
            .build(),
    );
    control
        .put_public_access_block()
        .account_id(&m.account)
        .public_access_block_configuration(
            aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    built
}

async fn build_iam(m: &Moto) {
    let iam = aws_sdk_iam::Client::new(&m.sdk("us-east-1"));
    if let Err(e) = iam.get_policy().policy_arn(ADMIN).send().await {
        panic!(
            "this moto server has no AWS managed policies ({e:?}); start it with\n    {START_MOTO}"
        );
    }
    for user in ["alice", "bob", "carol", "dave"] {
        iam.create_user().user_name(user).send().await.unwrap();
    }
    for user in ["alice", "bob"] {
        iam.create_login_profile()
            .user_name(user)
            .password("correct-Horse-battery-9")
            .send()
            .await
            .unwrap();
    }
    let mfa = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("bob-phone")
        .send()
        .await
        .unwrap();
    iam.enable_mfa_device()
        .user_name("bob")
        .serial_number(mfa.virtual_mfa_device().unwrap().serial_number())
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    iam.create_access_key()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("ops-admin")
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{}:root", m.account)},
                "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("ops-admin")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    iam.create_group()
        .group_name("admins")
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("admins")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("dave")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    iam.update_account_password_policy()
        .minimum_password_length(14)
        .require_symbols(true)
        .require_numbers(true)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .max_password_age(90)
        .password_reuse_prevention(24)
        .send()
        .await
        .unwrap();
    iam.create_account_alias()
        .account_alias("vouch-test-account")
        .send()
        .await
        .unwrap();
}

/// What build_ec2 made that the evidence names.
struct Ec2Built {
    unencrypted_volume: String,
    snapshotted_volume: String,
    /// Launched with the defaults: its metadata service accepts IMDSv1.
    imdsv1_instance: String,
    /// us-east-1's default VPC, which has no flow log, and its default security group, left
    /// as AWS creates it.
    east_vpc: String,
    east_default_group: String,
}

/// The default VPC of a region and its default security group.
async fn default_vpc(ec2: &aws_sdk_ec2::Client) -> (String, aws_sdk_ec2::types::SecurityGroup) {
    use aws_sdk_ec2::types::Filter;
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .unwrap();
    let vpc = vpcs.vpcs()[0].vpc_id().unwrap().to_string();
    let groups = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(&vpc).build())
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap();
    (vpc, groups.security_groups()[0].clone())
}

/// Volumes and a snapshot, instances with and without IMDSv2, security groups, a flow log to
/// `flow_log_bucket`, and EBS defaults.
async fn build_ec2(m: &Moto, flow_log_bucket: &str) -> Ec2Built {
    use aws_sdk_ec2::types::{
        BlockDeviceMapping, EbsBlockDevice, FlowLogsResourceType, HttpTokensState,
        InstanceMetadataOptionsRequest, IpPermission, IpRange, Ipv6Range, LogDestinationType,
        TrafficType,
    };
    let east = aws_sdk_ec2::Client::new(&m.sdk("us-east-1"));
    let west = aws_sdk_ec2::Client::new(&m.sdk("eu-west-1"));
    west.enable_ebs_encryption_by_default()
        .send()
        .await
        .unwrap();
    let plain = east
        .create_volume()
        .availability_zone("us-east-1a")
        .size(8)
        .send()
        .await
        .unwrap();
    let encrypted = west
        .create_volume()
        .availability_zone("eu-west-1a")
        .size(8)
        .encrypted(true)
        .send()
        .await
        .unwrap();
    west.create_snapshot()
        .volume_id(encrypted.volume_id().unwrap())
        .description("nightly")
        .send()
        .await
        .unwrap();
    // Two instances with encrypted root volumes: one launched with the defaults, one
    // requiring IMDSv2.
    let mut instances = Vec::new();
    for tokens in [None, Some(HttpTokensState::Required)] {
        let launched = west
            .run_instances()
            .image_id("ami-0f9a7b6c5d4e3f210")
            .min_count(1)
            .max_count(1)
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(
                        EbsBlockDevice::builder()
                            .volume_size(8)
                            .encrypted(true)
                            .build(),
                    )
                    .build(),
            )
            .set_metadata_options(tokens.map(|t| {
                InstanceMetadataOptionsRequest::builder()
                    .http_tokens(t)
                    .build()
            }))
            .send()
            .await
            .unwrap();
        instances.push(launched.instances()[0].instance_id().unwrap().to_string());
    }
    // eu-west-1's default VPC logs its traffic and its default group allows nothing.
    let (west_vpc, west_default) = default_vpc(&west).await;
    west.create_flow_logs()
        .resource_type(FlowLogsResourceType::Vpc)
        .resource_ids(&west_vpc)
        .traffic_type(TrafficType::All)
        .log_destination_type(LogDestinationType::S3)
        .log_destination(format!("arn:aws:s3:::{flow_log_bucket}"))
        .send()
        .await
        .unwrap();
    west.revoke_security_group_egress()
        .group_id(west_default.group_id().unwrap())
        .set_ip_permissions(Some(west_default.ip_permissions_egress().to_vec()))
        .send()
        .await
        .unwrap();
    let (east_vpc, east_default) = default_vpc(&east).await;
    let rule = |protocol: &str, from: i32, to: i32, v4: Option<&str>, v6: Option<&str>| {
        IpPermission::builder()
            .ip_protocol(protocol)
            .from_port(from)
            .to_port(to)
            .set_ip_ranges(v4.map(|c| vec![IpRange::builder().cidr_ip(c).build()]))
            .set_ipv6_ranges(v6.map(|c| vec![Ipv6Range::builder().cidr_ipv6(c).build()]))
            .build()
    };
    for (client, name, rules) in [
        (
            &east,
            "open-ssh",
            vec![rule("tcp", 22, 22, Some("0.0.0.0/0"), None)],
        ),
        (
            &east,
            "closed-web",
            vec![
                rule("tcp", 443, 443, Some("0.0.0.0/0"), Some("::/0")),
                rule("tcp", 22, 22, Some("10.0.0.0/8"), None),
            ],
        ),
        (
            &west,
            "open-all-v6",
            vec![rule("-1", -1, -1, None, Some("::/0"))],
        ),
        (
            &west,
            "rdp-range",
            vec![rule("tcp", 3000, 4000, Some("0.0.0.0/0"), None)],
        ),
    ] {
        let group = client
            .create_security_group()
            .group_name(name)
            .description(name)
            .send()
            .await
            .unwrap();
        client
            .authorize_security_group_ingress()
            .group_id(group.group_id().unwrap())
            .set_ip_permissions(Some(rules))
            .send()
            .await
            .unwrap();
    }
    Ec2Built {
        unencrypted_volume: plain.volume_id().unwrap().to_string(),
        snapshotted_volume: encrypted.volume_id().unwrap().to_string(),
        imdsv1_instance: instances[0].clone(),
        east_vpc,
        east_default_group: east_default.group_id().unwrap().to_string(),
    }
}

/// Keys with and without rotation and an asymmetric one: (rotating ARN, rotating, unrotated,
/// asymmetric) ids.
async fn build_kms(m: &Moto) -> (String, String, String, String) {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let kms = aws_sdk_kms::Client::new(&m.sdk("us-east-1"));
    let rotating = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    kms.enable_key_rotation()
        .key_id(rotating.key_id())
        .send()
        .await
        .unwrap();
    let unrotated = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let asymmetric = kms
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    (
        rotating.arn().unwrap().to_string(),
        rotating.key_id().to_string(),
        unrotated.key_id().to_string(),
        asymmetric.key_id().to_string(),
    )
}

/// The CloudWatch Logs group the multi-region trail sends its events to.
const TRAIL_LOG_GROUP: &str = "aws-cloudtrail-logs-vouch";

async fn build_cloudtrail(m: &Moto, bucket: &str) {
    let east = aws_sdk_cloudtrail::Client::new(&m.sdk("us-east-1"));
    let west = aws_sdk_cloudtrail::Client::new(&m.sdk("eu-west-1"));
    let logs = aws_sdk_cloudwatchlogs::Client::new(&m.sdk("us-east-1"));
    logs.create_log_group()
        .log_group_name(TRAIL_LOG_GROUP)
        .send()
        .await
        .unwrap();
    east.create_trail()
        .name("all-regions")
        .s3_bucket_name(bucket)
        .is_multi_region_trail(true)
        .enable_log_file_validation(true)
        .cloud_watch_logs_log_group_arn(format!(
            "arn:aws:logs:us-east-1:{}:log-group:{TRAIL_LOG_GROUP}:*",
            m.account
        ))
        .cloud_watch_logs_role_arn(format!(
            "arn:aws:iam::{}:role/cloudtrail-to-cloudwatch",
            m.account
        ))
        .send()
        .await
        .unwrap();
    east.start_logging()
        .name("all-regions")
        .send()
        .await
        .unwrap();
    west.create_trail()
        .name("regional-eu")
        .s3_bucket_name(bucket)
        .send()
        .await
        .unwrap();
}

/// CIS metric filters for root use and IAM policy changes (none for console sign-in
/// failures), a GuardDuty detector in us-east-1 only, Security Hub, and an EKS cluster
/// with its endpoint public to everyone, no control-plane logging and no Secrets encryption.
async fn build_monitoring(m: &Moto) {
    use aws_sdk_cloudwatchlogs::types::MetricTransformation;
    use aws_sdk_eks::types::VpcConfigRequest;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&m.sdk("us-east-1"));
    for (name, pattern, metric) in [
        (
            "root-usage",
            r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
            "RootUsage",
        ),
        (
            "iam-policy-changes",
            "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}",
            "IAMPolicyChanges",
        ),
        // Console logins, not their failures: no family.
        (
            "console-logins",
            "{ $.eventName = ConsoleLogin }",
            "ConsoleLogins",
        ),
    ] {
        logs.put_metric_filter()
            .log_group_name(TRAIL_LOG_GROUP)
            .filter_name(name)
            .filter_pattern(pattern)
            .metric_transformations(
                MetricTransformation::builder()
                    .metric_namespace("CISBenchmark")
                    .metric_name(metric)
                    .metric_value("1")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    aws_sdk_guardduty::Client::new(&m.sdk("us-east-1"))
        .create_detector()
        .enable(true)
        .send()
        .await
        .unwrap();
    // In both regions: moto answers DescribeHub for an account not subscribed with an XML
    // error the SDK cannot read (AWS answers JSON InvalidAccessException, which the collector
    // reads as false: see aws::monitoring's tests).
    for region in ["us-east-1", "eu-west-1"] {
        aws_sdk_securityhub::Client::new(&m.sdk(region))
            .enable_security_hub()
            .send()
            .await
            .unwrap();
    }
    aws_sdk_eks::Client::new(&m.sdk("us-east-1"))
        .create_cluster()
        .name("moto-dev")
        .role_arn(format!("arn:aws:iam::{}:role/eks-cluster", m.account))
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .subnet_ids("subnet-0a1b2c3d")
                .endpoint_public_access(true)
                .endpoint_private_access(false)
                .public_access_cidrs("0.0.0.0/0")
                .build(),
        )
        .send()
        .await
        .unwrap();
}

async fn build_rds(m: &Moto) {
    use aws_sdk_rds::types::Tag;
    for (region, id, encrypted, backup_days, public, protected) in [
        ("us-east-1", "orders-db", true, 7, false, true),
        ("us-east-1", "public-db", true, 1, true, false),
        ("eu-west-1", "legacy-db", false, 0, false, false),
    ] {
        aws_sdk_rds::Client::new(&m.sdk(region))
            .create_db_instance()
            .db_instance_identifier(id)
            .db_instance_class("db.t3.micro")
            .engine("postgres")
            .master_username("vouch")
            .master_user_password("correct-horse-battery")
            .allocated_storage(20)
            .storage_encrypted(encrypted)
            .backup_retention_period(backup_days)
            .publicly_accessible(public)
            .deletion_protection(protected)
            .tags(Tag::builder().key("data-class").value("personal").build())
            .send()
            .await
            .unwrap();
    }
}

/// A daily AWS Backup plan in eu-west-1; its id.
async fn build_backup(m: &Moto) -> String {
    use aws_sdk_backup::types::{BackupPlanInput, BackupRuleInput, Lifecycle};
    let backup = aws_sdk_backup::Client::new(&m.sdk("eu-west-1"));
    backup
        .create_backup_vault()
        .backup_vault_name("vouch-vault")
        .send()
        .await
        .unwrap();
    backup
        .create_backup_plan()
        .backup_plan(
            BackupPlanInput::builder()
                .backup_plan_name("daily-35d")
                .rules(
                    BackupRuleInput::builder()
                        .rule_name("daily")
                        .target_backup_vault_name("vouch-vault")
                        .schedule_expression("cron(0 5 ? * * *)")
                        .lifecycle(Lifecycle::builder().delete_after_days(35).build())
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .backup_plan_id()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moto_account_is_collected_item_by_item() {
    let m = Moto::fresh().await;
    let (key_arn, rotating, unrotated, asymmetric) = build_kms(&m).await;
    let mut built = build_s3(&m, &key_arn).await;
    built.rotating_key = rotating;
    built.unrotated_key = unrotated;
    built.asymmetric_key = asymmetric;
    build_iam(&m).await;
    let ec2 = build_ec2(&m, &built.trail_bucket).await;
    built.unencrypted_volume = ec2.unencrypted_volume.clone();
    build_cloudtrail(&m, &built.trail_bucket).await;
    build_rds(&m).await;
    build_monitoring(&m).await;
    let backup_plan = build_backup(&m).await;

    let source = m.source(&["us-east-1", "eu-west-1"]);
    let c = collect(&source).await;

    // The asset is the account the credentials reach, named by its alias.
    assert_eq!(c.asset.kind, AssetKind::AwsAccount);
    assert_eq!(c.asset.id, m.account);
    assert_eq!(c.asset.name, "vouch-test-account");
    for run in &c.collectors {
        assert_eq!(run.outcome, RunOutcome::Ok, "{}", run.name);
    }
    check_declarations(&c);

    // Account.
    assert_eq!(ok(&c, "aws.account.id"), json!(m.account));
    assert_eq!(ok(&c, "aws.account.aliases"), json!(["vouch-test-account"]));
    assert_eq!(
        ok(&c, "aws.account.regions"),
        json!(["us-east-1", "eu-west-1"])
    );

    // S3, bucket by bucket.
    let buckets = ok(&c, "aws.s3.buckets");
    let bucket = |name: &str| -> Value {
        buckets
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .unwrap_or_else(|| panic!("bucket {name} not listed in {buckets}"))
            .clone()
    };
    assert_eq!(
        buckets
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["name"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>(),
        built.buckets()
    );
    let kms = bucket(&built.kms_bucket);
    assert_eq!(kms["region"], "us-east-1");
    assert_eq!(
        kms["encryption"],
        json!({"algorithm": "aws:kms", "kms_key_id": key_arn, "bucket_key_enabled": true})
    );
    assert_eq!(
        kms["public_access_block"],
        json!({"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": true, "restrict_public_buckets": true})
    );
    assert_eq!(kms["versioning"], "Enabled", "{kms}");
    assert_eq!(kms["mfa_delete"], false);
    assert_eq!(kms["object_lock"], false);
    assert_eq!(
        kms["logging"],
        json!({"target_bucket": built.logs_bucket, "target_prefix": "kms/"})
    );
    assert_eq!(kms["policy"], Value::Null);
    assert_eq!(kms["tags"], json!({"owner": "security"}));
    assert_eq!(kms["lifecycle"], json!([]));
    assert_eq!(kms["unavailable"], json!({}));

    let plain = bucket(&built.plain_bucket);
    assert_eq!(plain["encryption"], Value::Null);
    assert_eq!(plain["versioning"], "Disabled");
    assert_eq!(plain["logging"], Value::Null);
    assert_eq!(plain["tags"], json!({}));
    assert_eq!(
        plain["public_access_block"],
        json!({"block_public_acls": false, "ignore_public_acls": false, "block_public_policy": false, "restrict_public_buckets": false})
    );

    assert_eq!(
        bucket(&built.public_bucket)["policy"],
        json!({"public": true, "tls_only": false})
    );
    assert_eq!(
        bucket(&built.trail_bucket)["policy"],
        json!({"public": false, "tls_only": false})
    );
    assert_eq!(
        bucket(&built.logs_bucket)["encryption"]["algorithm"],
        "AES256"
    );
    let locked = bucket(&built.locked_bucket);
    assert_eq!(locked["object_lock"], true);
    assert_eq!(locked["encryption"]["algorithm"], "aws:kms:dsse");

    let tls = bucket(&built.tls_bucket);
    assert_eq!(tls["region"], "eu-west-1");
    assert_eq!(tls["policy"], json!({"public": false, "tls_only": true}));
    assert_eq!(tls["tags"], json!({"data-class": "personal"}));
    assert_eq!(
        tls["lifecycle"],
        json!([{"id": "retention-1y", "enabled": true, "whole_bucket": true, "prefix": "",
                "expiration_days": 365, "expiration_date": null, "noncurrent_expiration_days": null}])
    );

    assert_eq!(
        ok(&c, "aws.s3.account_public_access_block"),
        json!({"block_public_acls": true, "ignore_public_acls": false, "block_public_policy": true, "restrict_public_buckets": false})
    );
    let list = |id: &str| set(&ok(&c, id));
    assert_eq!(
        list("aws.s3.unencrypted_buckets"),
        names(&[&built.plain_bucket, &built.public_bucket])
    );
    assert_eq!(
        list("aws.s3.public_policy_buckets"),
        names(&[&built.public_bucket])
    );
    assert_eq!(
        list("aws.s3.buckets_without_public_access_block"),
        built.except(&[&built.kms_bucket])
    );
    assert_eq!(
        list("aws.s3.unversioned_buckets"),
        built.except(&[&built.kms_bucket, &built.locked_bucket])
    );
    assert_eq!(
        list("aws.s3.buckets_without_logging"),
        built.except(&[&built.kms_bucket])
    );
    assert_eq!(
        list("aws.s3.buckets_without_tls_only_policy"),
        built.except(&[&built.tls_bucket])
    );
    assert_eq!(
        list("aws.s3.buckets_without_expiration"),
        built.except(&[&built.tls_bucket])
    );

    // IAM. moto's credential report has no <root_account> row: the root facts say so rather
    // than guess.
    for id in [
        "aws.iam.root_mfa_enabled",
        "aws.iam.root_access_keys_present",
    ] {
        let item = &c.evidence[id];
        assert_eq!(item.status, ItemStatus::Unavailable, "{id}");
        assert_eq!(
            item.reason.as_deref(),
            Some("the credential report has no <root_account> row")
        );
    }
    assert!(
        ok(&c, "aws.iam.credential_report_generated_at")
            .as_str()
            .unwrap()
            .parse::<vouch_evidence::Timestamp>()
            .is_ok()
    );
    let users = ok(&c, "aws.iam.users");
    let user = |name: &str| -> Value {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap()
            .clone()
    };
    // The four made here and the collector's own user, whose key is in use.
    assert_eq!(users.as_array().unwrap().len(), 5, "{users}");
    assert_eq!(user("vouch-collector")["access_keys"][0]["active"], true);
    assert!(user("vouch-collector")["access_keys"][0]["last_used"].is_string());
    assert_eq!(user("alice")["console_access"], true);
    assert_eq!(user("alice")["mfa_active"], false);
    assert_eq!(user("bob")["mfa_active"], true);
    assert_eq!(user("carol")["console_access"], false);
    let carol_keys = user("carol")["access_keys"].clone();
    assert_eq!(carol_keys[0]["active"], true);
    assert!(carol_keys[0]["last_rotated"].is_string());
    assert_eq!(carol_keys[1]["active"], false);
    assert_eq!(list("aws.iam.console_users_without_mfa"), names(&["alice"]));
    // moto cannot backdate keys or sign-ins: today's key is neither old nor unused (the ages
    // are checked on a recorded report in the unit tests).
    assert_eq!(list("aws.iam.users_with_old_access_keys"), names(&[]));
    assert_eq!(list("aws.iam.users_with_unused_credentials"), names(&[]));
    assert_eq!(
        ok(&c, "aws.iam.password_policy"),
        json!({"present": true, "minimum_length": 14, "require_symbols": true,
               "require_numbers": true, "require_uppercase": true, "require_lowercase": true,
               "allow_users_to_change": false, "max_age_days": 90, "reuse_prevention": 24,
               "hard_expiry": false})
    );
    assert_eq!(
        ok(&c, "aws.iam.admin_principals"),
        json!(["group/admins", "role/ops-admin", "user/dave"])
    );

    // EC2, per region.
    assert_eq!(
        ok(&c, "aws.ec2.ebs_encryption_by_default"),
        json!({"eu-west-1": true, "us-east-1": false})
    );
    assert_eq!(
        ok(&c, "aws.ec2.regions_without_ebs_encryption_by_default"),
        json!(["us-east-1"])
    );
    assert_eq!(
        ok(&c, "aws.ec2.unencrypted_volumes"),
        json!([format!("us-east-1/{}", built.unencrypted_volume)])
    );
    let open = ok(&c, "aws.ec2.open_admin_security_groups");
    let open: Vec<(String, String, Value)> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["region"].as_str().unwrap().into(),
                g["group_name"].as_str().unwrap().into(),
                g["rules"].clone(),
            )
        })
        .collect();
    assert_eq!(open.len(), 3, "{open:?}");
    assert!(open.contains(&(
        "us-east-1".into(),
        "open-ssh".into(),
        json!([{"protocol": "tcp", "from_port": 22, "to_port": 22, "source": "0.0.0.0/0"}])
    )));
    assert!(open.iter().any(|(r, n, rules)| r == "eu-west-1"
        && n == "open-all-v6"
        && rules[0]["protocol"] == "-1"
        && rules[0]["source"] == "::/0"));
    assert!(open.iter().any(|(r, n, rules)| r == "eu-west-1"
        && n == "rdp-range"
        && rules[0]["from_port"] == 3000));
    // The default groups as AWS (and moto) create them allow all outbound traffic; the test
    // emptied eu-west-1's.
    assert_eq!(
        ok(&c, "aws.ec2.default_security_groups_open"),
        json!([format!(
            "us-east-1/{} ({})",
            ec2.east_default_group, ec2.east_vpc
        )])
    );
    assert_eq!(
        ok(&c, "aws.ec2.instances_without_imdsv2"),
        json!([format!("eu-west-1/{}", ec2.imdsv1_instance)])
    );
    assert_eq!(
        ok(&c, "aws.ec2.vpcs_without_flow_logs"),
        json!([format!("us-east-1/{}", ec2.east_vpc)])
    );
    // Every volume, the instances' root volumes included; only one has a snapshot, taken
    // moments before collection.
    let volumes = ok(&c, "aws.ec2.volume_snapshots");
    let volumes = volumes.as_array().unwrap();
    assert_eq!(volumes.len(), 4, "{volumes:?}");
    let latest = |id: &str| -> Value {
        volumes
            .iter()
            .find(|v| v["volume_id"] == id)
            .unwrap_or_else(|| panic!("{id} not in {volumes:?}"))["latest_snapshot"]
            .clone()
    };
    assert_eq!(latest(&ec2.unencrypted_volume), Value::Null);
    let taken: vouch_evidence::Timestamp = latest(&ec2.snapshotted_volume)
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(taken <= c.collected_at, "{taken} after {}", c.collected_at);
    assert_eq!(
        volumes
            .iter()
            .filter(|v| v["latest_snapshot"].is_null())
            .count(),
        3
    );

    // KMS.
    let keys = ok(&c, "aws.kms.customer_keys");
    let rotation = |id: &str| -> Value {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["key_id"] == id)
            .unwrap()["rotation"]
            .clone()
    };
    // moto makes a customer key of its own for the encrypted volume in eu-west-1 (AWS would
    // use its managed aws/ebs key): only ours are counted in us-east-1.
    let in_east = |v: &Value| -> usize {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["region"] == "us-east-1")
            .count()
    };
    assert_eq!(in_east(&keys), 3, "{keys}");
    assert_eq!(rotation(&built.rotating_key), "enabled");
    assert_eq!(rotation(&built.unrotated_key), "disabled");
    assert_eq!(rotation(&built.asymmetric_key), "not_supported");
    let unrotated = set(&ok(&c, "aws.kms.keys_without_rotation"));
    let unrotated_east: BTreeSet<String> = unrotated
        .into_iter()
        .filter(|k| k.starts_with("us-east-1/"))
        .collect();
    assert_eq!(
        unrotated_east,
        names(&[&format!("us-east-1/{}", built.unrotated_key)])
    );

    // CloudTrail: the multi-region trail once, though both regions show it.
    let trails = ok(&c, "aws.cloudtrail.trails");
    assert_eq!(trails.as_array().unwrap().len(), 2, "{trails}");
    let trail = |name: &str| -> Value {
        trails
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(trail("all-regions")["multi_region"], true);
    assert_eq!(trail("all-regions")["logging"], true);
    assert_eq!(trail("all-regions")["log_file_validation"], true);
    assert_eq!(trail("all-regions")["home_region"], "us-east-1");
    assert_eq!(trail("regional-eu")["multi_region"], false);
    assert_eq!(trail("regional-eu")["logging"], false);
    assert_eq!(ok(&c, "aws.cloudtrail.multi_region_logging"), json!(true));
    assert_eq!(
        ok(&c, "aws.cloudtrail.multi_region_log_validation"),
        json!(true)
    );

    // RDS.
    let dbs = ok(&c, "aws.rds.instances");
    assert_eq!(dbs.as_array().unwrap().len(), 3);
    let orders = dbs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "orders-db")
        .unwrap();
    assert_eq!(orders["region"], "us-east-1");
    assert_eq!(orders["storage_encrypted"], true);
    assert_eq!(orders["backup_retention_days"], 7);
    assert_eq!(orders["publicly_accessible"], false);
    assert_eq!(orders["tags"], json!({"data-class": "personal"}));
    assert_eq!(
        ok(&c, "aws.rds.unencrypted_instances"),
        json!(["eu-west-1/legacy-db"])
    );
    assert_eq!(
        ok(&c, "aws.rds.public_instances"),
        json!(["us-east-1/public-db"])
    );
    assert_eq!(
        ok(&c, "aws.rds.instances_without_backups"),
        json!(["eu-west-1/legacy-db"])
    );
    assert_eq!(
        ok(&c, "aws.rds.instances_without_deletion_protection"),
        json!(["us-east-1/public-db", "eu-west-1/legacy-db"])
    );

    // AWS Backup: the plan is listed; moto does not implement backup:ListProtectedResources,
    // so which resources it covers is unavailable, with the reason, never empty (the covering
    // itself is tested against recorded answers: aws_backup_coverage_from_recorded_answers).
    assert_eq!(
        ok(&c, "aws.backup.plans"),
        json!([{"region": "eu-west-1", "name": "daily-35d", "id": backup_plan, "last_execution": null}])
    );
    let resources = &c.evidence["aws.backup.resources"];
    assert_eq!(resources.status, ItemStatus::Unavailable);
    assert!(
        resources
            .reason
            .as_deref()
            .unwrap()
            .contains("backup:ListProtectedResources"),
        "{:?}",
        resources.reason
    );
    assert_eq!(orders["deletion_protection"], true);

    // Monitoring: the trail's log group and the filters recognised by their patterns. moto
    // cannot answer cloudwatch:DescribeAlarms (the SDK speaks Smithy RPC v2 CBOR to CloudWatch,
    // which moto does not implement): the alarms are unavailable with the reason, never an
    // empty list that would read as "no alarm"; the matching of alarms is unit-tested.
    assert_eq!(
        ok(&c, "aws.monitoring.trail_log_groups"),
        json!([format!("us-east-1/{TRAIL_LOG_GROUP}")])
    );
    assert_eq!(
        ok(&c, "aws.monitoring.event_metric_filters"),
        json!({
            "console_signin_failures": [],
            "iam_policy_changes": [format!("us-east-1/{TRAIL_LOG_GROUP}/iam-policy-changes → CISBenchmark/IAMPolicyChanges")],
            "root_usage": [format!("us-east-1/{TRAIL_LOG_GROUP}/root-usage → CISBenchmark/RootUsage")],
        })
    );
    let alarms = &c.evidence["aws.monitoring.event_alarms"];
    assert_eq!(alarms.status, ItemStatus::Unavailable);
    assert!(
        alarms
            .reason
            .as_deref()
            .unwrap()
            .starts_with("us-east-1: cloudwatch:DescribeAlarms: "),
        "{:?}",
        alarms.reason
    );
    assert_eq!(
        ok(&c, "aws.guardduty.detectors"),
        json!({"eu-west-1": "none", "us-east-1": "enabled"})
    );
    assert_eq!(
        ok(&c, "aws.securityhub.enabled"),
        json!({"eu-west-1": true, "us-east-1": true})
    );
    assert_eq!(
        ok(&c, "aws.eks.clusters"),
        json!([{"region": "us-east-1", "name": "moto-dev", "version": "1.19", "logging": [],
                "endpoint_public": true, "endpoint_private": false,
                "public_access_cidrs": ["0.0.0.0/0"], "secrets_encrypted": false}])
    );

    // Least privilege: every call made is declared (and so in the shipped policy), and every
    // declared call but the region listing (regions were configured) was made.
    let declared: BTreeSet<String> = API_CALLS
        .iter()
        .flat_map(|a| a.iter().map(|c| c.api.to_string()))
        .collect();
    let called = source.operations_called();
    let undeclared: Vec<_> = called.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "called but not declared: {undeclared:?}"
    );
    let uncalled: Vec<_> = declared.difference(&called).collect();
    assert_eq!(uncalled, [&"ec2:DescribeRegions".to_string()]);
    assert!(source.requests_made() >= called.len() as u64);
}

/// Without configured regions, every region enabled for the account is collected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_enabled_regions_by_default() {
    let m = Moto::fresh().await;
    let west = aws_sdk_ec2::Client::new(&m.sdk("ap-southeast-2"));
    let volume = west
        .create_volume()
        .availability_zone("ap-southeast-2a")
        .size(1)
        .send()
        .await
        .unwrap();
    let source = m.source(&[]);
    let c = collect(&source).await;
    let regions = set(&ok(&c, "aws.account.regions"));
    assert!(
        regions.len() > 10 && regions.contains("ap-southeast-2"),
        "{regions:?}"
    );
    assert!(source.operations_called().contains("ec2:DescribeRegions"));
    let volumes = set(&ok(&c, "aws.ec2.unencrypted_volumes"));
    assert_eq!(
        volumes,
        names(&[&format!("ap-southeast-2/{}", volume.volume_id().unwrap())])
    );
    assert_eq!(
        ok(&c, "aws.ec2.ebs_encryption_by_default")
            .as_object()
            .unwrap()
            .len(),
        regions.len()
    );
    // No alias: the asset is named by its id.
    assert_eq!(c.asset.name, m.account);
    assert_eq!(ok(&c, "aws.account.aliases"), json!([]));
}

/// Nothing answers: the asset cannot be named, and every fact is unavailable with the error
/// the SDK gave up with, none made up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_makes_every_fact_unavailable_with_the_reason() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let unreachable = Moto {
        url: format!("http://127.0.0.1:{closed}"),
        account: String::new(),
        credentials: aws_sdk_sts::config::Credentials::new("AKIAUNUSED", "x", None, None, "test"),
    };
    let source = unreachable.source(&["us-east-1"]);
    let c = collect(&source).await;
    assert_eq!(c.asset.id, UNRESOLVED_ACCOUNT);
    check_declarations(&c);
    for run in &c.collectors {
        assert_eq!(run.outcome, RunOutcome::Ok, "{}", run.name);
    }
    // The configured regions are the one fact that needs no call.
    assert_eq!(ok(&c, "aws.account.regions"), json!(["us-east-1"]));
    for (id, item) in c
        .evidence
        .iter()
        .filter(|(id, _)| *id != "aws.account.regions")
    {
        assert_eq!(item.status, ItemStatus::Unavailable, "{id}");
        assert_eq!(item.value, Value::Null, "{id}");
        let reason = item.reason.as_deref().unwrap();
        assert!(
            reason.contains("sts:GetCallerIdentity")
                || reason.contains("s3:ListBuckets")
                || reason.contains("iam:")
                || reason.contains("ec2:")
                || reason.contains("kms:")
                || reason.contains("cloudtrail:")
                || reason.contains("rds:")
                || reason.contains("logs:")
                || reason.contains("cloudwatch:")
                || reason.contains("guardduty:")
                || reason.contains("securityhub:")
                || reason.contains("eks:")
                || reason.contains("backup:"),
            "{id}: {reason}"
        );
    }
    assert!(
        c.evidence["aws.account.id"]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("sts:GetCallerIdentity: ")
    );
}

/// AWS Backup's coverage, from recorded answers: moto lists plans but not the resources AWS
/// Backup protects, so the AWS Backup calls alone go to a local HTTPS server replaying
/// `tests/fixtures/aws_backup/` (`service_endpoints`, its CA trusted by `ca_cert`), while EC2
/// and RDS are moto's, where the test makes a volume AWS Backup protects, one it does not and a
/// DB instance whose newest recovery point is three weeks old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_backup_coverage_from_recorded_answers() {
    use vouch_collectors::testing::ReplayServer;
    let m = Moto::fresh().await;
    let ec2 = aws_sdk_ec2::Client::new(&m.sdk("eu-west-1"));
    let mut volumes = Vec::new();
    for _ in 0..2 {
        volumes.push(
            ec2.create_volume()
                .availability_zone("eu-west-1a")
                .size(8)
                .send()
                .await
                .unwrap()
                .volume_id()
                .unwrap()
                .to_string(),
        );
    }
    aws_sdk_rds::Client::new(&m.sdk("eu-west-1"))
        .create_db_instance()
        .db_instance_identifier("orders-db")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .master_username("vouch")
        .master_user_password("correct-horse-battery")
        .allocated_storage(20)
        .send()
        .await
        .unwrap();

    // The recorded answers, with the account and the protected volume filled in.
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/aws_backup");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("{account}", &m.account)
                .replace("{volume_backed_up}", &volumes[0]);
            std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
        }
    }
    let replay = ReplayServer::start(dir.path().to_path_buf()).await.unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, replay.ca_pem()).unwrap();
    let mut config = m.config(&["eu-west-1"]);
    config
        .service_endpoints
        .insert("backup".into(), replay.origin().to_string());
    config.ca_cert = Some(ca);
    assert_eq!(config.validate(), []);
    let source = AwsSource::with_credentials(config, m.credentials.clone());
    let c = collect(&source).await;
    check_declarations(&c);

    // Both pages of plans (after the throttled first ask), from the replay, not moto's.
    assert_eq!(
        ok(&c, "aws.backup.plans"),
        json!([
            {"region": "eu-west-1", "name": "daily-35d", "id": "8a3e5f2c-1b7d-4c9e-a0f6-3d2b1c4e5f6a", "last_execution": "2025-11-24T05:12:00.000000Z"},
            {"region": "eu-west-1", "name": "monthly-1y", "id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "last_execution": null}
        ])
    );
    // Every volume and DB instance moto holds, with the newest recovery point AWS Backup has of
    // it; the file system and the volume deleted since are not the account's volumes or
    // databases, and are left out.
    let mut resources = ok(&c, "aws.backup.resources").as_array().unwrap().clone();
    resources.sort_by_key(|r| r["id"].as_str().unwrap().to_string());
    let mut want = vec![
        json!({"region": "eu-west-1", "type": "ebs-volume", "id": volumes[0], "last_backup": "2025-11-24T05:14:09.000000Z"}),
        json!({"region": "eu-west-1", "type": "ebs-volume", "id": volumes[1], "last_backup": null}),
        json!({"region": "eu-west-1", "type": "rds-instance", "id": "orders-db", "last_backup": "2025-11-02T06:25:04.000000Z"}),
    ];
    want.sort_by_key(|r| r["id"].as_str().unwrap().to_string());
    assert_eq!(resources, want);
    // Every recorded answer was asked for, the throttled one again, and nothing else.
    assert!(replay.unmatched().is_empty(), "{:?}", replay.unmatched());
    assert!(replay.unused().is_empty(), "{:?}", replay.unused());
    let asked: Vec<(String, u16)> = replay
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(
        asked.iter().filter(|(p, _)| p == "/backup/plans").count(),
        3,
        "{asked:?}"
    );
    assert!(asked.iter().any(|(p, s)| p == "/backup/plans" && *s == 429));
    assert!(
        replay.requests().iter().all(|r| r
            .header("authorization")
            .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 "))),
        "every call is signed"
    );
}
