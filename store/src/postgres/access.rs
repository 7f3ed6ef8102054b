//! The PostgreSQL side of [`crate::access`] (migration `0005_access.sql`).

use super::PgStore;
use crate::AccessStore;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use vouch_evidence::{Digest, PublicKey, Timestamp};

use super::{digest_at, ts};
use crate::Role;
use crate::access::{
    AuditEntry, MIN_TOKEN_ID_HEX, RetiredKey, Revocation, RevokeOutcome, RotateOutcome, TokenKind,
    TokenRecord,
};
use crate::scope::{Binding, Scope};
use crate::{AgentRecord, MAX_REJECTIONS_KEPT, Rejection, RejectionCount, StoreError};

fn backend(e: String) -> StoreError {
    StoreError::Backend(e)
}

fn opt_ts(v: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    v.map(ts).transpose()
}

const AGENT_COLUMNS: &str = "agent_id, public_key, name, enrolled_at, assets, revoked_at, \
                             revoked_reason, revoked_by FROM agents";

fn agent_row(r: &PgRow) -> Result<AgentRecord, StoreError> {
    let agent_id: String = r.try_get(0)?;
    let key: String = r.try_get(1)?;
    let public_key = PublicKey::from_base64(&key)
        .map_err(|e| backend(format!("agent {agent_id}: stored key unreadable: {e}")))?;
    let binding = Binding::from_json(&r.try_get::<String, _>(4)?)
        .map_err(|e| backend(format!("agent {agent_id}: {e}")))?;
    let revoked = match opt_ts(r.try_get(5)?)? {
        Some(at) => Some(Revocation {
            at,
            reason: r.try_get::<Option<String>, _>(6)?.unwrap_or_default(),
            by: r.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(AgentRecord {
        agent_id,
        public_key,
        name: r.try_get(2)?,
        enrolled_at: ts(r.try_get(3)?)?,
        binding,
        revoked,
    })
}

/// Every agent.
pub(super) async fn agents(pool: &PgPool) -> Result<Vec<AgentRecord>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {AGENT_COLUMNS} ORDER BY enrolled_at, agent_id"
    )))
    .fetch_all(pool)
    .await?
    .iter()
    .map(agent_row)
    .collect()
}

