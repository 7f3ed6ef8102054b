//! The evidence traits for [`SqliteStore`](super::SqliteStore).

use super::*;

#[async_trait]
impl EvidenceStore for SqliteStore {
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
}
