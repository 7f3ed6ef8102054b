//! The SQLite side of [`crate::access`]: bindings, revocations, token expiry, the audit
//! log and the counted refusals.

use super::SqliteStore;
use crate::AccessStore;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use vouch_evidence::{Digest, PublicKey, Timestamp};

use super::{digest_col, ts};
use crate::Role;
use crate::access::{
    AuditEntry, MIN_TOKEN_ID_HEX, RetiredKey, Revocation, RevokeOutcome, RotateOutcome, TokenKind,
    TokenRecord,
};
use crate::scope::{Binding, Scope};
use crate::{AgentRecord, MAX_REJECTIONS_KEPT, Rejection, RejectionCount, StoreError};

/// Schema step 9 (the PostgreSQL migration `0005_access.sql` is the same): agents bound to
/// their assets and revocable, scoped and revocable enrolment tokens, API tokens that expire
/// and are revocable, the audit log, and refusals counted per minute and reason.
///
/// Agents enrolled before are bound to the assets they had written; API tokens issued before
/// expire 90 days after the upgrade; enrolment tokens issued before (no scope) cannot be used.
pub(super) const SCHEMA: &str = "
    ALTER TABLE agents ADD COLUMN assets TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE agents ADD COLUMN revoked_at INTEGER;
    ALTER TABLE agents ADD COLUMN revoked_reason TEXT;
    ALTER TABLE agents ADD COLUMN revoked_by TEXT;
    UPDATE agents SET assets = (
        SELECT json_group_array(c.asset_kind || ':' || c.asset_id)
        FROM chains c WHERE c.agent_id = agents.agent_id);
    ALTER TABLE enroll_tokens ADD COLUMN scope TEXT;
    ALTER TABLE enroll_tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';
    ALTER TABLE enroll_tokens ADD COLUMN revoked_at INTEGER;
    ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
    ALTER TABLE api_tokens ADD COLUMN revoked_at INTEGER;
    ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
    UPDATE api_tokens SET expires_at =
        (CAST(strftime('%s', 'now') AS INTEGER) + 90 * 86400) * 1000000;
    CREATE TABLE audit_log(
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail TEXT NOT NULL);
    CREATE TABLE rejection_counts(
        minute INTEGER NOT NULL,
        reason TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY(minute, reason)) WITHOUT ROWID;";

fn opt_ts(v: Option<i64>) -> Result<Option<Timestamp>, rusqlite::Error> {
    v.map(ts).transpose()
}

fn backend(e: String) -> StoreError {
    StoreError::Backend(e)
}

const AGENT_COLUMNS: &str = "agent_id, public_key, name, enrolled_at, assets, revoked_at, \
                             revoked_reason, revoked_by FROM agents";

fn agent_row(r: &rusqlite::Row<'_>) -> Result<AgentRecord, StoreError> {
    let agent_id: String = r.get(0)?;
    let key: String = r.get(1)?;
    let public_key = PublicKey::from_base64(&key)
        .map_err(|e| backend(format!("agent {agent_id}: stored key unreadable: {e}")))?;
    let binding = Binding::from_json(&r.get::<_, String>(4)?)
        .map_err(|e| backend(format!("agent {agent_id}: {e}")))?;
    let revoked = match opt_ts(r.get(5)?)? {
        Some(at) => Some(Revocation {
            at,
            reason: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            by: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(AgentRecord {
        agent_id,
        public_key,
        name: r.get(2)?,
        enrolled_at: ts(r.get(3)?)?,
        binding,
        revoked,
    })
}

/// Every agent with its binding and revocation.
pub(super) fn agents(c: &Connection) -> Result<Vec<AgentRecord>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {AGENT_COLUMNS} ORDER BY enrolled_at, agent_id"
    ))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(agent_row(r)?);
    }
    Ok(out)
}

