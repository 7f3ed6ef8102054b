//! Ingest on PostgreSQL in batches. Every request is queued to a few writer tasks; each takes
//! all the requests waiting (up to [`MAX_BATCH`]) and stores them in one transaction of four
//! round trips and one commit, whatever the batch's size:
//!
//! 1. the heads of the batch's chains, locked (`FOR UPDATE`, in key order so two writers never
//!    wait on each other in a circle);
//! 2. the receipts of digests already stored (read after the locks, so a snapshot committed by
//!    whoever held a lock is seen: a resend, not a fork);
//! 3. every link checked in memory, in the order the requests arrived (a later request of the
//!    same chain sees the earlier one's head);
//! 4. the accepted snapshots and the chains' new heads in one statement (snapshots by digest,
//!    then chains by key: the one order every writer takes its row locks in), which also
//!    queues the snapshots for the transparency log in the order they were accepted;
//! 5. the commit; then the answers go to the log's sequencer ([`super::tlog::Sequencer`]),
//!    which sends them once a round has appended the queued snapshots to the log.
//!
//! Exactly-once still rests on the database, not on this process: a batch that meets another
//! replica's row (a chain both saw as new, a digest both are storing) fails on the
//! `PRIMARY KEY(digest)` or `UNIQUE(asset_kind, asset_id, agent_id, sequence)` constraint (or
//! is the transaction PostgreSQL rolls back to break a deadlock), is rolled back whole, and
//! its requests are then stored one at a time by the one-snapshot transaction
//! ([`ingest_one`]), which finds the winner's rows and is run again if it loses a race. A refusal (a gap, a fork) is
//! the answer of its own request only; the others in its batch are stored.

use super::{PgStore, access, digest_at, ts};
use crate::{IngestStore, Rejection, RejectionCount};
use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use sqlx::Row;
use sqlx::postgres::PgPool;
use tokio::sync::{Mutex, mpsc, oneshot};
use vouch_evidence::chain::{Head, check_link_parts, check_time};
use vouch_evidence::{Digest, Timestamp};

use super::tlog::Sequencer;
use super::{RETRIES, lost_race};
use crate::{IngestOutcome, NewSnapshot, StoreError};

/// The most snapshots one transaction stores (about 13 KB each at the loadgen's size).
const MAX_BATCH: usize = 256;

/// Writer tasks per process: while one commits, the next batch is gathered and sent.
const WRITERS: usize = 2;

type Answer = oneshot::Sender<Result<IngestOutcome, StoreError>>;

/// The queue in front of the writer tasks. The tasks end when it is dropped.
pub(super) struct Writer {
    queue: mpsc::Sender<(NewSnapshot, Answer)>,
}

impl Writer {
    /// Starts the writer tasks on the current Tokio runtime.
    pub(super) fn start(pool: PgPool, sequencer: Sequencer) -> Writer {
        let (queue, rx) = mpsc::channel(4 * MAX_BATCH);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WRITERS {
            let (pool, rx, sequencer) = (pool.clone(), rx.clone(), sequencer.clone());
            tokio::spawn(async move {
                loop {
                    let mut batch = Vec::with_capacity(MAX_BATCH);
                    if rx.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
                        break;
                    }
                    write(&pool, &sequencer, batch).await;
                }
            });
        }
        Writer { queue }
    }

    /// Stores `s` with whatever else is queued, and answers once that batch has committed.
    pub(super) async fn ingest(&self, s: NewSnapshot) -> Result<IngestOutcome, StoreError> {
        let (answer, outcome) = oneshot::channel();
        self.queue
            .send((s, answer))
            .await
            .map_err(|_| StoreError::Backend("the ingest writer has stopped".into()))?;
        outcome
            .await
            .map_err(|_| StoreError::Backend("the ingest writer dropped the request".into()))?
    }
}

/// Stores one batch and hands each request's answer to the sequencer, which sends it once the
/// snapshots are in the transparency log.
async fn write(pool: &PgPool, sequencer: &Sequencer, batch: Vec<(NewSnapshot, Answer)>) {
    let (items, answers): (Vec<NewSnapshot>, Vec<Answer>) = batch.into_iter().unzip();
    match write_batch(pool, &items).await {
        Ok(outcomes) => {
            for (answer, outcome) in answers.into_iter().zip(outcomes) {
                sequencer.answer(answer, outcome);
            }
        }
        Err(e) => {
            if !lost_race(&e) {
                tracing::warn!(error = %e, snapshots = items.len(),
                    "a batched ingest transaction failed; storing its snapshots one at a time");
            }
            for (item, answer) in items.iter().zip(answers) {
                sequencer.answer(answer, ingest_one(pool, item).await);
            }
        }
    }
}

