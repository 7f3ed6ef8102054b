//! Trusted time for the log (RFC 3161): at a set interval, when the log grew, its checkpoint
//! note is sent to the configured time-stamping authority; the token it answers is checked
//! with the TSA's certificate (and the nonce sent) before it is kept, one per checkpoint size,
//! in the store. A token over a checkpoint proves every snapshot in that tree existed at the
//! token's time, on the TSA's word rather than the server's. Bundles carry, for each snapshot,
//! the first time-stamped checkpoint that holds it.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use vouch_verify::timestamp::{self, QUERY_CONTENT_TYPE, Stamped};

use crate::checkpoints::LogSigner;
use crate::store::{LogStore, StoreError};

/// `[timestamps]`: the time-stamping authority that dates the log's checkpoints; none by
/// default.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimestampConfig {
    /// The TSA's URL (RFC 3161 over HTTP: `POST` of an `application/timestamp-query`),
    /// `http://` or `https://` (the token is signed: the transport adds no trust).
    pub url: Option<String>,
    /// The TSA's certificate (PEM): every token is checked with it before it is kept, and
    /// auditors check bundles with the same file (`vouch verify --tsa-cert`).
    pub certificate: Option<PathBuf>,
    /// A PEM CA for an `https://` URL whose certificate is not from a public CA.
    pub ca_file: Option<PathBuf>,
    /// Seconds between stamps; a stamp is asked for only when the log grew since the last.
    pub interval_secs: u64,
}

impl Default for TimestampConfig {
    fn default() -> Self {
        TimestampConfig {
            url: None,
            certificate: None,
            ca_file: None,
            interval_secs: 600,
        }
    }
}

impl TimestampConfig {
    /// Every problem, by key.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match (&self.url, &self.certificate) {
            (Some(url), Some(_)) => match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(_) => out.push(("url".into(), "must be http:// or https://".into())),
                Err(e) => out.push(("url".into(), e.to_string())),
            },
            (Some(_), None) => out.push((
                "certificate".into(),
                "required with url: tokens are kept only when they verify with it".into(),
            )),
            (None, Some(_)) => out.push(("url".into(), "required with certificate".into())),
            (None, None) => {}
        }
        if !(60..=86_400).contains(&self.interval_secs) {
            out.push((
                "interval_secs".into(),
                format!("{} is outside 60..=86400", self.interval_secs),
            ));
        }
        out
    }
}

/// Why a stamp could not be had.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The TSA could not be reached, or answered no token.
    #[error("the TSA: {0}")]
    Tsa(String),
    /// The token does not verify with the TSA's certificate.
    #[error("the TSA's token does not verify: {0}")]
    Token(#[from] timestamp::TimestampError),
}

/// Why the stamper could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("[timestamps]: {0}")]
pub struct StamperError(String);

/// The TSA, its certificate and the interval.
pub struct Stamper {
    url: reqwest::Url,
    client: reqwest::Client,
    certificate: Vec<u8>,
    interval: Duration,
    /// Held for a stamp: two never overlap (one per size is kept either way).
    one_at_a_time: tokio::sync::Mutex<()>,
}

/// The longest a TSA is given to answer.
const TSA_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read from a TSA.
const MAX_REPLY_BYTES: usize = 64 * 1024;

impl Stamper {
    /// The stamper of a validated `config` with a URL; `None` without one.
    pub fn new(config: &TimestampConfig, user_agent: &str) -> Result<Option<Self>, StamperError> {
        let (Some(url), Some(cert)) = (&config.url, &config.certificate) else {
            return Ok(None);
        };
        let read = |p: &PathBuf| {
            std::fs::read(p).map_err(|e| StamperError(format!("{}: {e}", p.display())))
        };
        let certificate = timestamp::certificate_der(&read(cert)?)
            .map_err(|e| StamperError(format!("{}: {e}", cert.display())))?;
        let ca = config.ca_file.as_ref().map(read).transpose()?;
        let builder = match (&ca, url.starts_with("https://")) {
            (Some(ca), _) => vouch_client::http_client_builder(Some(ca), TSA_TIMEOUT, user_agent)
                .map_err(|e| StamperError(e.to_string()))?,
            (None, true) => vouch_client::http_client_builder(None, TSA_TIMEOUT, user_agent)
                .map_err(|e| StamperError(e.to_string()))?,
            // Plain HTTP: no certificate is ever checked, but the client still needs its TLS
            // provider named (this process installs no default one).
            (None, false) => {
                let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|e| StamperError(e.to_string()))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
                reqwest::Client::builder()
                    .use_preconfigured_tls(tls)
                    .timeout(TSA_TIMEOUT)
                    .user_agent(user_agent)
            }
        };
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| StamperError(e.to_string()))?;
        Ok(Some(Stamper {
            url: reqwest::Url::parse(url).map_err(|e| StamperError(e.to_string()))?,
            client,
            certificate,
            interval: Duration::from_secs(config.interval_secs),
            one_at_a_time: tokio::sync::Mutex::new(()),
        }))
    }

    /// The time between stamps.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Stamps the log's current checkpoint when it grew since the last stamp: asks the TSA,
    /// checks the token, keeps it. Answers the size stamped and what the token says; `None`
    /// when there was nothing new.
    pub async fn stamp(
        &self,
        store: &dyn LogStore,
        signer: &LogSigner,
    ) -> Result<Option<(u64, Stamped)>, StampError> {
        let _one = self.one_at_a_time.lock().await;
        let head = store.log_head().await?;
        let last = store.timestamp_covering(None).await?.map(|(size, ..)| size);
        if head.size == 0 || last == Some(head.size) {
            return Ok(None);
        }
        let note = signer.signed(head);
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| StampError::Tsa(format!("no randomness: {e}")))?;
        let nonce = u64::from_be_bytes(nonce) >> 1;
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, QUERY_CONTENT_TYPE)
            .body(timestamp::request(note.as_bytes(), nonce))
            .send()
            .await
            .map_err(|e| StampError::Tsa(format!("not reached: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(StampError::Tsa(format!("HTTP {status}")));
        }
        let mut response = response;
        let mut reply = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| StampError::Tsa(e.to_string()))?
        {
            if reply.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(StampError::Tsa(format!(
                    "an answer of more than {MAX_REPLY_BYTES} bytes"
                )));
            }
            reply.extend_from_slice(&chunk);
        }
        let token = timestamp::token_of_reply(&reply)?;
        let stamped =
            timestamp::verify_token(&token, note.as_bytes(), &self.certificate, Some(nonce))?;
        store
            .add_timestamp(head.size, token, stamped.gen_time)
            .await?;
        Ok(Some((head.size, stamped)))
    }
}

/// The time-stamp of the first checkpoint that holds leaf `index` (the newest for `None`),
/// with the checkpoint note it is over; `None` when there is none yet.
pub async fn proof(
    store: &dyn LogStore,
    signer: &LogSigner,
    index: Option<u64>,
) -> Result<Option<timestamp::TimestampProof>, StoreError> {
    use base64::Engine as _;
    let Some((size, token, gen_time)) = store.timestamp_covering(index).await? else {
        return Ok(None);
    };
    let (_, checkpoint) = signer.signed_at(store, size).await?;
    Ok(Some(timestamp::TimestampProof {
        size,
        checkpoint,
        token: base64::engine::general_purpose::STANDARD.encode(token),
        gen_time,
        consistency: Vec::new(),
    }))
}
