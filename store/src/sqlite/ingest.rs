//! The ingest traits for [`SqliteStore`](super::SqliteStore).

use super::*;

#[async_trait]
impl IngestStore for SqliteStore {
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
}
