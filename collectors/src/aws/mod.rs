//! The AWS source: facts about one AWS account, asked of its APIs with read-only calls. The
//! account is the one the credentials reach (`sts:GetCallerIdentity`), not one the
//! configuration names. One file per area; each declares its evidence ids and the API calls it
//! makes, from which `packaging/aws/vouch-readonly-policy.json` is checked.

mod account;
mod backup;
mod client;
mod cloudtrail;
mod eks;
mod ec2;
mod iam;
mod kms;
mod monitoring;
mod rds;
mod s3;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use vouch_evidence::{Asset, AssetKind};

use crate::{CollectContext, Collector, EvidenceSpec, Source, remote, Registration, SourceConfig};

use client::Session;
pub use client::{ApiCall, api_error};

/// Every area's declarations, for documentation and checks.
pub const EVIDENCE_AREAS: &[&[EvidenceSpec]] = &[
    account::EVIDENCE,
    s3::EVIDENCE,
    iam::EVIDENCE,
    ec2::EVIDENCE,
    kms::EVIDENCE,
    cloudtrail::EVIDENCE,
    rds::EVIDENCE,
    monitoring::EVIDENCE,
    eks::EVIDENCE,
    backup::EVIDENCE,
];

/// Every API call the source makes, by area (the session's own calls first).
pub const API_CALLS: &[&[ApiCall]] = &[
    client::CALLS,
    s3::CALLS,
    iam::CALLS,
    ec2::CALLS,
    kms::CALLS,
    cloudtrail::CALLS,
    rds::CALLS,
    monitoring::CALLS,
    eks::CALLS,
    backup::CALLS,
];

/// The IAM actions the source needs: exactly those of [`API_CALLS`], sorted.
pub fn required_permissions() -> BTreeSet<&'static str> {
    API_CALLS
        .iter()
        .flat_map(|area| area.iter().map(|c| c.permission))
        .collect()
}

/// The services whose endpoint `service_endpoints` may set, by the name of their SDK crate
/// (`aws-sdk-<name>`).
pub const ENDPOINT_SERVICES: &[&str] = &[
    "backup",
    "cloudtrail",
    "cloudwatch",
    "cloudwatchlogs",
    "ec2",
    "eks",
    "guardduty",
    "iam",
    "kms",
    "rds",
    "securityhub",
    "sts",
];

/// `[collectors.aws]` in the agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    /// Collect AWS account evidence at all.
    pub enabled: bool,
    /// When to collect: a cron expression with seconds, e.g. `0 0 * * * *`.
    pub schedule: String,
    /// The profile of the shared AWS config and credentials files to use; absent: the standard
    /// chain (environment, `AWS_PROFILE` or `default`, web identity, container or instance role).
    pub profile: Option<String>,
    /// The region of global calls (STS, IAM, S3 bucket listing) and of listing regions;
    /// absent: the profile's or the environment's, else the instance's, else `us-east-1`.
    pub region: Option<String>,
    /// The regions whose regional resources (EC2, KMS, CloudTrail, RDS) are collected; empty:
    /// every region enabled for the account (`ec2:DescribeRegions`).
    pub regions: Vec<String>,
    /// Sends every call to this endpoint instead of AWS's (a local emulator, for tests).
    pub endpoint_url: Option<String>,
    /// Sends one service's calls to an endpoint of its own, over `endpoint_url` (a VPC
    /// interface endpoint, a FIPS endpoint, an emulator of that service): service (one of
    /// [`ENDPOINT_SERVICES`]: `backup`, `ec2`, `rds`, …) → `https://` or `http://` URL. S3's
    /// calls follow `endpoint_url`.
    pub service_endpoints: BTreeMap<String, String>,
    /// PEM file of CAs trusted besides the system's roots (a TLS-inspecting proxy's, a private
    /// endpoint's); absent: the system's roots only.
    pub ca_cert: Option<PathBuf>,
    /// Time budget of each area's collector, in seconds.
    pub timeout_secs: u64,
    /// The most API requests in flight at once, over all areas.
    pub max_concurrent_requests: usize,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            enabled: false,
            schedule: "0 0 * * * *".into(),
            profile: None,
            region: None,
            regions: Vec::new(),
            endpoint_url: None,
            service_endpoints: BTreeMap::new(),
            ca_cert: None,
            timeout_secs: 300,
            max_concurrent_requests: 8,
        }
    }
}

