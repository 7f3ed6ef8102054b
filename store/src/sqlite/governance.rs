//! The governance traits for [`SqliteStore`](super::SqliteStore).

use super::*;

#[async_trait]
impl GovernanceStore for SqliteStore {
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
}
