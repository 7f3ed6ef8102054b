//! The way to the schema declared in [`crate::schema`], as migration steps: the SQLite
//! `user_version` counts the steps applied. A step added here must reach what the declaration
//! says (`store/tests/schema.rs` checks it), and PostgreSQL needs its own migration to match.

use super::*;

pub(super) const SCHEMA: &[&str] = &[
    // version 1
    "CREATE TABLE agents(
        agent_id TEXT PRIMARY KEY,
        keyid TEXT NOT NULL UNIQUE,
        public_key TEXT NOT NULL,
        name TEXT NOT NULL,
        enrolled_at INTEGER NOT NULL);
     CREATE TABLE enroll_tokens(
        hash TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        used_by TEXT);
     CREATE TABLE api_tokens(
        hash TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        label TEXT NOT NULL);
     CREATE TABLE chains(
        agent_id TEXT NOT NULL,
        asset_kind TEXT NOT NULL,
        asset_id TEXT NOT NULL,
        asset_name TEXT NOT NULL,
        head_sequence INTEGER NOT NULL,
        head_digest TEXT NOT NULL,
        snapshot_count INTEGER NOT NULL,
        last_collected_at INTEGER NOT NULL,
        last_received_at INTEGER NOT NULL,
        PRIMARY KEY(agent_id, asset_kind, asset_id));
     CREATE TABLE snapshots(
        digest TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        asset_kind TEXT NOT NULL,
        asset_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        previous_digest TEXT,
        collected_at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        envelope BLOB NOT NULL,
        receipt BLOB NOT NULL,
        UNIQUE(asset_kind, asset_id, agent_id, sequence));
     CREATE TABLE rejections(
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        remote TEXT NOT NULL,
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        agent_id TEXT,
        body_sha256 TEXT NOT NULL,
        body_size INTEGER NOT NULL);",
    // version 2: when tokens were issued, the asset name of each snapshot, and indexes for the
    // auditor's listings and the rejection log.
    "ALTER TABLE enroll_tokens ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE api_tokens ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE snapshots ADD COLUMN asset_name TEXT NOT NULL DEFAULT '';
     CREATE INDEX snapshots_by_asset ON snapshots(asset_kind, asset_id, sequence);
     CREATE INDEX rejections_by_time ON rejections(at);",
    // version 3: sampling populations are selected by collection time.
    "CREATE INDEX snapshots_by_time ON snapshots(collected_at);",
    // version 4: policy packs, evaluations and their results, re-evaluation runs, exceptions.
    results::SCHEMA,
    // version 5: the history of control statuses.
    results::HISTORY,
    // version 6: the organisation's tags on assets.
    "CREATE TABLE asset_tags(
        asset_kind TEXT NOT NULL,
        asset_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY(asset_kind, asset_id, key)) WITHOUT ROWID;",
    // version 7: each distinct set of results kept once.
    results::RESULT_SETS,
    // version 8: envelopes moved to object storage (then `envelope` is empty and
    // `envelope_sha256` names the object), claims of the uploader, expiry by retention, and
    // the audit periods that hold evidence back from expiry.
    OBJECTS_AND_RETENTION,
    // version 9: bindings, revocations, token expiry, the audit log, counted refusals.
    access::SCHEMA,
    // version 10: the queue of snapshots not judged yet.
    results::UNJUDGED,
    // version 11: the transparency log.
    tlog::SCHEMA,
    // version 12: witnesses' cosignatures of the log's checkpoints.
    tlog::COSIGNATURES,
    // version 13: evaluations in the order they were made (the feed of signed verdicts).
    "CREATE INDEX evaluations_by_time ON evaluations(evaluated_at, digest, pack_digest);",
    // version 14: time-stamp tokens of the log's checkpoints.
    "CREATE TABLE tlog_timestamps(
        size INTEGER PRIMARY KEY,
        token BLOB NOT NULL,
        gen_time INTEGER NOT NULL);",
    // version 15: agents' retired keys.
    "CREATE TABLE agent_keys(
        keyid TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        public_key TEXT NOT NULL,
        retired_at INTEGER NOT NULL,
        rotation BLOB NOT NULL);",
];

/// Schema step 8 (the PostgreSQL migration `0002_objects_retention.sql` is the same).
pub(super) const OBJECTS_AND_RETENTION: &str = "
    ALTER TABLE snapshots ADD COLUMN envelope_sha256 TEXT;
    ALTER TABLE snapshots ADD COLUMN object_at INTEGER;
    ALTER TABLE snapshots ADD COLUMN upload_lease INTEGER;
    ALTER TABLE snapshots ADD COLUMN expired_at INTEGER;
    CREATE INDEX snapshots_to_upload ON snapshots(received_at)
        WHERE object_at IS NULL AND expired_at IS NULL;
    CREATE TABLE audit_periods(
        id INTEGER PRIMARY KEY,
        framework TEXT NOT NULL,
        label TEXT NOT NULL,
        from_at INTEGER NOT NULL,
        to_at INTEGER NOT NULL,
        opened_at INTEGER NOT NULL,
        closed_at INTEGER);";

/// The schema version this build writes (SQLite `user_version`).
pub const SCHEMA_VERSION: usize = SCHEMA.len();

pub(super) fn open_write(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA.len() {
        return Err(StoreError::Backend(format!(
            "database schema version {version} is newer than this build ({})",
            SCHEMA.len()
        )));
    }
    for (i, step) in SCHEMA.iter().enumerate().skip(version) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(conn)
}
