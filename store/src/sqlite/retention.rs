//! The retention traits for [`SqliteStore`](super::SqliteStore).

use super::*;

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn claim_uploads(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingUpload>, StoreError> {
        self.write_fn(move |c| {
            let mut stmt = c.prepare_cached(
                "UPDATE snapshots SET upload_lease = ?1
                 WHERE digest IN (
                     SELECT digest FROM snapshots
                     WHERE object_at IS NULL AND expired_at IS NULL
                       AND (upload_lease IS NULL OR upload_lease < ?2)
                     ORDER BY received_at LIMIT ?3)
                 RETURNING digest, envelope, received_at",
            )?;
            let rows = stmt.query_map(
                params![lease_until.unix_micros(), now.unix_micros(), limit],
                |r| {
                    Ok((
                        r.get::<_, i64>(2)?,
                        PendingUpload {
                            digest: digest_col(r.get(0)?)?,
                            envelope: r.get(1)?,
                        },
                    ))
                },
            )?;
            // RETURNING comes in no particular order: oldest received first.
            let mut claimed = rows.collect::<Result<Vec<_>, _>>()?;
            claimed.sort_by_key(|(received, p)| (*received, p.digest));
            Ok(claimed.into_iter().map(|(_, p)| p).collect())
        })
        .await
    }

    async fn mark_uploaded(
        &self,
        uploaded: Vec<(Digest, Digest)>,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        self.write_fn(move |c| {
            let mut stmt = c.prepare_cached(
                "UPDATE snapshots SET envelope = X'', envelope_sha256 = ?2, object_at = ?3,
                                      upload_lease = NULL
                 WHERE digest = ?1 AND object_at IS NULL AND expired_at IS NULL",
            )?;
            let mut changed = 0;
            for (digest, sha) in &uploaded {
                changed +=
                    stmt.execute(params![digest.to_hex(), sha.to_hex(), at.unix_micros()])? as u64;
            }
            Ok(changed)
        })
        .await
    }

    async fn pending_uploads(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM snapshots WHERE object_at IS NULL AND expired_at IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
        .await
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
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT s.digest, s.agent_id, s.asset_kind, s.asset_id, s.sequence,
                        s.collected_at, CASE WHEN s.object_at IS NULL THEN NULL
                                             ELSE s.envelope_sha256 END
                 FROM snapshots s
                 WHERE s.asset_kind = ?1 AND s.collected_at < ?2 AND s.expired_at IS NULL
                   AND (s.collected_at, s.digest) > (?4, ?5)
                   AND NOT EXISTS (SELECT 1 FROM chains h
                                   WHERE h.agent_id = s.agent_id
                                     AND h.asset_kind = s.asset_kind
                                     AND h.asset_id = s.asset_id
                                     AND h.head_sequence = s.sequence)
                 ORDER BY s.collected_at, s.digest LIMIT ?3",
            )?;
            let mut out = Vec::new();
            for kind in kinds {
                let left = limit.saturating_sub(out.len() as u32);
                if left == 0 {
                    break;
                }
                let rows = stmt.query_map(
                    params![
                        kind.as_str(),
                        collected_before.unix_micros(),
                        left,
                        after_at,
                        after_digest
                    ],
                    |r| {
                        Ok(ExpiryCandidate {
                            digest: digest_col(r.get(0)?)?,
                            chain: ChainKey {
                                agent_id: r.get(1)?,
                                asset_kind: kind,
                                asset_id: r.get(3)?,
                            },
                            sequence: r.get::<_, i64>(4)? as u64,
                            collected_at: ts(r.get(5)?)?,
                            object: r.get::<_, Option<String>>(6)?.map(digest_col).transpose()?,
                        })
                    },
                )?;
                for row in rows {
                    out.push(row?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn mark_expired(&self, digests: Vec<Digest>, at: Timestamp) -> Result<u64, StoreError> {
        self.write_fn(move |c| {
            let mut stmt = c.prepare_cached(
                "UPDATE snapshots SET envelope = X'', expired_at = ?2, upload_lease = NULL
                 WHERE digest = ?1 AND expired_at IS NULL",
            )?;
            let mut changed = 0;
            for d in &digests {
                changed += stmt.execute(params![d.to_hex(), at.unix_micros()])? as u64;
            }
            Ok(changed)
        })
        .await
    }
}
