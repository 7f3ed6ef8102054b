//! The transparency log on PostgreSQL: the same tables as on SQLite. Replicas append in turn,
//! under a transaction-scoped advisory lock released with the batch's commit. A batch appends
//! in the statement that stores its snapshots (`vouch_tlog_append_leaves` of migration 0013:
//! the lock, the frontier read, the leaves and the subtrees they complete hashed and stored),
//! which answers the first leaf index, and the snapshots are inserted with theirs. Rows stored
//! before the log existed get theirs at start-up from [`catch_up`], which sets them.

use sqlx::Row as _;
use sqlx::postgres::PgPool;
use vouch_evidence::tlog::{Frontier, Hash, NodeId};
use vouch_evidence::{Digest, Timestamp};

use super::PgStore;
use crate::{LogHead, LogStore, StoreError};
use async_trait::async_trait;

/// The advisory lock key appends hold ("vouchlog").
pub(super) const LOG_LOCK: i64 = 0x766f_7563_686c_6f67;

type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

async fn size<'e>(e: impl sqlx::PgExecutor<'e>) -> Result<u64, sqlx::Error> {
    let next: Option<i64> =
        sqlx::query_scalar("SELECT MAX(idx) + 1 FROM tlog_nodes WHERE level = 0")
            .fetch_one(e)
            .await?;
    Ok(next.unwrap_or(0) as u64)
}

/// The hashes of `ids`, in order; one the log does not hold is an error.
async fn nodes<'e>(e: impl sqlx::PgExecutor<'e>, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
    let levels: Vec<i64> = ids.iter().map(|i| i64::from(i.level)).collect();
    let idxs: Vec<i64> = ids.iter().map(|i| i.index as i64).collect();
    // Each node by its primary key (a correlated lookup): a join with the arrays could be
    // planned as a scan of every node, whose cost grows with the log.
    let rows = sqlx::query(
        "SELECT (SELECT n.hash FROM tlog_nodes n WHERE n.level = k.level AND n.idx = k.idx)
         FROM UNNEST($1::int8[], $2::int8[]) WITH ORDINALITY AS k(level, idx, ord)
         ORDER BY k.ord",
    )
    .bind(&levels)
    .bind(&idxs)
    .fetch_all(e)
    .await?;
    rows.iter()
        .zip(ids)
        .map(|(r, id)| {
            let bytes: Option<Vec<u8>> = r.try_get(0)?;
            let bytes = bytes.ok_or_else(|| {
                StoreError::Backend(format!("the log holds no node {}/{}", id.level, id.index))
            })?;
            bytes
                .try_into()
                .map_err(|_| StoreError::Backend("a log node hash is not 32 bytes".into()))
        })
        .collect()
}

async fn frontier(tx: &mut Tx<'_>) -> Result<Frontier, StoreError> {
    let size = size(&mut **tx).await?;
    let hashes = nodes(&mut **tx, &Frontier::nodes_of(size)).await?;
    Frontier::from_nodes(size, hashes)
        .ok_or_else(|| StoreError::Backend("the log's frontier does not fit its size".into()))
}

/// Appends `digests` in order to the log, inside the caller's transaction (after its
/// snapshots are stored, before its commit). One round trip: the function of migration 0012
/// takes the lock, hashes the leaves and the subtrees they complete as
/// [`Frontier::push`] does, and gives each snapshot its index.
pub(super) async fn append(tx: &mut Tx<'_>, digests: &[Digest]) -> Result<(), StoreError> {
    if digests.is_empty() {
        return Ok(());
    }
    let hexes: Vec<String> = digests.iter().map(Digest::to_hex).collect();
    sqlx::query("SELECT vouch_tlog_append($1, $2)")
        .bind(&hexes)
        .bind(LOG_LOCK)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Appends every stored snapshot the log does not hold yet (accepted before the log existed),
/// in the order they were received; answers how many.
pub(super) async fn catch_up(pool: &PgPool) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOG_LOCK)
        .execute(&mut *tx)
        .await?;
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT digest FROM snapshots WHERE log_index IS NULL ORDER BY received_at, digest",
    )
    .fetch_all(&mut *tx)
    .await?;
    let digests: Vec<Digest> = missing
        .iter()
        .map(|d| {
            d.parse()
                .map_err(|e| StoreError::Backend(format!("stored digest: {e}")))
        })
        .collect::<Result<_, _>>()?;
    append(&mut tx, &digests).await?;
    tx.commit().await?;
    Ok(digests.len() as u64)
}

#[async_trait]
impl LogStore for PgStore {
    async fn log_head(&self) -> Result<LogHead, StoreError> {
        let mut tx = self.pool.begin().await?;
        let f = frontier(&mut tx).await?;
        tx.commit().await?;
        Ok(LogHead {
            size: f.size(),
            root: f.root(),
        })
    }

    async fn log_nodes(&self, ids: Vec<NodeId>) -> Result<Vec<Hash>, StoreError> {
        nodes(&self.pool, &ids).await
    }

    async fn log_index(&self, digest: Digest) -> Result<Option<u64>, StoreError> {
        let index: Option<Option<i64>> =
            sqlx::query_scalar("SELECT log_index FROM snapshots WHERE digest = $1")
                .bind(digest.to_hex())
                .fetch_optional(&self.pool)
                .await?;
        Ok(index.flatten().map(|i| i as u64))
    }

    async fn add_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tlog_cosignatures(size, witness, line, received_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT(size, witness) DO UPDATE SET
                line = excluded.line, received_at = excluded.received_at",
        )
        .bind(size as i64)
        .bind(witness)
        .bind(line)
        .bind(at.unix_micros())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT witness, line FROM tlog_cosignatures WHERE size = $1 ORDER BY witness",
        )
        .bind(size as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    async fn witnessed_size(&self, quorum: usize) -> Result<Option<u64>, StoreError> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(size) FROM (SELECT size FROM tlog_cosignatures
             GROUP BY size HAVING COUNT(*) >= $1) AS q",
        )
        .bind(quorum.max(1) as i64)
        .fetch_one(&self.pool)
        .await?;
        Ok(size.map(|s| s as u64))
    }

    async fn add_timestamp(
        &self,
        size: u64,
        token: Vec<u8>,
        gen_time: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tlog_timestamps(size, token, gen_time) VALUES ($1, $2, $3)
             ON CONFLICT(size) DO NOTHING",
        )
        .bind(size as i64)
        .bind(token)
        .bind(gen_time.unix_micros())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn timestamp_covering(
        &self,
        index: Option<u64>,
    ) -> Result<Option<(u64, Vec<u8>, Timestamp)>, StoreError> {
        let row: Option<(i64, Vec<u8>, i64)> =
            match index {
                Some(i) => {
                    sqlx::query_as(
                        "SELECT size, token, gen_time FROM tlog_timestamps WHERE size > $1
                     ORDER BY size LIMIT 1",
                    )
                    .bind(i as i64)
                    .fetch_optional(&self.pool)
                    .await?
                }
                None => sqlx::query_as(
                    "SELECT size, token, gen_time FROM tlog_timestamps ORDER BY size DESC LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?,
            };
        row.map(|(size, token, at)| {
            let at = Timestamp::from_unix_micros(at).ok_or_else(|| {
                StoreError::Backend(format!("stored instant {at} is out of range"))
            })?;
            Ok((size as u64, token, at))
        })
        .transpose()
    }

    async fn prune_cosignatures(&self, below: u64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM tlog_cosignatures WHERE size < $1")
            .bind(below as i64)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
