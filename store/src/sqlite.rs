//! The embedded store: one SQLite file in WAL mode with `synchronous=FULL`.
//!
//! Writes go through one writer thread that owns the only write connection. It takes every
//! request queued at that moment and commits them in one transaction (group commit), then
//! answers each caller — so a caller hears "stored" only after the fsync that makes it durable,
//! yet one fsync serves many snapshots. Each request runs inside its own savepoint, so one
//! request's failure (a chain conflict) never undoes another's. Because the writer is the only
//! one that writes, the chain check and the insert are serialised: exactly-once holds.
//! Reads use separate read-only connections and never wait for the writer.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};
use std::thread;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;
use vouch_evidence::api::{AssetSummary, SnapshotRef, SnapshotSummary};
use vouch_evidence::chain::{Head, check_link_parts, check_time};
use vouch_evidence::{AssetKind, ChainKey, Digest, Timestamp};

mod access;
mod evidence;
mod governance;
mod ingest;
mod judging;
mod results;
mod retention;
mod schema;
mod tlog;
mod writer;

pub use schema::SCHEMA_VERSION;
use schema::*;
use writer::*;

use super::RejectionCount;
use super::{
    AssetEvaluation, AttestationRecord, AuditPeriod, ControlChange, EnvelopeLocation, Evaluation,
    EvaluationRun, ExceptionRecord, ExpiryCandidate, IngestOutcome, NewAuditPeriod, NewException,
    NewRun, NewSnapshot, PackRecord, PendingUpload, Rejection, Store, StoreError,
};
#[allow(unused_imports)]
use crate::{
    AccessStore, ControlHistoryStore, EvidenceStore, GovernanceStore, IngestStore, JudgingStore,
    RetentionStore,
};

/// An [`AssetSummary`] from a row of kind, id, name, agent, count, head sequence, head digest,
/// last collected, last received.
fn asset_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<AssetSummary> {
    let kind: String = r.get(0)?;
    Ok(AssetSummary {
        kind: AssetKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, kind.into())
        })?,
        id: r.get(1)?,
        name: r.get(2)?,
        agent_id: r.get(3)?,
        snapshot_count: r.get::<_, i64>(4)? as u64,
        last_sequence: r.get::<_, i64>(5)? as u64,
        last_digest: digest_col(r.get(6)?)?,
        last_collected_at: ts(r.get(7)?)?,
        last_received_at: ts(r.get(8)?)?,
        tags: Default::default(),
    })
}

/// Fills in the tags of `assets` from `asset_tags`.
fn with_tags(
    c: &Connection,
    mut assets: Vec<AssetSummary>,
) -> Result<Vec<AssetSummary>, StoreError> {
    let mut stmt = c.prepare_cached("SELECT asset_kind, asset_id, key, value FROM asset_tags")?;
    let mut tags: std::collections::HashMap<
        (String, String),
        std::collections::BTreeMap<String, String>,
    > = Default::default();
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get(2)?,
            r.get(3)?,
        ))
    })?;
    for row in rows {
        let (kind, id, key, value) = row?;
        tags.entry((kind, id)).or_default().insert(key, value);
    }
    if !tags.is_empty() {
        for a in &mut assets {
            if let Some(t) = tags.get(&(a.kind.as_str().to_string(), a.id.clone())) {
                a.tags = t.clone();
            }
        }
    }
    Ok(assets)
}

