//! The transparency log on PostgreSQL: the same node table as on SQLite, appended by a
//! sequencer rather than inside each ingest batch (migration 0014, as Trillian does it).
//!
//! A batch queues its accepted snapshots (`tlog_queue`) in the commit that stores them, taking
//! no lock for the log, so the writers' commits overlap. The [`Sequencer`] then runs a round
//! (`vouch_tlog_sequence`: the log's advisory lock, the queue emptied in order, the leaves and
//! the subtrees they complete hashed and stored, each leaf's index recorded in `tlog_leaves`)
//! in one transaction of its own, and only after it commits are the batch's requests
//! answered: an acknowledged snapshot is in the log. Replicas sequence in turn under the
//! lock; each round appends whatever any replica queued. A snapshot whose batch committed but
//! whose round did not (a crash between the two) stays queued until the next round, at the
//! latest the next start ([`sequence_all`]).

use sqlx::Row as _;
use sqlx::postgres::PgPool;
use vouch_evidence::tlog::{Frontier, Hash, NodeId};
use vouch_evidence::{Digest, Timestamp};

use tokio::sync::{mpsc, oneshot};

use super::PgStore;
use crate::{IngestOutcome, LogHead, LogStore, StoreError};
use async_trait::async_trait;

/// The key of the advisory lock every append to the log holds ("vouchlog"): one replica's
/// sequencer at a time.
pub const LOG_LOCK: i64 = 0x766f_7563_686c_6f67;

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

/// The most queued snapshots one sequencing transaction appends.
const MOST_PER_ROUND: i64 = 4096;

/// One sequencing transaction (`vouch_tlog_sequence` of migration 0014): under the log's lock,
/// everything queued (up to [`MOST_PER_ROUND`]) appended in the order it was queued; answers
/// how many.
async fn round(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let appended: i64 = sqlx::query_scalar("SELECT vouch_tlog_sequence($1, $2)")
        .bind(LOG_LOCK)
        .bind(MOST_PER_ROUND)
        .fetch_one(&mut *tx)
        .await?;
    // An explicit commit: its answer comes once the round is durable (a statement's row can
    // come before its implicit transaction has committed), and only then are snapshots
    // acknowledged.
    tx.commit().await?;
    Ok(appended as u64)
}

/// Appends everything queued when it is called (and whatever is queued meanwhile), in rounds;
/// answers how many. At start-up it appends what a stop left queued, and the snapshots stored
/// before the log existed (queued by migration 0014).
pub(super) async fn sequence_all(pool: &PgPool) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let appended = round(pool).await?;
        total += appended;
        if appended < MOST_PER_ROUND as u64 {
            return Ok(total);
        }
    }
}

type Answer = oneshot::Sender<Result<IngestOutcome, StoreError>>;

/// An ingest request's answer, held until the snapshots it stored are in the log.
type Held = (Answer, Result<IngestOutcome, StoreError>);

/// The sequencer: ingest's writers hand it the answers of each batch they committed; it runs a
/// sequencing round that begins after they were handed over (so it sees their queued
/// snapshots, or finds another replica appended them), and only then sends them. Answers
/// handed over while a round runs wait for the next one, which takes all of them: one round
/// (one lock, one commit) per handful of batches, whatever the rate.
#[derive(Clone)]
pub(super) struct Sequencer {
    held: mpsc::UnboundedSender<Held>,
}

impl Sequencer {
    /// Starts the sequencing task on the current Tokio runtime. It ends when every
    /// `Sequencer` is dropped.
    pub(super) fn start(pool: PgPool) -> Sequencer {
        let (held, mut rx) = mpsc::unbounded_channel::<Held>();
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while rx.recv_many(&mut answers, usize::MAX).await > 0 {
                let stored = answers.iter().any(|(_, outcome)| outcome.is_ok());
                let done = if stored {
                    sequence_all(&pool).await.map_err(|e| {
                        tracing::error!(error = %e, "appending queued snapshots to the transparency log failed");
                        e.to_string()
                    })
                } else {
                    Ok(0)
                };
                for (answer, outcome) in answers.drain(..) {
                    let outcome = match (&done, outcome) {
                        (Err(e), Ok(_)) => Err(StoreError::Backend(format!(
                            "stored, but not yet appended to the transparency log: {e}"
                        ))),
                        (_, outcome) => outcome,
                    };
                    let _ = answer.send(outcome);
                }
            }
        });
        Sequencer { held }
    }

    /// Sends `outcome` once the snapshots committed so far are in the log.
    pub(super) fn answer(&self, answer: Answer, outcome: Result<IngestOutcome, StoreError>) {
        if let Err(mpsc::error::SendError((answer, _))) = self.held.send((answer, outcome)) {
            let _ = answer.send(Err(StoreError::Backend(
                "the transparency log's sequencer has stopped".into(),
            )));
        }
    }
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
        // Appended by the sequencer (tlog_leaves), or before it, by the batch that stored it.
        let index: Option<i64> = sqlx::query_scalar(
            "SELECT idx FROM tlog_leaves WHERE digest = $1
             UNION ALL
             SELECT log_index FROM snapshots WHERE digest = $1 AND log_index IS NOT NULL
             LIMIT 1",
        )
        .bind(digest.to_hex())
        .fetch_optional(&self.pool)
        .await?;
        Ok(index.map(|i| i as u64))
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
