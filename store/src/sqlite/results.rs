//! The SQLite side of [`crate::results`]: packs, evaluations, runs and exceptions.

use rusqlite::{Connection, OptionalExtension, params};
use vouch_evidence::api::SnapshotRef;
use vouch_evidence::{AssetKind, ChainKey, Digest, Timestamp};

use super::{digest_col, ts};
use crate::StoreError;
use crate::results::{
    AssetEvaluation, AttestationRecord, ControlChange, Evaluation, EvaluationRun, ExceptionRecord,
    NewException, NewRun, PackRecord, StoredResult,
};

/// Schema step that adds these tables (appended to the store's migrations).
pub(super) const SCHEMA: &str = "
    CREATE TABLE policy_packs(
        digest TEXT PRIMARY KEY,
        loaded_at INTEGER NOT NULL);
    CREATE TABLE policy_pack_files(
        pack_digest TEXT NOT NULL REFERENCES policy_packs(digest),
        path TEXT NOT NULL,
        content BLOB NOT NULL,
        PRIMARY KEY(pack_digest, path));
    CREATE TABLE evaluations(
        digest TEXT NOT NULL REFERENCES snapshots(digest),
        pack_digest TEXT NOT NULL REFERENCES policy_packs(digest),
        evaluated_at INTEGER NOT NULL,
        run_id INTEGER,
        PRIMARY KEY(digest, pack_digest));
    CREATE TABLE results(
        digest TEXT NOT NULL,
        pack_digest TEXT NOT NULL,
        policy_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK(status IN ('pass', 'fail', 'not_applicable', 'error')),
        reason TEXT NOT NULL,
        evidence TEXT NOT NULL,
        PRIMARY KEY(digest, pack_digest, policy_id),
        FOREIGN KEY(digest, pack_digest) REFERENCES evaluations(digest, pack_digest))
        WITHOUT ROWID;
    CREATE TABLE evaluation_runs(
        id INTEGER PRIMARY KEY,
        requested_by TEXT NOT NULL,
        requested_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        pack_digest TEXT NOT NULL,
        scope_from INTEGER NOT NULL,
        scope_to INTEGER NOT NULL,
        finished_at INTEGER,
        evaluated INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE exceptions(
        id INTEGER PRIMARY KEY,
        policy_id TEXT NOT NULL,
        asset_kind TEXT,
        asset_id TEXT,
        justification TEXT NOT NULL,
        owner TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL);
    CREATE TABLE attestations(
        digest TEXT PRIMARY KEY,
        control TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        valid_until INTEGER NOT NULL,
        envelope BLOB NOT NULL,
        document BLOB);
    CREATE INDEX attestations_by_control ON attestations(control, recorded_at);
    CREATE INDEX snapshots_by_received ON snapshots(received_at);";

/// Schema step that adds the history of control statuses.
pub(super) const HISTORY: &str = "
    CREATE TABLE control_history(
        framework TEXT NOT NULL,
        control TEXT NOT NULL,
        since INTEGER NOT NULL,
        state TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY(framework, control, since))
        WITHOUT ROWID;
    CREATE INDEX control_history_by_since ON control_history(framework, since);";

/// Schema step that keeps each distinct set of results once: a host judged hourly gives the
/// same results most hours, and a set of ~60 results is ~18 KB. An evaluation names its set
/// by the SHA-256 of the set's JSON; evaluations stored before this step keep their rows in
/// `results`.
/// Schema step 10 (step 1 of PostgreSQL's `0004_unjudged_queue.sql`): the snapshots no pack
/// has judged yet, as a queue read by index. Ingest adds a row in the transaction that stores
/// the snapshot, recording its evaluation removes it; the evaluator read them before with an
/// anti-join of every snapshot against every evaluation, which grew with the store.
pub(super) const UNJUDGED: &str = "
    CREATE TABLE unjudged(
        digest TEXT PRIMARY KEY,
        received_at INTEGER NOT NULL);
    CREATE INDEX unjudged_by_received ON unjudged(received_at);
    INSERT INTO unjudged(digest, received_at)
        SELECT s.digest, s.received_at FROM snapshots s
        WHERE NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.digest = s.digest);";

