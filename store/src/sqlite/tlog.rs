//! The transparency log on SQLite: every accepted snapshot's digest appended as a leaf in the
//! writer's group commit (the frontier kept in the writer thread), the hash of every perfect
//! subtree in `tlog_nodes`, each snapshot's leaf index in `snapshots.log_index`.

use vouch_evidence::tlog::{Frontier, Hash, NodeId, leaf_hash};

use super::*;
use crate::{LogHead, LogStore};

/// Schema step 11 (the PostgreSQL migration `0007_transparency_log.sql` is the same).
pub(super) const SCHEMA: &str = "
    ALTER TABLE snapshots ADD COLUMN log_index INTEGER;
    CREATE UNIQUE INDEX snapshots_by_log_index ON snapshots(log_index);
    CREATE TABLE tlog_nodes(
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY(level, idx)) WITHOUT ROWID;";

/// Schema step 12 (the PostgreSQL migration `0008_cosignatures.sql` is the same).
pub(super) const COSIGNATURES: &str = "
    CREATE TABLE tlog_cosignatures(
        size INTEGER NOT NULL,
        witness TEXT NOT NULL,
        line TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY(size, witness)) WITHOUT ROWID;";

fn hash_col(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Backend("a log node hash is not 32 bytes".into()))
}

/// The hashes of `ids`, in order; an id the log does not hold is an error (a proof asked of a
/// tree larger than the log).
pub(super) fn nodes(c: &Connection, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
    let mut stmt = c.prepare_cached("SELECT hash FROM tlog_nodes WHERE level = ?1 AND idx = ?2")?;
    ids.iter()
        .map(|id| {
            let bytes: Option<Vec<u8>> = stmt
                .query_row(params![id.level, id.index as i64], |r| r.get(0))
                .optional()?;
            let bytes = bytes.ok_or_else(|| {
                StoreError::Backend(format!("the log holds no node {}/{}", id.level, id.index))
            })?;
            hash_col(bytes)
        })
        .collect()
}

/// How many leaves the log holds.
pub(super) fn size(c: &Connection) -> Result<u64, StoreError> {
    let next: Option<i64> = c
        .prepare_cached("SELECT MAX(idx) + 1 FROM tlog_nodes WHERE level = 0")?
        .query_row([], |r| r.get(0))?;
    Ok(next.unwrap_or(0) as u64)
}

/// The log's frontier, read back from its nodes.
pub(super) fn frontier(c: &Connection) -> Result<Frontier, StoreError> {
    let size = size(c)?;
    let hashes = nodes(c, &Frontier::nodes_of(size))?;
    Frontier::from_nodes(size, hashes)
        .ok_or_else(|| StoreError::Backend("the log's frontier does not fit its size".into()))
}

/// Appends `digest` as the next leaf: its completed subtrees stored, its index answered. The
/// snapshot row must already hold that index (`snapshots.log_index`, written with the row:
/// see [`next_index`]), or `set_row` writes it (a snapshot stored before the log). `frontier`
/// moves only when every write succeeded.
pub(super) fn append(
    c: &Connection,
    frontier: &mut Frontier,
    digest: &Digest,
    set_row: bool,
) -> Result<u64, StoreError> {
    let mut next = frontier.clone();
    let index = next.size();
    let mut insert =
        c.prepare_cached("INSERT INTO tlog_nodes(level, idx, hash) VALUES (?1, ?2, ?3)")?;
    for (id, hash) in next.push(leaf_hash(&digest.0)) {
        insert.execute(params![id.level, id.index as i64, &hash[..]])?;
    }
    if set_row {
        c.prepare_cached("UPDATE snapshots SET log_index = ?1 WHERE digest = ?2")?
            .execute(params![index as i64, digest.to_hex()])?;
    }
    *frontier = next;
    Ok(index)
}

/// The leaf index the next appended snapshot gets.
pub(super) fn next_index(frontier: &Frontier) -> i64 {
    frontier.size() as i64
}

