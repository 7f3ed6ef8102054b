//! The server's shared state: the store, the enrolled keys in memory, the receipt key, metrics.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use vouch_evidence::{KeyId, SigningKey, Timestamp};

use crate::auth::{self, Role};
use crate::files::write_private;
use crate::metrics::Metrics;
use crate::store::sqlite::SqliteStore;
use crate::store::{AgentRecord, Store, StoreError};

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

    /// Issues a one-time enrolment token valid for `ttl_secs`; returns it (shown once).
    pub async fn create_enroll_token(&self, ttl_secs: u64) -> Result<String, StoreError> {
        let (token, hash) =
            auth::new_token("enroll").map_err(|e| StoreError::Backend(e.to_string()))?;
        let created = now();
        let expires = i64::try_from(ttl_secs)
            .ok()
            .and_then(|s| s.checked_mul(1_000_000))
            .and_then(|us| created.unix_micros().checked_add(us))
            .and_then(Timestamp::from_unix_micros)
            .ok_or_else(|| StoreError::Backend(format!("a TTL of {ttl_secs} s is out of range")))?;
        self.inner
            .store
            .add_enroll_token(hash, created, expires)
            .await?;
        Ok(token)
    }

    /// Issues an API token for `role`; returns it (shown once).
    pub async fn create_api_token(&self, role: Role, label: &str) -> Result<String, StoreError> {
        let (token, hash) =
            auth::new_token(role.as_str()).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.inner
            .store
            .add_api_token(hash, role, label, now())
            .await?;
        Ok(token)
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
        for a in agents {
            out.push_str(&a.public_key.to_line(&a.agent_id));
            out.push('\n');
        }
        out.push_str(&self.receipt_public_key().to_line("vouch-server-receipts"));
        out.push('\n');
        out
    }
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

/// The current time.
pub fn now() -> Timestamp {
    Timestamp::from_datetime(time::OffsetDateTime::now_utc())
}

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