impl SourceConfig for AwsConfig {
    const REGISTRATION: Registration = Registration {
        name: "aws",
        kind: AssetKind::AwsAccount,
        intro: "Facts about one AWS account, asked of its APIs with read-only calls (exactly those `packaging/aws/vouch-readonly-policy.json` allows). The account is the one the credentials reach (`sts:GetCallerIdentity`), not one the configuration names.",
        evidence: EVIDENCE_AREAS,
    };

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        self.validate()
    }

    fn source(&self) -> Box<dyn Source> {
        Box::new(AwsSource::new(self.clone()))
    }
}

/// Whether `r` looks like a region name: lower-case words joined by `-`, ending in a number
/// (`eu-west-1`, `us-gov-west-1`, `ap-southeast-5`).
fn is_region_name(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

impl AwsConfig {
    /// Every problem, as (key below `collectors.aws`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        remote::check_schedule_and_budget(
            &mut errors,
            &self.schedule,
            "0 0 * * * *",
            self.timeout_secs,
        );
        remote::check_range(
            &mut errors,
            "max_concurrent_requests",
            self.max_concurrent_requests,
            1..=64,
        );
        if self.profile.as_deref().is_some_and(|p| p.trim().is_empty()) {
            errors.push(("profile", "must not be empty when set".to_string()));
        }
        if let Some(r) = self.region.as_ref().filter(|r| !is_region_name(r)) {
            errors.push((
                "region",
                format!("{r:?} is not a region name (e.g. \"eu-west-1\")"),
            ));
        }
        let mut seen = BTreeSet::new();
        for r in &self.regions {
            if !is_region_name(r) {
                errors.push((
                    "regions",
                    format!("{r:?} is not a region name (e.g. \"eu-west-1\")"),
                ));
            } else if !seen.insert(r) {
                errors.push(("regions", format!("{r:?} is listed twice")));
            }
        }
        let is_url = |url: &str| {
            url.strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        };
        if let Some(url) = self.endpoint_url.as_ref().filter(|u| !is_url(u)) {
            errors.push((
                "endpoint_url",
                format!("{url:?} must be an http:// or https:// URL with a host"),
            ));
        }
        for (service, url) in &self.service_endpoints {
            if !ENDPOINT_SERVICES.contains(&service.as_str()) {
                errors.push((
                    "service_endpoints",
                    format!(
                        "{:?} is not a service whose endpoint can be set: {}",
                        vouch_evidence::limits::truncate_echo(service),
                        ENDPOINT_SERVICES.join(", ")
                    ),
                ));
            } else if !is_url(url) {
                errors.push((
                    "service_endpoints",
                    format!("{service}: {url:?} must be an http:// or https:// URL with a host"),
                ));
            }
        }
        if let Some(p) = self.ca_cert.as_ref().filter(|p| !p.is_absolute()) {
            errors.push(("ca_cert", format!("{} must be an absolute path", p.display())));
        }
        errors
    }
}

/// The AWS source.
#[derive(Clone, Debug)]
pub struct AwsSource {
    session: Arc<Session>,
}

impl AwsSource {
    /// An AWS source with `config`; nothing is asked of AWS until the first collection.
    pub fn new(config: AwsConfig) -> Self {
        AwsSource {
            session: Arc::new(Session::new(config, None)),
        }
    }

