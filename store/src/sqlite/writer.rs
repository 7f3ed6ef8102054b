//! The one writer thread: group commit, a savepoint per request, and ingest with its chain
//! check.

use super::*;

/// Most requests committed in one transaction.
pub(super) const MAX_BATCH: usize = 512;

pub(super) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// Answers a request once the batch's commit outcome (an error message, or none) is known.
pub(super) type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

pub(super) enum Write {
    Ingest(Box<NewSnapshot>, Reply<IngestOutcome>),
    /// Any other write.
    Job(Box<dyn Job>),
    /// Commit everything queued before it, close the connection, then answer.
    Close(Reply<()>),
}

pub(super) fn writer_loop(
    mut conn: Connection,
    mut frontier: vouch_evidence::tlog::Frontier,
    rx: mpsc::Receiver<Write>,
) {
    let mut closing = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let mut done: Vec<Answer> = Vec::with_capacity(batch.len());
        // The log's frontier as committed: restored if the batch does not commit.
        let committed = frontier.clone();
        let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => {
                let msg = e.to_string();
                for w in batch {
                    fail(w, &msg);
                }
                continue;
            }
        };
        for w in batch {
            match w {
                Write::Close(reply) => closing = Some(reply),
                w => done.push(apply(&tx, &mut frontier, w)),
            }
        }
        let commit_error = tx.commit().err().map(|e| e.to_string());
        if commit_error.is_some() {
            frontier = committed;
        }
        for reply in done {
            reply(commit_error.as_deref());
        }
        if closing.is_some() {
            // No write can follow: the sender was taken before `Close` was sent.
            break;
        }
    }
    let result = conn
        .close()
        .map_err(|(_, e)| StoreError::Backend(format!("closing the database: {e}")));
    if let Some(reply) = closing {
        let _ = reply.send(result);
    }
}

pub(super) fn fail(w: Write, msg: &str) {
    fn e<T>(msg: &str) -> Result<T, StoreError> {
        Err(StoreError::Backend(msg.to_string()))
    }
    match w {
        Write::Job(job) => job.fail(msg),
        Write::Ingest(_, r) => drop(r.send(e(msg))),
        Write::Close(r) => drop(r.send(e(msg))),
    }
}

/// How to answer a request once its batch's commit outcome is known.
pub(super) fn answer<T: Send + 'static>(reply: Reply<T>, result: Result<T, StoreError>) -> Answer {
    Box::new(move |commit_error| {
        let result = match (result, commit_error) {
            (Ok(_), Some(e)) => Err(StoreError::Backend(format!("commit failed: {e}"))),
            (r, _) => r,
        };
        let _ = reply.send(result);
    })
}

/// Runs `f` in its own savepoint, so that its failure undoes only its own writes.
pub(super) fn in_savepoint<T>(
    tx: &rusqlite::Transaction<'_>,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    tx.execute_batch("SAVEPOINT op")?;
    match f(tx) {
        Ok(v) => {
            tx.execute_batch("RELEASE op")?;
            Ok(v)
        }
        Err(e) => {
            tx.execute_batch("ROLLBACK TO op; RELEASE op")?;
            Err(e)
        }
    }
}

/// A write given as a function of the connection (the policy results, exceptions and runs),
/// committed in the same batches as the rest.
pub(super) trait Job: Send {
    /// Runs in a savepoint of the batch's transaction.
    fn run(self: Box<Self>, tx: &rusqlite::Transaction<'_>) -> Answer;
    /// The batch could not start: answer with `msg`.
    fn fail(self: Box<Self>, msg: &str);
}

pub(super) struct FnJob<T, F> {
    pub(super) f: F,
    pub(super) reply: Reply<T>,
}

impl<T, F> Job for FnJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(self: Box<Self>, tx: &rusqlite::Transaction<'_>) -> Answer {
        answer(self.reply, in_savepoint(tx, self.f))
    }
    fn fail(self: Box<Self>, msg: &str) {
        let _ = self.reply.send(Err(StoreError::Backend(msg.to_string())));
    }
}

