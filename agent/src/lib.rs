//! The Vouch agent: on a schedule it runs the configured evidence sources, makes each result
//! the next link of its chain (sequence, previous digest), signs it (DSSE, Ed25519), spools it
//! durably, and delivers it to the server. A snapshot leaves the spool only once the server's
//! signed receipt has been verified and saved; transient failures are retried with exponential
//! backoff and full jitter, across restarts. The agent links no server code.
//!
//! # What ends a snapshot's delivery
//!
//! Only a refusal the Vouch server itself made about the snapshot: a 4xx answer whose body is
//! the server's [`ErrorBody`] with a known [`RejectReason`] code, sent with that reason's own
//! status, and a reason that condemns the snapshot (see [`refusal_is_final`]). Such a snapshot
//! is moved to `spool/rejected/` and the later ones of its chain are re-signed onto its
//! predecessor. Everything else — connection errors and timeouts, 408, 425, 429, every 5xx, a
//! proxy's 4xx (HTML, empty, or JSON without a Vouch reason code) and the server's "not now"
//! reasons — leaves the snapshot spooled, to be retried with backoff, never sooner than a
//! `Retry-After` header asks. A spool file that cannot be read is set aside in
//! `spool/corrupt/`, logged and counted; delivery of the others goes on.

pub mod config;
pub mod state;
pub mod table;

use std::io;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use vouch_collectors::{Collected, Source, run_source};
use vouch_evidence::api::{EnrollRequest, EnrollResponse, ErrorBody, RejectReason, SubmitResponse};
use vouch_evidence::chain::Head;
use vouch_evidence::{ChainKey, Digest, PublicKey, Receipt, SCHEMA_VERSION, SigningKey, Snapshot};

use crate::config::AgentConfig;
use crate::state::{Enrollment, SpoolFileError, StateDir};