/// Consumes the token and records the agent (see [`crate::Store::enroll`]).
pub(super) fn enroll(
    c: &Connection,
    token_hash: Digest,
    agent: &AgentRecord,
) -> Result<(), StoreError> {
    let now = agent.enrolled_at.unix_micros();
    let used = c.execute(
        "UPDATE enroll_tokens SET used_at = ?1, used_by = ?2
         WHERE hash = ?3 AND used_at IS NULL AND expires_at > ?1 AND revoked_at IS NULL
           AND scope IS NOT NULL",
        params![now, agent.agent_id, token_hash.to_hex()],
    )?;
    if used != 1 {
        return Err(StoreError::BadToken);
    }
    let keyid = agent.keyid().to_string();
    if let Some(existing) = c
        .query_row(
            "SELECT agent_id FROM agents WHERE keyid = ?1
             UNION ALL SELECT agent_id FROM agent_keys WHERE keyid = ?1 LIMIT 1",
            [&keyid],
            |r| r.get::<_, String>(0),
        )
        .optional()?
    {
        return Err(StoreError::KeyTaken(existing));
    }
    c.execute(
        "INSERT INTO agents(agent_id, keyid, public_key, name, enrolled_at, assets)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            agent.agent_id,
            keyid,
            agent.public_key.to_base64(),
            agent.name,
            now,
            agent.binding.to_json()
        ],
    )?;
    audit(
        c,
        &AuditEntry {
            at: agent.enrolled_at,
            actor: format!("enrolment token {}", &token_hash.to_hex()[..12]),
            action: "agent.enroll".into(),
            subject: agent.agent_id.clone(),
            detail: format!("bound to {}", agent.binding),
        },
    )
}

/// The scope of an enrolment token.
pub(super) fn enroll_token_scope(
    c: &Connection,
    hash: Digest,
    at: Timestamp,
) -> Result<Option<Scope>, StoreError> {
    let scope: Option<Option<String>> = c
        .query_row(
            "SELECT scope FROM enroll_tokens
             WHERE hash = ?1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2",
            params![hash.to_hex(), at.unix_micros()],
            |r| r.get(0),
        )
        .optional()?;
    scope
        .flatten()
        .map(|s| Scope::from_json(&s).map_err(backend))
        .transpose()
}

/// Records an enrolment token.
pub(super) fn add_enroll_token(
    c: &Connection,
    hash: Digest,
    created: Timestamp,
    expires: Timestamp,
    scope: &str,
    label: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO enroll_tokens(hash, created_at, expires_at, scope, label)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            hash.to_hex(),
            created.unix_micros(),
            expires.unix_micros(),
            scope,
            label
        ],
    )?;
    Ok(())
}

/// Records an API token.
pub(super) fn add_api_token(
    c: &Connection,
    hash: Digest,
    role: Role,
    label: &str,
    created: Timestamp,
    expires: Timestamp,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO api_tokens(hash, role, label, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            hash.to_hex(),
            role.as_str(),
            label,
            created.unix_micros(),
            expires.unix_micros()
        ],
    )?;
    Ok(())
}

const API_TOKEN_COLUMNS: &str =
    "hash, role, label, created_at, expires_at, revoked_at, last_used_at FROM api_tokens";

fn api_token_row(r: &rusqlite::Row<'_>) -> Result<TokenRecord, StoreError> {
    let role: String = r.get(1)?;
    Ok(TokenRecord {
        hash: digest_col(r.get(0)?)?,
        kind: TokenKind::Api(
            Role::parse(&role).ok_or_else(|| backend(format!("stored role {role:?} unknown")))?,
        ),
        label: r.get(2)?,
        created_at: ts(r.get(3)?)?,
        expires_at: opt_ts(r.get(4)?)?,
        revoked_at: opt_ts(r.get(5)?)?,
        last_used_at: opt_ts(r.get(6)?)?,
    })
}

const ENROLL_TOKEN_COLUMNS: &str =
    "hash, scope, used_by, label, created_at, expires_at, revoked_at, used_at FROM enroll_tokens";

fn enroll_token_row(r: &rusqlite::Row<'_>) -> Result<TokenRecord, StoreError> {
    let scope = match r.get::<_, Option<String>>(1)? {
        Some(s) => Scope::from_json(&s).map_err(backend)?.parts(),
        None => Vec::new(),
    };
    Ok(TokenRecord {
        hash: digest_col(r.get(0)?)?,
        kind: TokenKind::Enroll {
            scope,
            used_by: r.get(2)?,
        },
        label: r.get(3)?,
        created_at: ts(r.get(4)?)?,
        expires_at: Some(ts(r.get(5)?)?),
        revoked_at: opt_ts(r.get(6)?)?,
        last_used_at: opt_ts(r.get(7)?)?,
    })
}

