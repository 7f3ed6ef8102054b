//! Evaluation on the server: every accepted snapshot is judged by the policy pack in force.
//!
//! Ingest never waits for it: a snapshot is stored (and acknowledged) first, then a background
//! worker picks up every snapshot no pack has judged yet, in batches, and stores one
//! [`Evaluation`] per snapshot with the pack's digest. Because the work list is read from the
//! store ("no evaluation yet"), nothing is lost across restarts. A changed pack judges only what
//! arrives from then on; re-judging history with it is an explicit, recorded
//! [`run`](Evaluator::request_run) (who, why, which pack, which period), and the earlier results
//! stay beside the new ones, so the past can always be shown as it was judged.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{Digest, Snapshot, Timestamp};

use crate::clock::now;
use crate::store::{Evaluation, JudgingStore, NewRun, PackRecord, Store, StoreError, StoredResult};

/// A policy pack, as the server needs it: its digest and files (kept with its results) and a
/// function from a snapshot to every policy's result.
pub trait Judge: Send + Sync + 'static {
    /// The pack's digest (hex).
    fn digest(&self) -> &str;
    /// Its files (relative path, bytes), kept so every result can be re-derived.
    fn files(&self) -> Vec<(String, Vec<u8>)>;
    /// Every policy's result for `snapshot`.
    fn judge(&self, snapshot: &Snapshot) -> Vec<StoredResult>;
    /// The results recorded for a snapshot that could not be judged at all (its envelope
    /// unreadable, or judging failed): `error` with `reason`, never a verdict. The default is
    /// one result under [`UNJUDGED_POLICY`]; a pack answers `error` for each of its policies,
    /// so every control the snapshot would have counted for shows the error.
    fn unjudged(&self, reason: &str) -> Vec<StoredResult> {
        vec![StoredResult {
            policy_id: UNJUDGED_POLICY.into(),
            status: "error".into(),
            reason: reason.to_string(),
            evidence: Vec::new(),
        }]
    }
}

/// The policy id of [`Judge::unjudged`]'s default result.
pub const UNJUDGED_POLICY: &str = "vouch.snapshot_judged";

/// Why a batch could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The worker thread failed.
    #[error("evaluation task failed: {0}")]
    Task(String),
}

/// Snapshots judged per batch (one store transaction each).
const BATCH: u32 = 256;

/// The background evaluator. Cheap to share.
pub struct Evaluator {
    store: Arc<dyn Store>,
    judge: RwLock<Arc<dyn Judge>>,
    wake: Notify,
    /// How many snapshots have been judged since start, for whoever follows the results.
    judged: tokio::sync::watch::Sender<u64>,
}

impl Evaluator {
    /// An evaluator judging with `judge`; the pack is recorded in the store first.
    pub async fn new(
        store: Arc<dyn Store>,
        judge: Arc<dyn Judge>,
    ) -> Result<Arc<Self>, StoreError> {
        record_pack(&*store, &*judge).await?;
        Ok(Arc::new(Evaluator {
            store,
            judge: RwLock::new(judge),
            wake: Notify::new(),
            judged: tokio::sync::watch::Sender::new(0),
        }))
    }

    /// The pack in force.
    pub fn judge(&self) -> Arc<dyn Judge> {
        self.judge.read().expect("judge lock").clone()
    }

    /// Puts `judge` in force for snapshots that arrive from now on (recording its pack).
    pub async fn set_judge(&self, judge: Arc<dyn Judge>) -> Result<(), StoreError> {
        record_pack(&*self.store, &*judge).await?;
        *self.judge.write().expect("judge lock") = judge;
        self.wake.notify_one();
        Ok(())
    }

    /// Something new arrived.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Follows the count of snapshots judged since start: it changes after every round that
    /// judged something.
    pub fn judged(&self) -> tokio::sync::watch::Receiver<u64> {
        self.judged.subscribe()
    }