/// The chain a snapshot extends, as the columns name it.
fn chain_of(s: &NewSnapshot) -> (&str, &str, &str) {
    (
        &s.chain.agent_id,
        s.chain.asset_kind.as_str(),
        &s.chain.asset_id,
    )
}

/// One transaction for the whole batch; `Err` when it was rolled back.
async fn write_batch(
    pool: &PgPool,
    items: &[NewSnapshot],
) -> Result<Vec<Result<IngestOutcome, StoreError>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let chains: BTreeSet<(&str, &str, &str)> = items.iter().map(chain_of).collect();
    let agents: Vec<&str> = chains.iter().map(|c| c.0).collect();
    let kinds: Vec<&str> = chains.iter().map(|c| c.1).collect();
    let assets: Vec<&str> = chains.iter().map(|c| c.2).collect();
    let mut heads: HashMap<(String, String, String), (Head, i64)> = HashMap::new();
    for row in sqlx::query(
        "SELECT c.agent_id, c.asset_kind, c.asset_id, c.head_sequence, c.head_digest,
                c.last_collected_at
         FROM chains c
         JOIN UNNEST($1::text[], $2::text[], $3::text[]) AS k(agent_id, asset_kind, asset_id)
           USING (agent_id, asset_kind, asset_id)
         ORDER BY c.agent_id, c.asset_kind, c.asset_id
         FOR UPDATE OF c",
    )
    .bind(agents)
    .bind(kinds)
    .bind(assets)
    .fetch_all(&mut *tx)
    .await?
    {
        let digest: String = row.try_get(4)?;
        heads.insert(
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?),
            (
                Head {
                    sequence: row.try_get::<i64, _>(3)? as u64,
                    digest: digest
                        .parse()
                        .map_err(|e| sqlx::Error::Decode(format!("head digest: {e}").into()))?,
                },
                row.try_get::<i64, _>(5)?,
            ),
        );
    }
    let hexes: Vec<String> = items.iter().map(|s| s.digest.to_hex()).collect();
    let mut receipts: HashMap<String, Vec<u8>> = HashMap::new();
    for row in sqlx::query("SELECT digest, receipt FROM snapshots WHERE digest = ANY($1)")
        .bind(&hexes)
        .fetch_all(&mut *tx)
        .await?
    {
        receipts.insert(row.try_get(0)?, row.try_get(1)?);
    }

    // Every request judged in arrival order against the heads as they move.
    let mut outcomes = Vec::with_capacity(items.len());
    let mut accepted: Vec<usize> = Vec::new();
    let mut in_batch: HashMap<Digest, usize> = HashMap::new();
    for (i, s) in items.iter().enumerate() {
        if let Some(receipt) = receipts.get(&hexes[i]) {
            outcomes.push(Ok(IngestOutcome::Duplicate {
                receipt: receipt.clone(),
            }));
            continue;
        }
        if let Some(&first) = in_batch.get(&s.digest) {
            outcomes.push(Ok(IngestOutcome::Duplicate {
                receipt: items[first].receipt.clone(),
            }));
            continue;
        }
        let (a, k, id) = chain_of(s);
        let key = (a.to_string(), k.to_string(), id.to_string());
        let head = heads.get(&key).copied();
        let checked =
            check_link_parts(head.map(|h| h.0), s.sequence, s.previous_digest).and_then(|()| {
                check_time(
                    head.and_then(|h| vouch_evidence::Timestamp::from_unix_micros(h.1)),
                    s.collected_at,
                )
            });
        match checked {
            Err(source) => outcomes.push(Err(StoreError::Chain {
                chain: s.chain.clone(),
                source,
            })),
            Ok(()) => {
                heads.insert(
                    key,
                    (
                        Head {
                            sequence: s.sequence,
                            digest: s.digest,
                        },
                        s.collected_at.unix_micros(),
                    ),
                );
                in_batch.insert(s.digest, i);
                accepted.push(i);
                outcomes.push(Ok(IngestOutcome::Stored {
                    receipt: s.receipt.clone(),
                }));
            }
        }
    }
    if !accepted.is_empty() {
        store_accepted(&mut tx, items, &accepted).await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// One column of `rows`, for binding as an array.
fn column<'a, T>(rows: &[&'a NewSnapshot], f: impl Fn(&'a NewSnapshot) -> T) -> Vec<T> {
    rows.iter().map(|s| f(s)).collect()
}

