//! The server's shared state: the store, the enrolled keys in memory, the receipt key, metrics.

mod access;
mod log;
mod rendered;

pub use rendered::Rendered;

pub use log::LogSigner;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use vouch_evidence::{Clock, Digest, KeyId, SigningKey, Timestamp};

use crate::auth::{self, Person, Role};
use crate::files::write_private;
use crate::metrics::Metrics;
use crate::scope::Scope;
use crate::store::access::TokenInvalid;
use crate::store::sqlite::SqliteStore;
use crate::store::{
    AgentRecord, AuditEntry, Revocation, RevokeOutcome, Store, StoreError, TokenRecord,
};
use crate::store::{LogHead, RetiredKey};

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
    /// Keys agents held before their current one.
    pub retired: RwLock<HashMap<KeyId, RetiredKey>>,
    /// When the keyring was last read from the store on a miss.
    /// Held while the keyring is read again, so that concurrent misses wait for that read.
    pub keys_reloaded: tokio::sync::Mutex<Option<std::time::Instant>>,
    pub receipt_key: SigningKey,
    /// The transparency log's signer.
    pub log: RwLock<Arc<LogSigner>>,
    /// The last checkpoint signed for a delivery's proofs, with the signer that signed it
    /// (see [`AppState::checkpoint_covering`]). Held while a new one is read and signed, so
    /// that the deliveries of one batch wait for one read rather than each making its own.
    pub delivery_checkpoint: tokio::sync::Mutex<Option<(Arc<LogSigner>, LogHead, String)>>,
    /// The signer of verdicts (in-toto statements of evaluations).
    pub verdicts: RwLock<Arc<crate::verdicts::VerdictSigner>>,
    /// This server as a witness of other logs (`[witness]`), when it is one.
    pub witness: RwLock<Option<Arc<crate::witness::WitnessService>>>,
    /// The time-stamping authority of the log (`[timestamps]`), when there is one.
    pub stamper: RwLock<Option<Arc<crate::timestamps::Stamper>>>,
    /// Single sign-on through an OpenID provider (`[oidc]`), when it is configured.
    pub sso: RwLock<Option<Arc<crate::sso::Sso>>>,
    /// The witnesses of this server's log (`[log]`), when it has any.
    pub cosigners: RwLock<Option<Arc<crate::cosigning::Cosigners>>>,
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
    /// Parts of pages rendered from the control view now shown.
    pub rendered: Rendered,
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
        let retired = retired_map(store.retired_keys().await?);
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                keys: RwLock::new(keys),
                retired: RwLock::new(retired),
                keys_reloaded: tokio::sync::Mutex::new(None),
                log: RwLock::new(Arc::new(LogSigner::new(
                    crate::checkpoints::derived_log_key(&receipt_key),
                    None,
                ))),
                delivery_checkpoint: tokio::sync::Mutex::new(None),
                verdicts: RwLock::new(Arc::new(crate::verdicts::VerdictSigner::new(
                    crate::verdicts::derived_verdict_key(&receipt_key),
                ))),
                witness: RwLock::new(None),
                cosigners: RwLock::new(None),
                stamper: RwLock::new(None),
                sso: RwLock::new(None),
                receipt_key,
                metrics: Metrics::default(),
                limits,
                catalogs: std::sync::OnceLock::new(),
                policies: std::sync::OnceLock::new(),
                alerter: std::sync::OnceLock::new(),
                retention: std::sync::OnceLock::new(),
                clock: RwLock::new(Clock::System),
                token_touched: std::sync::Mutex::new(HashMap::new()),
                rendered: Rendered::default(),
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

    /// Opens the receipt, log and verdict keys in `data_dir` and the store: PostgreSQL at `database_url` (or at
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
        let log_key = load_or_create_key(&data_dir.join("log.key"))?;
        let verdict_key = load_or_create_key(&data_dir.join("verdict.key"))?;
        let url = std::env::var("VOUCH_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(|| database_url.map(str::to_string));
        let store: Arc<dyn Store> = match url {
            Some(url) => Arc::new(crate::store::postgres::PgStore::connect(&url).await?),
            None => Arc::new(SqliteStore::open(&data_dir.join("vouch.db"))?),
        };
        let state = Self::new(store, receipt_key, limits).await?;
        state.set_log(LogSigner::new(log_key, None));
        state.set_verdicts(crate::verdicts::VerdictSigner::new(verdict_key));
        Ok(state)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Parts of pages rendered from the control view now shown.
    pub fn rendered(&self) -> &Rendered {
        &self.inner.rendered
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

    /// Signs people in through an OpenID provider from now on.
    pub fn set_sso(&self, sso: crate::sso::Sso) {
        *self.inner.sso.write().expect("sso lock") = Some(Arc::new(sso));
    }

    /// Single sign-on, when it is configured.
    pub fn sso(&self) -> Option<Arc<crate::sso::Sso>> {
        self.inner.sso.read().expect("sso lock").clone()
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

/// Retired keys by key id.
pub(crate) fn retired_map(keys: Vec<RetiredKey>) -> HashMap<KeyId, RetiredKey> {
    keys.into_iter().map(|k| (k.public_key.id(), k)).collect()
}

/// A key of the server's that can be rotated. (The transparency log's key is the log's
/// identity, as in C2SP: a new log key is a new log, not a rotation.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKeyRole {
    /// `receipt.key`: receipts, bundle manifests, key-status lists.
    Receipts,
    /// `verdict.key`: signed verdicts.
    Verdicts,
}

impl ServerKeyRole {
    /// The key file in the data directory.
    pub fn file(self) -> &'static str {
        match self {
            ServerKeyRole::Receipts => "receipt.key",
            ServerKeyRole::Verdicts => "verdict.key",
        }
    }

    /// The owner its keys-file line names.
    pub fn owner(self) -> &'static str {
        match self {
            ServerKeyRole::Receipts => crate::bundle::SERVER_KEY_OWNER,
            ServerKeyRole::Verdicts => crate::verdicts::VERDICT_KEY_OWNER,
        }
    }
}

