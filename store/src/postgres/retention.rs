//! The retention traits for [`PgStore`](super::PgStore).

use super::*;

#[async_trait]
impl RetentionStore for PgStore {
    async fn claim_uploads(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingUpload>, StoreError> {
        // SKIP LOCKED: replicas claiming at once take different rows instead of waiting.
        let rows = sqlx::query(
            "UPDATE snapshots SET upload_lease = $1
             WHERE digest IN (
                 SELECT digest FROM snapshots
                 WHERE object_at IS NULL AND expired_at IS NULL
                   AND (upload_lease IS NULL OR upload_lease < $2)
                 ORDER BY received_at LIMIT $3
                 FOR UPDATE SKIP LOCKED)
             RETURNING digest, envelope, received_at",
        )
        .bind(lease_until.unix_micros())
        .bind(now.unix_micros())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        // RETURNING comes in no particular order: oldest received first.
        let mut claimed = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<i64, _>(2)?,
                    PendingUpload {
                        digest: digest_at(r, 0)?,
                        envelope: r.try_get(1)?,
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        claimed.sort_by_key(|(received, p)| (*received, p.digest));
        Ok(claimed.into_iter().map(|(_, p)| p).collect())
    }

    async fn mark_uploaded(
        &self,
        uploaded: Vec<(Digest, Digest)>,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let (digests, shas): (Vec<String>, Vec<String>) = uploaded
            .iter()
            .map(|(d, s)| (d.to_hex(), s.to_hex()))
            .unzip();
        Ok(sqlx::query(
            "UPDATE snapshots s SET envelope = ''::bytea, envelope_sha256 = u.sha,
                                    object_at = $3, upload_lease = NULL
             FROM UNNEST($1::text[], $2::text[]) AS u(digest, sha)
             WHERE s.digest = u.digest AND s.object_at IS NULL AND s.expired_at IS NULL",
        )
        .bind(&digests)
        .bind(&shas)
        .bind(at.unix_micros())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn pending_uploads(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM snapshots WHERE object_at IS NULL AND expired_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
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
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let rows = sqlx::query(
            "SELECT s.digest, s.agent_id, s.asset_kind, s.asset_id, s.sequence, s.collected_at,
                    CASE WHEN s.object_at IS NULL THEN NULL ELSE s.envelope_sha256 END
             FROM snapshots s
             WHERE s.asset_kind = ANY($1) AND s.collected_at < $2 AND s.expired_at IS NULL
               AND (s.collected_at, s.digest) > ($4, $5)
               AND NOT EXISTS (SELECT 1 FROM chains h
                               WHERE h.agent_id = s.agent_id AND h.asset_kind = s.asset_kind
                                 AND h.asset_id = s.asset_id
                                 AND h.head_sequence = s.sequence)
             ORDER BY s.collected_at, s.digest LIMIT $3",
        )
        .bind(&kinds)
        .bind(collected_before.unix_micros())
        .bind(i64::from(limit))
        .bind(after_at)
        .bind(&after_digest)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ExpiryCandidate {
                    digest: digest_at(r, 0)?,
                    chain: ChainKey {
                        agent_id: r.try_get(1)?,
                        asset_kind: kind(&r.try_get::<String, _>(2)?)?,
                        asset_id: r.try_get(3)?,
                    },
                    sequence: r.try_get::<i64, _>(4)? as u64,
                    collected_at: ts(r.try_get(5)?)?,
                    object: optional_digest_at(r, 6)?,
                })
            })
            .collect()
    }

    async fn mark_expired(&self, digests: Vec<Digest>, at: Timestamp) -> Result<u64, StoreError> {
        let digests: Vec<String> = digests.iter().map(Digest::to_hex).collect();
        Ok(sqlx::query(
            "UPDATE snapshots SET envelope = ''::bytea, expired_at = $2, upload_lease = NULL
             WHERE digest = ANY($1) AND expired_at IS NULL",
        )
        .bind(&digests)
        .bind(at.unix_micros())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}