    /// An AWS source that signs with `credentials` instead of the standard chain's (for
    /// programs that obtain credentials themselves, and tests).
    pub fn with_credentials(
        config: AwsConfig,
        credentials: aws_sdk_sts::config::Credentials,
    ) -> Self {
        AwsSource {
            session: Arc::new(Session::new(config, Some(credentials))),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &AwsConfig {
        self.session.config()
    }

    /// HTTP requests sent to AWS so far (every attempt, retries and credential requests
    /// included).
    pub fn requests_made(&self) -> u64 {
        self.session.requests()
    }

    /// The API operations called so far, as `service:Operation` (`s3:GetBucketPolicy`).
    pub fn operations_called(&self) -> BTreeSet<String> {
        self.session.operations()
    }
}

/// The asset id when the credentials' account cannot be read: the snapshot then says why in
/// every item rather than naming an account it cannot prove.
pub const UNRESOLVED_ACCOUNT: &str = "unresolved";

#[async_trait::async_trait]
impl Source for AwsSource {
    fn name(&self) -> &'static str {
        <AwsConfig as SourceConfig>::REGISTRATION.name
    }

    async fn asset(&self, _ctx: &CollectContext) -> Asset {
        let state = self.session.refresh().await;
        let (id, name) = match &state.account {
            Ok(a) => (
                a.id.clone(),
                a.alias
                    .clone()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| a.id.clone()),
            ),
            Err(_) => (
                UNRESOLVED_ACCOUNT.to_string(),
                UNRESOLVED_ACCOUNT.to_string(),
            ),
        };
        Asset {
            kind: AssetKind::AwsAccount,
            id,
            name,
        }
    }

    fn collectors(&self) -> Vec<Arc<dyn Collector>> {
        let s = &self.session;
        vec![
            Arc::new(account::AccountArea(s.clone())),
            Arc::new(s3::S3Area(s.clone())),
            Arc::new(iam::IamArea(s.clone())),
            Arc::new(ec2::Ec2Area(s.clone())),
            Arc::new(kms::KmsArea(s.clone())),
            Arc::new(cloudtrail::CloudTrailArea(s.clone())),
            Arc::new(rds::RdsArea(s.clone())),
            Arc::new(monitoring::MonitoringArea(s.clone())),
            Arc::new(eks::EksArea(s.clone())),
            Arc::new(backup::BackupArea(s.clone())),
        ]
    }

    fn context(&self, shutdown: CancellationToken) -> CollectContext {
        remote::api_context(self.config().timeout_secs, shutdown)
    }

    fn schedule(&self) -> &str {
        &self.config().schedule
    }
}

/// Results per region: every region's value, or one reason naming each region that failed.
pub(crate) fn all_regions<T>(results: PerRegion<T>) -> Result<Vec<(String, T)>, String> {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (region, r) in results {
        match r {
            Ok(v) => ok.push((region, v)),
            Err(e) => failed.push(format!("{region}: {e}")),
        }
    }
    if failed.is_empty() {
        Ok(ok)
    } else {
        Err(failed.join("; "))
    }
}

/// Each region's answer beside its name.
pub(crate) type PerRegion<T> = Vec<(String, Result<T, String>)>;

/// One fact of a per-region answer: `get` of every region's answer, or one reason naming each
/// region that failed (whether its whole answer or that call).
pub(crate) fn regional_fact<R, T: Clone>(
    regions: &Result<PerRegion<R>, String>,
    get: impl Fn(&R) -> &Result<T, String>,
) -> Result<Vec<(String, T)>, String> {
    let regions = regions.as_ref().map_err(Clone::clone)?;
    all_regions(
        regions
            .iter()
            .map(|(name, r)| {
                let v = r
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|r| get(r).clone());
                (name.clone(), v)
            })
            .collect(),
    )
}

