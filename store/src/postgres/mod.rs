//! The PostgreSQL store: the same tables as the SQLite store (migrations in
//! `store/migrations/`, applied at start-up), for several server replicas sharing one
//! database.
//!
//! Exactly-once holds across replicas without any in-process lock: ingest runs in
//! transactions that lock the chains' rows (`SELECT … FOR UPDATE`), check the links and insert
//! — in batches (`postgres/ingest.rs`); two replicas racing for the first snapshot of a chain, or for
//! the same digest, meet the `PRIMARY KEY(digest)` and
//! `UNIQUE(asset_kind, asset_id, agent_id, sequence)` constraints, and the loser's transaction
//! is rolled back and run again, when it finds the winner's row (a duplicate, with the
//! original receipt, or a chain error).

use std::collections::{BTreeMap, HashMap};

mod access;
mod evidence;
mod governance;
mod ingest;
mod judging;
mod retention;
mod tlog;

pub use tlog::LOG_LOCK;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row};
use vouch_evidence::api::{AssetSummary, SnapshotRef, SnapshotSummary};
use vouch_evidence::{AssetKind, ChainKey, Digest, Timestamp};

use super::{
    AssetEvaluation, AttestationRecord, AuditPeriod, ControlChange, EnvelopeLocation, Evaluation,
    EvaluationRun, ExceptionRecord, ExpiryCandidate, NewAuditPeriod, NewException, NewRun,
    PackRecord, PendingUpload, Store, StoreError, StoredResult,
};
#[allow(unused_imports)]
use crate::{
    AccessStore, ControlHistoryStore, EvidenceStore, GovernanceStore, IngestStore, JudgingStore,
    RetentionStore,
};

/// The migrations, embedded in the binary: the way to the schema declared in [`crate::schema`]
/// (`store/tests/schema.rs` checks that they reach it).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How many times an ingest that lost a race to another replica is run again.
const RETRIES: usize = 3;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

fn ts(micros: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_unix_micros(micros)
        .ok_or_else(|| StoreError::Backend(format!("stored instant {micros} is out of range")))
}

fn digest(hex: &str) -> Result<Digest, StoreError> {
    hex.parse()
        .map_err(|e| StoreError::Backend(format!("stored digest {hex:?}: {e}")))
}

/// The digest in column `i` of `r`.
fn digest_at(r: &PgRow, i: usize) -> Result<Digest, StoreError> {
    digest(&r.try_get::<String, _>(i)?)
}

/// The digest, if any, in column `i` of `r`.
fn optional_digest_at(r: &PgRow, i: usize) -> Result<Option<Digest>, StoreError> {
    r.try_get::<Option<String>, _>(i)?
        .map(|d| digest(&d))
        .transpose()
}

fn kind(s: &str) -> Result<AssetKind, StoreError> {
    AssetKind::parse(s)
        .ok_or_else(|| StoreError::Backend(format!("stored asset kind {s:?} is unknown")))
}

/// Whether `e` says the transaction lost a race and is worth running again: a unique-key
/// violation (another replica stored the same row first) or a deadlock (PostgreSQL rolled this
/// transaction back to let the other one through).
fn lost_race(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "23505" || c == "40P01")
}

/// Creates a new, empty database named `vouch_test_<random>` in the cluster `base_url` points
/// at, and answers its URL: what the storage tests run each backend test against.
pub async fn create_test_database(base_url: &str) -> Result<String, StoreError> {
    use sqlx::Connection as _;
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| StoreError::Backend(e.to_string()))?;
    let name = format!(
        "vouch_test_{}",
        seed.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let mut conn = sqlx::PgConnection::connect(base_url).await?;
    // The name is made here of hex digits only.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    let (prefix, _) = base_url
        .rsplit_once('/')
        .ok_or_else(|| StoreError::Backend(format!("{base_url:?} names no database")))?;
    Ok(format!("{prefix}/{name}"))
}

/// The PostgreSQL store. See the module documentation.
pub struct PgStore {
    pool: PgPool,
    writer: ingest::Writer,
    objects: std::sync::OnceLock<crate::objects::ObjectStore>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host/db`) and applies the migrations the database
    /// lacks (an advisory lock keeps two replicas starting together from both applying them).
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            // Enough for the ingest concurrency of a busy replica; two replicas stay within
            // PostgreSQL's default max_connections of 100.
            .max_connections(32)
            .connect(url)
            .await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migrations: {e}")))?;
        let appended = tlog::sequence_all(&pool).await?;
        if appended > 0 {
            tracing::info!(
                appended,
                "queued snapshots (accepted before the transparency log existed, or before a \
                 stop) appended to it"
            );
        }
        let sequencer = tlog::Sequencer::start(pool.clone());
        Ok(PgStore {
            writer: ingest::Writer::start(pool.clone(), sequencer),
            pool,
            objects: std::sync::OnceLock::new(),
        })
    }

    async fn digests(
        &self,
        query: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Vec<Digest>, StoreError> {
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| digest(&r.try_get::<String, _>(0)?))
            .collect()
    }

    async fn results(&self, set: &str) -> Result<std::sync::Arc<[StoredResult]>, StoreError> {
        if let Some(set) = super::results::cached_set(set) {
            return Ok(set);
        }
        let json: String = sqlx::query("SELECT results FROM result_sets WHERE id = $1")
            .bind(set)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        super::results::remember_set(set, &json)
    }

    async fn evaluation_of(&self, row: &PgRow, at: usize) -> Result<Evaluation, StoreError> {
        let set: String = row.try_get(at + 4)?;
        Ok(Evaluation {
            digest: digest_at(row, at)?,
            pack_digest: row.try_get(at + 1)?,
            evaluated_at: ts(row.try_get(at + 2)?)?,
            run_id: row.try_get(at + 3)?,
            results: self.results(&set).await?,
        })
    }
}

fn asset_summary(r: &PgRow) -> Result<AssetSummary, StoreError> {
    Ok(AssetSummary {
        kind: kind(&r.try_get::<String, _>(0)?)?,
        id: r.try_get(1)?,
        name: r.try_get(2)?,
        agent_id: r.try_get(3)?,
        snapshot_count: r.try_get::<i64, _>(4)? as u64,
        last_sequence: r.try_get::<i64, _>(5)? as u64,
        last_digest: digest_at(r, 6)?,
        last_collected_at: ts(r.try_get(7)?)?,
        last_received_at: ts(r.try_get(8)?)?,
        tags: BTreeMap::new(),
    })
}

impl PgStore {
    async fn with_tags(
        &self,
        mut assets: Vec<AssetSummary>,
    ) -> Result<Vec<AssetSummary>, StoreError> {
        let rows = sqlx::query("SELECT asset_kind, asset_id, key, value FROM asset_tags")
            .fetch_all(&self.pool)
            .await?;
        let mut tags: HashMap<(String, String), BTreeMap<String, String>> = HashMap::new();
        for r in rows {
            tags.entry((r.try_get(0)?, r.try_get(1)?))
                .or_default()
                .insert(r.try_get(2)?, r.try_get(3)?);
        }
        for a in &mut assets {
            if let Some(t) = tags.get(&(a.kind.as_str().to_string(), a.id.clone())) {
                a.tags = t.clone();
            }
        }
        Ok(assets)
    }
}

#[async_trait]
impl Store for PgStore {
    async fn close(&self) -> Result<(), StoreError> {
        self.pool.close().await;
        Ok(())
    }
}