/// An API token by hash.
pub(super) fn api_token(c: &Connection, hash: Digest) -> Result<Option<TokenRecord>, StoreError> {
    let mut stmt = c.prepare_cached(&format!("SELECT {API_TOKEN_COLUMNS} WHERE hash = ?1"))?;
    let mut rows = stmt.query([hash.to_hex()])?;
    match rows.next()? {
        Some(r) => api_token_row(r).map(Some),
        None => Ok(None),
    }
}

fn collect(
    c: &Connection,
    sql: &str,
    arg: &str,
    row: fn(&rusqlite::Row<'_>) -> Result<TokenRecord, StoreError>,
    out: &mut Vec<TokenRecord>,
) -> Result<(), StoreError> {
    let mut stmt = c.prepare(sql)?;
    let mut rows = stmt.query([arg])?;
    while let Some(r) = rows.next()? {
        out.push(row(r)?);
    }
    Ok(())
}

/// Every token whose hash starts with `prefix` (`""`: all), newest first.
pub(super) fn tokens(c: &Connection, prefix: &str) -> Result<Vec<TokenRecord>, StoreError> {
    let like = format!("{prefix}%");
    let mut out = Vec::new();
    collect(
        c,
        &format!("SELECT {API_TOKEN_COLUMNS} WHERE hash LIKE ?1"),
        &like,
        api_token_row,
        &mut out,
    )?;
    collect(
        c,
        &format!("SELECT {ENROLL_TOKEN_COLUMNS} WHERE hash LIKE ?1"),
        &like,
        enroll_token_row,
        &mut out,
    )?;
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.hash.cmp(&b.hash)));
    Ok(out)
}

/// Revokes the one token whose id starts with `id`.
pub(super) fn revoke_token(
    c: &Connection,
    id: &str,
    revocation: &Revocation,
) -> Result<RevokeOutcome<TokenRecord>, StoreError> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() < MIN_TOKEN_ID_HEX || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(RevokeOutcome::NotFound);
    }
    let mut found = tokens(c, &id)?;
    if found.len() > 1 {
        return Ok(RevokeOutcome::Ambiguous(found.len()));
    }
    let Some(mut token) = found.pop() else {
        return Ok(RevokeOutcome::NotFound);
    };
    if token.revoked_at.is_some() {
        return Ok(RevokeOutcome::AlreadyRevoked(token));
    }
    let table = match token.kind {
        TokenKind::Api(_) => "api_tokens",
        TokenKind::Enroll { .. } => "enroll_tokens",
    };
    c.execute(
        &format!("UPDATE {table} SET revoked_at = ?1 WHERE hash = ?2"),
        params![revocation.at.unix_micros(), token.hash.to_hex()],
    )?;
    token.revoked_at = Some(revocation.at);
    audit(
        c,
        &AuditEntry {
            at: revocation.at,
            actor: revocation.by.clone(),
            action: "token.revoke".into(),
            subject: format!("{} token {}", token.role_name(), token.id()),
            detail: revocation.reason.clone(),
        },
    )?;
    Ok(RevokeOutcome::Revoked(token))
}

/// Revokes an agent.
/// Agent `agent_id`; `None`: no such agent.
fn agent_by_id(c: &Connection, agent_id: &str) -> Result<Option<AgentRecord>, StoreError> {
    let mut stmt = c.prepare_cached(&format!("SELECT {AGENT_COLUMNS} WHERE agent_id = ?1"))?;
    let mut rows = stmt.query([agent_id])?;
    rows.next()?.map(agent_row).transpose()
}