/// Consumes the token and records the agent.
pub(super) async fn enroll(
    pool: &PgPool,
    token_hash: Digest,
    agent: &AgentRecord,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let now = agent.enrolled_at.unix_micros();
    let used = sqlx::query(
        "UPDATE enroll_tokens SET used_at = $1, used_by = $2
         WHERE hash = $3 AND used_at IS NULL AND expires_at > $1 AND revoked_at IS NULL
           AND scope IS NOT NULL",
    )
    .bind(now)
    .bind(&agent.agent_id)
    .bind(token_hash.to_hex())
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 {
        return Err(StoreError::BadToken);
    }
    let keyid = agent.keyid().to_string();
    if let Some(row) = sqlx::query(
        "SELECT agent_id FROM agents WHERE keyid = $1
         UNION ALL SELECT agent_id FROM agent_keys WHERE keyid = $1 LIMIT 1",
    )
    .bind(&keyid)
    .fetch_optional(&mut *tx)
    .await?
    {
        return Err(StoreError::KeyTaken(row.try_get(0)?));
    }
    sqlx::query(
        "INSERT INTO agents(agent_id, keyid, public_key, name, enrolled_at, assets)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&agent.agent_id)
    .bind(&keyid)
    .bind(agent.public_key.to_base64())
    .bind(&agent.name)
    .bind(now)
    .bind(agent.binding.to_json())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        &AuditEntry {
            at: agent.enrolled_at,
            actor: format!("enrolment token {}", &token_hash.to_hex()[..12]),
            action: "agent.enroll".into(),
            subject: agent.agent_id.clone(),
            detail: format!("bound to {}", agent.binding),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The scope of an enrolment token.
pub(super) async fn enroll_token_scope(
    pool: &PgPool,
    hash: Digest,
    at: Timestamp,
) -> Result<Option<Scope>, StoreError> {
    let scope: Option<Option<String>> = sqlx::query_scalar(
        "SELECT scope FROM enroll_tokens
         WHERE hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(hash.to_hex())
    .bind(at.unix_micros())
    .fetch_optional(pool)
    .await?;
    scope
        .flatten()
        .map(|s| Scope::from_json(&s).map_err(backend))
        .transpose()
}

/// Records an enrolment token.
pub(super) async fn add_enroll_token(
    pool: &PgPool,
    hash: Digest,
    created: Timestamp,
    expires: Timestamp,
    scope: &Scope,
    label: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO enroll_tokens(hash, created_at, expires_at, scope, label)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash.to_hex())
    .bind(created.unix_micros())
    .bind(expires.unix_micros())
    .bind(scope.to_json())
    .bind(label)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records an API token.
pub(super) async fn add_api_token(
    pool: &PgPool,
    hash: Digest,
    role: Role,
    label: &str,
    created: Timestamp,
    expires: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO api_tokens(hash, role, label, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash.to_hex())
    .bind(role.as_str())
    .bind(label)
    .bind(created.unix_micros())
    .bind(expires.unix_micros())
    .execute(pool)
    .await?;
    Ok(())
}

const API_TOKEN_COLUMNS: &str =
    "hash, role, label, created_at, expires_at, revoked_at, last_used_at FROM api_tokens";

fn api_token_row(r: &PgRow) -> Result<TokenRecord, StoreError> {
    let role: String = r.try_get(1)?;
    Ok(TokenRecord {
        hash: digest_at(r, 0)?,
        kind: TokenKind::Api(
            Role::parse(&role).ok_or_else(|| backend(format!("stored role {role:?} unknown")))?,
        ),
        label: r.try_get(2)?,
        created_at: ts(r.try_get(3)?)?,
        expires_at: opt_ts(r.try_get(4)?)?,
        revoked_at: opt_ts(r.try_get(5)?)?,
        last_used_at: opt_ts(r.try_get(6)?)?,
    })
}

const ENROLL_TOKEN_COLUMNS: &str =
    "hash, scope, used_by, label, created_at, expires_at, revoked_at, used_at FROM enroll_tokens";

fn enroll_token_row(r: &PgRow) -> Result<TokenRecord, StoreError> {
    let scope = match r.try_get::<Option<String>, _>(1)? {
        Some(s) => Scope::from_json(&s).map_err(backend)?.parts(),
        None => Vec::new(),
    };
    Ok(TokenRecord {
        hash: digest_at(r, 0)?,
        kind: TokenKind::Enroll {
            scope,
            used_by: r.try_get(2)?,
        },
        label: r.try_get(3)?,
        created_at: ts(r.try_get(4)?)?,
        expires_at: Some(ts(r.try_get(5)?)?),
        revoked_at: opt_ts(r.try_get(6)?)?,
        last_used_at: opt_ts(r.try_get(7)?)?,
    })
}

/// An API token by hash.
pub(super) async fn api_token(
    pool: &PgPool,
    hash: Digest,
) -> Result<Option<TokenRecord>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {API_TOKEN_COLUMNS} WHERE hash = $1"
    )))
    .bind(hash.to_hex())
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(api_token_row)
    .transpose()
}

/// Every token whose hash starts with `prefix`, newest first.
pub(super) async fn tokens(
    c: &mut PgConnection,
    prefix: &str,
) -> Result<Vec<TokenRecord>, StoreError> {
    let like = format!("{prefix}%");
    let mut out = Vec::new();
    for r in sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {API_TOKEN_COLUMNS} WHERE hash LIKE $1"
    )))
    .bind(&like)
    .fetch_all(&mut *c)
    .await?
    {
        out.push(api_token_row(&r)?);
    }
    for r in sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENROLL_TOKEN_COLUMNS} WHERE hash LIKE $1"
    )))
    .bind(&like)
    .fetch_all(&mut *c)
    .await?
    {
        out.push(enroll_token_row(&r)?);
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.hash.cmp(&b.hash)));
    Ok(out)
}

/// Revokes the one token whose id starts with `id`.
pub(super) async fn revoke_token(
    pool: &PgPool,
    id: &str,
    revocation: &Revocation,
) -> Result<RevokeOutcome<TokenRecord>, StoreError> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() < MIN_TOKEN_ID_HEX || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(RevokeOutcome::NotFound);
    }
    let mut tx = pool.begin().await?;
    let mut found = tokens(&mut tx, &id).await?;
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
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {table} SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL"
    )))
    .bind(revocation.at.unix_micros())
    .bind(token.hash.to_hex())
    .execute(&mut *tx)
    .await?;
    token.revoked_at = Some(revocation.at);
    audit(
        &mut tx,
        &AuditEntry {
            at: revocation.at,
            actor: revocation.by.clone(),
            action: "token.revoke".into(),
            subject: format!("{} token {}", token.role_name(), token.id()),
            detail: revocation.reason.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(RevokeOutcome::Revoked(token))
}

/// Agent `agent_id`, its row locked until the transaction ends; `None`: no such agent.
async fn agent_for_update(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    agent_id: &str,
) -> Result<Option<AgentRecord>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {AGENT_COLUMNS} WHERE agent_id = $1 FOR UPDATE"
    )))
    .bind(agent_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(agent_row).transpose()
}

