//! The server's shared state: the store, the enrolled keys in memory, the receipt key, metrics.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use vouch_evidence::{Clock, Digest, KeyId, SigningKey, Timestamp};

use crate::auth::{self, Role};
use crate::files::write_private;
use crate::metrics::Metrics;
use crate::scope::Scope;
use crate::store::access::TokenInvalid;
use crate::store::sqlite::SqliteStore;
use crate::store::{
    AgentRecord, AuditEntry, Revocation, RevokeOutcome, Store, StoreError, TokenRecord,
};

/// How long an enrolment token is valid unless told otherwise: 24 hours.
pub const DEFAULT_ENROLL_TOKEN_TTL_SECS: u64 = 24 * 3600;
/// The longest an enrolment token may be valid: 30 days.
pub const MAX_ENROLL_TOKEN_TTL_SECS: u64 = 30 * 86_400;
/// How long an API token is valid unless told otherwise: 90 days.
pub const DEFAULT_API_TOKEN_TTL_SECS: u64 = 90 * 86_400;
/// The longest an API token may be valid: 400 days (a yearly rotation with a margin).
pub const MAX_API_TOKEN_TTL_SECS: u64 = 400 * 86_400;
/// How often a token's last use is written, at most (per token and process).
const TOKEN_TOUCH_SECS: i64 = 60;

/// Why a bearer token (or the token behind a session) is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    /// No such token.
    Unknown,
    /// It expired at this instant.
    Expired(Timestamp),
    /// It was revoked at this instant.
    Revoked(Timestamp),
}

/// Limits the ingest path enforces.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest body, bytes.
    pub max_body_bytes: usize,
    /// Largest clock skew into the future, seconds.
    pub clock_skew_secs: u64,
}

/// Why the state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The receipt key file is unusable.
    #[error("{path}: {problem}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// Cheap to clone; everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    pub keys: RwLock<HashMap<KeyId, AgentRecord>>,
    /// When the keyring was last read from the store on a miss.
    /// Held while the keyring is read again, so that concurrent misses wait for that read.
    pub keys_reloaded: tokio::sync::Mutex<Option<std::time::Instant>>,
    pub receipt_key: SigningKey,
    pub metrics: Metrics,
    pub limits: Limits,
    pub catalogs: std::sync::OnceLock<vouch_policies::Catalogs>,
    pub policies: std::sync::OnceLock<Arc<crate::controls::Policies>>,
    pub alerter: std::sync::OnceLock<crate::alerts::Alerter>,
    pub retention: std::sync::OnceLock<crate::retention::RetentionConfig>,
    /// Where "now" comes from (fixed by tests).
    pub clock: RwLock<Clock>,
    /// Refusals of unauthenticated clients, counted in memory.
    pub refusals: crate::refusals::Refusals,
    /// Rate limits and the budget of unauthenticated bytes.
    pub guards: std::sync::OnceLock<crate::connections::Guards>,
    /// Who may read `/metrics` (set once at start).
    pub metrics_access: std::sync::OnceLock<MetricsAccess>,
    /// When each token's last use was last written (so a busy token writes once a minute).
    pub token_touched: std::sync::Mutex<HashMap<Digest, Timestamp>>,
}

