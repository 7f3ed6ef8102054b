//! The judging traits for [`SqliteStore`](super::SqliteStore).

use super::*;

#[async_trait]
impl JudgingStore for SqliteStore {
    async fn record_pack(&self, pack: PackRecord) -> Result<(), StoreError> {
        self.write_fn(move |c| results::record_pack(c, &pack)).await
    }

    async fn pack(&self, digest: &str) -> Result<Option<PackRecord>, StoreError> {
        let digest = digest.to_string();
        self.read(move |c| results::pack(c, &digest)).await
    }

    async fn unevaluated(&self, limit: u32) -> Result<Vec<Digest>, StoreError> {
        self.read(move |c| results::unevaluated(c, limit)).await
    }

    async fn pending_for_run(&self, run: i64, limit: u32) -> Result<Vec<Digest>, StoreError> {
        self.read(move |c| results::pending_for_run(c, run, limit))
            .await
    }

    async fn record_evaluations(&self, evaluations: Vec<Evaluation>) -> Result<(), StoreError> {
        self.write_fn(move |c| results::record_evaluations(c, &evaluations))
            .await
    }

    async fn evaluations_of(&self, digest: Digest) -> Result<Vec<Evaluation>, StoreError> {
        self.read(move |c| results::evaluations_of(c, digest)).await
    }

    async fn evaluations_after(
        &self,
        after: Option<(Timestamp, Digest, String)>,
        limit: u32,
    ) -> Result<Vec<(SnapshotRef, Evaluation)>, StoreError> {
        self.read(move |c| results::evaluations_after(c, after, limit))
            .await
    }

    async fn latest_evaluations(
        &self,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<AssetEvaluation>, StoreError> {
        self.read(move |c| {
            let mut all = Vec::new();
            results::latest_evaluations(c, as_of, |e| {
                all.push(e);
                true
            })?;
            Ok(all)
        })
        .await
    }

    async fn latest_evaluations_chunked(
        &self,
        as_of: Option<Timestamp>,
        chunks: tokio::sync::mpsc::Sender<Vec<AssetEvaluation>>,
    ) -> Result<(), StoreError> {
        /// Evaluations per chunk: the first reaches the caller after a few milliseconds.
        const CHUNK: usize = 256;
        self.read(move |c| {
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut open = true;
            results::latest_evaluations(c, as_of, |e| {
                chunk.push(e);
                if chunk.len() == CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    open = chunks.blocking_send(full).is_ok();
                }
                open
            })?;
            if open && !chunk.is_empty() {
                let _ = chunks.blocking_send(chunk);
            }
            Ok(())
        })
        .await
    }

    async fn start_run(&self, run: NewRun) -> Result<i64, StoreError> {
        self.write_fn(move |c| results::start_run(c, &run)).await
    }

    async fn finish_run(&self, run: i64, at: Timestamp, evaluated: u64) -> Result<(), StoreError> {
        self.write_fn(move |c| results::finish_run(c, run, at, evaluated))
            .await
    }

    async fn runs(&self) -> Result<Vec<EvaluationRun>, StoreError> {
        self.read(results::runs).await
    }
}

#[async_trait]
impl ControlHistoryStore for SqliteStore {
    async fn record_control_changes(&self, changes: Vec<ControlChange>) -> Result<(), StoreError> {
        self.write_fn(move |c| results::record_control_changes(c, &changes))
            .await
    }

    async fn control_history(
        &self,
        framework: Option<String>,
    ) -> Result<Vec<ControlChange>, StoreError> {
        self.read(move |c| results::control_history(c, framework.as_deref()))
            .await
    }
}