/// Rotates the server's `role` key in `data_dir` at `at`, with the store `store`: a new key
/// is made beside the old (`<file>.new`), the rotation signed by both is written
/// (`<file>.rotation.json`) and recorded in the store (so keys exports and bundles carry the
/// retired key and the signed rotation), and only then does the new key replace the old. Run
/// with the server stopped (every replica reads the key at start); an interrupted rotation is
/// finished by running it again. Answers the old key and the new.
pub async fn rotate_server_key(
    data_dir: &Path,
    store: &dyn Store,
    role: ServerKeyRole,
    at: Timestamp,
) -> Result<(vouch_evidence::PublicKey, vouch_evidence::PublicKey), StateError> {
    use vouch_evidence::rotation::KeyRotation;
    let path = data_dir.join(role.file());
    let new_path = data_dir.join(format!("{}.new", role.file()));
    let statement_path = data_dir.join(format!("{}.rotation.json", role.file()));
    let err = |p: &Path, problem: String| StateError::Key {
        path: p.display().to_string(),
        problem,
    };
    if !path.exists() {
        return Err(err(&path, "no key to rotate".into()));
    }
    let old = load_or_create_key(&path)?;
    let (new, statement) = match std::fs::read(&statement_path) {
        Ok(bytes) if new_path.exists() => (load_or_create_key(&new_path)?, bytes),
        _ => {
            let _ = std::fs::remove_file(&new_path);
            let new = load_or_create_key(&new_path)?;
            let signed = KeyRotation {
                owner: role.owner().to_string(),
                old_key: old.public().to_base64(),
                new_key: new.public().to_base64(),
                at,
            }
            .sign(&old, &new)
            .to_vec();
            write_private(&statement_path, &signed)
                .map_err(|e| err(&statement_path, e.to_string()))?;
            (new, signed)
        }
    };
    let rotation = vouch_evidence::dsse::Envelope::from_slice(&statement)
        .ok()
        .and_then(|e| KeyRotation::open(&e).ok())
        .filter(|r| r.old_key == old.public().to_base64() && r.new_key == new.public().to_base64())
        .ok_or_else(|| {
            err(
                &statement_path,
                "not a rotation of this key to the new one, signed by both".into(),
            )
        })?;
    store
        .record_key_rotation(
            role.owner(),
            old.public(),
            new.public(),
            rotation.at,
            statement,
        )
        .await?;
    std::fs::rename(&new_path, &path).map_err(|e| err(&path, e.to_string()))?;
    crate::files::sync_dir(data_dir).map_err(|e| err(data_dir, e.to_string()))?;
    let _ = std::fs::remove_file(&statement_path);
    Ok((old.public().clone(), new.public().clone()))
}