/// Appends every stored snapshot the log does not hold yet (those accepted before the log
/// existed), in the order they were received; answers how many.
pub(super) fn catch_up(c: &mut Connection, frontier: &mut Frontier) -> Result<u64, StoreError> {
    let tx = c.transaction()?;
    let missing: Vec<String> = tx
        .prepare(
            "SELECT digest FROM snapshots WHERE log_index IS NULL ORDER BY received_at, digest",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut next = frontier.clone();
    for d in &missing {
        append(&tx, &mut next, &digest_col(d.clone())?, true)?;
    }
    tx.commit()?;
    *frontier = next;
    Ok(missing.len() as u64)
}

#[async_trait]
impl LogStore for SqliteStore {
    async fn log_head(&self) -> Result<LogHead, StoreError> {
        self.read(|c| {
            let f = frontier(c)?;
            Ok(LogHead {
                size: f.size(),
                root: f.root(),
            })
        })
        .await
    }

    async fn log_nodes(&self, ids: Vec<NodeId>) -> Result<Vec<Hash>, StoreError> {
        self.read(move |c| nodes(c, &ids)).await
    }

    async fn log_index(&self, digest: Digest) -> Result<Option<u64>, StoreError> {
        self.read(move |c| {
            let index: Option<Option<i64>> = c
                .prepare_cached("SELECT log_index FROM snapshots WHERE digest = ?1")?
                .query_row([digest.to_hex()], |r| r.get(0))
                .optional()?;
            Ok(index.flatten().map(|i| i as u64))
        })
        .await
    }

    async fn add_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (witness, line) = (witness.to_string(), line.to_string());
        self.write_fn(move |c| {
            c.prepare_cached(
                "INSERT INTO tlog_cosignatures(size, witness, line, received_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(size, witness) DO UPDATE SET
                    line = excluded.line, received_at = excluded.received_at",
            )?
            .execute(params![size as i64, witness, line, at.unix_micros()])?;
            Ok(())
        })
        .await
    }

    async fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>, StoreError> {
        self.read(move |c| {
            let rows = c
                .prepare_cached(
                    "SELECT witness, line FROM tlog_cosignatures WHERE size = ?1 ORDER BY witness",
                )?
                .query_map([size as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn witnessed_size(&self, quorum: usize) -> Result<Option<u64>, StoreError> {
        self.read(move |c| {
            let size: Option<i64> = c
                .prepare_cached(
                    "SELECT MAX(size) FROM (SELECT size FROM tlog_cosignatures
                     GROUP BY size HAVING COUNT(*) >= ?1)",
                )?
                .query_row([quorum.max(1) as i64], |r| r.get(0))?;
            Ok(size.map(|s| s as u64))
        })
        .await
    }

    async fn add_timestamp(
        &self,
        size: u64,
        token: Vec<u8>,
        gen_time: Timestamp,
    ) -> Result<(), StoreError> {
        self.write_fn(move |c| {
            c.prepare_cached(
                "INSERT INTO tlog_timestamps(size, token, gen_time) VALUES (?1, ?2, ?3)
                 ON CONFLICT(size) DO NOTHING",
            )?
            .execute(params![size as i64, token, gen_time.unix_micros()])?;
            Ok(())
        })
        .await
    }

    async fn timestamp_covering(
        &self,
        index: Option<u64>,
    ) -> Result<Option<(u64, Vec<u8>, Timestamp)>, StoreError> {
        self.read(move |c| {
            let row: Option<(i64, Vec<u8>, i64)> = match index {
                Some(i) => c
                    .prepare_cached(
                        "SELECT size, token, gen_time FROM tlog_timestamps WHERE size > ?1
                         ORDER BY size LIMIT 1",
                    )?
                    .query_row([i as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?,
                None => c
                    .prepare_cached(
                        "SELECT size, token, gen_time FROM tlog_timestamps
                         ORDER BY size DESC LIMIT 1",
                    )?
                    .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?,
            };
            row.map(|(size, token, at)| Ok((size as u64, token, ts(at)?)))
                .transpose()
        })
        .await
    }

    async fn prune_cosignatures(&self, below: u64) -> Result<u64, StoreError> {
        self.write_fn(move |c| {
            let n = c
                .prepare_cached("DELETE FROM tlog_cosignatures WHERE size < ?1")?
                .execute([below as i64])?;
            Ok(n as u64)
        })
        .await
    }
}
