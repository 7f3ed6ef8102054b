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

mod answers;
pub mod config;
mod deliver;
mod enrol;
mod rotate;
pub mod state;
pub mod table;

use answers::error_of;
pub use answers::{Backoff, cap_retry_after, classify_answer, parse_retry_after, refusal_is_final};
pub use enrol::{enroll, own_assets};
pub use rotate::rotate_key;

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
    /// The server's transparency log does not prove what it must: the snapshot is not in the
    /// signed tree, or the log this agent saw before is not a prefix of it (rewritten, forked,
    /// truncated). The snapshot stays spooled, unacknowledged; every delivery says so again.
    #[error("the server's transparency log is not consistent: {0}")]
    Log(#[from] vouch_evidence::logproofs::LogCheckError),
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

/// What one delivery pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
    /// Why the server's transparency log was refused, when it was: the server showed this
    /// agent a log that is not the one it saw before (also logged as an error and kept in
    /// `log/alarm.json`).
    pub log_refusal: Option<vouch_evidence::logproofs::LogCheckError>,
}

/// An enrolled agent.
pub struct Agent {
    config: AgentConfig,
    state: StateDir,
    /// The signing key: replaced when `vouch-agent rotate-key` has rotated it (read again
    /// from the state directory when the enrolment record names another key).
    key: std::sync::RwLock<std::sync::Arc<SigningKey>>,
    enrollment: Enrollment,
    /// The server's receipts key: the one of enrolment, followed through the server's
    /// rotations (each signed by the key it retires).
    server_key: std::sync::RwLock<PublicKey>,
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
            key: std::sync::RwLock::new(std::sync::Arc::new(key)),
            enrollment,
            server_key: std::sync::RwLock::new(server_key),
            client,
            lock: Mutex::new(()),
        })
    }

    /// The key to sign with now: the one in memory, or, when the enrolment record names
    /// another (the key was rotated by `vouch-agent rotate-key` while this process ran), the
    /// one on disk, checked against the record.
    pub fn signing_key(&self) -> Result<std::sync::Arc<SigningKey>, AgentError> {
        let current = self.key.read().expect("key lock").clone();
        let recorded = self.state.load_enrollment()?.keyid;
        if recorded == current.id().to_string() {
            return Ok(current);
        }
        let key = self.state.load_key()?;
        if key.id().to_string() != recorded {
            return Err(AgentError::State(io::Error::other(
                "agent.key does not match enrollment.json",
            )));
        }
        tracing::info!(old = %current.id(), new = %key.id(), "signing with the rotated key");
        let key = std::sync::Arc::new(key);
        *self.key.write().expect("key lock") = key.clone();
        Ok(key)
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
            .sign(&*self.signing_key()?)
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
                // Not abandoned at shutdown: the request in flight is answered and its receipt
                // kept, and the pass stops before the next snapshot.
                let report = self.deliver_pending_until(&shutdown).await;
                if shutdown.is_cancelled() {
                    break;
                }
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

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// The enabled sources of a configuration, in the source registry's order.
pub fn sources(config: &AgentConfig) -> Vec<Box<dyn Source>> {
    collectors(config).sources()
}

/// The configuration's `[collectors]`, the host source given the state directory's `cache/`
/// to keep what it computed between processes (the apt lists' offers): a new agent process
/// then need not read the lists again while they are unchanged. When the state directory
/// does not exist (a `collect` before any `run`), nothing is kept.
fn collectors(config: &AgentConfig) -> config::CollectorsSection {
    let mut c = config.collectors.clone();
    c.host.cache_dir = Some(config.agent.state_dir.join(state::CACHE_DIR));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_source_keeps_its_cache_in_the_state_directory_only() {
        let text = "[server]\nurl = \"https://127.0.0.1:9\"\n[agent]\nstate_dir = \"/srv/vouch\"\n";
        let config = AgentConfig::parse("agent.toml", text).unwrap();
        assert_eq!(config.collectors.host.cache_dir, None);
        assert_eq!(
            collectors(&config).host.cache_dir,
            Some(std::path::PathBuf::from("/srv/vouch/cache"))
        );
        // Not a key of the file: the cache is the agent's, beside its key.
        let set = format!("{text}[collectors.host]\ncache_dir = \"/tmp\"\n");
        let errs = AgentConfig::parse("agent.toml", &set).unwrap_err();
        assert!(errs.to_string().contains("cache_dir"), "{errs}");
    }

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
