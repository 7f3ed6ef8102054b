//! Shared by the AWS tests and bench: a moto server (`moto_server`, PyPI `moto[server]`) on
//! loopback, found from `VOUCH_TEST_MOTO_URL` (default `http://127.0.0.1:5000`), a fresh
//! account on it, SDK clients that prepare the account, and the source configured for it.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_iam::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::box_error::BoxError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vouch_collectors::aws::{AwsConfig, AwsSource};

/// The variable naming the moto server.
pub const MOTO_URL_VAR: &str = "VOUCH_TEST_MOTO_URL";

/// The moto server's base URL.
pub fn moto_url() -> String {
    std::env::var(MOTO_URL_VAR).unwrap_or_else(|_| "http://127.0.0.1:5000".to_string())
}

/// `host:port` of an `http://host:port` URL.
fn authority(url: &str) -> String {
    let rest = url.trim_start_matches("http://");
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// Sends a bodiless GET to moto and returns the status line.
async fn get(url: &str, path: &str) -> std::io::Result<String> {
    let host = authority(url);
    let mut stream = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(&host),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    Ok(text.lines().next().unwrap_or("").to_string())
}

/// The moto server's URL, or a failure that says how to start one: a test against AWS
/// behaviour never passes without having run.
pub async fn require_moto() -> String {
    let url = moto_url();
    match get(&url, "/moto-api/").await {
        Ok(status) if status.contains(" 200") => url,
        outcome => panic!(
            "no moto server answers at {url} ({outcome:?}). Start one with\n    {START_MOTO}\n\
             or point {MOTO_URL_VAR} at a running one."
        ),
    }
}

/// How to start moto as the tests need it: with AWS's managed policies (AdministratorAccess)
/// in every account, as real accounts have them.
pub const START_MOTO: &str = "pip install 'moto[server]==5.1.22' && MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p 5000 &";

/// A fresh account of the moto server, and credentials that reach it.
///
/// moto keeps one state per account id, and maps an access key to the account whose IAM issued
/// it: each test makes a new account (its id chosen here) holding one IAM user, `vouch-collector`,
/// whose key then signs every call. No test empties the server, so tests and benches may run
/// at the same time against one moto.
pub struct Moto {
    /// The server's base URL.
    pub url: String,
    /// The account id.
    pub account: String,
    /// The access key of the account's `vouch-collector` user.
    pub credentials: Credentials,
}

/// Sends every request of a client to the moto account it names.
#[derive(Debug)]
struct AccountHeader(String);

impl Intercept for AccountHeader {
    fn name(&self) -> &'static str {
        "moto-account"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

/// A 12-digit account id no earlier test used.
fn new_account_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = nanos
        .wrapping_mul(31)
        .wrapping_add(u64::from(std::process::id()) << 20)
        .wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:012}", 100_000_000_000 + n % 900_000_000_000)
}

impl Moto {
    /// A new account on the running moto server (failing, with how to start one, if none).
    pub async fn fresh() -> Self {
        let url = require_moto().await;
        let account = new_account_id();
        let bootstrap = Credentials::new("AKIAVOUCHBOOTSTRAP01", "x", None, None, "moto");
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&sdk_config(&url, "us-east-1", &bootstrap))
                .interceptor(AccountHeader(account.clone()))
                .build(),
        );
        iam.create_user()
            .user_name("vouch-collector")
            .send()
            .await
            .unwrap();
        let key = iam
            .create_access_key()
            .user_name("vouch-collector")
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap();
        let credentials = Credentials::new(
            key.access_key_id(),
            key.secret_access_key(),
            None,
            None,
            "moto",
        );
        Moto {
            url,
            account,
            credentials,
        }
    }

    /// SDK configuration for clients that prepare the account, in `region`.
    pub fn sdk(&self, region: &str) -> SdkConfig {
        sdk_config(&self.url, region, &self.credentials)
    }

    /// An S3 client for the account (path-style: moto serves no bucket host names).
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk(region))
                .force_path_style(true)
                .build(),
        )
    }

    /// The AWS source's configuration for moto, collecting `regions`.
    pub fn config(&self, regions: &[&str]) -> AwsConfig {
        AwsConfig {
            enabled: true,
            endpoint_url: Some(self.url.clone()),
            region: Some("us-east-1".into()),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            timeout_secs: 120,
            ..AwsConfig::default()
        }
    }

    /// The AWS source for the account, collecting `regions` (empty: all enabled).
    pub fn source(&self, regions: &[&str]) -> AwsSource {
        AwsSource::with_credentials(self.config(regions), self.credentials.clone())
    }
}

/// SDK configuration for moto at `url`, in `region`, signing with `credentials`.
fn sdk_config(url: &str, region: &str, credentials: &Credentials) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new(region.to_string()))
        .credentials_provider(SharedCredentialsProvider::new(credentials.clone()))
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build()
}
