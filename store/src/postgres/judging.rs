//! The judging traits for [`PgStore`](super::PgStore).

use super::*;

#[async_trait]
impl JudgingStore for PgStore {
    async fn record_pack(&self, pack: PackRecord) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO policy_packs(digest, loaded_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&pack.digest)
        .bind(pack.loaded_at.unix_micros())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            for (path, content) in &pack.files {
                sqlx::query(
                    "INSERT INTO policy_pack_files(pack_digest, path, content) VALUES ($1, $2, $3)",
                )
                .bind(&pack.digest)
                .bind(path)
                .bind(content)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pack(&self, d: &str) -> Result<Option<PackRecord>, StoreError> {
        let Some(row) = sqlx::query("SELECT loaded_at FROM policy_packs WHERE digest = $1")
            .bind(d)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let files = sqlx::query(
            "SELECT path, content FROM policy_pack_files WHERE pack_digest = $1 ORDER BY path",
        )
        .bind(d)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, StoreError>>()?;
        Ok(Some(PackRecord {
            digest: d.to_string(),
            loaded_at: ts(row.try_get(0)?)?,
            files,
        }))
    }

    async fn unevaluated(&self, limit: u32) -> Result<Vec<Digest>, StoreError> {
        self.digests(
            sqlx::query("SELECT digest FROM unjudged ORDER BY received_at LIMIT $1")
                .bind(i64::from(limit)),
        )
        .await
    }

    async fn pending_for_run(&self, run: i64, limit: u32) -> Result<Vec<Digest>, StoreError> {
        self.digests(
            sqlx::query(
                "SELECT s.digest FROM snapshots s, evaluation_runs r
                 WHERE r.id = $1 AND s.collected_at >= r.scope_from AND s.collected_at < r.scope_to
                   AND NOT EXISTS (SELECT 1 FROM evaluations e
                                   WHERE e.digest = s.digest AND e.pack_digest = r.pack_digest)
                 ORDER BY s.collected_at LIMIT $2",
            )
            .bind(run)
            .bind(i64::from(limit)),
        )
        .await
    }

    async fn record_evaluations(&self, evaluations: Vec<Evaluation>) -> Result<(), StoreError> {
        let mut sets: BTreeMap<String, String> = BTreeMap::new();
        let mut set_of = Vec::with_capacity(evaluations.len());
        for e in &evaluations {
            let (id, json) = crate::results::encode_results(&e.results)?;
            set_of.push(id.clone());
            sets.entry(id).or_insert(json);
        }
        let (ids, jsons): (Vec<String>, Vec<String>) = sets.into_iter().unzip();
        // One statement: the new result sets, the evaluations (a repeat changes nothing:
        // results are never overwritten), and the judged snapshots leave the queue.
        sqlx::query(
            "WITH sets AS (
                 INSERT INTO result_sets(id, results)
                 SELECT * FROM UNNEST($1::text[], $2::text[]) ON CONFLICT DO NOTHING),
             judged AS (DELETE FROM unjudged WHERE digest = ANY($3))
             INSERT INTO evaluations(digest, pack_digest, evaluated_at, run_id, result_set)
             SELECT * FROM UNNEST($3::text[], $4::text[], $5::int8[], $6::int8[], $7::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(ids)
        .bind(jsons)
        .bind(
            evaluations
                .iter()
                .map(|e| e.digest.to_hex())
                .collect::<Vec<_>>(),
        )
        .bind(
            evaluations
                .iter()
                .map(|e| e.pack_digest.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            evaluations
                .iter()
                .map(|e| e.evaluated_at.unix_micros())
                .collect::<Vec<_>>(),
        )
        .bind(
            evaluations
                .iter()
                .map(|e| e.run_id)
                .collect::<Vec<Option<i64>>>(),
        )
        .bind(set_of)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn evaluations_of(&self, d: Digest) -> Result<Vec<Evaluation>, StoreError> {
        let rows = sqlx::query(
            "SELECT digest, pack_digest, evaluated_at, run_id, result_set FROM evaluations
             WHERE digest = $1 ORDER BY evaluated_at, pack_digest",
        )
        .bind(d.to_hex())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.evaluation_of(r, 0).await?);
        }
        Ok(out)
    }

    async fn evaluations_after(
        &self,
        after: Option<(Timestamp, Digest, String)>,
        limit: u32,
    ) -> Result<Vec<(SnapshotRef, Evaluation)>, StoreError> {
        let (at, digest, pack) = after
            .map_or((i64::MIN, String::new(), String::new()), |(t, d, p)| {
                (t.unix_micros(), d.to_hex(), p)
            });
        let rows = sqlx::query(
            "SELECT e.digest, e.pack_digest, e.evaluated_at, e.run_id, e.result_set,
                    s.agent_id, s.asset_kind, s.asset_id, s.sequence, s.previous_digest,
                    s.collected_at
             FROM evaluations e JOIN snapshots s ON s.digest = e.digest
             WHERE (e.evaluated_at, e.digest, e.pack_digest) > ($1, $2, $3)
             ORDER BY e.evaluated_at, e.digest, e.pack_digest LIMIT $4",
        )
        .bind(at)
        .bind(digest)
        .bind(pack)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let snapshot = SnapshotRef {
                digest: digest_at(r, 0)?,
                agent_id: r.try_get(5)?,
                asset_kind: kind(&r.try_get::<String, _>(6)?)?,
                asset_id: r.try_get(7)?,
                sequence: r.try_get::<i64, _>(8)? as u64,
                previous_digest: optional_digest_at(r, 9)?,
                collected_at: ts(r.try_get(10)?)?,
            };
            out.push((snapshot, self.evaluation_of(r, 0).await?));
        }
        Ok(out)
    }

    async fn latest_evaluations(
        &self,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<AssetEvaluation>, StoreError> {
        // Per chain: its newest snapshot collected by then that has an evaluation made by then
        // (walking `snapshots_by_chain_time` back), and that snapshot's newest evaluation made
        // by then. LATERAL keeps the plan to these index seeks, chain by chain (a join on
        // subqueries was planned as hash joins over both whole tables).
        let rows = sqlx::query(
            "SELECT c.agent_id, c.asset_kind, c.asset_id, s.asset_name, s.collected_at,
                    s.digest, e.pack_digest, e.evaluated_at, e.run_id, e.result_set
             FROM chains c
             CROSS JOIN LATERAL (
                 SELECT s2.digest, s2.asset_name, s2.collected_at FROM snapshots s2
                 WHERE s2.agent_id = c.agent_id AND s2.asset_kind = c.asset_kind
                   AND s2.asset_id = c.asset_id AND s2.collected_at <= $1
                   AND EXISTS (SELECT 1 FROM evaluations e2
                               WHERE e2.digest = s2.digest AND e2.evaluated_at <= $1)
                 ORDER BY s2.collected_at DESC LIMIT 1) s
             CROSS JOIN LATERAL (
                 SELECT e3.pack_digest, e3.evaluated_at, e3.run_id, e3.result_set
                 FROM evaluations e3
                 WHERE e3.digest = s.digest AND e3.evaluated_at <= $1
                 ORDER BY e3.evaluated_at DESC LIMIT 1) e
             ORDER BY c.asset_kind, c.asset_id, c.agent_id",
        )
        .bind(as_of.map_or(i64::MAX, |t| t.unix_micros()))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(AssetEvaluation {
                chain: ChainKey {
                    agent_id: r.try_get(0)?,
                    asset_kind: kind(&r.try_get::<String, _>(1)?)?,
                    asset_id: r.try_get(2)?,
                },
                asset_name: r.try_get(3)?,
                collected_at: ts(r.try_get(4)?)?,
                evaluation: self.evaluation_of(r, 5).await?,
            });
        }
        Ok(out)
    }

    async fn start_run(&self, run: NewRun) -> Result<i64, StoreError> {
        Ok(sqlx::query(
            "INSERT INTO evaluation_runs(requested_by, requested_at, reason, pack_digest,
                                         scope_from, scope_to)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&run.requested_by)
        .bind(run.requested_at.unix_micros())
        .bind(&run.reason)
        .bind(&run.pack_digest)
        .bind(run.from.unix_micros())
        .bind(run.to.unix_micros())
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?)
    }