/// Runs one request in a savepoint; returns how to answer it once the commit is known.
pub(super) fn apply(
    tx: &rusqlite::Transaction<'_>,
    frontier: &mut vouch_evidence::tlog::Frontier,
    w: Write,
) -> Answer {
    match w {
        Write::Job(job) => job.run(tx),
        Write::Ingest(s, reply) => answer(reply, in_savepoint(tx, |c| ingest(c, frontier, &s))),
        Write::Close(reply) => answer(reply, Ok(())),
    }
}

pub(super) fn ingest(
    c: &Connection,
    frontier: &mut vouch_evidence::tlog::Frontier,
    s: &NewSnapshot,
) -> Result<IngestOutcome, StoreError> {
    let digest = s.digest.to_hex();
    if let Some(receipt) = c
        .prepare_cached("SELECT receipt FROM snapshots WHERE digest = ?1")?
        .query_row([&digest], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
    {
        return Ok(IngestOutcome::Duplicate { receipt });
    }
    let kind = s.chain.asset_kind.as_str();
    let row = c
        .prepare_cached(
            "SELECT head_sequence, head_digest, last_collected_at FROM chains
             WHERE agent_id = ?1 AND asset_kind = ?2 AND asset_id = ?3",
        )?
        .query_row(params![s.chain.agent_id, kind, s.chain.asset_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .optional()?;
    let head = row
        .as_ref()
        .map(|(seq, d, _)| -> Result<Head, StoreError> {
            Ok(Head {
                sequence: *seq as u64,
                digest: d
                    .parse()
                    .map_err(|e| StoreError::Backend(format!("corrupt head digest: {e}")))?,
            })
        })
        .transpose()?;
    let head_collected_at = row.map(|(_, _, at)| ts(at)).transpose()?;
    check_link_parts(head, s.sequence, s.previous_digest)
        .and_then(|()| check_time(head_collected_at, s.collected_at))
        .map_err(|source| StoreError::Chain {
            chain: s.chain.clone(),
            source,
        })?;
    c.prepare_cached(
        "INSERT INTO snapshots(digest, agent_id, asset_kind, asset_id, asset_name, sequence,
                               previous_digest, collected_at, received_at, envelope, receipt,
                               log_index)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        digest,
        s.chain.agent_id,
        kind,
        s.chain.asset_id,
        s.asset_name,
        s.sequence as i64,
        s.previous_digest.map(|d| d.to_hex()),
        s.collected_at.unix_micros(),
        s.received_at.unix_micros(),
        s.envelope,
        s.receipt,
        super::tlog::next_index(frontier)
    ])?;
    c.prepare_cached("INSERT INTO unjudged(digest, received_at) VALUES (?1, ?2)")?
        .execute(params![digest, s.received_at.unix_micros()])?;
    c.prepare_cached(
        "INSERT INTO chains(agent_id, asset_kind, asset_id, asset_name, head_sequence, head_digest,
                            snapshot_count, last_collected_at, last_received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8)
         ON CONFLICT(agent_id, asset_kind, asset_id) DO UPDATE SET
            asset_name = excluded.asset_name, head_sequence = excluded.head_sequence,
            head_digest = excluded.head_digest, snapshot_count = snapshot_count + 1,
            last_collected_at = excluded.last_collected_at,
            last_received_at = excluded.last_received_at",
    )?
    .execute(params![
        s.chain.agent_id,
        kind,
        s.chain.asset_id,
        s.asset_name,
        s.sequence as i64,
        digest,
        s.collected_at.unix_micros(),
        s.received_at.unix_micros()
    ])?;
    super::tlog::append(c, frontier, &s.digest, false)?;
    Ok(IngestOutcome::Stored {
        receipt: s.receipt.clone(),
    })
}
