//! The evidence traits for [`PgStore`](super::PgStore).

use super::*;

#[async_trait]
impl EvidenceStore for PgStore {
    async fn assets(&self) -> Result<Vec<AssetSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT asset_kind, asset_id, asset_name, agent_id, snapshot_count, head_sequence,
                    head_digest, last_collected_at, last_received_at
             FROM chains ORDER BY asset_kind, asset_id, agent_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let assets = rows.iter().map(asset_summary).collect::<Result<_, _>>()?;
        self.with_tags(assets).await
    }

    async fn assets_as_of(
        &self,
        at: Timestamp,
        only: Option<(AssetKind, String)>,
    ) -> Result<Vec<AssetSummary>, StoreError> {
        let (k, id) = match &only {
            Some((k, id)) => (Some(k.as_str()), Some(id.clone())),
            None => (None, None),
        };
        // Per chain, in one pass over its entries in `snapshots_by_chain_covered` (index only,
        // migration 0003): how many it had received by then and the position of the newest
        // collected (by collection time, then sequence); then that one snapshot by its
        // position. LATERAL keeps the plan to one chain at a time (a join of subqueries was
        // planned as hash joins over the whole table).
        let rows = sqlx::query(
            "SELECT c.asset_kind, c.asset_id, s.asset_name, c.agent_id, n.snapshots,
                    s.sequence, s.digest, s.collected_at, s.received_at
             FROM chains c
             CROSS JOIN LATERAL (
                 SELECT count(*) AS snapshots,
                        max(ARRAY[s2.collected_at, s2.sequence]) AS newest
                 FROM snapshots s2
                 WHERE s2.asset_kind = c.asset_kind AND s2.asset_id = c.asset_id
                   AND s2.agent_id = c.agent_id AND s2.received_at <= $1) n
             CROSS JOIN LATERAL (
                 SELECT s3.asset_name, s3.sequence, s3.digest, s3.collected_at, s3.received_at
                 FROM snapshots s3
                 WHERE s3.asset_kind = c.asset_kind AND s3.asset_id = c.asset_id
                   AND s3.agent_id = c.agent_id AND s3.sequence = n.newest[2]
                 LIMIT 1) s
             WHERE $2::TEXT IS NULL OR (c.asset_kind = $2 AND c.asset_id = $3)
             ORDER BY c.asset_kind, c.asset_id, c.agent_id",
        )
        .bind(at.unix_micros())
        .bind(k)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let assets = rows.iter().map(asset_summary).collect::<Result<_, _>>()?;
        self.with_tags(assets).await
    }

    async fn set_asset_tags(
        &self,
        kind: AssetKind,
        asset_id: String,
        tags: BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let known: bool = sqlx::query(
            "SELECT EXISTS(SELECT 1 FROM chains WHERE asset_kind = $1 AND asset_id = $2)",
        )
        .bind(kind.as_str())
        .bind(&asset_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if !known {
            return Ok(false);
        }
        sqlx::query("DELETE FROM asset_tags WHERE asset_kind = $1 AND asset_id = $2")
            .bind(kind.as_str())
            .bind(&asset_id)
            .execute(&mut *tx)
            .await?;
        for (k, v) in &tags {
            sqlx::query(
                "INSERT INTO asset_tags(asset_kind, asset_id, key, value) VALUES ($1, $2, $3, $4)",
            )
            .bind(kind.as_str())
            .bind(&asset_id)
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn snapshots(
        &self,
        kind: AssetKind,
        asset_id: &str,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<SnapshotSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT digest, agent_id, sequence, previous_digest, collected_at, received_at
             FROM snapshots WHERE asset_kind = $1 AND asset_id = $2 AND sequence > $3
             ORDER BY sequence, agent_id LIMIT $4",
        )
        .bind(kind.as_str())
        .bind(asset_id)
        .bind(after_sequence as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SnapshotSummary {
                    digest: digest_at(r, 0)?,
                    agent_id: r.try_get(1)?,
                    sequence: r.try_get::<i64, _>(2)? as u64,
                    previous_digest: optional_digest_at(r, 3)?,
                    collected_at: ts(r.try_get(4)?)?,
                    received_at: ts(r.try_get(5)?)?,
                })
            })
            .collect()
    }

    async fn envelope_location(&self, d: Digest) -> Result<Option<EnvelopeLocation>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT envelope, envelope_sha256, object_at, expired_at
             FROM snapshots WHERE digest = $1",
        )
        .bind(d.to_hex())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        if let Some(at) = r.try_get::<Option<i64>, _>(3)? {
            return Ok(Some(EnvelopeLocation::Expired { at: ts(at)? }));
        }
        if r.try_get::<Option<i64>, _>(2)?.is_some()
            && let Some(sha256) = optional_digest_at(&r, 1)?
        {
            return Ok(Some(EnvelopeLocation::Object { sha256 }));
        }
        Ok(Some(EnvelopeLocation::Inline(r.try_get(0)?)))
    }

    fn objects(&self) -> Option<&crate::objects::ObjectStore> {
        self.objects.get()
    }

    fn attach_objects(&self, objects: crate::objects::ObjectStore) {
        let _ = self.objects.set(objects);
    }

    async fn receipt(&self, d: Digest) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query("SELECT receipt FROM snapshots WHERE digest = $1")
                .bind(d.to_hex())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
        )
    }

    async fn snapshot_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query("SELECT count(*) FROM snapshots")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(n as u64)
    }

    async fn population(
        &self,
        from: Timestamp,
        to: Timestamp,
        kinds: Vec<AssetKind>,
        received_by: Option<Timestamp>,
    ) -> Result<Vec<SnapshotRef>, StoreError> {
        let kinds: Vec<String> = kinds.iter().map(|k| k.as_str().to_string()).collect();
        let rows = sqlx::query(
            "SELECT digest, agent_id, asset_kind, asset_id, sequence, previous_digest, collected_at
             FROM snapshots
             WHERE collected_at >= $1 AND collected_at < $2 AND received_at <= $3
               AND expired_at IS NULL
               AND asset_kind = ANY($4)
             ORDER BY digest",
        )
        .bind(from.unix_micros())
        .bind(to.unix_micros())
        .bind(received_by.map_or(i64::MAX, |t| t.unix_micros()))
        .bind(&kinds)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SnapshotRef {
                    digest: digest_at(r, 0)?,
                    agent_id: r.try_get(1)?,
                    asset_kind: kind(&r.try_get::<String, _>(2)?)?,
                    asset_id: r.try_get(3)?,
                    sequence: r.try_get::<i64, _>(4)? as u64,
                    previous_digest: optional_digest_at(r, 5)?,
                    collected_at: ts(r.try_get(6)?)?,
                })
            })
            .collect()
    }
}