/// The SQLite store. See the module documentation.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Write>>>,
    writer_thread: Mutex<Option<thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    objects: std::sync::OnceLock<crate::objects::ObjectStore>,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = open_write(path)?;
        let mut frontier = tlog::frontier(&conn)?;
        let appended = tlog::catch_up(&mut conn, &mut frontier)?;
        if appended > 0 {
            tracing::info!(
                appended,
                size = frontier.size(),
                "snapshots accepted before the transparency log appended to it"
            );
        }
        let (tx, rx) = mpsc::channel();
        let handle = thread::Builder::new()
            .name("vouch-sqlite-writer".into())
            .spawn(move || writer_loop(conn, frontier, rx))
            .map_err(|e| StoreError::Backend(format!("cannot start writer thread: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            readers: Mutex::new(Vec::new()),
            objects: std::sync::OnceLock::new(),
        })
    }

    /// Stops the writer after it has committed everything queued, blocking until the write
    /// connection is closed. Later writes fail. (From async code, use [`Store::close`].)
    pub fn close_blocking(&self) {
        self.writer.lock().expect("writer lock").take();
        if let Some(h) = self.writer_thread.lock().expect("thread lock").take() {
            let _ = h.join();
        }
    }

    async fn write<T: Send + 'static>(
        &self,
        make: impl FnOnce(Reply<T>) -> Write,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        {
            let guard = self.writer.lock().expect("writer lock");
            let sender = guard
                .as_ref()
                .ok_or_else(|| StoreError::Backend("store is closed".into()))?;
            sender
                .send(make(tx))
                .map_err(|_| StoreError::Backend("writer thread stopped".into()))?;
        }
        rx.await
            .map_err(|_| StoreError::Backend("writer thread dropped the request".into()))?
    }

    /// A write of any shape, committed with the batch it lands in.
    async fn write_fn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.write(|reply| Write::Job(Box::new(FnJob { f, reply })))
            .await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().expect("reader pool").pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                c
            }
        };
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let r = f(&conn);
            (conn, r)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("reader task failed: {e}")))?;
        let mut pool = self.readers.lock().expect("reader pool");
        if pool.len() < 8 {
            pool.push(conn);
        }
        result
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close_blocking();
    }
}

fn ts(micros: i64) -> Result<Timestamp, rusqlite::Error> {
    Timestamp::from_unix_micros(micros).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Integer,
            "timestamp out of range".into(),
        )
    })
}

fn digest_col(s: String) -> Result<Digest, rusqlite::Error> {
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn close(&self) -> Result<(), StoreError> {
        let Some(sender) = self.writer.lock().expect("writer lock").take() else {
            return Ok(());
        };
        let (tx, rx) = oneshot::channel();
        sender
            .send(Write::Close(tx))
            .map_err(|_| StoreError::Backend("writer thread stopped".into()))?;
        drop(sender);
        rx.await
            .map_err(|_| StoreError::Backend("writer thread dropped the close request".into()))?
    }
}

#[cfg(test)]
mod tests {
    use crate::{AgentRecord, Role};
    use std::sync::Arc;

    use vouch_evidence::ChainKey;
    use vouch_evidence::chain::LinkError;

    use super::*;