pub(super) fn revoke_agent(
    c: &Connection,
    agent_id: &str,
    revocation: &Revocation,
) -> Result<RevokeOutcome<AgentRecord>, StoreError> {
    let Some(mut agent) = agent_by_id(c, agent_id)? else {
        return Ok(RevokeOutcome::NotFound);
    };
    if agent.revoked.is_some() {
        return Ok(RevokeOutcome::AlreadyRevoked(agent));
    }
    c.execute(
        "UPDATE agents SET revoked_at = ?1, revoked_reason = ?2, revoked_by = ?3
         WHERE agent_id = ?4",
        params![
            revocation.at.unix_micros(),
            revocation.reason,
            revocation.by,
            agent_id
        ],
    )?;
    agent.revoked = Some(revocation.clone());
    audit(
        c,
        &AuditEntry {
            at: revocation.at,
            actor: revocation.by.clone(),
            action: "agent.revoke".into(),
            subject: agent_id.to_string(),
            detail: revocation.reason.clone(),
        },
    )?;
    Ok(RevokeOutcome::Revoked(agent))
}

pub(super) fn rotate_agent_key(
    c: &Connection,
    agent_id: &str,
    old: &PublicKey,
    new: &PublicKey,
    at: Timestamp,
    rotation: &[u8],
) -> Result<RotateOutcome, StoreError> {
    let Some(mut agent) = agent_by_id(c, agent_id)? else {
        return Ok(RotateOutcome::NotFound);
    };
    if agent.revoked.is_some() {
        return Ok(RotateOutcome::Revoked);
    }
    let retired_here: bool = c.query_row(
        "SELECT EXISTS(SELECT 1 FROM agent_keys WHERE keyid = ?1 AND agent_id = ?2)",
        params![old.id().to_string(), agent_id],
        |r| r.get(0),
    )?;
    if agent.public_key == *new && retired_here {
        return Ok(RotateOutcome::Again(agent));
    }
    if agent.public_key != *old {
        return Ok(RotateOutcome::NotCurrent(agent));
    }
    let holder: Option<String> = c
        .query_row(
            "SELECT agent_id FROM agents WHERE keyid = ?1
             UNION ALL SELECT agent_id FROM agent_keys WHERE keyid = ?1 LIMIT 1",
            [new.id().to_string()],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(holder) = holder {
        return Err(StoreError::KeyTaken(holder));
    }
    c.execute(
        "INSERT INTO agent_keys(keyid, agent_id, public_key, retired_at, rotation)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            old.id().to_string(),
            agent_id,
            old.to_base64(),
            at.unix_micros(),
            rotation
        ],
    )?;
    c.execute(
        "UPDATE agents SET keyid = ?1, public_key = ?2 WHERE agent_id = ?3",
        params![new.id().to_string(), new.to_base64(), agent_id],
    )?;
    agent.public_key = new.clone();
    audit(
        c,
        &AuditEntry {
            at,
            actor: format!("agent {agent_id}"),
            action: "agent.rotate_key".into(),
            subject: agent_id.to_string(),
            detail: format!("key {} replaced by {}", old.id(), new.id()),
        },
    )?;
    Ok(RotateOutcome::Rotated(agent))
}

pub(super) fn retired_keys(c: &Connection) -> Result<Vec<RetiredKey>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT agent_id, public_key, retired_at, rotation FROM agent_keys
         ORDER BY retired_at, keyid",
    )?;
    let rows: Vec<(String, String, i64, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(agent_id, key, at, rotation)| {
            RetiredKey::from_row(agent_id, &key, ts(at)?, rotation)
        })
        .collect()
}

/// Appends to the audit log.
pub(super) fn audit(c: &Connection, e: &AuditEntry) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO audit_log(at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![e.at.unix_micros(), e.actor, e.action, e.subject, e.detail],
    )?;
    Ok(())
}

/// The newest audit-log entries.
pub(super) fn audit_log(c: &Connection, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(AuditEntry {
            at: ts(r.get(0)?)?,
            actor: r.get(1)?,
            action: r.get(2)?,
            subject: r.get(3)?,
            detail: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Keeps a rejection of an enrolled agent, dropping the oldest beyond the cap.
pub(super) fn record_rejection(c: &Connection, r: &Rejection) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO rejections(at, remote, reason, message, agent_id, body_sha256, body_size)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            r.at.unix_micros(),
            r.remote,
            r.reason,
            r.message,
            r.agent_id,
            r.body_sha256.to_hex(),
            r.body_size as i64
        ],
    )?;
    let id = c.last_insert_rowid();
    c.execute(
        "DELETE FROM rejections WHERE id <= ?1",
        [id - MAX_REJECTIONS_KEPT],
    )?;
    Ok(())
}