pub(super) const RESULT_SETS: &str = "
    CREATE TABLE result_sets(
        id TEXT PRIMARY KEY,
        results TEXT NOT NULL)
        WITHOUT ROWID;
    ALTER TABLE evaluations ADD COLUMN result_set TEXT REFERENCES result_sets(id);
    CREATE INDEX snapshots_by_chain_time
        ON snapshots(agent_id, asset_kind, asset_id, collected_at);";

pub(super) fn record_control_changes(
    c: &Connection,
    changes: &[ControlChange],
) -> Result<(), StoreError> {
    let mut stmt = c.prepare_cached(
        "INSERT OR IGNORE INTO control_history(framework, control, since, state, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for ch in changes {
        stmt.execute(params![
            ch.framework,
            ch.control,
            ch.since.unix_micros(),
            ch.state,
            ch.recorded_at.unix_micros()
        ])?;
    }
    Ok(())
}

pub(super) fn control_history(
    c: &Connection,
    framework: Option<&str>,
) -> Result<Vec<ControlChange>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT framework, control, since, state, recorded_at FROM control_history
         WHERE ?1 IS NULL OR framework = ?1 ORDER BY since, framework, control",
    )?;
    let rows: Vec<(String, String, i64, String, i64)> = stmt
        .query_map([framework], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(framework, control, since, state, recorded_at)| {
            Ok(ControlChange {
                framework,
                control,
                state,
                since: ts(since)?,
                recorded_at: ts(recorded_at)?,
            })
        })
        .collect()
}

fn kind_col(s: &str) -> Result<AssetKind, StoreError> {
    AssetKind::parse(s)
        .ok_or_else(|| StoreError::Backend(format!("stored asset kind {s:?} is unknown")))
}

pub(super) fn record_pack(c: &Connection, pack: &PackRecord) -> Result<(), StoreError> {
    let inserted = c.execute(
        "INSERT OR IGNORE INTO policy_packs(digest, loaded_at) VALUES (?1, ?2)",
        params![pack.digest, pack.loaded_at.unix_micros()],
    )?;
    if inserted == 1 {
        let mut stmt = c.prepare(
            "INSERT INTO policy_pack_files(pack_digest, path, content) VALUES (?1, ?2, ?3)",
        )?;
        for (path, content) in &pack.files {
            stmt.execute(params![pack.digest, path, content])?;
        }
    }
    Ok(())
}

