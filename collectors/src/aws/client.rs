//! The AWS session shared by the areas: one SDK configuration from the standard credential
//! chain, an HTTPS client on rustls + ring whose requests are counted and limited to a number in
//! flight, the account and regions of the current run, and the wording of API errors.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sts::config::{ConfigBag, Credentials};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::{OnceCell, Semaphore};

use super::AwsConfig;

/// A client of SDK crate `$krate` from SDK configuration `$sdk`, recording its operations in
/// `$session`, sent to the service's own endpoint when `service_endpoints` names one.
macro_rules! client {
    ($krate:ident, $session:expr, $sdk:expr) => {{
        let mut builder = $krate::config::Builder::from($sdk).interceptor($session.recorder());
        let service = stringify!($krate).trim_start_matches("aws_sdk_");
        if let Some(url) = $session.service_endpoint(service) {
            builder = builder.endpoint_url(url);
        }
        $krate::Client::from_conf(builder.build())
    }};
}
pub(crate) use client;

/// One API the collector calls: its name as an item source (`s3:GetBucketEncryption`) and the
/// IAM action that allows it (`s3:GetEncryptionConfiguration`), which is not always the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiCall {
    /// `service:Operation`, the service as in IAM action prefixes.
    pub api: &'static str,
    /// The IAM action the call needs.
    pub permission: &'static str,
}

/// The calls the session itself makes (who am I, the account alias, the enabled regions).
pub const CALLS: &[ApiCall] = &[
    ApiCall {
        api: "sts:GetCallerIdentity",
        permission: "sts:GetCallerIdentity",
    },
    ApiCall {
        api: "iam:ListAccountAliases",
        permission: "iam:ListAccountAliases",
    },
    ApiCall {
        api: "ec2:DescribeRegions",
        permission: "ec2:DescribeRegions",
    },
];

/// The account the credentials reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The 12-digit account id.
    pub id: String,
    /// The account alias, when one is set and readable.
    pub alias: Result<Option<String>, String>,
}

/// What one collection needs from the API before its areas run.
#[derive(Clone, Debug)]
pub struct RunState {
    /// The account, or why it could not be read.
    pub account: Result<Account, String>,
    /// The regions to collect, or why they could not be listed.
    pub regions: Result<Vec<String>, String>,
}

/// The shared session of one AWS source.
#[derive(Debug)]
pub struct Session {
    config: AwsConfig,
    credentials: Option<Credentials>,
    sdk: OnceCell<Result<SdkConfig, String>>,
    requests: Arc<AtomicU64>,
    limit: Arc<Semaphore>,
    operations: Arc<Mutex<BTreeSet<String>>>,
    run: tokio::sync::Mutex<Option<Arc<RunState>>>,
}

/// The region for global services and for listing regions when neither the profile, the
/// environment nor the instance says one.
const FALLBACK_REGION: &str = "us-east-1";