/// Adds counted refusals.
pub(super) fn add_rejection_counts(
    c: &Connection,
    counts: &[RejectionCount],
) -> Result<(), StoreError> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO rejection_counts(minute, reason, count) VALUES (?1, ?2, ?3)
         ON CONFLICT(minute, reason) DO UPDATE SET count = count + excluded.count",
    )?;
    for n in counts {
        stmt.execute(params![n.minute.unix_micros(), n.reason, n.count as i64])?;
    }
    Ok(())
}

/// Counted refusals from `since` on.
pub(super) fn rejection_counts(
    c: &Connection,
    since: Timestamp,
) -> Result<Vec<RejectionCount>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT minute, reason, count FROM rejection_counts WHERE minute >= ?1
         ORDER BY minute DESC, reason",
    )?;
    let rows = stmt.query_map([since.unix_micros()], |r| {
        Ok(RejectionCount {
            minute: ts(r.get(0)?)?,
            reason: r.get(1)?,
            count: r.get::<_, i64>(2)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[async_trait]
impl AccessStore for SqliteStore {
    async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        self.read(agents).await
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
        self.write_fn(move |c| add_enroll_token(c, hash, created_at, expires_at, &scope, &label))
            .await
    }

    async fn enroll(&self, token_hash: Digest, agent: AgentRecord) -> Result<(), StoreError> {
        self.write_fn(move |c| enroll(c, token_hash, &agent)).await
    }

    async fn enroll_token_scope(
        &self,
        token_hash: Digest,
        at: Timestamp,
    ) -> Result<Option<crate::scope::Scope>, StoreError> {
        self.read(move |c| enroll_token_scope(c, token_hash, at))
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
        self.write_fn(move |c| add_api_token(c, hash, role, &label, created_at, expires_at))
            .await
    }

    async fn api_token(&self, hash: Digest) -> Result<Option<TokenRecord>, StoreError> {
        self.read(move |c| api_token(c, hash)).await
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
        self.read(|c| tokens(c, "")).await
    }

    async fn revoke_token(
        &self,
        id: &str,
        revocation: Revocation,
    ) -> Result<RevokeOutcome<TokenRecord>, StoreError> {
        let id = id.to_string();
        self.write_fn(move |c| revoke_token(c, &id, &revocation))
            .await
    }

    async fn revoke_agent(
        &self,
        agent_id: &str,
        revocation: Revocation,
    ) -> Result<RevokeOutcome<AgentRecord>, StoreError> {
        let agent_id = agent_id.to_string();
        self.write_fn(move |c| revoke_agent(c, &agent_id, &revocation))
            .await
    }

    async fn rotate_agent_key(
        &self,
        agent_id: &str,
        old: &PublicKey,
        new: &PublicKey,
        at: Timestamp,
        rotation: Vec<u8>,
    ) -> Result<RotateOutcome, StoreError> {
        let (agent_id, old, new) = (agent_id.to_string(), old.clone(), new.clone());
        self.write_fn(move |c| rotate_agent_key(c, &agent_id, &old, &new, at, &rotation))
            .await
    }

    async fn retired_keys(&self) -> Result<Vec<RetiredKey>, StoreError> {
        self.read(retired_keys).await
    }

    async fn record_key_rotation(
        &self,
        owner: &str,
        old: &PublicKey,
        new: &PublicKey,
        at: Timestamp,
        rotation: Vec<u8>,
    ) -> Result<(), StoreError> {
        let (owner, old, new) = (owner.to_string(), old.clone(), new.clone());
        self.write_fn(move |c| {
            let added = c.execute(
                "INSERT INTO agent_keys(keyid, agent_id, public_key, retired_at, rotation)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(keyid) DO NOTHING",
                params![
                    old.id().to_string(),
                    owner,
                    old.to_base64(),
                    at.unix_micros(),
                    rotation
                ],
            )?;
            if added == 1 {
                audit(
                    c,
                    &AuditEntry {
                        at,
                        actor: "cli".into(),
                        action: "server.rotate_key".into(),
                        subject: owner.clone(),
                        detail: format!("key {} replaced by {}", old.id(), new.id()),
                    },
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.write_fn(move |c| audit(c, &entry)).await
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |c| audit_log(c, limit)).await
    }
}