pub(super) fn pack(c: &Connection, digest: &str) -> Result<Option<PackRecord>, StoreError> {
    let Some(loaded_at) = c
        .query_row(
            "SELECT loaded_at FROM policy_packs WHERE digest = ?1",
            [digest],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = c.prepare(
        "SELECT path, content FROM policy_pack_files WHERE pack_digest = ?1 ORDER BY path",
    )?;
    let files = stmt
        .query_map([digest], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(Some(PackRecord {
        digest: digest.to_string(),
        loaded_at: ts(loaded_at)?,
        files,
    }))
}

fn digests(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Digest>, StoreError> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| digest_col(r.get(0)?))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn unevaluated(c: &Connection, limit: u32) -> Result<Vec<Digest>, StoreError> {
    digests(
        c,
        "SELECT digest FROM unjudged ORDER BY received_at LIMIT ?1",
        [limit],
    )
}

pub(super) fn pending_for_run(
    c: &Connection,
    run: i64,
    limit: u32,
) -> Result<Vec<Digest>, StoreError> {
    digests(
        c,
        "SELECT s.digest FROM snapshots s, evaluation_runs r
         WHERE r.id = ?1 AND s.collected_at >= r.scope_from AND s.collected_at < r.scope_to
           AND NOT EXISTS (SELECT 1 FROM evaluations e
                           WHERE e.digest = s.digest AND e.pack_digest = r.pack_digest)
         ORDER BY s.collected_at LIMIT ?2",
        params![run, limit],
    )
}

pub(super) fn record_evaluations(
    c: &Connection,
    evaluations: &[Evaluation],
) -> Result<(), StoreError> {
    let sets = evaluations
        .iter()
        .map(|e| crate::results::encode_results(&e.results))
        .collect::<Result<Vec<_>, _>>()?;
    let mut eval = c.prepare_cached(
        "INSERT OR IGNORE INTO evaluations(digest, pack_digest, evaluated_at, run_id, result_set)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut set =
        c.prepare_cached("INSERT OR IGNORE INTO result_sets(id, results) VALUES (?1, ?2)")?;
    let mut judged = c.prepare_cached("DELETE FROM unjudged WHERE digest = ?1")?;
    for (e, (id, json)) in evaluations.iter().zip(&sets) {
        set.execute(params![id, json])?;
        judged.execute([e.digest.to_hex()])?;
        // A repeat changes nothing: results are never overwritten.
        eval.execute(params![
            e.digest.to_hex(),
            e.pack_digest,
            e.evaluated_at.unix_micros(),
            e.run_id,
            id
        ])?;
    }
    Ok(())
}

/// The result set `id`, read once and then shared.
fn result_set_by_id(
    c: &Connection,
    id: &str,
) -> Result<std::sync::Arc<[StoredResult]>, StoreError> {
    if let Some(set) = crate::results::cached_set(id) {
        return Ok(set);
    }
    let json: String = c
        .prepare_cached("SELECT results FROM result_sets WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    crate::results::remember_set(id, &json)
}

fn results_of(
    c: &Connection,
    digest: &str,
    pack: &str,
) -> Result<std::sync::Arc<[StoredResult]>, StoreError> {
    let set: Option<Option<String>> = c
        .prepare_cached(
            "SELECT result_set FROM evaluations WHERE digest = ?1 AND pack_digest = ?2",
        )?
        .query_row([digest, pack], |r| r.get(0))
        .optional()?;
    results_in(c, digest, pack, set.flatten())
}

/// The results of an evaluation whose result set (its `result_set` column) is read already.
fn results_in(
    c: &Connection,
    digest: &str,
    pack: &str,
    set: Option<String>,
) -> Result<std::sync::Arc<[StoredResult]>, StoreError> {
    if let Some(id) = set {
        return result_set_by_id(c, &id);
    }
    // Evaluations stored before result sets: one row per result.
    let mut stmt = c.prepare_cached(
        "SELECT policy_id, status, reason, evidence FROM results
         WHERE digest = ?1 AND pack_digest = ?2 ORDER BY policy_id",
    )?;
    let rows = stmt.query_map([digest, pack], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (policy_id, status, reason, evidence) = row?;
        let evidence = serde_json::from_str(&evidence).map_err(|e| {
            StoreError::Backend(format!(
                "result of {policy_id}: evidence list unreadable: {e}"
            ))
        })?;
        out.push(StoredResult {
            policy_id,
            status,
            reason,
            evidence,
        });
    }
    Ok(out.into())
}

fn evaluation(
    c: &Connection,
    digest: String,
    pack_digest: String,
    evaluated_at: i64,
    run_id: Option<i64>,
) -> Result<Evaluation, StoreError> {
    let results = results_of(c, &digest, &pack_digest)?;
    evaluation_with(digest, pack_digest, evaluated_at, run_id, results)
}

fn evaluation_with(
    digest: String,
    pack_digest: String,
    evaluated_at: i64,
    run_id: Option<i64>,
    results: std::sync::Arc<[StoredResult]>,
) -> Result<Evaluation, StoreError> {
    Ok(Evaluation {
        digest: digest_col(digest)?,
        pack_digest,
        evaluated_at: ts(evaluated_at)?,
        run_id,
        results,
    })
}

pub(super) fn evaluations_of(
    c: &Connection,
    digest: Digest,
) -> Result<Vec<Evaluation>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT pack_digest, evaluated_at, run_id FROM evaluations
         WHERE digest = ?1 ORDER BY evaluated_at, pack_digest",
    )?;
    let hex = digest.to_hex();
    let rows: Vec<(String, i64, Option<i64>)> = stmt
        .query_map([&hex], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(pack, at, run)| evaluation(c, hex.clone(), pack, at, run))
        .collect()
}

pub(super) fn evaluations_after(
    c: &Connection,
    after: Option<(Timestamp, Digest, String)>,
    limit: u32,
) -> Result<Vec<(SnapshotRef, Evaluation)>, StoreError> {
    let (at, digest, pack) = after.map_or((i64::MIN, String::new(), String::new()), |(t, d, p)| {
        (t.unix_micros(), d.to_hex(), p)
    });
    let mut stmt = c.prepare_cached(
        "SELECT e.digest, e.pack_digest, e.evaluated_at, e.run_id, s.agent_id, s.asset_kind,
                s.asset_id, s.sequence, s.previous_digest, s.collected_at
         FROM evaluations e JOIN snapshots s ON s.digest = e.digest
         WHERE (e.evaluated_at, e.digest, e.pack_digest) > (?1, ?2, ?3)
         ORDER BY e.evaluated_at, e.digest, e.pack_digest LIMIT ?4",
    )?;
    type Row = (
        String,
        String,
        i64,
        Option<i64>,
        String,
        String,
        String,
        i64,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = stmt
        .query_map(params![at, digest, pack, limit], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(
            |(digest, pack, at, run, agent_id, kind, asset_id, sequence, previous, collected)| {
                let asset_kind = AssetKind::parse(&kind).ok_or_else(|| {
                    StoreError::Backend(format!("stored asset kind {kind:?} is unknown"))
                })?;
                let snapshot = SnapshotRef {
                    digest: digest_col(digest.clone())?,
                    agent_id,
                    asset_kind,
                    asset_id,
                    sequence: sequence as u64,
                    previous_digest: previous.map(digest_col).transpose()?,
                    collected_at: ts(collected)?,
                };
                Ok((snapshot, evaluation(c, digest, pack, at, run)?))
            },
        )
        .collect()
}

/// Each chain's latest evaluation as of `as_of` (see `latest_evaluations` of the store), handed
/// to `each` as it is read, in asset order; `each` answers whether to go on.
pub(super) fn latest_evaluations(
    c: &Connection,
    as_of: Option<Timestamp>,
    mut each: impl FnMut(AssetEvaluation) -> bool,
) -> Result<(), StoreError> {
    let as_of = as_of.map_or(i64::MAX, |t| t.unix_micros());
    // Per chain: its newest snapshot collected by then that has an evaluation made by then
    // (walking the chain's snapshots back by collection time), and that snapshot's newest
    // evaluation made by then. One index seek per chain, not a sort of every evaluation; the
    // evaluation's result set is named in the row, not looked up by a statement per row.
    let mut stmt = c.prepare_cached(
        "SELECT c.agent_id, c.asset_kind, c.asset_id, s.asset_name, s.collected_at, s.digest,
                e.pack_digest, e.evaluated_at, e.run_id, e.result_set
         FROM chains c
         JOIN snapshots s ON s.digest = (
             SELECT s2.digest FROM snapshots s2
             WHERE s2.agent_id = c.agent_id AND s2.asset_kind = c.asset_kind
               AND s2.asset_id = c.asset_id AND s2.collected_at <= ?1
               AND EXISTS (SELECT 1 FROM evaluations e2
                           WHERE e2.digest = s2.digest AND e2.evaluated_at <= ?1)
             ORDER BY s2.collected_at DESC LIMIT 1)
         JOIN evaluations e ON e.digest = s.digest AND e.pack_digest = (
             SELECT e3.pack_digest FROM evaluations e3
             WHERE e3.digest = s.digest AND e3.evaluated_at <= ?1
             ORDER BY e3.evaluated_at DESC LIMIT 1)
         ORDER BY c.asset_kind, c.asset_id, c.agent_id",
    )?;
    let mut rows = stmt.query([as_of])?;
    // Each row's evaluation is read (its result set, once per set) as the row comes.
    while let Some(r) = rows.next()? {
        let kind: String = r.get(1)?;
        let (digest, pack): (String, String) = (r.get(5)?, r.get(6)?);
        let results = results_in(c, &digest, &pack, r.get(9)?)?;
        let evaluation = AssetEvaluation {
            chain: ChainKey {
                agent_id: r.get(0)?,
                asset_kind: kind_col(&kind)?,
                asset_id: r.get(2)?,
            },
            asset_name: r.get(3)?,
            collected_at: ts(r.get(4)?)?,
            evaluation: evaluation_with(digest, pack, r.get(7)?, r.get(8)?, results)?,
        };
        if !each(evaluation) {
            break;
        }
    }
    Ok(())
}

pub(super) fn start_run(c: &Connection, run: &NewRun) -> Result<i64, StoreError> {
    c.execute(
        "INSERT INTO evaluation_runs(requested_by, requested_at, reason, pack_digest, scope_from, scope_to)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            run.requested_by,
            run.requested_at.unix_micros(),
            run.reason,
            run.pack_digest,
            run.from.unix_micros(),
            run.to.unix_micros()
        ],
    )?;
    Ok(c.last_insert_rowid())
}

pub(super) fn finish_run(
    c: &Connection,
    run: i64,
    at: Timestamp,
    evaluated: u64,
) -> Result<(), StoreError> {
    let n = c.execute(
        "UPDATE evaluation_runs SET finished_at = ?2, evaluated = ?3 WHERE id = ?1",
        params![run, at.unix_micros(), evaluated as i64],
    )?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::Backend(format!("no evaluation run {run}")))
    }
}

pub(super) fn runs(c: &Connection) -> Result<Vec<EvaluationRun>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT id, requested_by, requested_at, reason, pack_digest, scope_from, scope_to,
                finished_at, evaluated
         FROM evaluation_runs ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(EvaluationRun {
            id: r.get(0)?,
            run: NewRun {
                requested_by: r.get(1)?,
                requested_at: ts(r.get(2)?)?,
                reason: r.get(3)?,
                pack_digest: r.get(4)?,
                from: ts(r.get(5)?)?,
                to: ts(r.get(6)?)?,
            },
            finished_at: r.get::<_, Option<i64>>(7)?.map(ts).transpose()?,
            evaluated: r.get::<_, i64>(8)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn add_exception(c: &Connection, e: &NewException) -> Result<i64, StoreError> {
    let (kind, id) = match &e.asset {
        Some((k, id)) => (Some(k.as_str()), Some(id.as_str())),
        None => (None, None),
    };
    c.execute(
        "INSERT INTO exceptions(policy_id, asset_kind, asset_id, justification, owner, created_by,
                                created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            e.policy_id,
            kind,
            id,
            e.justification,
            e.owner,
            e.created_by,
            e.created_at.unix_micros(),
            e.expires_at.unix_micros()
        ],
    )?;
    Ok(c.last_insert_rowid())
}

pub(super) fn exceptions(c: &Connection) -> Result<Vec<ExceptionRecord>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT id, policy_id, asset_kind, asset_id, justification, owner, created_by, created_at,
                expires_at
         FROM exceptions ORDER BY id",
    )?;
    type Row = (
        i64,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
        i64,
        i64,
    );
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(
            |(
                id,
                policy_id,
                kind,
                asset_id,
                justification,
                owner,
                created_by,
                created_at,
                expires_at,
            )| {
                let asset = match (kind, asset_id) {
                    (Some(k), Some(a)) => Some((kind_col(&k)?, a)),
                    _ => None,
                };
                Ok(ExceptionRecord {
                    id,
                    exception: NewException {
                        policy_id,
                        asset,
                        justification,
                        owner,
                        created_by,
                        created_at: ts(created_at)?,
                        expires_at: ts(expires_at)?,
                    },
                })
            },
        )
        .collect()
}