/// The accepted snapshots and their chains' new heads, in one statement.
async fn store_accepted(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    items: &[NewSnapshot],
    accepted: &[usize],
) -> Result<(), sqlx::Error> {
    // The log's leaves follow the order of acceptance, whatever order the rows are written in:
    // they are queued in that order, and the sequencer appends them in the order queued.
    let leaves: Vec<String> = accepted.iter().map(|&i| items[i].digest.to_hex()).collect();
    // Rows are written in one order every writer shares (snapshots by digest, then chains by
    // key, the statement finishing the one before the other), so two transactions meeting
    // on the same rows wait on each other in a line, never in a circle.
    let mut stored: Vec<&NewSnapshot> = accepted.iter().map(|&i| &items[i]).collect();
    // Each chain's new head is its last accepted snapshot; the count is how many it gained.
    let mut heads: Vec<(&NewSnapshot, i64)> = Vec::new();
    let mut at: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for &s in &stored {
        match at.get(&chain_of(s)) {
            Some(&slot) => heads[slot] = (s, heads[slot].1 + 1),
            None => {
                at.insert(chain_of(s), heads.len());
                heads.push((s, 1));
            }
        }
    }
    heads.sort_by_key(|(s, _)| chain_of(s));
    stored.sort_by_key(|s| s.digest);
    let gained: Vec<i64> = heads.iter().map(|&(_, n)| n).collect();
    let heads: Vec<&NewSnapshot> = heads.into_iter().map(|(s, _)| s).collect();
    sqlx::query(
        "WITH stored AS (
             INSERT INTO snapshots(digest, agent_id, asset_kind, asset_id, asset_name, sequence,
                                   previous_digest, collected_at, received_at, envelope, receipt)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                  $6::int8[], $7::text[], $8::int8[], $9::int8[], $10::bytea[],
                                  $11::bytea[])
             RETURNING digest, received_at),
         queued AS (INSERT INTO unjudged(digest, received_at) SELECT * FROM stored),
         logged AS (
             INSERT INTO tlog_queue(digest)
             SELECT u.digest FROM UNNEST($21::text[]) WITH ORDINALITY AS u(digest, place)
             ORDER BY u.place)
         INSERT INTO chains(agent_id, asset_kind, asset_id, asset_name, head_sequence,
                            head_digest, snapshot_count, last_collected_at, last_received_at)
         SELECT * FROM UNNEST($12::text[], $13::text[], $14::text[], $15::text[], $16::int8[],
                              $17::text[], $18::int8[], $19::int8[], $20::int8[])
         WHERE (SELECT count(*) FROM stored) > 0
         ON CONFLICT(agent_id, asset_kind, asset_id) DO UPDATE SET
            asset_name = excluded.asset_name, head_sequence = excluded.head_sequence,
            head_digest = excluded.head_digest,
            snapshot_count = chains.snapshot_count + excluded.snapshot_count,
            last_collected_at = excluded.last_collected_at,
            last_received_at = excluded.last_received_at",
    )
    .bind(column(&stored, |s| s.digest.to_hex()))
    .bind(column(&stored, |s| s.chain.agent_id.as_str()))
    .bind(column(&stored, |s| s.chain.asset_kind.as_str()))
    .bind(column(&stored, |s| s.chain.asset_id.as_str()))
    .bind(column(&stored, |s| s.asset_name.as_str()))
    .bind(column(&stored, |s| s.sequence as i64))
    .bind(column(&stored, |s| s.previous_digest.map(|d| d.to_hex())))
    .bind(column(&stored, |s| s.collected_at.unix_micros()))
    .bind(column(&stored, |s| s.received_at.unix_micros()))
    .bind(column(&stored, |s| s.envelope.as_slice()))
    .bind(column(&stored, |s| s.receipt.as_slice()))
    .bind(column(&heads, |s| s.chain.agent_id.as_str()))
    .bind(column(&heads, |s| s.chain.asset_kind.as_str()))
    .bind(column(&heads, |s| s.chain.asset_id.as_str()))
    .bind(column(&heads, |s| s.asset_name.as_str()))
    .bind(column(&heads, |s| s.sequence as i64))
    .bind(column(&heads, |s| s.digest.to_hex()))
    .bind(gained)
    .bind(column(&heads, |s| s.collected_at.unix_micros()))
    .bind(column(&heads, |s| s.received_at.unix_micros()))
    .bind(&leaves)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores one snapshot in a transaction of its own, running it again when it lost a race to