/// Why an agent operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Local state could not be read or written.
    #[error("state: {0}")]
    State(#[from] io::Error),
    /// TLS or HTTP client setup failed.
    #[error("client setup: {0}")]
    Client(String),
    /// Not done now, to be retried: the server could not be reached or timed out, answered
    /// 408, 425, 429 or 5xx, a proxy answered a 4xx of its own, or the server answered a
    /// reason that is not the request's fault (see [`refusal_is_final`]).
    #[error("not delivered, will retry: {message}")]
    Transient {
        /// What happened, for the log.
        message: String,
        /// How long the answer's `Retry-After` asked to wait, uncapped.
        retry_after: Option<Duration>,
        /// The Vouch reason, when the server itself answered with one.
        reason: Option<RejectReason>,
    },
    /// The Vouch server refused the request for good, with a reason.
    #[error("server refused: {reason}: {message}")]
    Refused {
        /// The server's reason.
        reason: RejectReason,
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

fn client_for(config: &AgentConfig) -> Result<reqwest::Client, AgentError> {
    let ca = match &config.server.ca_cert {
        Some(p) => Some(
            std::fs::read(p).map_err(|e| AgentError::Client(format!("{}: {e}", p.display())))?,
        ),
        None => None,
    };
    vouch_client::build_http_client(
        ca.as_deref(),
        Duration::from_secs(config.agent.request_timeout_secs),
        concat!("vouch-agent/", env!("CARGO_PKG_VERSION")),
    )
    .map_err(|e| AgentError::Client(e.0))
}

impl AgentError {
    fn unreachable(e: reqwest::Error) -> AgentError {
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        };
        AgentError::Transient {
            message: format!("{what}: {e}"),
            retry_after: None,
            reason: None,
        }
    }
}

/// Whether the server's refusal of a snapshot with `reason` is final for that snapshot (it is
/// moved to `spool/rejected/`), or means "not now" (it stays spooled and is retried).
///
/// Final: what is wrong is in the signed bytes themselves, and sending them again can only be
/// refused again — `malformed`, `oversize` (the server's own limit; a proxy's bare 413 is
/// retried), `payload_type`, `bad_signature`, `not_canonical`, `limit_exceeded`,
/// `invalid_snapshot`, `agent_mismatch`, `before_enrolment` (the collection instant is signed:
/// time will not make it later), and the chain refusals `chain_gap` and `chain_conflict` (the
/// later snapshots are then re-signed onto the refused one's predecessor).
///
/// Retried: `unknown_key` (an enrolment may not have reached every replica yet, or is being
/// repaired; the evidence is kept until an operator decides), `clock_skew` (the snapshot becomes
/// acceptable as the server's clock advances), the reasons that are about the request or the
/// route, not the snapshot — `bad_token`, `unauthorized`, `forbidden`, `not_found` (a wrong URL
/// or a proxy in between), `bad_request` (the server could not read the body: the stream
/// broke), `gone` — and any reason this agent does not know: evidence is never thrown away on a
/// guess. (The match is on the stable codes, so a reason added to the protocol is retried until
/// it is listed here.)
pub fn refusal_is_final(reason: RejectReason) -> bool {
    matches!(
        reason.as_str(),
        "malformed"
            | "oversize"
            | "payload_type"
            | "bad_signature"
            | "not_canonical"
            | "limit_exceeded"
            | "invalid_snapshot"
            | "agent_mismatch"
            | "chain_gap"
            | "chain_conflict"
            | "before_enrolment"
    )
}

/// Reads an answer that is not a success (see [`classify_answer`]).
async fn error_of(resp: reqwest::Response, is_final: fn(RejectReason) -> bool) -> AgentError {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.bytes().await.unwrap_or_default();
    classify_answer(
        status,
        retry_after.as_deref(),
        &body,
        SystemTime::now(),
        is_final,
    )
}

/// Classifies an answer that is not a success. It is [`AgentError::Refused`] only when the
/// status is a 4xx other than 408, 425 and 429, the body is the Vouch server's [`ErrorBody`]
/// with a known [`RejectReason`] code sent with that reason's own status, and `is_final` says
/// the reason is final; anything else (a proxy's bare 4xx, every 5xx) is
/// [`AgentError::Transient`], with the wait its `Retry-After` asks for, if any.
pub fn classify_answer(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    now: SystemTime,
    is_final: fn(RejectReason) -> bool,
) -> AgentError {
    let retry_after = retry_after.and_then(|v| parse_retry_after(v, now));
    let vouch = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| {
            RejectReason::ALL
                .into_iter()
                .find(|r| r.as_str() == b.error && r.http_status() == status)
                .map(|r| (r, b.message))
        });
    let retryable_status = matches!(status, 408 | 425 | 429) || !(400..500).contains(&status);
    match vouch {
        Some((reason, message)) if !retryable_status && is_final(reason) => {
            AgentError::Refused { reason, message }
        }
        Some((reason, message)) => AgentError::Transient {
            message: format!("HTTP {status} {reason}: {message}"),
            retry_after,
            reason: Some(reason),
        },
        None => AgentError::Transient {
            message: format!("HTTP {status} (no Vouch refusal in the answer)"),
            retry_after,
            reason: None,
        },
    }
}