impl Session {
    /// A session for `config`; nothing is asked of AWS until a collection needs it.
    pub fn new(config: AwsConfig, credentials: Option<Credentials>) -> Self {
        let permits = config.max_concurrent_requests.max(1);
        Session {
            config,
            credentials,
            sdk: OnceCell::new(),
            requests: Arc::new(AtomicU64::new(0)),
            limit: Arc::new(Semaphore::new(permits)),
            operations: Arc::new(Mutex::new(BTreeSet::new())),
            run: tokio::sync::Mutex::new(None),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &AwsConfig {
        &self.config
    }

    /// HTTP requests sent so far (every attempt, retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Every API operation called so far, as `service:Operation`.
    pub fn operations(&self) -> BTreeSet<String> {
        self.operations
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// The SDK configuration: credentials and region from the standard chain (environment,
    /// profile, web identity, container and instance roles) unless given, the configured
    /// profile, region and endpoint, and the counting, limited rustls client.
    pub async fn sdk(&self) -> Result<&SdkConfig, String> {
        self.sdk
            .get_or_init(|| async {
                let mut trust = TrustStore::default();
                if let Some(path) = &self.config.ca_cert {
                    let pem = std::fs::read(path)
                        .map_err(|e| crate::describe_io(&path.display().to_string(), &e))?;
                    trust = trust.with_pem_certificate(pem);
                }
                let tls = TlsContext::builder()
                    .with_trust_store(trust)
                    .build()
                    .map_err(|e| format!("ca_cert: {e}"))?;
                let https = aws_smithy_http_client::Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .tls_context(tls)
                    .build_https();
                let client = SharedHttpClient::new(Limited {
                    inner: https,
                    requests: self.requests.clone(),
                    limit: self.limit.clone(),
                });
                let mut loader =
                    aws_config::defaults(BehaviorVersion::latest()).http_client(client);
                if let Some(profile) = &self.config.profile {
                    loader = loader.profile_name(profile);
                }
                if let Some(url) = &self.config.endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                if let Some(region) = &self.config.region {
                    loader = loader.region(aws_config::Region::new(region.clone()));
                }
                if let Some(credentials) = &self.credentials {
                    loader = loader.credentials_provider(credentials.clone());
                }
                let sdk = loader.load().await;
                Ok(if sdk.region().is_none() {
                    sdk.to_builder()
                        .region(aws_config::Region::new(FALLBACK_REGION))
                        .build()
                } else {
                    sdk
                })
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The SDK configuration for `region` (or the home region for `None`).
    pub async fn regional(&self, region: Option<&str>) -> Result<SdkConfig, String> {
        let sdk = self.sdk().await?;
        Ok(match region {
            Some(r) => sdk
                .to_builder()
                .region(aws_config::Region::new(r.to_string()))
                .build(),
            None => sdk.clone(),
        })
    }

    /// Records the operation of every call made with a client it is attached to.
    pub fn recorder(&self) -> Recorder {
        Recorder {
            operations: self.operations.clone(),
        }
    }

    /// The endpoint `service_endpoints` gives `service` (`backup`), if any.
    pub fn service_endpoint(&self, service: &str) -> Option<&str> {
        self.config
            .service_endpoints
            .get(service)
            .map(String::as_str)
    }

    /// Whether an endpoint override is configured (a local emulator such as moto).
    pub fn endpoint_override(&self) -> Option<&str> {
        self.config.endpoint_url.as_deref()
    }

    /// Asks AWS afresh which account and regions this run collects.
    pub async fn refresh(&self) -> Arc<RunState> {
        let state = Arc::new(RunState {
            account: self.account().await,
            regions: self.regions().await,
        });
        *self.run.lock().await = Some(state.clone());
        state
    }

    /// The current run's account and regions, asked for once.
    pub async fn state(&self) -> Arc<RunState> {
        let current = self.run.lock().await.clone();
        match current {
            Some(s) => s,
            None => self.refresh().await,
        }
    }

    async fn account(&self) -> Result<Account, String> {
        let sdk = self.regional(None).await?;
        let sts = client!(aws_sdk_sts, self, &sdk);
        let me = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| api_error("sts:GetCallerIdentity", &e))?;
        let id = me
            .account()
            .filter(|a| !a.is_empty())
            .ok_or("sts:GetCallerIdentity answered no account id")?
            .to_string();
        let iam = client!(aws_sdk_iam, self, &sdk);
        let alias = iam
            .list_account_aliases()
            .send()
            .await
            .map(|out| out.account_aliases().first().cloned())
            .map_err(|e| api_error("iam:ListAccountAliases", &e));
        Ok(Account { id, alias })
    }

    async fn regions(&self) -> Result<Vec<String>, String> {
        if !self.config.regions.is_empty() {
            return Ok(self.config.regions.clone());
        }
        let sdk = self.regional(None).await?;
        let ec2 = client!(aws_sdk_ec2, self, &sdk);
        // Without AllRegions, DescribeRegions lists the regions enabled for the account.
        let out = ec2
            .describe_regions()
            .send()
            .await
            .map_err(|e| api_error("ec2:DescribeRegions", &e))?;
        let mut regions: Vec<String> = out
            .regions()
            .iter()
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect();
        regions.sort();
        if regions.is_empty() {
            return Err("ec2:DescribeRegions listed no enabled region".into());
        }
        Ok(regions)
    }
}

/// The reason sentence for a failed call: the API, the error code and message AWS gave (e.g.
/// `s3:GetBucketPolicy: AccessDenied: Access Denied`), or what failed on the way (timeout,
/// connection, credentials, an answer that does not parse) once the SDK's retries gave up.
pub fn api_error<E, R>(api: &str, e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{api}: {code}: {message}"),
        (Some(code), None) => format!("{api}: {code}"),
        _ => match e {
            SdkError::ServiceError(s) => format!("{api}: {}", causes(s.err())),
            other => format!("{api}: {}", causes(other)),
        },
    }
}

/// An error and its causes, each once, joined by `: ` (never a raw answer's dump).
fn causes(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// A call's result where some error codes mean "not configured" (e.g. `NoSuchBucketPolicy`):
/// those become `Ok(None)`, other errors the reason sentence.
pub fn absent_if<T, E, R>(
    api: &str,
    result: Result<T, SdkError<E, R>>,
    absent_codes: &[&str],
) -> Result<Option<T>, String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code().is_some_and(|c| absent_codes.contains(&c)) => Ok(None),
        Err(e) => Err(api_error(api, &e)),
    }
}

/// Runs `f` for every item with at most `limit` in progress, keeping the items' order.
pub async fn for_each<T, O, F, Fut>(items: Vec<T>, limit: usize, f: F) -> Vec<O>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = O>,
{
    use futures::StreamExt as _;
    futures::stream::iter(items.into_iter().map(f))
        .buffered(limit.max(1))
        .collect()
        .await
}

/// The HTTPS client wrapped: each request waits for one of the session's permits and is
/// counted.
#[derive(Debug)]
struct Limited {
    inner: SharedHttpClient,
    requests: Arc<AtomicU64>,
    limit: Arc<Semaphore>,
}

impl HttpClient for Limited {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LimitedConnector {
            inner: self.inner.http_connector(settings, components),
            requests: self.requests.clone(),
            limit: self.limit.clone(),
        })
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    requests: Arc<AtomicU64>,
    limit: Arc<Semaphore>,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let requests = self.requests.clone();
        let limit = self.limit.clone();
        HttpConnectorFuture::new(async move {
            // The semaphore is never closed, so acquiring only fails if it were.
            let _permit = limit.acquire_owned().await.ok();
            requests.fetch_add(1, Ordering::Relaxed);
            inner.call(request).await
        })
    }
}

/// An interceptor that records which operations are called, for the least-privilege check.
#[derive(Clone, Debug)]
pub struct Recorder {
    operations: Arc<Mutex<BTreeSet<String>>>,
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "vouch-operation-recorder"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let service: String = meta
                .service()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            if let Ok(mut ops) = self.operations.lock() {
                ops.insert(format!("{service}:{}", meta.name()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};

    type Failed = SdkError<GetBucketPolicyError, Response>;

    fn answered(status: u16, code: &str, message: &str) -> Failed {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(
            GetBucketPolicyError::generic(meta),
            Response::new(
                StatusCode::try_from(status).unwrap(),
                aws_sdk_s3::primitives::SdkBody::empty(),
            ),
        )
    }

    #[test]
    fn errors_name_the_call_and_what_aws_said() {
        let denied = answered(403, "AccessDenied", "Access Denied");
        assert_eq!(
            api_error("s3:GetBucketPolicy", &denied),
            "s3:GetBucketPolicy: AccessDenied: Access Denied"
        );
        let late: Failed = SdkError::timeout_error("operation timed out after 30s");
        assert_eq!(
            api_error("s3:GetBucketPolicy", &late),
            "s3:GetBucketPolicy: request has timed out: operation timed out after 30s"
        );
    }

    #[test]
    fn only_the_listed_codes_mean_not_configured() {
        let none = answered(
            404,
            "NoSuchBucketPolicy",
            "The bucket policy does not exist",
        );
        let r: Result<Option<()>, String> =
            absent_if("s3:GetBucketPolicy", Err(none), &["NoSuchBucketPolicy"]);
        assert_eq!(r, Ok(None));
        let throttled = answered(503, "SlowDown", "Please reduce your request rate.");
        let r: Result<Option<()>, String> = absent_if(
            "s3:GetBucketPolicy",
            Err(throttled),
            &["NoSuchBucketPolicy"],
        );
        assert_eq!(
            r,
            Err("s3:GetBucketPolicy: SlowDown: Please reduce your request rate.".into())
        );
        assert_eq!(
            absent_if::<_, GetBucketPolicyError, Response>("x", Ok(7), &[]),
            Ok(Some(7))
        );
    }

    /// A connector that answers 200 after a moment, noting how many calls overlap.
    #[derive(Debug, Default)]
    struct Slow {
        running: Arc<AtomicU64>,
        peak: Arc<AtomicU64>,
    }

    impl HttpConnector for Slow {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            let (running, peak) = (self.running.clone(), self.peak.clone());
            HttpConnectorFuture::new(async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(Response::new(
                    StatusCode::try_from(200).unwrap(),
                    aws_sdk_s3::primitives::SdkBody::empty(),
                ))
            })
        }
    }

    #[tokio::test]
    async fn requests_wait_for_a_permit_and_are_counted() {
        let slow = Slow::default();
        let peak = slow.peak.clone();
        let connector = LimitedConnector {
            inner: SharedHttpConnector::new(slow),
            requests: Arc::new(AtomicU64::new(0)),
            limit: Arc::new(Semaphore::new(2)),
        };
        let calls: Vec<_> = (0..10)
            .map(|_| connector.call(HttpRequest::empty()))
            .collect();
        for r in futures::future::join_all(calls).await {
            assert_eq!(r.unwrap().status().as_u16(), 200);
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(connector.requests.load(Ordering::SeqCst), 10);
    }

    #[tokio::test]
    async fn at_most_the_limit_runs_at_once_and_order_is_kept() {
        use std::sync::atomic::AtomicUsize;
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = for_each((0..20).collect(), 3, |i: u32| {
            let (running, peak) = (&running, &peak);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(out, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