    /// Records a re-evaluation of the snapshots collected in `[from, to)` by the pack in
    /// force; the worker carries it out. Answers the run's id.
    pub async fn request_run(
        &self,
        requested_by: &str,
        reason: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<i64, StoreError> {
        let run = NewRun {
            requested_by: requested_by.to_string(),
            requested_at: now(),
            reason: reason.to_string(),
            pack_digest: self.judge().digest().to_string(),
            from,
            to,
        };
        let id = self.store.start_run(run).await?;
        tracing::info!(run = id, requested_by, reason, %from, %to, "re-evaluation requested");
        self.wake.notify_one();
        Ok(id)
    }

    /// Judges everything waiting: snapshots never evaluated, then open runs whose pack is in
    /// force. Answers how many snapshots were judged.
    pub async fn run_once(&self) -> Result<u64, EvaluateError> {
        let mut judged = 0;
        loop {
            let batch = self.store.unevaluated(BATCH).await?;
            if batch.is_empty() {
                break;
            }
            judged += self.judge_batch(batch, None).await?;
        }
        let judge = self.judge();
        for run in self.store.runs().await? {
            if run.finished_at.is_some() {
                continue;
            }
            if run.run.pack_digest != judge.digest() {
                tracing::warn!(
                    run = run.id,
                    pack = %run.run.pack_digest,
                    in_force = judge.digest(),
                    "re-evaluation waits: its pack is no longer in force"
                );
                continue;
            }
            let mut done = run.evaluated;
            loop {
                let batch = self.store.pending_for_run(run.id, BATCH).await?;
                if batch.is_empty() {
                    break;
                }
                done += self.judge_batch(batch, Some(run.id)).await?;
            }
            self.store.finish_run(run.id, now(), done).await?;
            tracing::info!(run = run.id, evaluated = done, "re-evaluation finished");
            judged += done - run.evaluated;
        }
        if judged > 0 {
            self.judged.send_modify(|total| *total += judged);
        }
        Ok(judged)
    }

    async fn judge_batch(
        &self,
        digests: Vec<Digest>,
        run_id: Option<i64>,
    ) -> Result<u64, EvaluateError> {
        let mut envelopes = Vec::with_capacity(digests.len());
        for digest in digests {
            // A store failure is retried next round; a missing envelope is this snapshot's
            // problem alone, recorded as its error below.
            let envelope = self
                .store
                .envelope(digest)
                .await?
                .ok_or_else(|| "listed for judging but its envelope is missing".to_string());
            envelopes.push((digest, envelope));
        }
        // Judging is CPU work: spread the batch over every core, off the async threads.
        let judge = self.judge();
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per_worker = envelopes.len().div_ceil(workers).max(1);
        let mut tasks = Vec::new();
        while !envelopes.is_empty() {
            let chunk: Vec<_> = envelopes.drain(..per_worker.min(envelopes.len())).collect();
            let judge = judge.clone();
            tasks.push(tokio::task::spawn_blocking(move || -> Vec<Evaluation> {
                chunk
                    .into_iter()
                    .map(|(digest, envelope)| Evaluation {
                        digest,
                        pack_digest: judge.digest().to_string(),
                        evaluated_at: now(),
                        run_id,
                        results: judge_one(&*judge, digest, envelope).into(),
                    })
                    .collect()
            }));
        }
        let mut evaluations = Vec::new();
        for task in tasks {
            evaluations.extend(task.await.map_err(|e| EvaluateError::Task(e.to_string()))?);
        }
        let n = evaluations.len() as u64;
        self.store.record_evaluations(evaluations).await?;
        Ok(n)
    }

    /// Runs the worker until `shutdown`: on every wake, and every `interval` in case a wake was
    /// missed. Failures are logged and retried on the next round.
    pub fn spawn(
        self: Arc<Self>,
        interval: Duration,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.run_once().await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(judged = n, "snapshots evaluated"),
                    Err(e) => tracing::error!(error = %e, "evaluation failed; retrying"),
                }
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(interval) => {}
                    () = shutdown.cancelled() => break,
                }
            }
        })
    }
}

async fn record_pack(store: &dyn JudgingStore, judge: &dyn Judge) -> Result<(), StoreError> {
    store
        .record_pack(PackRecord {
            digest: judge.digest().to_string(),
            loaded_at: now(),
            files: judge.files(),
        })
        .await
}

/// One snapshot's results, isolated: a snapshot that cannot be read, or whose judging panics,
/// gets the judge's [`unjudged`](Judge::unjudged) results with the reason, and the batch goes on.
fn judge_one(
    judge: &dyn Judge,
    digest: Digest,
    envelope: Result<Vec<u8>, String>,
) -> Vec<StoredResult> {
    let judged = envelope.and_then(|envelope| {
        let snapshot = read_snapshot(&envelope)?;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| judge.judge(&snapshot))).map_err(
            |panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                format!("judging failed: {what}")
            },
        )
    });
    judged.unwrap_or_else(|problem| {
        let reason = format!("snapshot could not be judged: {problem}");
        tracing::warn!(%digest, pack = judge.digest(), reason, "snapshot recorded as unjudged");
        judge.unjudged(&reason)
    })
}