impl AppState {
    /// State over `store`, signing receipts with `receipt_key`; loads the enrolled keys.
    pub async fn new(
        store: Arc<dyn Store>,
        receipt_key: SigningKey,
        limits: Limits,
    ) -> Result<Self, StoreError> {
        let keys = store
            .agents()
            .await?
            .into_iter()
            .map(|a| (a.keyid(), a))
            .collect();
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                keys: RwLock::new(keys),
                keys_reloaded: tokio::sync::Mutex::new(None),
                receipt_key,
                metrics: Metrics::default(),
                limits,
                catalogs: std::sync::OnceLock::new(),
                policies: std::sync::OnceLock::new(),
                alerter: std::sync::OnceLock::new(),
                retention: std::sync::OnceLock::new(),
                clock: RwLock::new(Clock::System),
                token_touched: std::sync::Mutex::new(HashMap::new()),
                refusals: Default::default(),
                guards: std::sync::OnceLock::new(),
                metrics_access: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Opens the embedded SQLite store and the receipt key under `data_dir`, creating them on
    /// the first run.
    pub async fn open_data_dir(data_dir: &Path, limits: Limits) -> Result<Self, StateError> {
        Self::open(data_dir, None, limits).await
    }

    /// Opens the receipt key in `data_dir` and the store: PostgreSQL at `database_url` (or at
    /// `VOUCH_DATABASE_URL`), else SQLite in `data_dir`.
    pub async fn open(
        data_dir: &Path,
        database_url: Option<&str>,
        limits: Limits,
    ) -> Result<Self, StateError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StateError::Key {
            path: data_dir.display().to_string(),
            problem: format!("cannot create data directory: {e}"),
        })?;
        let receipt_key = load_or_create_key(&data_dir.join("receipt.key"))?;
        let url = std::env::var("VOUCH_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(|| database_url.map(str::to_string));
        let store: Arc<dyn Store> = match url {
            Some(url) => Arc::new(crate::store::postgres::PgStore::connect(&url).await?),
            None => Arc::new(SqliteStore::open(&data_dir.join("vouch.db"))?),
        };
        Ok(Self::new(store, receipt_key, limits).await?)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The control catalogs (those of the policies in charge, else the built-in ones).
    pub fn catalogs(&self) -> &vouch_policies::Catalogs {
        if let Some(p) = self.policies() {
            return p.catalogs();
        }
        self.inner
            .catalogs
            .get_or_init(vouch_policies::Catalogs::builtin)
    }

    /// Policy evaluation, when this server judges evidence (`vouch serve` and `vouch up` do;
    /// a bare state in tests does not until [`set_policies`](Self::set_policies)).
    pub fn policies(&self) -> Option<&Arc<crate::controls::Policies>> {
        self.inner.policies.get()
    }

    /// Puts `policies` in charge of judging evidence (once; later calls change nothing).
    pub fn set_policies(&self, policies: Arc<crate::controls::Policies>) {
        let _ = self.inner.policies.set(policies);
    }

    /// The alerter, when webhooks are configured.
    pub fn alerter(&self) -> Option<crate::alerts::Alerter> {
        self.inner.alerter.get().cloned()
    }

    /// Sends control alerts with `alerter` (once; later calls change nothing).
    pub fn set_alerter(&self, alerter: crate::alerts::Alerter) {
        let _ = self.inner.alerter.set(alerter);
    }

    /// The retention configuration (default: keep everything).
    pub fn retention(&self) -> &crate::retention::RetentionConfig {
        self.inner.retention.get_or_init(Default::default)
    }

    /// Applies `retention` (once; later calls change nothing).
    pub fn set_retention(&self, retention: crate::retention::RetentionConfig) {
        let _ = self.inner.retention.set(retention);
    }

    /// Applies retention now (see [`crate::retention`]) with the pack in force.
    pub async fn expire(&self) -> Result<crate::retention::ExpiryReport, StoreError> {
        let Some(policies) = self.policies() else {
            return Err(StoreError::Backend(
                "retention needs the policy pack in force to know which frameworks each asset kind serves".into(),
            ));
        };
        let judge = policies.in_force();
        let report = crate::retention::expire(
            self.store().as_ref(),
            self.store().objects(),
            self.retention(),
            judge.pack(),
            now(),
        )
        .await?;
        self.metrics().expired(report.expired);
        Ok(report)
    }

    /// The rate limits and byte budget in force (the defaults until [`set_guards`](Self::set_guards)).
    pub fn guards(&self) -> &crate::connections::Guards {
        self.inner.guards.get_or_init(Default::default)
    }

    /// Enforces `guards` (once; later calls change nothing).
    pub fn set_guards(&self, guards: crate::connections::Guards) {
        let _ = self.inner.guards.set(guards);
    }

    /// Who may read `/metrics`: by default anyone, on the HTTPS listener.
    pub fn metrics_access(&self) -> &MetricsAccess {
        self.inner.metrics_access.get_or_init(Default::default)
    }

    /// Sets who may read `/metrics` (once; later calls change nothing).
    pub fn set_metrics_access(&self, access: MetricsAccess) {
        let _ = self.inner.metrics_access.set(access);
    }

    /// Refusals of unauthenticated clients, counted (see [`crate::refusals`]).
    pub fn refusals(&self) -> &crate::refusals::Refusals {
        &self.inner.refusals
    }

    /// Writes the counted refusals to the store in one write; on failure they are kept for the
    /// next attempt.
    pub async fn flush_refusals(&self) -> Result<(), StoreError> {
        let counts = self.inner.refusals.take();
        if counts.is_empty() {
            return Ok(());
        }
        match self.inner.store.add_rejection_counts(counts.clone()).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.inner.refusals.put_back(counts);
                Err(e)
            }
        }
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The server's signing key (receipts, bundle manifests).
    pub fn receipt_key(&self) -> &SigningKey {
        &self.inner.receipt_key
    }