/// How long a `Retry-After` header value asks to wait from `now`: delay-seconds, or an
/// HTTP-date (IMF-fixdate, RFC 850 or asctime, RFC 9110 section 10.2.3), a date already past
/// being no wait. `None` when the value is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(value, f).ok())?;
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(at.and_utc().timestamp()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait a `Retry-After` of `asked` imposes, capped at `max` (the longest backoff delay,
/// `agent.backoff_max_secs`) so that an absurd value cannot stop delivery for days; capping is
/// logged.
pub fn cap_retry_after(asked: Duration, max: Duration) -> Duration {
    if asked > max {
        tracing::warn!(
            retry_after_secs = asked.as_secs(),
            capped_at_secs = max.as_secs(),
            "the server's Retry-After is longer than agent.backoff_max_secs; capped"
        );
        max
    } else {
        asked
    }
}

/// Makes a key and enrolls it with a one-time token; `force` replaces an existing enrolment.
///
/// The new key is made beside the current one (`agent.key.new`); only once the server has
/// confirmed the enrolment (201, for this key) do the key and the enrolment record replace the
/// current ones (see [`StateDir::commit_enrollment`]). On any failure the current key and
/// enrolment stay as they were, usable.
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
    let client = client_for(config)?;
    let key = state.create_pending_key()?;
    match request_enrollment(config, &client, token, &key).await {
        Ok(enrollment) => {
            state.commit_enrollment(&enrollment)?;
            tracing::info!(agent_id = %enrollment.agent_id, keyid = %enrollment.keyid, "enrolled");
            Ok(enrollment)
        }
        Err(e) => {
            if let Err(discard) = state.discard_pending_key() {
                tracing::warn!(error = %discard, "cannot remove the unused new key");
            }
            Err(e)
        }
    }
}

/// The assets only this agent can name — its host, its cluster — declared at enrolment so the
/// server binds the agent to them (accounts and organisations are named by the token's scope).
pub async fn own_assets(config: &AgentConfig) -> Vec<vouch_evidence::api::AssetRef> {
    let mut out = Vec::new();
    for source in sources(config) {
        let named_by_agent =
            vouch_collectors::registration(source.name()).is_some_and(|r| r.kind.named_by_agent());
        if !named_by_agent {
            continue;
        }
        let asset = source
            .asset(&source.context(CancellationToken::new()))
            .await;
        if asset.kind.named_by_agent() {
            out.push(vouch_evidence::api::AssetRef {
                kind: asset.kind,
                id: asset.id,
            });
        }
    }
    out
}

/// Posts the enrolment of `key` and checks the server's confirmation.
async fn request_enrollment(
    config: &AgentConfig,
    client: &reqwest::Client,
    token: &str,
    key: &SigningKey,
) -> Result<Enrollment, AgentError> {
    let name = vouch_collectors::host::hostname_of(&config.collectors.host.root)
        .unwrap_or_else(|| "agent".into());
    let req = EnrollRequest {
        token: token.trim().to_string(),
        public_key: key.public().to_base64(),
        name,
        assets: own_assets(config).await,
    };
    let url = format!("{}/v1/enroll", config.server.url.trim_end_matches('/'));
    let resp = client
        .post(url)
        .json(&req)
        .send()
        .await
        .map_err(AgentError::unreachable)?;
    if resp.status() != reqwest::StatusCode::CREATED {
        // Every reason the server gives for refusing an enrolment is final for this attempt.
        return Err(error_of(resp, |_| true).await);
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
    Ok(Enrollment {
        server_url: config.server.url.clone(),
        agent_id: answer.agent_id,
        keyid: answer.keyid,
        server_key: answer.server_key,
    })
}

/// What one delivery pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Accepted now.
    pub delivered: usize,
    /// Already accepted before (a resend after a lost answer).
    pub duplicates: usize,
    /// Refused for good by the server (see [`refusal_is_final`]) and moved to
    /// `spool/rejected/`.
    pub rejected: usize,
    /// Still spooled (the server was unreachable, failing, or asked to retry later).
    pub pending: usize,
    /// Spool files that could not be read, moved to `spool/corrupt/` during this pass.
    pub corrupt: usize,
    /// The server's `Retry-After` when it asked to wait, capped at `agent.backoff_max_secs`:
    /// the next pass must not start sooner.
    pub retry_after: Option<Duration>,
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

    /// One delivery pass over every spooled chain, oldest first; no sleeping. A failure of the
    /// server or of the way to it (no connection, timeout, 408, 425, 429, 5xx, a proxy's 4xx)
    /// ends the pass, everything left counted pending; the server's "not now" for one snapshot
    /// leaves the rest of that chain pending. A refusal that is final moves the snapshot to
    /// `spool/rejected/` and re-signs the later ones; a file that cannot be read is set aside in
    /// `spool/corrupt/`, and the others are delivered.
    pub async fn deliver_pending(&self) -> Result<DeliveryReport, AgentError> {
        let _guard = self.lock.lock().await;
        let set_aside_before = self.state.corrupt_set_aside();
        let mut report = DeliveryReport::default();
        let chains = self.state.spooled_chains()?;
        let mut server_unavailable = false;
        for chain in &chains {
            if server_unavailable {
                report.pending += self.state.spooled(chain)?.len();
                continue;
            }
            if let Some(relink) = self.state.pending_relink(chain)? {
                tracing::warn!(chain = %chain, "resuming an interrupted re-signing of the spool");
                self.relink(chain, relink.base)?;
            }
            let mut files = self.state.spooled(chain)?;
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
                    Err(Undelivered::Corrupt(problem)) => {
                        let base = self.base_before(chain, seq, &path)?;
                        self.state.set_aside_corrupt(&path, &problem)?;
                        self.relink_onto(chain, base)?;
                        files = self.state.spooled(chain)?;
                        i = 0;
                    }
                    Err(Undelivered::Agent(AgentError::Refused { reason, message })) => {
                        let base = self.base_before(chain, seq, &path)?;
                        let error =
                            serde_json::json!({ "error": reason, "message": message }).to_string();
                        let moved = self.state.quarantine(&path, &error)?;
                        tracing::error!(chain = %chain, sequence = seq, code = %reason, message, moved = %moved.display(), "snapshot refused by the server");
                        report.rejected += 1;
                        self.relink_onto(chain, base)?;
                        files = self.state.spooled(chain)?;
                        i = 0;
                    }
                    Err(Undelivered::Agent(
                        e @ (AgentError::Transient { .. } | AgentError::BadAnswer(_)),
                    )) => {
                        // No Vouch reason: the server, or the way to it, is unavailable, and
                        // the other chains would fare no better.
                        let (unavailable, asked) = match &e {
                            AgentError::Transient {
                                reason,
                                retry_after,
                                ..
                            } => (reason.is_none(), *retry_after),
                            _ => (false, None),
                        };
                        tracing::warn!(chain = %chain, sequence = seq, error = %e, "not delivered; will retry");
                        report.pending += files.len() - i;
                        if let Some(asked) = asked {
                            let wait = cap_retry_after(asked, self.backoff_max());
                            report.retry_after =
                                Some(report.retry_after.unwrap_or_default().max(wait));
                        }
                        server_unavailable = unavailable;
                        break;
                    }
                    Err(Undelivered::Agent(e)) => return Err(e),
                }
            }
        }
        report.corrupt = self.state.corrupt_set_aside() - set_aside_before;
        Ok(report)
    }

    fn backoff_max(&self) -> Duration {
        Duration::from_secs(self.config.agent.backoff_max_secs)
    }

    /// Posts one envelope; Ok(true) for a duplicate. The receipt is verified against the
    /// server's key and saved before the envelope leaves the spool.
    async fn deliver_one(&self, path: &Path) -> Result<bool, Undelivered> {
        let spooled = match state::read_spooled(path) {
            Ok(s) => s,
            Err(SpoolFileError::Corrupt { problem, .. }) => {
                return Err(Undelivered::Corrupt(problem));
            }
            Err(e) => return Err(Undelivered::Agent(AgentError::State(e.into()))),
        };
        let digest = spooled.digest;
        let url = format!(
            "{}/v1/snapshots",
            self.config.server.url.trim_end_matches('/')
        );
        let resp = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(spooled.bytes)
            .send()
            .await
            .map_err(AgentError::unreachable)?;
        if !resp.status().is_success() {
            return Err(error_of(resp, refusal_is_final).await.into());
        }
        for warning in resp.headers().get_all(vouch_evidence::api::WARNING_HEADER) {
            let warning = String::from_utf8_lossy(warning.as_bytes());
            tracing::warn!(digest = %digest, "the server accepted the snapshot with a warning: {}", vouch_evidence::limits::truncate_echo(&warning));
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
            ))
            .into());
        }
        self.state
            .acknowledge(path, digest, &answer.receipt.to_vec())
            .map_err(AgentError::State)?;
        Ok(answer.duplicate)
    }

    /// The link the spooled snapshots of `chain` after the one at `seq` (in `path`, about to
    /// leave the spool unaccepted) must follow: its predecessor, which the server accepted.
    /// Taken from the snapshot itself when it can be read, else from the saved receipts.
    fn base_before(&self, chain: &ChainKey, seq: u64, path: &Path) -> Result<Base, AgentError> {
        if let Ok(snapshot) = state::read_spooled_snapshot(path) {
            return Ok(Base::Known(snapshot.previous_digest.map(|digest| Head {
                sequence: snapshot.sequence - 1,
                digest,
            })));
        }
        if seq <= 1 {
            return Ok(Base::Known(None));
        }
        Ok(match self.state.acknowledged(chain, seq - 1)? {
            Some(digest) => Base::Known(Some(Head {
                sequence: seq - 1,
                digest,
            })),
            None => Base::Unknown,
        })
    }

    /// [`Agent::relink`] onto `base` when it is known; otherwise the spool is left as it is,
    /// with an error in the log (its snapshots may then be refused, and are kept in
    /// `spool/rejected/`).
    fn relink_onto(&self, chain: &ChainKey, base: Base) -> Result<(), AgentError> {
        match base {
            Base::Known(base) => self.relink(chain, base),
            Base::Unknown => {
                tracing::error!(chain = %chain, "cannot re-sign the spool: the last accepted link is unknown (no receipt)");
                Ok(())
            }
        }
    }

    /// After a snapshot left the spool unaccepted (refused, or unreadable), re-links the
    /// spooled snapshots of `chain` onto `base`, the last link the server accepted (`None`:
    /// they start the chain), and re-signs them. They were never accepted, so no proof is lost;
    /// without this, every later snapshot would name a link the server never stored and the
    /// chain would be stuck forever.
    ///
    /// Nothing is deleted before its replacement is durable: each re-signed envelope is written
    /// to a temporary file in the spool directory, fsynced, renamed into place and the directory
    /// fsynced ([`StateDir::spool`]); only then is the original removed. The re-signing is
    /// recorded first ([`StateDir::begin_relink`]) so that an interruption is resumed by the next
    /// delivery pass; an original whose re-signed copy was written just before an interruption
    /// is recognised (same snapshot, chain fields aside) and removed rather than signed twice.
    /// A spooled file that cannot be read is set aside.
    fn relink(&self, chain: &ChainKey, base: Option<Head>) -> Result<(), AgentError> {
        self.state.begin_relink(chain, base)?;
        let mut head = base;
        let mut previous: Option<Snapshot> = None;
        for (_, path) in self.state.spooled(chain)? {
            let mut snapshot = match state::read_spooled_snapshot(&path) {
                Ok(s) => s,
                Err(SpoolFileError::Corrupt { problem, .. }) => {
                    self.state.set_aside_corrupt(&path, &problem)?;
                    continue;
                }
                Err(e) => return Err(AgentError::State(e.into())),
            };
            snapshot.sequence = 0;
            snapshot.previous_digest = None;
            if previous.as_ref() == Some(&snapshot) {
                tracing::info!(chain = %chain, path = %path.display(), "removing a snapshot already re-signed before an interruption");
                self.state.remove_spooled(&path)?;
                continue;
            }
            previous = Some(snapshot.clone());
            snapshot.sequence = head.map_or(1, |h| h.sequence + 1);
            snapshot.previous_digest = head.map(|h| h.digest);
            let (envelope, digest) = snapshot
                .sign(&self.key)
                .map_err(|e| AgentError::Sign(e.to_string()))?;
            let written = self
                .state
                .spool(chain, snapshot.sequence, &envelope.to_vec())?;
            if written != path {
                self.state.remove_spooled(&path)?;
            }
            head = Some(Head {
                sequence: snapshot.sequence,
                digest,
            });
        }
        match head {
            Some(h) => self.state.set_head(chain, h)?,
            None => self.state.clear_head(chain)?,
        }
        self.state.end_relink(chain)?;
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
        // The server's Retry-After: no delivery before this instant, even after a collection.
        let mut hold_until: Option<tokio::time::Instant> = None;
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
                let now = tokio::time::Instant::now();
                retry_at = Some(hold_until.map_or(now, |h| h.max(now)));
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
                        hold_until = None;
                        tracing::info!(
                            delivered = r.delivered,
                            duplicates = r.duplicates,
                            rejected = r.rejected,
                            corrupt = r.corrupt,
                            "spool delivered"
                        );
                    }
                    Ok(r) => {
                        let delay = backoff.next_delay().max(r.retry_after.unwrap_or_default());
                        tracing::warn!(
                            pending = r.pending,
                            corrupt = r.corrupt,
                            retry_in_ms = delay.as_millis() as u64,
                            retry_after_ms = r.retry_after.map(|d| d.as_millis() as u64),
                            "delivery incomplete"
                        );
                        let now = tokio::time::Instant::now();
                        hold_until = r.retry_after.map(|d| now + d);
                        retry_at = Some(now + delay);
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

/// The link a chain's spool is re-signed onto.
enum Base {
    /// The last link the server accepted (`None`: the spool starts the chain).
    Known(Option<Head>),
    /// Not known: nothing can be re-signed.
    Unknown,
}

/// Why one spooled envelope was not delivered.
enum Undelivered {
    /// The file is not an envelope the agent can send: it is set aside.
    Corrupt(String),
    /// Anything else.
    Agent(AgentError),
}

impl From<AgentError> for Undelivered {
    fn from(e: AgentError) -> Self {
        Undelivered::Agent(e)
    }
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// The enabled sources of a configuration, in the source registry's order.
pub fn sources(config: &AgentConfig) -> Vec<Box<dyn Source>> {
    config.collectors.sources()
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

    fn vouch_body(code: &str) -> Vec<u8> {
        serde_json::json!({ "error": code, "message": "why" })
            .to_string()
            .into_bytes()
    }

    fn is_refused(e: &AgentError) -> bool {
        matches!(e, AgentError::Refused { .. })
    }

    /// Regression (issue 15, defect 3: "any 4xx is taken as permanent"): a proxy's 408, 413
    /// or 429, a bare 4xx, every 5xx, and the server's "not now" reasons leave the snapshot
    /// spooled; only the server's own refusal with a final reason, at that reason's status, is
    /// permanent.
    #[test]
    fn only_a_vouch_refusal_with_a_final_reason_is_permanent_every_other_4xx_is_retried() {
        let now = SystemTime::now();
        let classify =
            |status, body: &[u8]| classify_answer(status, None, body, now, refusal_is_final);
        let html = b"<html><body>Too Many Requests</body></html>".as_slice();
        for status in [400, 401, 403, 404, 408, 409, 413, 422, 425, 429, 451] {
            assert!(!is_refused(&classify(status, html)), "{status} with HTML");
            assert!(!is_refused(&classify(status, b"")), "{status} empty");
            assert!(
                !is_refused(&classify(
                    status,
                    br#"{"error":"rate_limited","message":"slow"}"#
                )),
                "{status} with JSON but no Vouch code"
            );
        }
        for status in [500, 502, 503, 504] {
            assert!(!is_refused(&classify(status, &vouch_body("internal"))));
            assert!(!is_refused(&classify(status, &vouch_body("malformed"))));
        }
        // The server's final refusals, each at its own status.
        for (status, code) in [
            (400, "malformed"),
            (400, "invalid_snapshot"),
            (400, "not_canonical"),
            (403, "bad_signature"),
            (403, "agent_mismatch"),
            (409, "chain_gap"),
            (409, "chain_conflict"),
            (413, "oversize"),
        ] {
            match classify(status, &vouch_body(code)) {
                AgentError::Refused { reason, message } => {
                    assert_eq!(reason.as_str(), code);
                    assert_eq!(message, "why");
                }
                e => panic!("{status} {code}: {e:?}"),
            }
        }
        // A Vouch code at another status than its own is not the server's answer.
        assert!(!is_refused(&classify(429, &vouch_body("malformed"))));
        assert!(!is_refused(&classify(408, &vouch_body("malformed"))));
        assert!(!is_refused(&classify(500, &vouch_body("chain_gap"))));
        // The server's "not now" reasons are retried, and say which reason they were.
        for (status, code) in [
            (401, "unknown_key"),
            (422, "clock_skew"),
            (400, "bad_request"),
            (404, "not_found"),
            (401, "unauthorized"),
        ] {
            match classify(status, &vouch_body(code)) {
                AgentError::Transient {
                    reason: Some(r), ..
                } => assert_eq!(r.as_str(), code),
                e => panic!("{status} {code}: {e:?}"),
            }
        }
    }

    #[test]
    fn every_known_reason_has_a_decision_and_the_snapshot_faults_are_final() {
        let finals: Vec<&str> = RejectReason::ALL
            .into_iter()
            .filter(|r| refusal_is_final(*r))
            .map(|r| r.as_str())
            .collect();
        for code in [
            "malformed",
            "oversize",
            "payload_type",
            "bad_signature",
            "not_canonical",
            "invalid_snapshot",
            "agent_mismatch",
            "chain_gap",
            "chain_conflict",
        ] {
            assert!(finals.contains(&code), "{code}");
        }
        for code in [
            "unknown_key",
            "clock_skew",
            "bad_token",
            "bad_request",
            "gone",
        ] {
            assert!(!finals.contains(&code), "{code}");
        }
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_an_http_date_and_carried_by_the_error() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        for date in [
            "Sun, 06 Nov 1994 08:51:37 GMT",
            "Sunday, 06-Nov-94 08:51:37 GMT",
            "Sun Nov  6 08:51:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(date, now),
                Some(Duration::from_secs(120)),
                "{date}"
            );
        }
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date already past: no wait"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
        match classify_answer(429, Some("7"), b"", now, refusal_is_final) {
            AgentError::Transient {
                retry_after,
                reason: None,
                ..
            } => assert_eq!(retry_after, Some(Duration::from_secs(7))),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn an_absurd_retry_after_is_capped_at_the_longest_backoff() {
        let max = Duration::from_secs(300);
        assert_eq!(
            cap_retry_after(Duration::from_secs(5), max),
            Duration::from_secs(5)
        );
        assert_eq!(cap_retry_after(Duration::from_secs(86_400 * 30), max), max);
    }
}