pub(super) fn add_attestation(
    c: &Connection,
    a: &AttestationRecord,
    document: Option<&[u8]>,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT OR IGNORE INTO attestations(digest, control, recorded_at, valid_until, envelope, document)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            a.digest.to_hex(),
            a.control,
            a.recorded_at.unix_micros(),
            a.valid_until.unix_micros(),
            a.envelope,
            document
        ],
    )?;
    Ok(())
}

pub(super) fn attestations(
    c: &Connection,
    control: Option<&str>,
) -> Result<Vec<AttestationRecord>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT digest, control, recorded_at, valid_until, envelope FROM attestations
         WHERE ?1 IS NULL OR control = ?1 ORDER BY recorded_at, digest",
    )?;
    let rows = stmt.query_map([control], |r| {
        Ok(AttestationRecord {
            digest: digest_col(r.get(0)?)?,
            control: r.get(1)?,
            recorded_at: ts(r.get(2)?)?,
            valid_until: ts(r.get(3)?)?,
            envelope: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn attestation_document(
    c: &Connection,
    digest: Digest,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(c.query_row(
        "SELECT document FROM attestations WHERE digest = ?1",
        [digest.to_hex()],
        |r| r.get::<_, Option<Vec<u8>>>(0),
    )
    .optional()?
    .flatten())
}

#[cfg(test)]
mod tests;