/// Runs `f` in every region of the run (concurrently, within the session's limit), each
/// region's result beside its name; `Err` when the regions themselves cannot be listed.
pub(crate) async fn per_region<T, F, Fut>(
    session: &Arc<Session>,
    f: F,
) -> Result<PerRegion<T>, String>
where
    F: Fn(aws_config::SdkConfig, String) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let state = session.state().await;
    let regions = state.regions.clone()?;
    let limit = session.config().max_concurrent_requests;
    let results = client::for_each(regions, limit, |region| {
        let f = &f;
        async move {
            let r = match session.regional(Some(&region)).await {
                Ok(sdk) => f(sdk, region.clone()).await,
                Err(e) => Err(e),
            };
            (region, r)
        }
    })
    .await;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_problems_are_all_reported() {
        let bad = AwsConfig {
            schedule: "hourly".into(),
            profile: Some(" ".into()),
            region: Some("moon".into()),
            regions: vec!["eu-west-1".into(), "EU_WEST".into(), "eu-west-1".into()],
            endpoint_url: Some("localhost:5000".into()),
            timeout_secs: 0,
            max_concurrent_requests: 0,
            ..AwsConfig::default()
        };
        let keys: Vec<&str> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "schedule",
                "timeout_secs",
                "max_concurrent_requests",
                "profile",
                "region",
                "regions",
                "regions",
                "endpoint_url",
            ]
        );
        assert!(AwsConfig::default().validate().is_empty());
        let good = AwsConfig {
            regions: vec!["us-gov-west-1".into(), "ap-southeast-5".into()],
            endpoint_url: Some("http://127.0.0.1:5000".into()),
            ..AwsConfig::default()
        };
        assert_eq!(good.validate(), vec![]);
    }

    #[test]
    fn region_names() {
        for good in ["eu-west-1", "us-gov-west-1", "cn-north-1", "il-central-1"] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in ["eu-west", "eu-west-", "EU-west-1", "euwest1", "eu--1", ""] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn failed_regions_are_all_named() {
        let r: Result<Vec<(String, u8)>, String> = all_regions(vec![
            ("a-b-1".into(), Ok(1)),
            ("c-d-2".into(), Err("x: Throttling".into())),
            ("e-f-3".into(), Err("y: AccessDenied".into())),
        ]);
        assert_eq!(
            r.unwrap_err(),
            "c-d-2: x: Throttling; e-f-3: y: AccessDenied"
        );
        assert_eq!(
            all_regions(vec![("a-b-1".to_string(), Ok::<_, String>(1))]).unwrap(),
            vec![("a-b-1".to_string(), 1)]
        );
    }

    /// Whether an IAM action only reads: Get/List/Describe, or generating the credential
    /// report (which IAM classes as a read).
    fn is_read_action(permission: &str) -> bool {
        let action = permission.split_once(':').map_or("", |(_, a)| a);
        ["Get", "List", "Describe"]
            .iter()
            .any(|p| action.starts_with(p))
            || permission == "iam:GenerateCredentialReport"
    }

    /// The shipped least-privilege policy allows exactly the actions the code declares, all
    /// of them reads, on nothing but Allow statements.
    #[test]
    fn the_shipped_policy_lists_exactly_the_declared_actions() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../packaging/aws/vouch-readonly-policy.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut in_file = BTreeSet::new();
        for st in doc["Statement"].as_array().unwrap() {
            assert_eq!(st["Effect"], "Allow");
            assert!(st["NotAction"].is_null() && st["NotResource"].is_null());
            for a in st["Action"].as_array().unwrap() {
                let a = a.as_str().unwrap();
                assert!(
                    !a.contains('*'),
                    "{a}: wildcards grant more than the collector calls"
                );
                assert!(is_read_action(a), "{a} is not a read action");
                in_file.insert(a);
            }
        }
        let declared = required_permissions();
        assert_eq!(
            in_file, declared,
            "packaging/aws/vouch-readonly-policy.json must list exactly the declared calls' actions"
        );
    }

    #[test]
    fn read_actions() {
        assert!(is_read_action("s3:GetBucketPolicy"));
        assert!(is_read_action("iam:GenerateCredentialReport"));
        assert!(!is_read_action("s3:PutBucketPolicy"));
        assert!(!is_read_action("iam:CreateUser"));
        assert!(!is_read_action("kms:EnableKeyRotation"));
    }

    #[test]
    fn calls_are_read_only_and_named_by_service() {
        for area in API_CALLS {
            for c in *area {
                let (service, op) = c.api.split_once(':').unwrap();
                assert!(
                    !service.is_empty() && op.starts_with(char::is_uppercase),
                    "{c:?}"
                );
                assert!(is_read_action(c.permission), "{c:?} is not a read action");
            }
        }
    }
}