/// The snapshot inside a stored envelope.
fn read_snapshot(envelope: &[u8]) -> Result<Snapshot, String> {
    let envelope = Envelope::from_slice(envelope).map_err(|e| e.to_string())?;
    let payload = envelope.payload_bytes().map_err(|e| e.to_string())?;
    Snapshot::from_payload(&payload).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use vouch_evidence::testing::host_snapshot;
    use vouch_evidence::{ChainKey, EvidenceItem, SigningKey, Source};

    use super::*;
    use crate::store::NewSnapshot;
    use crate::store::sqlite::SqliteStore;

    /// A one-policy pack written in Rust: root login over SSH must be off.
    struct RootLogin(&'static str);

    impl Judge for RootLogin {
        fn digest(&self) -> &str {
            self.0
        }
        fn files(&self) -> Vec<(String, Vec<u8>)> {
            vec![("root_login.rs".into(), self.0.as_bytes().to_vec())]
        }
        fn judge(&self, snapshot: &Snapshot) -> Vec<StoredResult> {
            let id = "host.ssh.permit_root_login";
            let (status, reason) = match snapshot.evidence.get(id).map(|i| &i.value) {
                Some(v) if v == "panic" => panic!("judge panicked on purpose"),
                Some(v) if v == "no" => ("pass", "root login is off".to_string()),
                Some(v) => ("fail", format!("PermitRootLogin is {v}")),
                None => ("error", format!("evidence unavailable: {id}")),
            };
            vec![StoredResult {
                policy_id: format!("{}.root_login", self.0),
                status: status.into(),
                reason,
                evidence: vec![id.into()],
            }]
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_micros(1_790_000_000_000_000 + secs * 1_000_000).unwrap()
    }

    /// Stores a signed chain of `values` (PermitRootLogin per snapshot) for asset `m1`.
    async fn store_chain(store: &dyn Store, values: &[&str]) -> Vec<Digest> {
        let values: Vec<serde_json::Value> = values.iter().map(|v| (*v).into()).collect();
        store_values(store, &values, |_| None).await
    }

    /// [`store_chain`] with any JSON values, signed without the agent's limit checks; `damage`
    /// may replace a snapshot's stored envelope by its index.
    async fn store_values(
        store: &dyn Store,
        values: &[serde_json::Value],
        damage: impl Fn(usize) -> Option<Vec<u8>>,
    ) -> Vec<Digest> {
        let key = SigningKey::from_seed(&[7; 32]);
        let mut previous = None;
        let mut out = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let evidence = BTreeMap::from([(
                "host.ssh.permit_root_login".to_string(),
                EvidenceItem::ok(v.clone(), Source::File("/etc/ssh/sshd_config".into())),
            )]);
            let seq = i as u64 + 1;
            let snap = host_snapshot("agt_1", "m1", at(seq as i64), seq, previous, evidence);
            let payload = snap.canonical_bytes().unwrap();
            let envelope = damage(i).unwrap_or_else(|| {
                vouch_evidence::dsse::sign(&key, vouch_evidence::SNAPSHOT_PAYLOAD_TYPE, &payload)
                    .to_vec()
            });
            let digest = Digest::of(&payload);
            store
                .ingest(NewSnapshot {
                    digest,
                    chain: ChainKey {
                        agent_id: "agt_1".into(),
                        asset_kind: vouch_evidence::AssetKind::Host,
                        asset_id: "m1".into(),
                    },
                    asset_name: "web-1".into(),
                    sequence: seq,
                    previous_digest: previous,
                    collected_at: at(seq as i64),
                    received_at: at(seq as i64),
                    envelope,
                    receipt: b"r".to_vec(),
                })
                .await
                .unwrap();
            previous = Some(digest);
            out.push(digest);
        }
        out
    }

    fn statuses(evals: &[Evaluation]) -> Vec<(String, String)> {
        evals
            .iter()
            .map(|e| (e.pack_digest.clone(), e.results[0].status.clone()))
            .collect()
    }

    /// Every stored snapshot is judged once, from the stored envelope; a second round finds
    /// nothing to do; a new evaluator over the same store (a restart) does not judge again.
    #[tokio::test]
    async fn every_snapshot_is_judged_once_and_nothing_is_lost_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
        let digests = store_chain(&*store, &["yes", "no"]).await;
        let ev = Evaluator::new(store.clone(), Arc::new(RootLogin("p1")))
            .await
            .unwrap();
        assert_eq!(ev.run_once().await.unwrap(), 2);
        assert_eq!(ev.run_once().await.unwrap(), 0);
        let first = store.evaluations_of(digests[0]).await.unwrap();
        assert_eq!(statuses(&first), [("p1".to_string(), "fail".to_string())]);
        assert_eq!(first[0].results[0].reason, "PermitRootLogin is \"yes\"");
        let second = store.evaluations_of(digests[1]).await.unwrap();
        assert_eq!(statuses(&second), [("p1".to_string(), "pass".to_string())]);
        assert!(
            store.pack("p1").await.unwrap().is_some(),
            "the pack is kept with its results"
        );
        let restarted = Evaluator::new(store.clone(), Arc::new(RootLogin("p1")))
            .await
            .unwrap();
        assert_eq!(restarted.run_once().await.unwrap(), 0);
    }

    /// A new pack judges only new arrivals until a re-evaluation is asked for; the run is
    /// recorded, covers its period only, and the old results stay beside the new.
    #[tokio::test]
    async fn a_pack_change_re_judges_history_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
        let digests = store_chain(&*store, &["yes", "no", "no"]).await;
        let ev = Evaluator::new(store.clone(), Arc::new(RootLogin("p1")))
            .await
            .unwrap();
        ev.run_once().await.unwrap();
        ev.set_judge(Arc::new(RootLogin("p2"))).await.unwrap();
        assert_eq!(
            ev.run_once().await.unwrap(),
            0,
            "nothing re-judged silently"
        );
        let run = ev
            .request_run("alice", "p2 rewrites the SSH policy", at(1), at(3))
            .await
            .unwrap();
        assert_eq!(ev.run_once().await.unwrap(), 2);
        let evals = store.evaluations_of(digests[0]).await.unwrap();
        assert_eq!(
            statuses(&evals),
            [
                ("p1".to_string(), "fail".to_string()),
                ("p2".to_string(), "fail".to_string())
            ]
        );
        assert_eq!(evals[1].run_id, Some(run));
        assert_eq!(
            store.evaluations_of(digests[2]).await.unwrap().len(),
            1,
            "outside the period"
        );
        let runs = store.runs().await.unwrap();
        assert_eq!(
            (runs[0].run.requested_by.as_str(), runs[0].evaluated),
            ("alice", 2)
        );
        assert!(runs[0].finished_at.is_some());
    }

    /// Regression (issue 15, defect 1): one snapshot that cannot be judged halted all judging
    /// (nested deeper than serde_json parses, the batch failed and the same snapshot headed
    /// every later batch). Now each snapshot is judged on its own: one too deep to parse, one
    /// whose stored envelope is damaged and one whose judging panics are recorded as `error`
    /// with the reason, and every other snapshot, before and after, is judged.
    #[tokio::test]
    async fn a_snapshot_that_cannot_be_judged_is_recorded_as_error_and_judging_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
        let mut deep = serde_json::Value::from("no");
        for _ in 0..130 {
            deep = serde_json::json!([deep]);
        }
        let values = ["no".into(), deep, "yes".into(), "panic".into(), "no".into()];
        let digests = store_values(&*store, &values, |i| {
            (i == 2).then(|| b"{\"payloadType\": damaged".to_vec())
        })
        .await;
        let ev = Evaluator::new(store.clone(), Arc::new(RootLogin("p1")))
            .await
            .unwrap();
        assert_eq!(
            ev.run_once().await.unwrap(),
            5,
            "every snapshot judged once"
        );
        assert_eq!(ev.run_once().await.unwrap(), 0, "and the queue is empty");
        let result = |i: usize| {
            let store = store.clone();
            let digest = digests[i];
            async move { store.evaluations_of(digest).await.unwrap()[0].results[0].clone() }
        };
        assert_eq!(result(0).await.status, "pass");
        assert_eq!(result(4).await.status, "pass", "judged after the bad ones");
        for (i, why) in [
            (1, "nesting depth exceeds the limit of 64"),
            (2, "not a DSSE envelope"),
            (3, "judging failed: judge panicked on purpose"),
        ] {
            let r = result(i).await;
            assert_eq!(r.status, "error", "snapshot {i}: {r:?}");
            assert!(
                r.reason.starts_with("snapshot could not be judged: ") && r.reason.contains(why),
                "snapshot {i}: {}",
                r.reason
            );
            assert_eq!(r.policy_id, UNJUDGED_POLICY);
        }
    }

    /// The worker picks up what arrives while it runs, and stops on shutdown.
    #[tokio::test]
    async fn the_worker_judges_arrivals_and_stops_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
        let ev = Evaluator::new(store.clone(), Arc::new(RootLogin("p1")))
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        let worker = ev
            .clone()
            .spawn(Duration::from_secs(3600), shutdown.clone());
        let digests = store_chain(&*store, &["no"]).await;
        ev.wake();
        let mut judged = false;
        for _ in 0..200 {
            if !store.evaluations_of(digests[0]).await.unwrap().is_empty() {
                judged = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(judged, "the woken worker judged the new snapshot");
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), worker)
            .await
            .unwrap()
            .unwrap();
    }
}