    async fn finish_run(&self, run: i64, at: Timestamp, evaluated: u64) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE evaluation_runs SET finished_at = $2, evaluated = $3 WHERE id = $1",
        )
        .bind(run)
        .bind(at.unix_micros())
        .bind(evaluated as i64)
        .execute(&self.pool)
        .await?;
        if n.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Backend(format!("no evaluation run {run}")))
        }
    }

    async fn runs(&self) -> Result<Vec<EvaluationRun>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, requested_by, requested_at, reason, pack_digest, scope_from, scope_to,
                    finished_at, evaluated
             FROM evaluation_runs ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EvaluationRun {
                    id: r.try_get(0)?,
                    run: NewRun {
                        requested_by: r.try_get(1)?,
                        requested_at: ts(r.try_get(2)?)?,
                        reason: r.try_get(3)?,
                        pack_digest: r.try_get(4)?,
                        from: ts(r.try_get(5)?)?,
                        to: ts(r.try_get(6)?)?,
                    },
                    finished_at: r.try_get::<Option<i64>, _>(7)?.map(ts).transpose()?,
                    evaluated: r.try_get::<i64, _>(8)? as u64,
                })
            })
            .collect()
    }
}

#[async_trait]
impl ControlHistoryStore for PgStore {
    async fn record_control_changes(&self, changes: Vec<ControlChange>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for ch in &changes {
            sqlx::query(
                "INSERT INTO control_history(framework, control, since, state, recorded_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(&ch.framework)
            .bind(&ch.control)
            .bind(ch.since.unix_micros())
            .bind(&ch.state)
            .bind(ch.recorded_at.unix_micros())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn control_history(
        &self,
        framework: Option<String>,
    ) -> Result<Vec<ControlChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT framework, control, since, state, recorded_at FROM control_history
             WHERE $1::TEXT IS NULL OR framework = $1 ORDER BY since, framework, control",
        )
        .bind(framework)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ControlChange {
                    framework: r.try_get(0)?,
                    control: r.try_get(1)?,
                    since: ts(r.try_get(2)?)?,
                    state: r.try_get(3)?,
                    recorded_at: ts(r.try_get(4)?)?,
                })
            })
            .collect()
    }
}
