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
mod results;
mod schema;
mod writer;

pub use schema::SCHEMA_VERSION;
use schema::*;
use writer::*;

use super::{
    AgentRecord, AssetEvaluation, AttestationRecord, AuditPeriod, ControlChange, EnvelopeLocation,
    Evaluation, EvaluationRun, ExceptionRecord, ExpiryCandidate, IngestOutcome, NewAuditPeriod,
    NewException, NewRun, NewSnapshot, PackRecord, PendingUpload, Rejection, Store, StoreError,
};
use super::{AuditEntry, RejectionCount, Revocation, RevokeOutcome, TokenRecord};
use crate::Role;

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
        let conn = open_write(path)?;
        let (tx, rx) = mpsc::channel();
        let handle = thread::Builder::new()
            .name("vouch-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
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
    async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        self.read(access::agents).await
    }

    async fn add_enroll_token(
        &self,
        hash: Digest,
        created_at: Timestamp,
        expires_at: Timestamp,
        scope: &crate::scope::Scope,
        label: &str,
    ) -> Result<(), StoreError> {
        let (scope, label) = (scope.to_json(), label.to_string());
        self.write_fn(move |c| {
            access::add_enroll_token(c, hash, created_at, expires_at, &scope, &label)
        })
        .await
    }

    async fn enroll(&self, token_hash: Digest, agent: AgentRecord) -> Result<(), StoreError> {
        self.write_fn(move |c| access::enroll(c, token_hash, &agent))
            .await
    }

    async fn enroll_token_scope(
        &self,
        token_hash: Digest,
        at: Timestamp,
    ) -> Result<Option<crate::scope::Scope>, StoreError> {
        self.read(move |c| access::enroll_token_scope(c, token_hash, at))
            .await
    }

    async fn add_api_token(
        &self,
        hash: Digest,
        role: Role,
        label: &str,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let label = label.to_string();
        self.write_fn(move |c| access::add_api_token(c, hash, role, &label, created_at, expires_at))
            .await
    }

    async fn api_token(&self, hash: Digest) -> Result<Option<TokenRecord>, StoreError> {
        self.read(move |c| access::api_token(c, hash)).await
    }

    async fn touch_token(&self, hash: Digest, at: Timestamp) -> Result<(), StoreError> {
        self.write_fn(move |c| {
            c.execute(
                "UPDATE api_tokens SET last_used_at = ?1 WHERE hash = ?2",
                params![at.unix_micros(), hash.to_hex()],
            )?;
            Ok(())
        })
        .await
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.read(|c| access::tokens(c, "")).await
    }

    async fn revoke_token(
        &self,
        id: &str,
        revocation: Revocation,
    ) -> Result<RevokeOutcome<TokenRecord>, StoreError> {
        let id = id.to_string();
        self.write_fn(move |c| access::revoke_token(c, &id, &revocation))
            .await
    }

    async fn revoke_agent(
        &self,
        agent_id: &str,
        revocation: Revocation,
    ) -> Result<RevokeOutcome<AgentRecord>, StoreError> {
        let agent_id = agent_id.to_string();
        self.write_fn(move |c| access::revoke_agent(c, &agent_id, &revocation))
            .await
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.write_fn(move |c| access::audit(c, &entry)).await
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |c| access::audit_log(c, limit)).await
    }

    async fn add_rejection_counts(&self, counts: Vec<RejectionCount>) -> Result<(), StoreError> {
        self.write_fn(move |c| access::add_rejection_counts(c, &counts))
            .await
    }

    async fn rejection_counts(&self, since: Timestamp) -> Result<Vec<RejectionCount>, StoreError> {
        self.read(move |c| access::rejection_counts(c, since)).await
    }

    async fn ingest(&self, snapshot: NewSnapshot) -> Result<IngestOutcome, StoreError> {
        self.write(|r| Write::Ingest(Box::new(snapshot), r)).await
    }

    async fn record_rejection(&self, rejection: Rejection) -> Result<(), StoreError> {
        self.write_fn(move |c| access::record_rejection(c, &rejection))
            .await
    }

    async fn rejections(&self, limit: u32) -> Result<Vec<Rejection>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT at, remote, reason, message, agent_id, body_sha256, body_size
                 FROM rejections ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok(Rejection {
                    at: ts(r.get(0)?)?,
                    remote: r.get(1)?,
                    reason: r.get(2)?,
                    message: r.get(3)?,
                    agent_id: r.get(4)?,
                    body_sha256: digest_col(r.get(5)?)?,
                    body_size: r.get::<_, i64>(6)? as u64,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn assets(&self) -> Result<Vec<AssetSummary>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT asset_kind, asset_id, asset_name, agent_id, snapshot_count, head_sequence,
                        head_digest, last_collected_at, last_received_at
                 FROM chains ORDER BY asset_kind, asset_id, agent_id",
            )?;
            let rows = stmt.query_map([], asset_summary)?;
            with_tags(c, rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn assets_as_of(
        &self,
        at: Timestamp,
        only: Option<(AssetKind, String)>,
    ) -> Result<Vec<AssetSummary>, StoreError> {
        self.read(move |c| {
            // Per chain, its newest snapshot received by then (walking the chain back by
            // collection time through its index) and how many it had by then.
            let mut stmt = c.prepare_cached(
                "SELECT c.asset_kind, c.asset_id, s.asset_name, c.agent_id,
                        (SELECT count(*) FROM snapshots s3
                         WHERE s3.asset_kind = c.asset_kind AND s3.asset_id = c.asset_id
                           AND s3.agent_id = c.agent_id AND s3.received_at <= ?1),
                        s.sequence, s.digest, s.collected_at, s.received_at
                 FROM chains c
                 JOIN snapshots s ON s.digest = (
                     SELECT s2.digest FROM snapshots s2
                     WHERE s2.agent_id = c.agent_id AND s2.asset_kind = c.asset_kind
                       AND s2.asset_id = c.asset_id AND s2.received_at <= ?1
                     ORDER BY s2.collected_at DESC, s2.sequence DESC LIMIT 1)
                 WHERE ?2 IS NULL OR (c.asset_kind = ?2 AND c.asset_id = ?3)
                 ORDER BY c.asset_kind, c.asset_id, c.agent_id",
            )?;
            let (kind, id) = match &only {
                Some((k, id)) => (Some(k.as_str()), Some(id.as_str())),
                None => (None, None),
            };
            let rows = stmt
                .query_map(params![at.unix_micros(), kind, id], asset_summary)?
                .collect::<Result<Vec<_>, _>>()?;
            with_tags(c, rows)
        })
        .await
    }

    async fn set_asset_tags(
        &self,
        kind: AssetKind,
        asset_id: String,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        self.write_fn(move |c| {
            let known: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM chains WHERE asset_kind = ?1 AND asset_id = ?2)",
                params![kind.as_str(), asset_id],
                |r| r.get(0),
            )?;
            if !known {
                return Ok(false);
            }
            c.execute(
                "DELETE FROM asset_tags WHERE asset_kind = ?1 AND asset_id = ?2",
                params![kind.as_str(), asset_id],
            )?;
            let mut stmt = c.prepare_cached(
                "INSERT INTO asset_tags(asset_kind, asset_id, key, value) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (k, v) in &tags {
                stmt.execute(params![kind.as_str(), asset_id, k, v])?;
            }
            Ok(true)
        })
        .await
    }

    async fn snapshots(
        &self,
        kind: AssetKind,
        asset_id: &str,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<SnapshotSummary>, StoreError> {
        let asset_id = asset_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT digest, agent_id, sequence, previous_digest, collected_at, received_at
                 FROM snapshots WHERE asset_kind = ?1 AND asset_id = ?2 AND sequence > ?3
                 ORDER BY sequence, agent_id LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![kind.as_str(), asset_id, after_sequence as i64, limit],
                |r| {
                    Ok(SnapshotSummary {
                        digest: digest_col(r.get(0)?)?,
                        agent_id: r.get(1)?,
                        sequence: r.get::<_, i64>(2)? as u64,
                        previous_digest: r
                            .get::<_, Option<String>>(3)?
                            .map(digest_col)
                            .transpose()?,
                        collected_at: ts(r.get(4)?)?,
                        received_at: ts(r.get(5)?)?,
                    })
                },
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn envelope_location(
        &self,
        digest: Digest,
    ) -> Result<Option<EnvelopeLocation>, StoreError> {
        self.read(move |c| {
            let row = c
                .prepare_cached(
                    "SELECT envelope, envelope_sha256, object_at, expired_at
                     FROM snapshots WHERE digest = ?1",
                )?
                .query_row([digest.to_hex()], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                    ))
                })
                .optional()?;
            Ok(match row {
                None => None,
                Some((_, _, _, Some(at))) => Some(EnvelopeLocation::Expired { at: ts(at)? }),
                Some((_, Some(sha), Some(_), None)) => Some(EnvelopeLocation::Object {
                    sha256: digest_col(sha)?,
                }),
                Some((bytes, _, _, None)) => Some(EnvelopeLocation::Inline(bytes)),
            })
        })
        .await
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
        self.write_fn(move |c| {
            let mut stmt = c.prepare_cached(
                "UPDATE snapshots SET upload_lease = ?1
                 WHERE digest IN (
                     SELECT digest FROM snapshots
                     WHERE object_at IS NULL AND expired_at IS NULL
                       AND (upload_lease IS NULL OR upload_lease < ?2)
                     ORDER BY received_at LIMIT ?3)
                 RETURNING digest, envelope, received_at",
            )?;
            let rows = stmt.query_map(
                params![lease_until.unix_micros(), now.unix_micros(), limit],
                |r| {
                    Ok((
                        r.get::<_, i64>(2)?,
                        PendingUpload {
                            digest: digest_col(r.get(0)?)?,
                            envelope: r.get(1)?,
                        },
                    ))
                },
            )?;
            // RETURNING comes in no particular order: oldest received first.
            let mut claimed = rows.collect::<Result<Vec<_>, _>>()?;
            claimed.sort_by_key(|(received, p)| (*received, p.digest));
            Ok(claimed.into_iter().map(|(_, p)| p).collect())
        })
        .await
    }

    async fn mark_uploaded(
        &self,
        uploaded: Vec<(Digest, Digest)>,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        self.write_fn(move |c| {
            let mut stmt = c.prepare_cached(
                "UPDATE snapshots SET envelope = X'', envelope_sha256 = ?2, object_at = ?3,
                                      upload_lease = NULL
                 WHERE digest = ?1 AND object_at IS NULL AND expired_at IS NULL",
            )?;
            let mut changed = 0;
            for (digest, sha) in &uploaded {
                changed +=
                    stmt.execute(params![digest.to_hex(), sha.to_hex(), at.unix_micros()])? as u64;
            }
            Ok(changed)
        })
        .await
    }

    async fn pending_uploads(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM snapshots WHERE object_at IS NULL AND expired_at IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
        .await
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
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT s.digest, s.agent_id, s.asset_kind, s.asset_id, s.sequence,
                        s.collected_at, CASE WHEN s.object_at IS NULL THEN NULL
                                             ELSE s.envelope_sha256 END
                 FROM snapshots s
                 WHERE s.asset_kind = ?1 AND s.collected_at < ?2 AND s.expired_at IS NULL
                   AND (s.collected_at, s.digest) > (?4, ?5)
                   AND NOT EXISTS (SELECT 1 FROM chains h
                                   WHERE h.agent_id = s.agent_id
                                     AND h.asset_kind = s.asset_kind
                                     AND h.asset_id = s.asset_id
                                     AND h.head_sequence = s.sequence)
                 ORDER BY s.collected_at, s.digest LIMIT ?3",
            )?;
            let mut out = Vec::new();
            for kind in kinds {
                let left = limit.saturating_sub(out.len() as u32);
                if left == 0 {
                    break;
                }
                let rows = stmt.query_map(
                    params![
                        kind.as_str(),
                        collected_before.unix_micros(),
                        left,
                        after_at,
                        after_digest
                    ],
                    |r| {
                        Ok(ExpiryCandidate {
                            digest: digest_col(r.get(0)?)?,
                            chain: ChainKey {
                                agent_id: r.get(1)?,
                                asset_kind: kind,
                                asset_id: r.get(3)?,
                            },
                            sequence: r.get::<_, i64>(4)? as u64,
                            collected_at: ts(r.get(5)?)?,
                            object: r.get::<_, Option<String>>(6)?.map(digest_col).transpose()?,
                        })
                    },
                )?;
                for row in rows {
                    out.push(row?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn mark_expired(&self, digests: Vec<Digest>, at: Timestamp) -> Result<u64, StoreError> {
        self.write_fn(move |c| {
            let mut stmt = c.prepare_cached(
                "UPDATE snapshots SET envelope = X'', expired_at = ?2, upload_lease = NULL
                 WHERE digest = ?1 AND expired_at IS NULL",
            )?;
            let mut changed = 0;
            for d in &digests {
                changed += stmt.execute(params![d.to_hex(), at.unix_micros()])? as u64;
            }
            Ok(changed)
        })
        .await
    }

    async fn add_audit_period(&self, p: NewAuditPeriod) -> Result<i64, StoreError> {
        self.write_fn(move |c| {
            c.execute(
                "INSERT INTO audit_periods(framework, label, from_at, to_at, opened_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    p.framework,
                    p.label,
                    p.from.unix_micros(),
                    p.to.unix_micros(),
                    p.opened_at.unix_micros()
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    async fn close_audit_period(&self, id: i64, at: Timestamp) -> Result<bool, StoreError> {
        self.write_fn(move |c| {
            Ok(c.execute(
                "UPDATE audit_periods SET closed_at = ?2 WHERE id = ?1 AND closed_at IS NULL",
                params![id, at.unix_micros()],
            )? == 1)
        })
        .await
    }

    async fn audit_periods(&self) -> Result<Vec<AuditPeriod>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, framework, label, from_at, to_at, opened_at, closed_at
                 FROM audit_periods ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(AuditPeriod {
                    id: r.get(0)?,
                    period: NewAuditPeriod {
                        framework: r.get(1)?,
                        label: r.get(2)?,
                        from: ts(r.get(3)?)?,
                        to: ts(r.get(4)?)?,
                        opened_at: ts(r.get(5)?)?,
                    },
                    closed_at: r.get::<_, Option<i64>>(6)?.map(ts).transpose()?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn receipt(&self, digest: Digest) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT receipt FROM snapshots WHERE digest = ?1")?
                    .query_row([digest.to_hex()], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }

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

    async fn snapshot_count(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            Ok(c.query_row("SELECT count(*) FROM snapshots", [], |r| r.get::<_, i64>(0))? as u64)
        })
        .await
    }

    async fn population(
        &self,
        from: Timestamp,
        to: Timestamp,
        kinds: Vec<AssetKind>,
        received_by: Option<Timestamp>,
    ) -> Result<Vec<SnapshotRef>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT digest, agent_id, asset_kind, asset_id, sequence, previous_digest,
                        collected_at
                 FROM snapshots WHERE collected_at >= ?1 AND collected_at < ?2
                   AND received_at <= ?3 AND expired_at IS NULL
                 ORDER BY digest",
            )?;
            let received_by = received_by.map_or(i64::MAX, |t| t.unix_micros());
            let rows = stmt.query_map(
                params![from.unix_micros(), to.unix_micros(), received_by],
                |r| {
                    let kind: String = r.get(2)?;
                    Ok((
                        kind,
                        SnapshotRef {
                            digest: digest_col(r.get(0)?)?,
                            agent_id: r.get(1)?,
                            asset_kind: AssetKind::Host,
                            asset_id: r.get(3)?,
                            sequence: r.get::<_, i64>(4)? as u64,
                            previous_digest: r
                                .get::<_, Option<String>>(5)?
                                .map(digest_col)
                                .transpose()?,
                            collected_at: ts(r.get(6)?)?,
                        },
                    ))
                },
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (kind, mut member) = row?;
                let kind = AssetKind::parse(&kind).ok_or_else(|| {
                    StoreError::Backend(format!("stored asset kind {kind:?} is unknown"))
                })?;
                if kinds.contains(&kind) {
                    member.asset_kind = kind;
                    out.push(member);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn record_pack(&self, pack: PackRecord) -> Result<(), StoreError> {
        self.write_fn(move |c| results::record_pack(c, &pack)).await
    }

    async fn pack(&self, digest: &str) -> Result<Option<PackRecord>, StoreError> {
        let digest = digest.to_string();
        self.read(move |c| results::pack(c, &digest)).await
    }

    async fn unevaluated(&self, limit: u32) -> Result<Vec<Digest>, StoreError> {
        self.read(move |c| results::unevaluated(c, limit)).await
    }

    async fn pending_for_run(&self, run: i64, limit: u32) -> Result<Vec<Digest>, StoreError> {
        self.read(move |c| results::pending_for_run(c, run, limit))
            .await
    }

    async fn record_evaluations(&self, evaluations: Vec<Evaluation>) -> Result<(), StoreError> {
        self.write_fn(move |c| results::record_evaluations(c, &evaluations))
            .await
    }

    async fn evaluations_of(&self, digest: Digest) -> Result<Vec<Evaluation>, StoreError> {
        self.read(move |c| results::evaluations_of(c, digest)).await
    }

    async fn latest_evaluations(
        &self,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<AssetEvaluation>, StoreError> {
        self.read(move |c| results::latest_evaluations(c, as_of))
            .await
    }

    async fn start_run(&self, run: NewRun) -> Result<i64, StoreError> {
        self.write_fn(move |c| results::start_run(c, &run)).await
    }

    async fn finish_run(&self, run: i64, at: Timestamp, evaluated: u64) -> Result<(), StoreError> {
        self.write_fn(move |c| results::finish_run(c, run, at, evaluated))
            .await
    }

    async fn runs(&self) -> Result<Vec<EvaluationRun>, StoreError> {
        self.read(results::runs).await
    }

    async fn add_exception(&self, exception: NewException) -> Result<i64, StoreError> {
        self.write_fn(move |c| results::add_exception(c, &exception))
            .await
    }

    async fn exceptions(&self) -> Result<Vec<ExceptionRecord>, StoreError> {
        self.read(results::exceptions).await
    }

    async fn add_attestation(
        &self,
        attestation: AttestationRecord,
        document: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        self.write_fn(move |c| results::add_attestation(c, &attestation, document.as_deref()))
            .await
    }

    async fn attestations(
        &self,
        control: Option<String>,
    ) -> Result<Vec<AttestationRecord>, StoreError> {
        self.read(move |c| results::attestations(c, control.as_deref()))
            .await
    }

    async fn attestation_document(&self, digest: Digest) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(move |c| results::attestation_document(c, digest))
            .await
    }

    async fn record_control_changes(&self, changes: Vec<ControlChange>) -> Result<(), StoreError> {
        self.write_fn(move |c| results::record_control_changes(c, &changes))
            .await
    }

    async fn control_history(
        &self,
        framework: Option<String>,
    ) -> Result<Vec<ControlChange>, StoreError> {
        self.read(move |c| results::control_history(c, framework.as_deref()))
            .await
    }
}

#[cfg(test)]
mod tests {
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
        let answers = vec![
            apply(&tx, Write::Ingest(Box::new(first), tx1)),
            apply(&tx, Write::Ingest(Box::new(gap), tx2)),
            apply(&tx, Write::Ingest(Box::new(second), tx3)),
        ];
        tx.commit().unwrap();
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
