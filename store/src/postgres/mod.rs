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
mod ingest;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row};
use vouch_evidence::api::{AssetSummary, SnapshotRef, SnapshotSummary};
use vouch_evidence::{AssetKind, ChainKey, Digest, Timestamp};

use super::{
    AgentRecord, AssetEvaluation, AttestationRecord, AuditPeriod, ControlChange, EnvelopeLocation,
    Evaluation, EvaluationRun, ExceptionRecord, ExpiryCandidate, IngestOutcome, NewAuditPeriod,
    NewException, NewRun, NewSnapshot, PackRecord, PendingUpload, Rejection, Store, StoreError,
    StoredResult,
};
use super::{AuditEntry, RejectionCount, Revocation, RevokeOutcome, TokenRecord};
use crate::Role;

/// The migrations, embedded in the binary.
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

/// Whether `e` is a unique-key violation: another replica stored the same row first.
fn lost_race(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "23505")
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
        Ok(PgStore {
            writer: ingest::Writer::start(pool.clone()),
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

    async fn results(&self, set: &str) -> Result<std::sync::Arc<Vec<StoredResult>>, StoreError> {
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
            results: self.results(&set).await?.as_ref().clone(),
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
    async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        access::agents(&self.pool).await
    }

    async fn add_enroll_token(
        &self,
        hash: Digest,
        created_at: Timestamp,
        expires_at: Timestamp,
        scope: &crate::scope::Scope,
        label: &str,
    ) -> Result<(), StoreError> {
        access::add_enroll_token(&self.pool, hash, created_at, expires_at, scope, label).await
    }

    async fn enroll(&self, token_hash: Digest, agent: AgentRecord) -> Result<(), StoreError> {
        access::enroll(&self.pool, token_hash, &agent).await
    }

    async fn enroll_token_scope(
        &self,
        token_hash: Digest,
        at: Timestamp,
    ) -> Result<Option<crate::scope::Scope>, StoreError> {
        access::enroll_token_scope(&self.pool, token_hash, at).await
    }

    async fn add_api_token(
        &self,
        hash: Digest,
        role: Role,
        label: &str,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        access::add_api_token(&self.pool, hash, role, label, created_at, expires_at).await
    }

    async fn api_token(&self, hash: Digest) -> Result<Option<TokenRecord>, StoreError> {
        access::api_token(&self.pool, hash).await
    }

    async fn touch_token(&self, hash: Digest, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE hash = $2")
            .bind(at.unix_micros())
            .bind(hash.to_hex())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut c = self.pool.acquire().await?;
        access::tokens(&mut c, "").await
    }

    async fn revoke_token(
        &self,
        id: &str,
        revocation: Revocation,
    ) -> Result<RevokeOutcome<TokenRecord>, StoreError> {
        access::revoke_token(&self.pool, id, &revocation).await
    }

    async fn revoke_agent(
        &self,
        agent_id: &str,
        revocation: Revocation,
    ) -> Result<RevokeOutcome<AgentRecord>, StoreError> {
        access::revoke_agent(&self.pool, agent_id, &revocation).await
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let mut c = self.pool.acquire().await?;
        access::audit(&mut c, &entry).await
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        access::audit_log(&self.pool, limit).await
    }

    async fn add_rejection_counts(&self, counts: Vec<RejectionCount>) -> Result<(), StoreError> {
        access::add_rejection_counts(&self.pool, &counts).await
    }

    async fn rejection_counts(&self, since: Timestamp) -> Result<Vec<RejectionCount>, StoreError> {
        access::rejection_counts(&self.pool, since).await
    }

    async fn ingest(&self, snapshot: NewSnapshot) -> Result<IngestOutcome, StoreError> {
        self.writer.ingest(snapshot).await
    }

    async fn record_rejection(&self, r: Rejection) -> Result<(), StoreError> {
        access::record_rejection(&self.pool, &r).await
    }

    async fn rejections(&self, limit: u32) -> Result<Vec<Rejection>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, remote, reason, message, agent_id, body_sha256, body_size
             FROM rejections ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Rejection {
                    at: ts(r.try_get(0)?)?,
                    remote: r.try_get(1)?,
                    reason: r.try_get(2)?,
                    message: r.try_get(3)?,
                    agent_id: r.try_get(4)?,
                    body_sha256: digest_at(r, 5)?,
                    body_size: r.try_get::<i64, _>(6)? as u64,
                })
            })
            .collect()
    }

    async fn assets(&self) -> Result<Vec<AssetSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT asset_kind, asset_id, asset_name, agent_id, snapshot_count, head_sequence,
                    head_digest, last_collected_at, last_received_at
             FROM chains ORDER BY asset_kind, asset_id, agent_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let assets = rows.iter().map(asset_summary).collect::<Result<_, _>>()?;
        self.with_tags(assets).await
    }

    async fn assets_as_of(
        &self,
        at: Timestamp,
        only: Option<(AssetKind, String)>,
    ) -> Result<Vec<AssetSummary>, StoreError> {
        let (k, id) = match &only {
            Some((k, id)) => (Some(k.as_str()), Some(id.clone())),
            None => (None, None),
        };
        // Per chain, in one pass over its entries in `snapshots_by_chain_covered` (index only,
        // migration 0003): how many it had received by then and the position of the newest
        // collected (by collection time, then sequence); then that one snapshot by its
        // position. LATERAL keeps the plan to one chain at a time (a join of subqueries was
        // planned as hash joins over the whole table).
        let rows = sqlx::query(
            "SELECT c.asset_kind, c.asset_id, s.asset_name, c.agent_id, n.snapshots,
                    s.sequence, s.digest, s.collected_at, s.received_at
             FROM chains c
             CROSS JOIN LATERAL (
                 SELECT count(*) AS snapshots,
                        max(ARRAY[s2.collected_at, s2.sequence]) AS newest
                 FROM snapshots s2
                 WHERE s2.asset_kind = c.asset_kind AND s2.asset_id = c.asset_id
                   AND s2.agent_id = c.agent_id AND s2.received_at <= $1) n
             CROSS JOIN LATERAL (
                 SELECT s3.asset_name, s3.sequence, s3.digest, s3.collected_at, s3.received_at
                 FROM snapshots s3
                 WHERE s3.asset_kind = c.asset_kind AND s3.asset_id = c.asset_id
                   AND s3.agent_id = c.agent_id AND s3.sequence = n.newest[2]
                 LIMIT 1) s
             WHERE $2::TEXT IS NULL OR (c.asset_kind = $2 AND c.asset_id = $3)
             ORDER BY c.asset_kind, c.asset_id, c.agent_id",
        )
        .bind(at.unix_micros())
        .bind(k)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let assets = rows.iter().map(asset_summary).collect::<Result<_, _>>()?;
        self.with_tags(assets).await
    }

    async fn set_asset_tags(
        &self,
        kind: AssetKind,
        asset_id: String,
        tags: BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let known: bool = sqlx::query(
            "SELECT EXISTS(SELECT 1 FROM chains WHERE asset_kind = $1 AND asset_id = $2)",
        )
        .bind(kind.as_str())
        .bind(&asset_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if !known {
            return Ok(false);
        }
        sqlx::query("DELETE FROM asset_tags WHERE asset_kind = $1 AND asset_id = $2")
            .bind(kind.as_str())
            .bind(&asset_id)
            .execute(&mut *tx)
            .await?;
        for (k, v) in &tags {
            sqlx::query(
                "INSERT INTO asset_tags(asset_kind, asset_id, key, value) VALUES ($1, $2, $3, $4)",
            )
            .bind(kind.as_str())
            .bind(&asset_id)
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn snapshots(
        &self,
        kind: AssetKind,
        asset_id: &str,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<SnapshotSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT digest, agent_id, sequence, previous_digest, collected_at, received_at
             FROM snapshots WHERE asset_kind = $1 AND asset_id = $2 AND sequence > $3
             ORDER BY sequence, agent_id LIMIT $4",
        )
        .bind(kind.as_str())
        .bind(asset_id)
        .bind(after_sequence as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SnapshotSummary {
                    digest: digest_at(r, 0)?,
                    agent_id: r.try_get(1)?,
                    sequence: r.try_get::<i64, _>(2)? as u64,
                    previous_digest: optional_digest_at(r, 3)?,
                    collected_at: ts(r.try_get(4)?)?,
                    received_at: ts(r.try_get(5)?)?,
                })
            })
            .collect()
    }

    async fn envelope_location(&self, d: Digest) -> Result<Option<EnvelopeLocation>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT envelope, envelope_sha256, object_at, expired_at
             FROM snapshots WHERE digest = $1",
        )
        .bind(d.to_hex())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        if let Some(at) = r.try_get::<Option<i64>, _>(3)? {
            return Ok(Some(EnvelopeLocation::Expired { at: ts(at)? }));
        }
        if r.try_get::<Option<i64>, _>(2)?.is_some()
            && let Some(sha256) = optional_digest_at(&r, 1)?
        {
            return Ok(Some(EnvelopeLocation::Object { sha256 }));
        }
        Ok(Some(EnvelopeLocation::Inline(r.try_get(0)?)))
    }

    fn objects(&self) -> Option<&crate::objects::ObjectStore> {
        self.objects.get()
    }

    fn attach_objects(&self, objects: crate::objects::ObjectStore) {
        let _ = self.objects.set(objects);
    }

    async fn claim_uploads(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingUpload>, StoreError> {
        // SKIP LOCKED: replicas claiming at once take different rows instead of waiting.
        let rows = sqlx::query(
            "UPDATE snapshots SET upload_lease = $1
             WHERE digest IN (
                 SELECT digest FROM snapshots
                 WHERE object_at IS NULL AND expired_at IS NULL
                   AND (upload_lease IS NULL OR upload_lease < $2)
                 ORDER BY received_at LIMIT $3
                 FOR UPDATE SKIP LOCKED)
             RETURNING digest, envelope, received_at",
        )
        .bind(lease_until.unix_micros())
        .bind(now.unix_micros())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        // RETURNING comes in no particular order: oldest received first.
        let mut claimed = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<i64, _>(2)?,
                    PendingUpload {
                        digest: digest_at(r, 0)?,
                        envelope: r.try_get(1)?,
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        claimed.sort_by_key(|(received, p)| (*received, p.digest));
        Ok(claimed.into_iter().map(|(_, p)| p).collect())
    }

    async fn mark_uploaded(
        &self,
        uploaded: Vec<(Digest, Digest)>,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let (digests, shas): (Vec<String>, Vec<String>) = uploaded
            .iter()
            .map(|(d, s)| (d.to_hex(), s.to_hex()))
            .unzip();
        Ok(sqlx::query(
            "UPDATE snapshots s SET envelope = ''::bytea, envelope_sha256 = u.sha,
                                    object_at = $3, upload_lease = NULL
             FROM UNNEST($1::text[], $2::text[]) AS u(digest, sha)
             WHERE s.digest = u.digest AND s.object_at IS NULL AND s.expired_at IS NULL",
        )
        .bind(&digests)
        .bind(&shas)
        .bind(at.unix_micros())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn pending_uploads(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM snapshots WHERE object_at IS NULL AND expired_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }

    async fn expiry_candidates(
        &self,
        kinds: Vec<AssetKind>,
        collected_before: Timestamp,
        after: Option<(Timestamp, Digest)>,
        limit: u32,
    ) -> Result<Vec<ExpiryCandidate>, StoreError> {
        let (after_at, after_digest) = after.map_or((i64::MIN, String::new()), |(t, d)| {
            (t.unix_micros(), d.to_hex())
        });
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let rows = sqlx::query(
            "SELECT s.digest, s.agent_id, s.asset_kind, s.asset_id, s.sequence, s.collected_at,
                    CASE WHEN s.object_at IS NULL THEN NULL ELSE s.envelope_sha256 END
             FROM snapshots s
             WHERE s.asset_kind = ANY($1) AND s.collected_at < $2 AND s.expired_at IS NULL
               AND (s.collected_at, s.digest) > ($4, $5)
               AND NOT EXISTS (SELECT 1 FROM chains h
                               WHERE h.agent_id = s.agent_id AND h.asset_kind = s.asset_kind
                                 AND h.asset_id = s.asset_id
                                 AND h.head_sequence = s.sequence)
             ORDER BY s.collected_at, s.digest LIMIT $3",
        )
        .bind(&kinds)
        .bind(collected_before.unix_micros())
        .bind(i64::from(limit))
        .bind(after_at)
        .bind(&after_digest)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ExpiryCandidate {
                    digest: digest_at(r, 0)?,
                    chain: ChainKey {
                        agent_id: r.try_get(1)?,
                        asset_kind: kind(&r.try_get::<String, _>(2)?)?,
                        asset_id: r.try_get(3)?,
                    },
                    sequence: r.try_get::<i64, _>(4)? as u64,
                    collected_at: ts(r.try_get(5)?)?,
                    object: optional_digest_at(r, 6)?,
                })
            })
            .collect()
    }

    async fn mark_expired(&self, digests: Vec<Digest>, at: Timestamp) -> Result<u64, StoreError> {
        let digests: Vec<String> = digests.iter().map(Digest::to_hex).collect();
        Ok(sqlx::query(
            "UPDATE snapshots SET envelope = ''::bytea, expired_at = $2, upload_lease = NULL
             WHERE digest = ANY($1) AND expired_at IS NULL",
        )
        .bind(&digests)
        .bind(at.unix_micros())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn add_audit_period(&self, p: NewAuditPeriod) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_periods(framework, label, from_at, to_at, opened_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&p.framework)
        .bind(&p.label)
        .bind(p.from.unix_micros())
        .bind(p.to.unix_micros())
        .bind(p.opened_at.unix_micros())
        .fetch_one(&self.pool)
        .await?)
    }

    async fn close_audit_period(&self, id: i64, at: Timestamp) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE audit_periods SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(id)
        .bind(at.unix_micros())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    async fn audit_periods(&self) -> Result<Vec<AuditPeriod>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, framework, label, from_at, to_at, opened_at, closed_at
             FROM audit_periods ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditPeriod {
                    id: r.try_get(0)?,
                    period: NewAuditPeriod {
                        framework: r.try_get(1)?,
                        label: r.try_get(2)?,
                        from: ts(r.try_get(3)?)?,
                        to: ts(r.try_get(4)?)?,
                        opened_at: ts(r.try_get(5)?)?,
                    },
                    closed_at: r.try_get::<Option<i64>, _>(6)?.map(ts).transpose()?,
                })
            })
            .collect()
    }

    async fn receipt(&self, d: Digest) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query("SELECT receipt FROM snapshots WHERE digest = $1")
                .bind(d.to_hex())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
        )
    }

    async fn snapshot_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query("SELECT count(*) FROM snapshots")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(n as u64)
    }

    async fn population(
        &self,
        from: Timestamp,
        to: Timestamp,
        kinds: Vec<AssetKind>,
        received_by: Option<Timestamp>,
    ) -> Result<Vec<SnapshotRef>, StoreError> {
        let kinds: Vec<String> = kinds.iter().map(|k| k.as_str().to_string()).collect();
        let rows = sqlx::query(
            "SELECT digest, agent_id, asset_kind, asset_id, sequence, previous_digest, collected_at
             FROM snapshots
             WHERE collected_at >= $1 AND collected_at < $2 AND received_at <= $3
               AND expired_at IS NULL
               AND asset_kind = ANY($4)
             ORDER BY digest",
        )
        .bind(from.unix_micros())
        .bind(to.unix_micros())
        .bind(received_by.map_or(i64::MAX, |t| t.unix_micros()))
        .bind(&kinds)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SnapshotRef {
                    digest: digest_at(r, 0)?,
                    agent_id: r.try_get(1)?,
                    asset_kind: kind(&r.try_get::<String, _>(2)?)?,
                    asset_id: r.try_get(3)?,
                    sequence: r.try_get::<i64, _>(4)? as u64,
                    previous_digest: optional_digest_at(r, 5)?,
                    collected_at: ts(r.try_get(6)?)?,
                })
            })
            .collect()
    }

    async fn record_pack(&self, pack: PackRecord) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO policy_packs(digest, loaded_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&pack.digest)
        .bind(pack.loaded_at.unix_micros())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            for (path, content) in &pack.files {
                sqlx::query(
                    "INSERT INTO policy_pack_files(pack_digest, path, content) VALUES ($1, $2, $3)",
                )
                .bind(&pack.digest)
                .bind(path)
                .bind(content)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pack(&self, d: &str) -> Result<Option<PackRecord>, StoreError> {
        let Some(row) = sqlx::query("SELECT loaded_at FROM policy_packs WHERE digest = $1")
            .bind(d)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let files = sqlx::query(
            "SELECT path, content FROM policy_pack_files WHERE pack_digest = $1 ORDER BY path",
        )
        .bind(d)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, StoreError>>()?;
        Ok(Some(PackRecord {
            digest: d.to_string(),
            loaded_at: ts(row.try_get(0)?)?,
            files,
        }))
    }

    async fn unevaluated(&self, limit: u32) -> Result<Vec<Digest>, StoreError> {
        self.digests(
            sqlx::query("SELECT digest FROM unjudged ORDER BY received_at LIMIT $1")
                .bind(i64::from(limit)),
        )
        .await
    }

    async fn pending_for_run(&self, run: i64, limit: u32) -> Result<Vec<Digest>, StoreError> {
        self.digests(
            sqlx::query(
                "SELECT s.digest FROM snapshots s, evaluation_runs r
                 WHERE r.id = $1 AND s.collected_at >= r.scope_from AND s.collected_at < r.scope_to
                   AND NOT EXISTS (SELECT 1 FROM evaluations e
                                   WHERE e.digest = s.digest AND e.pack_digest = r.pack_digest)
                 ORDER BY s.collected_at LIMIT $2",
            )
            .bind(run)
            .bind(i64::from(limit)),
        )
        .await
    }

    async fn record_evaluations(&self, evaluations: Vec<Evaluation>) -> Result<(), StoreError> {
        let mut sets: BTreeMap<String, String> = BTreeMap::new();
        let mut set_of = Vec::with_capacity(evaluations.len());
        for e in &evaluations {
            let (id, json) = super::results::encode_results(&e.results)?;
            set_of.push(id.clone());
            sets.entry(id).or_insert(json);
        }
        let (ids, jsons): (Vec<String>, Vec<String>) = sets.into_iter().unzip();
        // One statement: the new result sets, the evaluations (a repeat changes nothing:
        // results are never overwritten), and the judged snapshots leave the queue.
        sqlx::query(
            "WITH sets AS (
                 INSERT INTO result_sets(id, results)
                 SELECT * FROM UNNEST($1::text[], $2::text[]) ON CONFLICT DO NOTHING),
             judged AS (DELETE FROM unjudged WHERE digest = ANY($3))
             INSERT INTO evaluations(digest, pack_digest, evaluated_at, run_id, result_set)
             SELECT * FROM UNNEST($3::text[], $4::text[], $5::int8[], $6::int8[], $7::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(ids)
        .bind(jsons)
        .bind(
            evaluations
                .iter()
                .map(|e| e.digest.to_hex())
                .collect::<Vec<_>>(),
        )
        .bind(
            evaluations
                .iter()
                .map(|e| e.pack_digest.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            evaluations
                .iter()
                .map(|e| e.evaluated_at.unix_micros())
                .collect::<Vec<_>>(),
        )
        .bind(
            evaluations
                .iter()
                .map(|e| e.run_id)
                .collect::<Vec<Option<i64>>>(),
        )
        .bind(set_of)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn evaluations_of(&self, d: Digest) -> Result<Vec<Evaluation>, StoreError> {
        let rows = sqlx::query(
            "SELECT digest, pack_digest, evaluated_at, run_id, result_set FROM evaluations
             WHERE digest = $1 ORDER BY evaluated_at, pack_digest",
        )
        .bind(d.to_hex())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.evaluation_of(r, 0).await?);
        }
        Ok(out)
    }

    async fn latest_evaluations(
        &self,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<AssetEvaluation>, StoreError> {
        // Per chain: its newest snapshot collected by then that has an evaluation made by then
        // (walking `snapshots_by_chain_time` back), and that snapshot's newest evaluation made
        // by then. LATERAL keeps the plan to these index seeks, chain by chain (a join on
        // subqueries was planned as hash joins over both whole tables).
        let rows = sqlx::query(
            "SELECT c.agent_id, c.asset_kind, c.asset_id, s.asset_name, s.collected_at,
                    s.digest, e.pack_digest, e.evaluated_at, e.run_id, e.result_set
             FROM chains c
             CROSS JOIN LATERAL (
                 SELECT s2.digest, s2.asset_name, s2.collected_at FROM snapshots s2
                 WHERE s2.agent_id = c.agent_id AND s2.asset_kind = c.asset_kind
                   AND s2.asset_id = c.asset_id AND s2.collected_at <= $1
                   AND EXISTS (SELECT 1 FROM evaluations e2
                               WHERE e2.digest = s2.digest AND e2.evaluated_at <= $1)
                 ORDER BY s2.collected_at DESC LIMIT 1) s
             CROSS JOIN LATERAL (
                 SELECT e3.pack_digest, e3.evaluated_at, e3.run_id, e3.result_set
                 FROM evaluations e3
                 WHERE e3.digest = s.digest AND e3.evaluated_at <= $1
                 ORDER BY e3.evaluated_at DESC LIMIT 1) e
             ORDER BY c.asset_kind, c.asset_id, c.agent_id",
        )
        .bind(as_of.map_or(i64::MAX, |t| t.unix_micros()))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(AssetEvaluation {
                chain: ChainKey {
                    agent_id: r.try_get(0)?,
                    asset_kind: kind(&r.try_get::<String, _>(1)?)?,
                    asset_id: r.try_get(2)?,
                },
                asset_name: r.try_get(3)?,
                collected_at: ts(r.try_get(4)?)?,
                evaluation: self.evaluation_of(r, 5).await?,
            });
        }
        Ok(out)
    }

    async fn start_run(&self, run: NewRun) -> Result<i64, StoreError> {
        Ok(sqlx::query(
            "INSERT INTO evaluation_runs(requested_by, requested_at, reason, pack_digest,
                                         scope_from, scope_to)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&run.requested_by)
        .bind(run.requested_at.unix_micros())
        .bind(&run.reason)
        .bind(&run.pack_digest)
        .bind(run.from.unix_micros())
        .bind(run.to.unix_micros())
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?)
    }

    async fn finish_run(&self, run: i64, at: Timestamp, evaluated: u64) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE evaluation_runs SET finished_at = $2, evaluated = $3 WHERE id = $1",
        )
        .bind(run)
        .bind(at.unix_micros())
        .bind(evaluated as i64)
        .execute(&self.pool)
        .await?;
        if n.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Backend(format!("no evaluation run {run}")))
        }
    }

    async fn runs(&self) -> Result<Vec<EvaluationRun>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, requested_by, requested_at, reason, pack_digest, scope_from, scope_to,
                    finished_at, evaluated
             FROM evaluation_runs ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EvaluationRun {
                    id: r.try_get(0)?,
                    run: NewRun {
                        requested_by: r.try_get(1)?,
                        requested_at: ts(r.try_get(2)?)?,
                        reason: r.try_get(3)?,
                        pack_digest: r.try_get(4)?,
                        from: ts(r.try_get(5)?)?,
                        to: ts(r.try_get(6)?)?,
                    },
                    finished_at: r.try_get::<Option<i64>, _>(7)?.map(ts).transpose()?,
                    evaluated: r.try_get::<i64, _>(8)? as u64,
                })
            })
            .collect()
    }

    async fn add_exception(&self, e: NewException) -> Result<i64, StoreError> {
        let (k, id) = match &e.asset {
            Some((k, id)) => (Some(k.as_str()), Some(id.clone())),
            None => (None, None),
        };
        Ok(sqlx::query(
            "INSERT INTO exceptions(policy_id, asset_kind, asset_id, justification, owner,
                                    created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&e.policy_id)
        .bind(k)
        .bind(id)
        .bind(&e.justification)
        .bind(&e.owner)
        .bind(&e.created_by)
        .bind(e.created_at.unix_micros())
        .bind(e.expires_at.unix_micros())
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?)
    }

    async fn exceptions(&self) -> Result<Vec<ExceptionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, policy_id, asset_kind, asset_id, justification, owner, created_by,
                    created_at, expires_at
             FROM exceptions ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let asset = match (
                    r.try_get::<Option<String>, _>(2)?,
                    r.try_get::<Option<String>, _>(3)?,
                ) {
                    (Some(k), Some(id)) => Some((kind(&k)?, id)),
                    _ => None,
                };
                Ok(ExceptionRecord {
                    id: r.try_get(0)?,
                    exception: NewException {
                        policy_id: r.try_get(1)?,
                        asset,
                        justification: r.try_get(4)?,
                        owner: r.try_get(5)?,
                        created_by: r.try_get(6)?,
                        created_at: ts(r.try_get(7)?)?,
                        expires_at: ts(r.try_get(8)?)?,
                    },
                })
            })
            .collect()
    }

    async fn add_attestation(
        &self,
        a: AttestationRecord,
        document: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO attestations(digest, control, recorded_at, valid_until, envelope, document)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(a.digest.to_hex())
        .bind(&a.control)
        .bind(a.recorded_at.unix_micros())
        .bind(a.valid_until.unix_micros())
        .bind(&a.envelope)
        .bind(document)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn attestations(
        &self,
        control: Option<String>,
    ) -> Result<Vec<AttestationRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT digest, control, recorded_at, valid_until, envelope FROM attestations
             WHERE $1::TEXT IS NULL OR control = $1 ORDER BY recorded_at, digest",
        )
        .bind(control)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttestationRecord {
                    digest: digest_at(r, 0)?,
                    control: r.try_get(1)?,
                    recorded_at: ts(r.try_get(2)?)?,
                    valid_until: ts(r.try_get(3)?)?,
                    envelope: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn attestation_document(&self, d: Digest) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query("SELECT document FROM attestations WHERE digest = $1")
                .bind(d.to_hex())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get::<Option<Vec<u8>>, _>(0))
                .transpose()?
                .flatten(),
        )
    }

    async fn record_control_changes(&self, changes: Vec<ControlChange>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for ch in &changes {
            sqlx::query(
                "INSERT INTO control_history(framework, control, since, state, recorded_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(&ch.framework)
            .bind(&ch.control)
            .bind(ch.since.unix_micros())
            .bind(&ch.state)
            .bind(ch.recorded_at.unix_micros())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn control_history(
        &self,
        framework: Option<String>,
    ) -> Result<Vec<ControlChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT framework, control, since, state, recorded_at FROM control_history
             WHERE $1::TEXT IS NULL OR framework = $1 ORDER BY since, framework, control",
        )
        .bind(framework)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ControlChange {
                    framework: r.try_get(0)?,
                    control: r.try_get(1)?,
                    since: ts(r.try_get(2)?)?,
                    state: r.try_get(3)?,
                    recorded_at: ts(r.try_get(4)?)?,
                })
            })
            .collect()
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.pool.close().await;
        Ok(())
    }
}