/// Revokes an agent.
pub(super) async fn revoke_agent(
    pool: &PgPool,
    agent_id: &str,
    revocation: &Revocation,
) -> Result<RevokeOutcome<AgentRecord>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(mut agent) = agent_for_update(&mut tx, agent_id).await? else {
        return Ok(RevokeOutcome::NotFound);
    };
    if agent.revoked.is_some() {
        return Ok(RevokeOutcome::AlreadyRevoked(agent));
    }
    sqlx::query(
        "UPDATE agents SET revoked_at = $1, revoked_reason = $2, revoked_by = $3
         WHERE agent_id = $4",
    )
    .bind(revocation.at.unix_micros())
    .bind(&revocation.reason)
    .bind(&revocation.by)
    .bind(agent_id)
    .execute(&mut *tx)
    .await?;
    agent.revoked = Some(revocation.clone());
    audit(
        &mut tx,
        &AuditEntry {
            at: revocation.at,
            actor: revocation.by.clone(),
            action: "agent.revoke".into(),
            subject: agent_id.to_string(),
            detail: revocation.reason.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(RevokeOutcome::Revoked(agent))
}

pub(super) async fn rotate_agent_key(
    pool: &PgPool,
    agent_id: &str,
    old: &PublicKey,
    new: &PublicKey,
    at: Timestamp,
    rotation: &[u8],
) -> Result<RotateOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(mut agent) = agent_for_update(&mut tx, agent_id).await? else {
        return Ok(RotateOutcome::NotFound);
    };
    if agent.revoked.is_some() {
        return Ok(RotateOutcome::Revoked);
    }
    let retired_here: bool = sqlx::query_scalar(
        "SELECT EXISTS(SELECT 1 FROM agent_keys WHERE keyid = $1 AND agent_id = $2)",
    )
    .bind(old.id().to_string())
    .bind(agent_id)
    .fetch_one(&mut *tx)
    .await?;
    if agent.public_key == *new && retired_here {
        return Ok(RotateOutcome::Again(agent));
    }
    if agent.public_key != *old {
        return Ok(RotateOutcome::NotCurrent(agent));
    }
    let holder: Option<String> = sqlx::query_scalar(
        "SELECT agent_id FROM agents WHERE keyid = $1
         UNION ALL SELECT agent_id FROM agent_keys WHERE keyid = $1 LIMIT 1",
    )
    .bind(new.id().to_string())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(holder) = holder {
        return Err(StoreError::KeyTaken(holder));
    }
    sqlx::query(
        "INSERT INTO agent_keys(keyid, agent_id, public_key, retired_at, rotation)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(old.id().to_string())
    .bind(agent_id)
    .bind(old.to_base64())
    .bind(at.unix_micros())
    .bind(rotation)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE agents SET keyid = $1, public_key = $2 WHERE agent_id = $3")
        .bind(new.id().to_string())
        .bind(new.to_base64())
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
    agent.public_key = new.clone();
    audit(
        &mut tx,
        &AuditEntry {
            at,
            actor: format!("agent {agent_id}"),
            action: "agent.rotate_key".into(),
            subject: agent_id.to_string(),
            detail: format!("key {} replaced by {}", old.id(), new.id()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(RotateOutcome::Rotated(agent))
}

pub(super) async fn retired_keys(pool: &PgPool) -> Result<Vec<RetiredKey>, StoreError> {
    let rows: Vec<(String, String, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT agent_id, public_key, retired_at, rotation FROM agent_keys
         ORDER BY retired_at, keyid",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(agent_id, key, at, rotation)| {
            RetiredKey::from_row(agent_id, &key, ts(at)?, rotation)
        })
        .collect()
}

/// Appends to the audit log.
pub(super) async fn audit(c: &mut PgConnection, e: &AuditEntry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log(at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(e.at.unix_micros())
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.subject)
    .bind(&e.detail)
    .execute(c)
    .await?;
    Ok(())
}

/// The newest audit-log entries.
pub(super) async fn audit_log(pool: &PgPool, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
    sqlx::query(
        "SELECT at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(AuditEntry {
            at: ts(r.try_get(0)?)?,
            actor: r.try_get(1)?,
            action: r.try_get(2)?,
            subject: r.try_get(3)?,
            detail: r.try_get(4)?,
        })
    })
    .collect()
}

/// Keeps a rejection of an enrolled agent, dropping the oldest beyond the cap.
pub(super) async fn record_rejection(pool: &PgPool, r: &Rejection) -> Result<(), StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO rejections(at, remote, reason, message, agent_id, body_sha256, body_size)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(r.at.unix_micros())
    .bind(&r.remote)
    .bind(&r.reason)
    .bind(&r.message)
    .bind(&r.agent_id)
    .bind(r.body_sha256.to_hex())
    .bind(r.body_size as i64)
    .fetch_one(pool)
    .await?;
    sqlx::query("DELETE FROM rejections WHERE id <= $1")
        .bind(id - MAX_REJECTIONS_KEPT)
        .execute(pool)
        .await?;
    Ok(())
}