    pub(super) fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_micros(1_790_000_000_000_000 + secs * 1_000_000).unwrap()
    }

    /// A snapshot record of chain `agt_1/host:m1` (the bytes stand in for a real envelope).
    pub(super) fn snap(sequence: u64, previous: Option<Digest>, tag: &str) -> NewSnapshot {
        let envelope = format!("envelope {sequence} {tag}").into_bytes();
        NewSnapshot {
            digest: Digest::of(&envelope),
            chain: ChainKey {
                agent_id: "agt_1".into(),
                asset_kind: AssetKind::Host,
                asset_id: "m1".into(),
            },
            asset_name: "web-1".into(),
            sequence,
            previous_digest: previous,
            collected_at: at(sequence as i64),
            received_at: at(sequence as i64 + 1),
            receipt: format!("receipt of {tag}").into_bytes(),
            envelope,
        }
    }

    fn count(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT count(*) FROM snapshots", [], |r| r.get(0))
            .unwrap()
    }

    /// Exactly once under concurrency: many resends of one snapshot racing through the group
    /// commit store it once, and every caller gets the first receipt.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_resends_store_once_with_one_receipt() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let store = store.clone();
                let mut s = snap(1, None, "a");
                // Each racer would sign its own receipt; only the first one may be kept.
                s.receipt = format!("receipt {i}").into_bytes();
                tokio::spawn(async move { store.ingest(s).await.unwrap() })
            })
            .collect();
        let mut stored = Vec::new();
        let mut duplicates = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                IngestOutcome::Stored { receipt } => stored.push(receipt),
                IngestOutcome::Duplicate { receipt } => duplicates.push(receipt),
            }
        }
        assert_eq!(stored.len(), 1, "stored more than once");
        assert!(duplicates.iter().all(|r| *r == stored[0]));
        assert_eq!(store.snapshot_count().await.unwrap(), 1);
    }

    /// Two different snapshots racing for the same chain position: one wins, the other is a
    /// conflict (a fork is never stored).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_racing_fork_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
        let (a, b) = (snap(1, None, "a"), snap(1, None, "b"));
        let (ra, rb) = tokio::join!(store.ingest(a), store.ingest(b));
        let results = [ra, rb];
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        let err = results.into_iter().find_map(Result::err).unwrap();
        assert!(
            matches!(
                err,
                StoreError::Chain {
                    source: LinkError::Stale { head: 1, found: 1 },
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(store.snapshot_count().await.unwrap(), 1);
    }

    /// Group commit must not let one request's failure undo another in the same transaction.
    #[test]
    fn a_failing_request_leaves_its_batch_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let mut conn = open_write(&path).unwrap();
        let first = snap(1, None, "a");
        let second = snap(2, Some(first.digest), "a");
        let gap = snap(5, Some(first.digest), "a");
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        let (tx3, mut rx3) = oneshot::channel();
        let tx = conn.transaction().unwrap();
        let mut frontier = vouch_evidence::tlog::Frontier::new();
        let answers = vec![
            apply(&tx, &mut frontier, Write::Ingest(Box::new(first), tx1)),
            apply(&tx, &mut frontier, Write::Ingest(Box::new(gap), tx2)),
            apply(&tx, &mut frontier, Write::Ingest(Box::new(second), tx3)),
        ];
        tx.commit().unwrap();
        // The refused request took no place in the log: two leaves, as stored.
        assert_eq!(frontier.size(), 2);
        assert_eq!(tlog::frontier(&conn).unwrap(), frontier);
        for a in answers {
            a(None);
        }
        assert!(matches!(
            rx1.try_recv(),
            Ok(Ok(IngestOutcome::Stored { .. }))
        ));
        assert!(matches!(
            rx2.try_recv(),
            Ok(Err(StoreError::Chain {
                source: LinkError::Gap { head: 1, found: 5 },
                ..
            }))
        ));
        assert!(matches!(
            rx3.try_recv(),
            Ok(Ok(IngestOutcome::Stored { .. }))
        ));
        assert_eq!(count(&path), 2);
    }

    /// `close` makes every accepted write durable; a reopened store sees them and continues the
    /// chain; writes after `close` fail instead of being lost silently.
    #[tokio::test]
    async fn close_then_reopen_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let store = SqliteStore::open(&path).unwrap();
        let mut prev = None;
        for seq in 1..=20 {
            let s = snap(seq, prev, "a");
            prev = Some(s.digest);
            store.ingest(s).await.unwrap();
        }
        store.close().await.unwrap();
        assert!(store.ingest(snap(21, prev, "a")).await.is_err());
        store.close().await.unwrap();
        drop(store);

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.snapshot_count().await.unwrap(), 20);
        let assets = store.assets().await.unwrap();
        assert_eq!(
            (assets[0].last_sequence, assets[0].snapshot_count),
            (20, 20)
        );
        assert!(matches!(
            store.ingest(snap(21, prev, "a")).await.unwrap(),
            IngestOutcome::Stored { .. }
        ));
        let page = store
            .snapshots(AssetKind::Host, "m1", 18, 10)
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|s| s.sequence).collect::<Vec<_>>(),
            [19, 20, 21]
        );
    }

    /// A database made by the first schema is migrated in place, keeping its rows.
    #[tokio::test]
    async fn a_version_1_database_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(SCHEMA[0]).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            c.execute(
                "INSERT INTO api_tokens(hash, role, label) VALUES (?1, 'auditor', 'old')",
                [Digest::of(b"t").to_hex()],
            )
            .unwrap();
            let key = vouch_evidence::SigningKey::from_seed(&[9; 32]);
            c.execute(
                "INSERT INTO agents(agent_id, keyid, public_key, name, enrolled_at)
                 VALUES ('agt_old', ?1, ?2, 'old', 0)",
                [key.id().to_string(), key.public().to_base64()],
            )
            .unwrap();
            c.execute(
                "INSERT INTO chains VALUES ('agt_old', 'host', 'hostname:web:1', 'web', 1, ?1, 1, 0, 0)",
                [Digest::of(b"s").to_hex()],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let token = store.api_token(Digest::of(b"t")).await.unwrap().unwrap();
        assert_eq!(token.kind, super::super::TokenKind::Api(Role::Auditor));
        // A token issued before expiry existed expires 90 days after the upgrade.
        let left = token.expires_at.unwrap().unix_micros()
            - vouch_evidence::Clock::System.now().unix_micros();
        assert!(
            (89 * 86_400_000_000..=90 * 86_400_000_000).contains(&left),
            "{left}"
        );
        // An agent enrolled before bindings is bound to what it had written.
        let old = store.agents().await.unwrap().remove(0);
        assert!(
            old.binding.allows(AssetKind::Host, "hostname:web:1"),
            "{}",
            old.binding
        );
        assert!(!old.binding.allows(AssetKind::Host, "other"));
        store.ingest(snap(1, None, "a")).await.unwrap();
        store.close().await.unwrap();
        let c = Connection::open(&path).unwrap();
        let version: usize = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let name: String = c
            .query_row("SELECT asset_name FROM snapshots", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, "web-1");
    }

    /// A database from a newer build is refused rather than written with old rules.
    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = SqliteStore::open(&path).err().unwrap();
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[tokio::test]
    async fn enrolment_tokens_are_consumed_once_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("v.db")).unwrap();
        let agent = |id: &str, seed: u8, t: i64| AgentRecord {
            agent_id: id.into(),
            public_key: vouch_evidence::SigningKey::from_seed(&[seed; 32])
                .public()
                .clone(),
            name: "h".into(),
            enrolled_at: at(t),
            binding: Default::default(),
            revoked: None,
        };
        let scope = crate::scope::Scope::parse(&["host"]).unwrap();
        let token = Digest::of(b"tok");
        store
            .add_enroll_token(token, at(0), at(100), &scope, "")
            .await
            .unwrap();
        store.enroll(token, agent("agt_a", 1, 10)).await.unwrap();
        assert!(matches!(
            store.enroll(token, agent("agt_b", 2, 11)).await,
            Err(StoreError::BadToken)
        ));
        let late = Digest::of(b"late");
        store
            .add_enroll_token(late, at(0), at(100), &scope, "")
            .await
            .unwrap();
        assert!(matches!(
            store.enroll(late, agent("agt_c", 3, 100)).await,
            Err(StoreError::BadToken)
        ));
        // A key enrols once; the token is not spent by the refused attempt.
        let again = Digest::of(b"again");
        store
            .add_enroll_token(again, at(0), at(100), &scope, "")
            .await
            .unwrap();
        assert!(matches!(
            store.enroll(again, agent("agt_d", 1, 12)).await,
            Err(StoreError::KeyTaken(id)) if id == "agt_a"
        ));
        store.enroll(again, agent("agt_e", 5, 13)).await.unwrap();
        let ids: Vec<_> = store
            .agents()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.agent_id)
            .collect();
        assert_eq!(ids, ["agt_a", "agt_e"]);
    }
}