/// another replica (it then finds the winner's row).
pub(super) async fn ingest_one(
    pool: &PgPool,
    snapshot: &NewSnapshot,
) -> Result<IngestOutcome, StoreError> {
    let mut attempt = 0;
    loop {
        match ingest_once(pool, snapshot).await {
            Ok(Ok(outcome)) => return Ok(outcome),
            Ok(Err(source)) => {
                return Err(StoreError::Chain {
                    chain: snapshot.chain.clone(),
                    source,
                });
            }
            Err(e) if lost_race(&e) && attempt < RETRIES => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// One attempt at ingest in one transaction; the inner error is the chain's refusal.
async fn ingest_once(
    pool: &PgPool,
    s: &NewSnapshot,
) -> Result<Result<IngestOutcome, vouch_evidence::chain::LinkError>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let hex = s.digest.to_hex();
    let kind = s.chain.asset_kind.as_str();
    // One round trip for the common case: the chain's head, locked, with the receipt of
    // this digest if it is stored already (a resend).
    let row = sqlx::query(
        "SELECT head_sequence, head_digest,
                (SELECT receipt FROM snapshots WHERE digest = $4), last_collected_at
         FROM chains
         WHERE agent_id = $1 AND asset_kind = $2 AND asset_id = $3 FOR UPDATE",
    )
    .bind(&s.chain.agent_id)
    .bind(kind)
    .bind(&s.chain.asset_id)
    .bind(&hex)
    .fetch_optional(&mut *tx)
    .await?;
    let head_collected_at = row
        .as_ref()
        .map(|r| r.try_get::<i64, _>(3))
        .transpose()?
        .and_then(vouch_evidence::Timestamp::from_unix_micros);
    let head = match row {
        // A chain not stored yet holds no snapshot either (a chain's first snapshot and its
        // row are committed together); a resend racing its original meets the primary key
        // and is run again, when it finds the chain and the receipt.
        None => None,
        Some(row) => {
            if let Some(receipt) = row.try_get::<Option<Vec<u8>>, _>(2)? {
                return Ok(Ok(IngestOutcome::Duplicate { receipt }));
            }
            Some(Head {
                sequence: row.try_get::<i64, _>(0)? as u64,
                digest: row
                    .try_get::<String, _>(1)?
                    .parse()
                    .map_err(|e| sqlx::Error::Decode(format!("head digest: {e}").into()))?,
            })
        }
    };
    if let Err(refusal) = check_link_parts(head, s.sequence, s.previous_digest)
        .and_then(|()| check_time(head_collected_at, s.collected_at))
    {
        // The same snapshot may have been committed by another transaction since the first
        // look (this statement sees it under READ COMMITTED): that is a resend, not a fork.
        if let Some(row) = sqlx::query("SELECT receipt FROM snapshots WHERE digest = $1")
            .bind(&hex)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Ok(Ok(IngestOutcome::Duplicate {
                receipt: row.try_get(0)?,
            }));
        }
        return Ok(Err(refusal)); // the transaction is dropped: nothing written
    }
    // The snapshot, its place in the log's queue and the chain's new head in one statement
    // (one round trip), in the order the batches write them.
    sqlx::query(
        "WITH stored AS (
             INSERT INTO snapshots(digest, agent_id, asset_kind, asset_id, asset_name,
                                   sequence, previous_digest, collected_at, received_at,
                                   envelope, receipt)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             RETURNING digest, received_at),
         queued AS (INSERT INTO unjudged(digest, received_at) SELECT * FROM stored),
         logged AS (INSERT INTO tlog_queue(digest) SELECT digest FROM stored)
         INSERT INTO chains(agent_id, asset_kind, asset_id, asset_name, head_sequence,
                            head_digest, snapshot_count, last_collected_at, last_received_at)
         SELECT $2, $3, $4, $5, $6, $1, 1, $8, $9 FROM stored
         ON CONFLICT(agent_id, asset_kind, asset_id) DO UPDATE SET
            asset_name = excluded.asset_name, head_sequence = excluded.head_sequence,
            head_digest = excluded.head_digest,
            snapshot_count = chains.snapshot_count + 1,
            last_collected_at = excluded.last_collected_at,
            last_received_at = excluded.last_received_at",
    )
    .bind(&hex)
    .bind(&s.chain.agent_id)
    .bind(kind)
    .bind(&s.chain.asset_id)
    .bind(&s.asset_name)
    .bind(s.sequence as i64)
    .bind(s.previous_digest.map(|d| d.to_hex()))
    .bind(s.collected_at.unix_micros())
    .bind(s.received_at.unix_micros())
    .bind(&s.envelope)
    .bind(&s.receipt)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(IngestOutcome::Stored {
        receipt: s.receipt.clone(),
    }))
}

#[async_trait]
impl IngestStore for PgStore {
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
}