/// Adds counted refusals.
pub(super) async fn add_rejection_counts(
    pool: &PgPool,
    counts: &[RejectionCount],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for n in counts {
        sqlx::query(
            "INSERT INTO rejection_counts(minute, reason, count) VALUES ($1, $2, $3)
             ON CONFLICT(minute, reason) DO UPDATE
             SET count = rejection_counts.count + excluded.count",
        )
        .bind(n.minute.unix_micros())
        .bind(&n.reason)
        .bind(n.count as i64)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Counted refusals from `since` on.
pub(super) async fn rejection_counts(
    pool: &PgPool,
    since: Timestamp,
) -> Result<Vec<RejectionCount>, StoreError> {
    sqlx::query(
        "SELECT minute, reason, count FROM rejection_counts WHERE minute >= $1
         ORDER BY minute DESC, reason",
    )
    .bind(since.unix_micros())
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(RejectionCount {
            minute: ts(r.try_get(0)?)?,
            reason: r.try_get(1)?,
            count: r.try_get::<i64, _>(2)? as u64,
        })
    })
    .collect()
}

#[async_trait]
impl AccessStore for PgStore {
    async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        agents(&self.pool).await
    }

    async fn add_enroll_token(
        &self,
        hash: Digest,
        created_at: Timestamp,
        expires_at: Timestamp,
        scope: &crate::scope::Scope,
        label: &str,
    ) -> Result<(), StoreError> {
        add_enroll_token(&self.pool, hash, created_at, expires_at, scope, label).await
    }

    async fn enroll(&self, token_hash: Digest, agent: AgentRecord) -> Result<(), StoreError> {
        enroll(&self.pool, token_hash, &agent).await
    }

    async fn enroll_token_scope(
        &self,
        token_hash: Digest,
        at: Timestamp,
    ) -> Result<Option<crate::scope::Scope>, StoreError> {
        enroll_token_scope(&self.pool, token_hash, at).await
    }

    async fn add_api_token(
        &self,
        hash: Digest,
        role: Role,
        label: &str,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        add_api_token(&self.pool, hash, role, label, created_at, expires_at).await
    }

    async fn api_token(&self, hash: Digest) -> Result<Option<TokenRecord>, StoreError> {
        api_token(&self.pool, hash).await
    }

    async fn touch_token(&self, hash: Digest, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE hash = $2")
            .bind(at.unix_micros())
            .bind(hash.to_hex())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut c = self.pool.acquire().await?;
        tokens(&mut c, "").await
    }

    async fn revoke_token(
        &self,
        id: &str,
        revocation: Revocation,
    ) -> Result<RevokeOutcome<TokenRecord>, StoreError> {
        revoke_token(&self.pool, id, &revocation).await
    }

    async fn revoke_agent(
        &self,
        agent_id: &str,
        revocation: Revocation,
    ) -> Result<RevokeOutcome<AgentRecord>, StoreError> {
        revoke_agent(&self.pool, agent_id, &revocation).await
    }

    async fn rotate_agent_key(
        &self,
        agent_id: &str,
        old: &PublicKey,
        new: &PublicKey,
        at: Timestamp,
        rotation: Vec<u8>,
    ) -> Result<RotateOutcome, StoreError> {
        rotate_agent_key(&self.pool, agent_id, old, new, at, &rotation).await
    }

    async fn retired_keys(&self) -> Result<Vec<RetiredKey>, StoreError> {
        retired_keys(&self.pool).await
    }

    async fn record_key_rotation(
        &self,
        owner: &str,
        old: &PublicKey,
        new: &PublicKey,
        at: Timestamp,
        rotation: Vec<u8>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let added = sqlx::query(
            "INSERT INTO agent_keys(keyid, agent_id, public_key, retired_at, rotation)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT(keyid) DO NOTHING",
        )
        .bind(old.id().to_string())
        .bind(owner)
        .bind(old.to_base64())
        .bind(at.unix_micros())
        .bind(rotation)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() == 1 {
            audit(
                &mut tx,
                &AuditEntry {
                    at,
                    actor: "cli".into(),
                    action: "server.rotate_key".into(),
                    subject: owner.to_string(),
                    detail: format!("key {} replaced by {}", old.id(), new.id()),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let mut c = self.pool.acquire().await?;
        audit(&mut c, &entry).await
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        audit_log(&self.pool, limit).await
    }
}