    /// The public half of the receipt key.
    pub fn receipt_public_key(&self) -> &vouch_evidence::PublicKey {
        self.inner.receipt_key.public()
    }

    /// The current instant by the server's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.read().expect("clock lock").now()
    }

    /// The server's clock.
    pub fn clock(&self) -> Clock {
        *self.inner.clock.read().expect("clock lock")
    }

    /// Sets the server's clock (tests).
    pub fn set_clock(&self, clock: Clock) {
        *self.inner.clock.write().expect("clock lock") = clock;
    }

    /// Issues a one-time enrolment token for `scope`, valid for `ttl_secs` (at most 30 days);
    /// returns it (shown once). `by` says who asked, for the audit log.
    pub async fn create_enroll_token(
        &self,
        ttl_secs: u64,
        scope: &Scope,
        label: &str,
        by: &str,
    ) -> Result<String, StoreError> {
        if ttl_secs > MAX_ENROLL_TOKEN_TTL_SECS {
            return Err(StoreError::Backend(format!(
                "an enrolment token lives at most {MAX_ENROLL_TOKEN_TTL_SECS} s (30 days), not {ttl_secs} s"
            )));
        }
        let (token, hash) =
            auth::new_token("enroll").map_err(|e| StoreError::Backend(e.to_string()))?;
        let created = self.now();
        let expires = after(created, ttl_secs)?;
        let label = vouch_evidence::limits::truncate_echo(label);
        self.inner
            .store
            .add_enroll_token(hash, created, expires, scope, &label)
            .await?;
        self.audit(
            by,
            "token.issue",
            &format!("enroll token {}", &hash.to_hex()[..12]),
            &format!("scope {scope}, expires {expires}"),
        )
        .await?;
        Ok(token)
    }

    /// Issues an API token for `role` valid for the default 90 days, recorded as issued by the
    /// server itself; returns it (shown once).
    pub async fn create_api_token(&self, role: Role, label: &str) -> Result<String, StoreError> {
        self.issue_api_token(role, label, DEFAULT_API_TOKEN_TTL_SECS, "server")
            .await
    }

    /// Issues an API token for `role`, valid for `ttl_secs` (at most 400 days); returns it
    /// (shown once). `by` says who asked, for the audit log.
    pub async fn issue_api_token(
        &self,
        role: Role,
        label: &str,
        ttl_secs: u64,
        by: &str,
    ) -> Result<String, StoreError> {
        if ttl_secs > MAX_API_TOKEN_TTL_SECS {
            return Err(StoreError::Backend(format!(
                "an API token lives at most {MAX_API_TOKEN_TTL_SECS} s (400 days), not {ttl_secs} s"
            )));
        }
        let (token, hash) =
            auth::new_token(role.as_str()).map_err(|e| StoreError::Backend(e.to_string()))?;
        let created = self.now();
        let expires = after(created, ttl_secs)?;
        let label = vouch_evidence::limits::truncate_echo(label);
        self.inner
            .store
            .add_api_token(hash, role, &label, created, expires)
            .await?;
        self.audit(
            by,
            "token.issue",
            &format!("{role} token {}", &hash.to_hex()[..12]),
            &format!("label {label:?}, expires {expires}"),
        )
        .await?;
        Ok(token)
    }

    /// The role of the API token with hash `hash`, if it is known, unexpired and unrevoked;
    /// its use is recorded (at most once a minute per token).
    pub async fn token_role(&self, hash: Digest) -> Result<Result<Role, TokenRefusal>, StoreError> {
        let Some(token) = self.inner.store.api_token(hash).await? else {
            return Ok(Err(TokenRefusal::Unknown));
        };
        let now = self.now();
        match token.invalid_at(now) {
            Some(TokenInvalid::Revoked(at)) => return Ok(Err(TokenRefusal::Revoked(at))),
            Some(TokenInvalid::Expired(at)) => return Ok(Err(TokenRefusal::Expired(at))),
            None => {}
        }
        let crate::store::TokenKind::Api(role) = token.kind else {
            return Ok(Err(TokenRefusal::Unknown));
        };
        let due = {
            let mut touched = self.inner.token_touched.lock().expect("touch lock");
            let due = touched.get(&hash).is_none_or(|t| {
                now.unix_micros() - t.unix_micros() >= TOKEN_TOUCH_SECS * 1_000_000
            });
            if due {
                touched.insert(hash, now);
            }
            due
        };
        if due && let Err(e) = self.inner.store.touch_token(hash, now).await {
            tracing::warn!(error = %e, "cannot record a token's use");
        }
        Ok(Ok(role))
    }

    /// Every API and enrolment token (their hashes only), newest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.inner.store.tokens().await
    }

    /// Revokes the token with id `id` (see [`TokenRecord::id`]); `by` says who, for the audit
    /// log. Sessions signed in with it end at their next request.
    pub async fn revoke_token(
        &self,
        id: &str,
        reason: &str,
        by: &str,
    ) -> Result<RevokeOutcome<TokenRecord>, StoreError> {
        let revocation = self.revocation(reason, by);
        self.inner.store.revoke_token(id, revocation).await
    }

    /// Revokes agent `agent_id`: nothing it signs is accepted from now on (on every replica
    /// within [`KEYRING_REFRESH_SECS`]); what it signed before stays verifiable.
    pub async fn revoke_agent(
        &self,
        agent_id: &str,
        reason: &str,
        by: &str,
    ) -> Result<RevokeOutcome<AgentRecord>, StoreError> {
        let revocation = self.revocation(reason, by);
        let outcome = self.inner.store.revoke_agent(agent_id, revocation).await?;
        if let RevokeOutcome::Revoked(agent) | RevokeOutcome::AlreadyRevoked(agent) = &outcome {
            self.add_agent(agent.clone());
        }
        Ok(outcome)
    }

    fn revocation(&self, reason: &str, by: &str) -> Revocation {
        Revocation {
            at: self.now(),
            reason: vouch_evidence::limits::truncate_echo(reason.trim()),
            by: vouch_evidence::limits::truncate_echo(by),
        }
    }

    /// Appends to the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.inner
            .store
            .audit(AuditEntry {
                at: self.now(),
                actor: vouch_evidence::limits::truncate_echo(actor),
                action: action.to_string(),
                subject: vouch_evidence::limits::truncate_echo(subject),
                detail: vouch_evidence::limits::truncate_echo(detail),
            })
            .await
    }

    /// Reads every agent from the store again and replaces the keyring: revocations made by
    /// the command line or another replica take effect here. The serve loop calls it every
    /// [`KEYRING_REFRESH_SECS`].
    pub async fn refresh_keys(&self) -> Result<(), StoreError> {
        let agents = self.inner.store.agents().await?;
        let fresh: HashMap<KeyId, AgentRecord> =
            agents.into_iter().map(|a| (a.keyid(), a)).collect();
        *self.inner.keys.write().expect("keyring lock") = fresh;
        Ok(())
    }

    /// Every enrolled agent, in enrolment order.
    pub async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        self.inner.store.agents().await
    }

    /// Reads the keyring from the store again (agents enrolled through another replica), at
    /// most once a second however many submissions with unknown keys arrive.
    pub(crate) async fn reload_keys(&self) -> Result<(), StoreError> {
        // Concurrent misses queue here: the first reads, the others find the read just made.
        let mut last = self.inner.keys_reloaded.lock().await;
        if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
            return Ok(());
        }
        let agents = self.inner.store.agents().await?;
        {
            let mut keys = self.inner.keys.write().expect("keyring lock");
            for agent in agents {
                keys.insert(agent.keyid(), agent);
            }
        }
        *last = Some(std::time::Instant::now());
        Ok(())
    }

    /// The enrolled agent whose key has `keyid`, copied out so no lock is held while its
    /// signature is checked.
    pub(crate) fn agent_by_key(&self, keyid: &KeyId) -> Option<AgentRecord> {
        self.inner
            .keys
            .read()
            .expect("keyring lock")
            .get(keyid)
            .cloned()
    }

    /// Adds a newly enrolled agent to the in-memory keyring.
    pub(crate) fn add_agent(&self, agent: AgentRecord) {
        self.inner
            .keys
            .write()
            .expect("keyring lock")
            .insert(agent.keyid(), agent);
    }

    /// Every enrolled key as `ed25519 <base64> <agent id>` lines, then the receipt key.
    pub fn keys_text(&self) -> String {
        let keys = self.inner.keys.read().expect("keyring lock");
        let mut agents: Vec<&AgentRecord> = keys.values().collect();
        agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        let mut out =
            String::from("# Vouch public keys: enrolled agents, then the server's receipt key.\n");
        for a in &agents {
            out.push_str(&a.public_key.to_line(&a.agent_id));
            out.push('\n');
        }
        for a in &agents {
            if let Some(r) = &a.revoked {
                out.push_str(&crate::verify::revocation_line(
                    &a.agent_id,
                    r.at,
                    &r.reason,
                ));
                out.push('\n');
            }
        }
        out.push_str(&self.receipt_public_key().to_line("vouch-server-receipts"));
        out.push('\n');
        out
    }
}

