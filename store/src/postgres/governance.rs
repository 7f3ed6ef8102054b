//! The governance traits for [`PgStore`](super::PgStore).

use super::*;

#[async_trait]
impl GovernanceStore for PgStore {
    async fn add_audit_period(&self, p: NewAuditPeriod) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_periods(framework, label, from_at, to_at, opened_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&p.framework)
        .bind(&p.label)
        .bind(p.from.unix_micros())
        .bind(p.to.unix_micros())
        .bind(p.opened_at.unix_micros())
        .fetch_one(&self.pool)
        .await?)
    }

    async fn close_audit_period(&self, id: i64, at: Timestamp) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE audit_periods SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(id)
        .bind(at.unix_micros())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    async fn audit_periods(&self) -> Result<Vec<AuditPeriod>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, framework, label, from_at, to_at, opened_at, closed_at
             FROM audit_periods ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditPeriod {
                    id: r.try_get(0)?,
                    period: NewAuditPeriod {
                        framework: r.try_get(1)?,
                        label: r.try_get(2)?,
                        from: ts(r.try_get(3)?)?,
                        to: ts(r.try_get(4)?)?,
                        opened_at: ts(r.try_get(5)?)?,
                    },
                    closed_at: r.try_get::<Option<i64>, _>(6)?.map(ts).transpose()?,
                })
            })
            .collect()
    }

    async fn add_exception(&self, e: NewException) -> Result<i64, StoreError> {
        let (k, id) = match &e.asset {
            Some((k, id)) => (Some(k.as_str()), Some(id.clone())),
            None => (None, None),
        };
        Ok(sqlx::query(
            "INSERT INTO exceptions(policy_id, asset_kind, asset_id, justification, owner,
                                    created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&e.policy_id)
        .bind(k)
        .bind(id)
        .bind(&e.justification)
        .bind(&e.owner)
        .bind(&e.created_by)
        .bind(e.created_at.unix_micros())
        .bind(e.expires_at.unix_micros())
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?)
    }

    async fn exceptions(&self) -> Result<Vec<ExceptionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, policy_id, asset_kind, asset_id, justification, owner, created_by,
                    created_at, expires_at
             FROM exceptions ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let asset = match (
                    r.try_get::<Option<String>, _>(2)?,
                    r.try_get::<Option<String>, _>(3)?,
                ) {
                    (Some(k), Some(id)) => Some((kind(&k)?, id)),
                    _ => None,
                };
                Ok(ExceptionRecord {
                    id: r.try_get(0)?,
                    exception: NewException {
                        policy_id: r.try_get(1)?,
                        asset,
                        justification: r.try_get(4)?,
                        owner: r.try_get(5)?,
                        created_by: r.try_get(6)?,
                        created_at: ts(r.try_get(7)?)?,
                        expires_at: ts(r.try_get(8)?)?,
                    },
                })
            })
            .collect()
    }

    async fn add_attestation(
        &self,
        a: AttestationRecord,
        document: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO attestations(digest, control, recorded_at, valid_until, envelope, document)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(a.digest.to_hex())
        .bind(&a.control)
        .bind(a.recorded_at.unix_micros())
        .bind(a.valid_until.unix_micros())
        .bind(&a.envelope)
        .bind(document)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn attestations(
        &self,
        control: Option<String>,
    ) -> Result<Vec<AttestationRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT digest, control, recorded_at, valid_until, envelope FROM attestations
             WHERE $1::TEXT IS NULL OR control = $1 ORDER BY recorded_at, digest",
        )
        .bind(control)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttestationRecord {
                    digest: digest_at(r, 0)?,
                    control: r.try_get(1)?,
                    recorded_at: ts(r.try_get(2)?)?,
                    valid_until: ts(r.try_get(3)?)?,
                    envelope: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn attestation_document(&self, d: Digest) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query("SELECT document FROM attestations WHERE digest = $1")
                .bind(d.to_hex())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get::<Option<Vec<u8>>, _>(0))
                .transpose()?
                .flatten(),
        )
    }
}
