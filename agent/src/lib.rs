//! The Vouch agent: on a schedule it runs the configured evidence sources, makes each result
//! the next link of its chain (sequence, previous digest), signs it (DSSE, Ed25519), spools it
//! durably, and delivers it to the server. A snapshot leaves the spool only once the server's
//! signed receipt has been verified and saved; transient failures are retried with exponential
//! backoff and full jitter, across restarts. The agent links no server code.

pub mod config;
pub mod state;
pub mod table;

use std::io;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use vouch_collectors::host::HostSource;
use vouch_collectors::{Collected, Source, run_source};
use vouch_evidence::api::{EnrollRequest, EnrollResponse, ErrorBody, SubmitResponse};
use vouch_evidence::chain::Head;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{ChainKey, Digest, PublicKey, Receipt, SCHEMA_VERSION, SigningKey, Snapshot};

use crate::config::AgentConfig;
use crate::state::{Enrollment, StateDir};

/// Why an agent operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Local state could not be read or written.
    #[error("state: {0}")]
    State(#[from] io::Error),
    /// TLS or HTTP client setup failed.
    #[error("client setup: {0}")]
    Client(String),
    /// The server could not be reached or answered with a server error.
    #[error("server unreachable or failing: {0}")]
    Transient(String),
    /// The server refused the request.
    #[error("server refused: {code}: {message}")]
    Refused {
        /// The error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server's answer is not what the protocol promises (a bad receipt).
    #[error("server answer rejected: {0}")]
    BadAnswer(String),
    /// Signing failed (the collected snapshot is invalid).
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// An HTTPS client (rustls with the ring provider) trusting the CA in `ca_pem`, or the
/// system's bundle when `None`.
pub fn build_http_client(
    ca_pem: Option<&[u8]>,
    timeout: Duration,
) -> Result<reqwest::Client, AgentError> {
    let bundle;
    let pem: &[u8] = match ca_pem {
        Some(p) => p,
        None => {
            bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt").map_err(|e| {
                AgentError::Client(format!("no CA given and no system bundle: {e}"))
            })?;
            &bundle
        }
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        let cert = cert.map_err(|e| AgentError::Client(format!("CA file: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| AgentError::Client(format!("CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(AgentError::Client(
            "the CA file holds no certificate".into(),
        ));
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| AgentError::Client(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("vouch-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AgentError::Client(e.to_string()))
}

fn client_for(config: &AgentConfig) -> Result<reqwest::Client, AgentError> {
    let ca = match &config.server.ca_cert {
        Some(p) => Some(
            std::fs::read(p).map_err(|e| AgentError::Client(format!("{}: {e}", p.display())))?,
        ),
        None => None,
    };
    build_http_client(
        ca.as_deref(),
        Duration::from_secs(config.agent.request_timeout_secs),
    )
}

/// Reads an error answer: 4xx refusals are permanent, everything else transient.
async fn error_of(resp: reqwest::Response) -> AgentError {
    let status = resp.status();
    let body: Option<ErrorBody> = resp.json().await.ok();
    if status.is_client_error() {
        let (code, message) = body.map_or((status.to_string(), String::new()), |b| {
            (b.error, b.message)
        });
        AgentError::Refused { code, message }
    } else {
        AgentError::Transient(format!("HTTP {status}"))
    }
}

/// Makes a key and enrolls it with a one-time token; `force` replaces an existing enrolment.
pub async fn enroll(
    config: &AgentConfig,
    token: &str,
    force: bool,
) -> Result<Enrollment, AgentError> {
    let state = StateDir::open(&config.agent.state_dir)?;
    if !force && state.load_enrollment().is_ok() {
        return Err(AgentError::State(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "this agent is already enrolled (use --force to re-enrol with a new key)",
        )));
    }
    let key = state.create_key(true)?;
    let name = vouch_collectors::host::hostname_of(&config.collectors.host.root)
        .unwrap_or_else(|| "agent".into());
    let req = EnrollRequest {
        token: token.trim().to_string(),
        public_key: key.public().to_base64(),
        name,
    };
    let url = format!("{}/v1/enroll", config.server.url.trim_end_matches('/'));
    let resp = client_for(config)?
        .post(url)
        .json(&req)
        .send()
        .await
        .map_err(|e| AgentError::Transient(e.to_string()))?;
    if resp.status() != reqwest::StatusCode::CREATED {
        return Err(error_of(resp).await);
    }
    let answer: EnrollResponse = resp
        .json()
        .await
        .map_err(|e| AgentError::BadAnswer(e.to_string()))?;
    if answer.keyid != key.id().to_string() {
        return Err(AgentError::BadAnswer(
            "the server enrolled a different key id".into(),
        ));
    }
    PublicKey::from_base64(&answer.server_key)
        .map_err(|e| AgentError::BadAnswer(format!("server_key: {e}")))?;
    let enrollment = Enrollment {
        server_url: config.server.url.clone(),
        agent_id: answer.agent_id,
        keyid: answer.keyid,
        server_key: answer.server_key,
    };
    state.save_enrollment(&enrollment)?;
    tracing::info!(agent_id = %enrollment.agent_id, keyid = %enrollment.keyid, "enrolled");
    Ok(enrollment)
}

/// What one delivery pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Accepted now.
    pub delivered: usize,
    /// Already accepted before (a resend after a lost answer).
    pub duplicates: usize,
    /// Refused and moved to `spool/rejected/`.
    pub rejected: usize,
    /// Still spooled (the server was unreachable or failing).
    pub pending: usize,
}

/// An enrolled agent.
pub struct Agent {
    config: AgentConfig,
    state: StateDir,
    key: SigningKey,
    enrollment: Enrollment,
    server_key: PublicKey,
    client: reqwest::Client,
    /// Serialises chain updates and deliveries.
    lock: Mutex<()>,
}

impl Agent {
    /// Opens the enrolled agent described by `config`.
    pub fn open(config: AgentConfig) -> Result<Agent, AgentError> {
        let state = StateDir::open(&config.agent.state_dir)?;
        let key = state.load_key()?;
        let enrollment = state.load_enrollment()?;
        if enrollment.keyid != key.id().to_string() {
            return Err(AgentError::State(io::Error::other(
                "agent.key does not match enrollment.json",
            )));
        }
        let server_key = PublicKey::from_base64(&enrollment.server_key).map_err(|e| {
            AgentError::State(io::Error::other(format!("enrollment.json server_key: {e}")))
        })?;
        let client = client_for(&config)?;
        Ok(Agent {
            config,
            state,
            key,
            enrollment,
            server_key,
            client,
            lock: Mutex::new(()),
        })
    }

    /// Its id.
    pub fn agent_id(&self) -> &str {
        &self.enrollment.agent_id
    }

    /// Its state directory.
    pub fn state(&self) -> &StateDir {
        &self.state
    }

    /// The enabled sources.
    pub fn sources(&self) -> Vec<Box<dyn Source>> {
        sources(&self.config)
    }

    /// Collects every enabled source once and spools a signed snapshot of each.
    pub async fn collect_and_spool(&self) -> Result<Vec<Digest>, AgentError> {
        let mut out = Vec::new();
        for source in self.sources() {
            out.push(self.collect_and_spool_source(source.as_ref()).await?);
        }
        Ok(out)
    }

    /// Collects `source` once, signs the result as the next link of its chain and spools it.
    pub async fn collect_and_spool_source(
        &self,
        source: &dyn Source,
    ) -> Result<Digest, AgentError> {
        let collected = run_source(source, &source.context(CancellationToken::new())).await;
        self.spool_collected(collected).await
    }

    /// Signs `collected` as the next link of its chain and spools it.
    pub async fn spool_collected(&self, collected: Collected) -> Result<Digest, AgentError> {
        let _guard = self.lock.lock().await;
        let chain = ChainKey {
            agent_id: self.enrollment.agent_id.clone(),
            asset_kind: collected.asset.kind,
            asset_id: collected.asset.id.clone(),
        };
        let head = self.state.head(&chain)?;
        let snapshot = Snapshot {
            schema_version: SCHEMA_VERSION,
            agent_id: self.enrollment.agent_id.clone(),
            asset: collected.asset,
            collected_at: collected.collected_at,
            sequence: head.map_or(1, |h| h.sequence + 1),
            previous_digest: head.map(|h| h.digest),
            collectors: collected.collectors,
            evidence: collected.evidence,
        };
        let (envelope, digest) = snapshot
            .sign(&self.key)
            .map_err(|e| AgentError::Sign(e.to_string()))?;
        self.state
            .spool(&chain, snapshot.sequence, &envelope.to_vec())?;
        self.state.set_head(
            &chain,
            Head {
                sequence: snapshot.sequence,
                digest,
            },
        )?;
        tracing::info!(chain = %chain, sequence = snapshot.sequence, %digest, "snapshot signed and spooled");
        Ok(digest)
    }

    /// One delivery pass over every spooled chain, oldest first; no sleeping. Transient
    /// failures leave the rest of that chain pending.
    pub async fn deliver_pending(&self) -> Result<DeliveryReport, AgentError> {
        let _guard = self.lock.lock().await;
        let mut report = DeliveryReport::default();
        for chain in self.state.spooled_chains()? {
            let mut files = self.state.spooled(&chain)?;
            let mut i = 0;
            while i < files.len() {
                let (seq, path) = files[i].clone();
                match self.deliver_one(&path).await {
                    Ok(duplicate) => {
                        if duplicate {
                            report.duplicates += 1
                        } else {
                            report.delivered += 1
                        }
                        i += 1;
                    }
                    Err(AgentError::Refused { code, message }) => {
                        let error =
                            serde_json::json!({ "error": code, "message": message }).to_string();
                        let moved = self.state.quarantine(&path, &error)?;
                        tracing::error!(chain = %chain, sequence = seq, code, message, moved = %moved.display(), "snapshot refused by the server");
                        report.rejected += 1;
                        self.relink(&chain, &path)?;
                        files = self.state.spooled(&chain)?;
                        i = 0;
                    }
                    Err(e @ (AgentError::Transient(_) | AgentError::BadAnswer(_))) => {
                        tracing::warn!(chain = %chain, sequence = seq, error = %e, "delivery failed; will retry");
                        report.pending += files.len() - i;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(report)
    }

    /// Posts one envelope; Ok(true) for a duplicate. The receipt is verified against the
    /// server's key and saved before the envelope leaves the spool.
    async fn deliver_one(&self, path: &Path) -> Result<bool, AgentError> {
        let body = std::fs::read(path)?;
        let digest = state::envelope_digest(path)?;
        let url = format!(
            "{}/v1/snapshots",
            self.config.server.url.trim_end_matches('/')
        );
        let resp = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| AgentError::Transient(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        let answer: SubmitResponse = resp
            .json()
            .await
            .map_err(|e| AgentError::BadAnswer(e.to_string()))?;
        let receipt = Receipt::verify(&answer.receipt, &self.server_key)
            .map_err(|e| AgentError::BadAnswer(format!("receipt does not verify: {e}")))?;
        if receipt.digest != digest || answer.digest != digest {
            return Err(AgentError::BadAnswer(format!(
                "receipt is for {}, not {digest}",
                receipt.digest
            )));
        }
        self.state
            .acknowledge(path, digest, &answer.receipt.to_vec())?;
        Ok(answer.duplicate)
    }

    /// After the snapshot at `refused` was refused, re-links the later spooled snapshots of its
    /// chain onto the last acknowledged link (the refused one's predecessor) and re-signs them.
    /// They were never accepted, so no proof is lost; without this, every later snapshot would
    /// name a link the server never stored and the chain would be stuck forever.
    fn relink(&self, chain: &ChainKey, refused: &Path) -> Result<(), AgentError> {
        let rejected = self.state.root().join("spool/rejected").join(format!(
            "{}-{}",
            refused
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or(""),
            refused.file_name().and_then(|n| n.to_str()).unwrap_or("")
        ));
        let env = Envelope::from_slice(&std::fs::read(&rejected)?)
            .map_err(|e| AgentError::Sign(e.to_string()))?;
        let payload = env
            .payload_bytes()
            .map_err(|e| AgentError::Sign(e.to_string()))?;
        let refused_snapshot =
            Snapshot::from_payload(&payload).map_err(|e| AgentError::Sign(e.to_string()))?;
        let mut head = refused_snapshot.previous_digest.map(|d| Head {
            sequence: refused_snapshot.sequence - 1,
            digest: d,
        });
        for (_, path) in self.state.spooled(chain)? {
            let env = Envelope::from_slice(&std::fs::read(&path)?)
                .map_err(|e| AgentError::Sign(e.to_string()))?;
            let payload = env
                .payload_bytes()
                .map_err(|e| AgentError::Sign(e.to_string()))?;
            let mut snapshot =
                Snapshot::from_payload(&payload).map_err(|e| AgentError::Sign(e.to_string()))?;
            snapshot.sequence = head.map_or(1, |h| h.sequence + 1);
            snapshot.previous_digest = head.map(|h| h.digest);
            let (envelope, digest) = snapshot
                .sign(&self.key)
                .map_err(|e| AgentError::Sign(e.to_string()))?;
            std::fs::remove_file(&path)?;
            self.state
                .spool(chain, snapshot.sequence, &envelope.to_vec())?;
            head = Some(Head {
                sequence: snapshot.sequence,
                digest,
            });
        }
        match head {
            Some(h) => self.state.set_head(chain, h)?,
            None => {
                let _ = std::fs::remove_file(
                    self.state
                        .root()
                        .join("chains")
                        .join(format!("{}.json", state::chain_dir_name(chain))),
                );
            }
        }
        Ok(())
    }

    /// The daemon: collects each source on its cron schedule, delivers after each collection,
    /// and retries pending deliveries with exponential backoff and full jitter, until
    /// `shutdown` is cancelled. A delivery in flight when it is cancelled is abandoned; the
    /// snapshot stays spooled and is resent (the server answers a resend with its receipt).
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), AgentError> {
        let sources = self.sources();
        let schedules: Vec<cron::Schedule> = sources
            .iter()
            .map(|s| {
                cron::Schedule::from_str(s.schedule())
                    .map_err(|e| AgentError::Client(format!("{} schedule: {e}", s.name())))
            })
            .collect::<Result<_, _>>()?;
        let mut backoff = Backoff::new(
            Duration::from_millis(self.config.agent.backoff_initial_ms),
            Duration::from_secs(self.config.agent.backoff_max_secs),
        );
        let mut retry_at: Option<tokio::time::Instant> = if self.state.spool_depth()? > 0 {
            Some(tokio::time::Instant::now())
        } else {
            None
        };
        tracing::info!(agent_id = %self.agent_id(), sources = sources.len(), "agent running");
        loop {
            let now = chrono_now();
            let next_fire = schedules
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.after(&now).next().map(|t| (i, t)))
                .min_by_key(|(_, t)| *t);
            let fire_in = next_fire.map(|(_, t)| {
                let ms = (t - now).num_milliseconds().max(0) as u64;
                tokio::time::Instant::now() + Duration::from_millis(ms)
            });
            let wake = match (fire_in, retry_at) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => tokio::time::Instant::now() + Duration::from_secs(3600),
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep_until(wake) => {}
            }
            if let (Some((i, _)), Some(at)) = (next_fire, fire_in)
                && tokio::time::Instant::now() >= at
            {
                let source = &sources[i];
                let ctx = source.context(shutdown.child_token());
                let collected = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    c = run_source(source.as_ref(), &ctx) => c,
                };
                if let Err(e) = self.spool_collected(collected).await {
                    tracing::error!(error = %e, source = source.name(), "cannot sign or spool");
                }
                retry_at = Some(tokio::time::Instant::now());
            }
            if retry_at.is_some_and(|t| tokio::time::Instant::now() >= t) {
                let report = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    r = self.deliver_pending() => r,
                };
                match report {
                    Ok(r) if r.pending == 0 => {
                        backoff.reset();
                        retry_at = None;
                        tracing::info!(
                            delivered = r.delivered,
                            duplicates = r.duplicates,
                            rejected = r.rejected,
                            "spool delivered"
                        );
                    }
                    Ok(r) => {
                        let delay = backoff.next_delay();
                        tracing::warn!(
                            pending = r.pending,
                            retry_in_ms = delay.as_millis() as u64,
                            "delivery incomplete"
                        );
                        retry_at = Some(tokio::time::Instant::now() + delay);
                    }
                    Err(e) => {
                        let delay = backoff.next_delay();
                        tracing::error!(error = %e, retry_in_ms = delay.as_millis() as u64, "delivery failed");
                        retry_at = Some(tokio::time::Instant::now() + delay);
                    }
                }
            }
        }
        tracing::info!("agent stopped");
        Ok(())
    }
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// The enabled sources of a configuration.
pub fn sources(config: &AgentConfig) -> Vec<Box<dyn Source>> {
    let mut out: Vec<Box<dyn Source>> = Vec::new();
    if config.collectors.host.enabled {
        out.push(Box::new(HostSource::new(config.collectors.host.clone())));
    }
    if config.collectors.aws.enabled {
        out.push(Box::new(vouch_collectors::aws::AwsSource::new(
            config.collectors.aws.clone(),
        )));
    }
    if config.collectors.github.enabled {
        out.push(Box::new(vouch_collectors::github::GithubSource::new(
            config.collectors.github.clone(),
        )));
    }
    if config.collectors.kubernetes.enabled {
        out.push(Box::new(
            vouch_collectors::kubernetes::KubernetesSource::new(
                config.collectors.kubernetes.clone(),
            ),
        ));
    }
    out
}

/// Exponential backoff with full jitter: each delay is uniform in [0, min(max, initial·2^n)].
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at `initial`, capped at `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            attempt: 0,
        }
    }

    /// The cap of the next delay (before jitter).
    pub fn ceiling(&self) -> Duration {
        self.initial
            .saturating_mul(1u32 << self.attempt.min(30))
            .min(self.max)
    }

    /// The next delay, and advance.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let mut r = [0u8; 8];
        let _ = getrandom::fill(&mut r);
        let fraction = u64::from_le_bytes(r) as f64 / u64::MAX as f64;
        ceiling.mul_f64(fraction)
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter_below_the_ceiling() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let mut ceilings = Vec::new();
        for _ in 0..8 {
            let c = b.ceiling();
            let d = b.next_delay();
            assert!(d <= c, "{d:?} > {c:?}");
            ceilings.push(c.as_millis());
        }
        assert_eq!(ceilings, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(100));
    }
}