/// How often a serving process reads the keyring again (revocations made elsewhere).
pub const KEYRING_REFRESH_SECS: u64 = 5;

/// `at` plus `secs`, or an error when out of range.
fn after(at: Timestamp, secs: u64) -> Result<Timestamp, StoreError> {
    i64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000))
        .and_then(|us| at.unix_micros().checked_add(us))
        .and_then(Timestamp::from_unix_micros)
        .ok_or_else(|| StoreError::Backend(format!("a TTL of {secs} s is out of range")))
}

/// An instant as people type it: RFC 3339, or a date (`YYYY-MM-DD`), meaning its midnight UTC;
/// the text RFC 3339 parsing takes. The command line and the dashboard read dates this way.
pub fn expand_date(text: &str) -> String {
    let t = text.trim();
    if t.len() == 10 {
        format!("{t}T00:00:00Z")
    } else {
        t.to_string()
    }
}

/// [`expand_date`], parsed; `Err` names the problem.
pub fn parse_instant(text: &str) -> Result<Timestamp, String> {
    expand_date(text).parse().map_err(|_| {
        format!(
            "{:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant",
            text.trim()
        )
    })
}

/// Who may read `/metrics` ([`crate::config::MetricsConfig`]).
#[derive(Clone, Debug)]
pub struct MetricsAccess {
    /// Served on the HTTPS listener (false when it has its own address).
    pub on_main_listener: bool,
    /// SHA-256 of the token a scrape must present, when one is required.
    pub token: Option<Digest>,
}

impl Default for MetricsAccess {
    fn default() -> Self {
        MetricsAccess {
            on_main_listener: true,
            token: None,
        }
    }
}

impl AsRef<Metrics> for AppState {
    fn as_ref(&self) -> &Metrics {
        self.metrics()
    }
}

pub use crate::clock::now;

/// Reads an Ed25519 seed (base64) from `path`, or creates one with mode 0600.
pub fn load_or_create_key(path: &Path) -> Result<SigningKey, StateError> {
    let err = |problem: String| StateError::Key {
        path: path.display().to_string(),
        problem,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = B64
                .decode(text.trim())
                .map_err(|_| err("not base64".into()))?;
            let seed: [u8; 32] = bytes
                .try_into()
                .map_err(|_| err("an Ed25519 seed has 32 bytes".into()))?;
            Ok(SigningKey::from_seed(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| err(format!("no randomness: {e}")))?;
            write_private(path, format!("{}\n", B64.encode(seed)).as_bytes())
                .map_err(|e| err(e.to_string()))?;
            Ok(SigningKey::from_seed(&seed))
        }
        Err(e) => Err(err(e.to_string())),
    }
}
