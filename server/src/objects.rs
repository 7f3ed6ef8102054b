//! Moving envelopes to object storage in the background. The bucket itself (configuration,
//! client, content-addressed puts and checked reads) is [`vouch_store::objects`], re-exported
//! here; this module is the service that uses it.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use vouch_evidence::Digest;

use crate::metrics::Metrics;
use crate::store::{RetentionStore, StoreError};
pub use vouch_store::objects::*;

/// Moves envelopes from the database to the bucket in the background (see the module
/// documentation). One runs in each replica.
pub struct Uploader {
    store: Arc<dyn RetentionStore>,
    objects: ObjectStore,
}

/// The rest after a pass that took `worked`, so that work is `percent` of the time.
fn rest_after(worked: Duration, percent: u32) -> Duration {
    let percent = percent.clamp(1, 100);
    worked * (100 - percent) / percent
}

/// How long a claim on envelopes to move lasts: another replica takes them over after that.
const LEASE: Duration = Duration::from_secs(60);

/// What one pass moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UploadPass {
    /// Envelopes claimed.
    pub claimed: u64,
    /// Moved to the bucket and dropped from the database.
    pub moved: u64,
    /// Whose put failed (left in the database; retried once the claim runs out).
    pub failed: u64,
}

impl Uploader {
    /// An uploader moving `store`'s envelopes to `objects`.
    pub fn new(store: Arc<dyn RetentionStore>, objects: ObjectStore) -> Self {
        Uploader { store, objects }
    }

    /// Claims up to `concurrency × 4` envelopes and moves them, `concurrency` puts at a time.
    pub async fn pass(&self) -> Result<UploadPass, StoreError> {
        let now = crate::clock::now();
        let lease_until = instant_from_secs(now.unix_micros() / 1_000_000 + LEASE.as_secs() as i64);
        let limit = u32::try_from(self.objects.upload_concurrency() * 4).unwrap_or(u32::MAX);
        let claimed = self.store.claim_uploads(now, lease_until, limit).await?;
        let mut pass = UploadPass {
            claimed: claimed.len() as u64,
            ..UploadPass::default()
        };
        let mut moved = Vec::with_capacity(claimed.len());
        let mut puts = tokio::task::JoinSet::new();
        let mut queue = claimed.into_iter();
        loop {
            while puts.len() < self.objects.upload_concurrency() {
                let Some(p) = queue.next() else { break };
                let objects = self.objects.clone();
                puts.spawn(async move {
                    let sha = Digest::of(&p.envelope);
                    let r = objects.put(&sha, p.envelope, now).await;
                    (p.digest, sha, r)
                });
            }
            let Some(done) = puts.join_next().await else {
                break;
            };
            match done {
                Ok((digest, sha, Ok(()))) => moved.push((digest, sha)),
                Ok((digest, _, Err(e))) => {
                    pass.failed += 1;
                    tracing::warn!(snapshot = %digest, error = %e, "envelope not moved to the bucket; retried later");
                }
                Err(e) => {
                    pass.failed += 1;
                    tracing::error!(error = %e, "upload task failed");
                }
            }
        }
        if !moved.is_empty() {
            pass.moved = self.store.mark_uploaded(moved, crate::clock::now()).await?;
        }
        Ok(pass)
    }

    /// Passes until `shutdown`: at once while there is a backlog, else every second; counts
    /// what moved in `metrics` when given (the server's state passes its own). Moving is background work: while snapshots
    /// are arriving (the server stored or answered one since the last pass) each pass is
    /// followed by a rest, so that the uploader works `upload_busy_percent` of the time.
    pub async fn run<M>(self, shutdown: CancellationToken, metrics: Option<M>)
    where
        M: AsRef<Metrics> + Send + Sync + 'static,
    {
        let mut arrivals = metrics.as_ref().map(|m| m.as_ref().submissions());
        loop {
            let started = std::time::Instant::now();
            let pass = match self.pass().await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "envelope upload pass failed");
                    UploadPass::default()
                }
            };
            let mut busy = false;
            if let Some(metrics) = metrics.as_ref().map(AsRef::as_ref) {
                metrics.objects_moved(pass.moved, pass.failed);
                let now = metrics.submissions();
                busy = arrivals != Some(now);
                arrivals = Some(now);
            }
            let idle = pass.claimed == 0 || pass.failed == pass.claimed;
            let rest = if idle {
                Duration::from_secs(1)
            } else if busy {
                rest_after(started.elapsed(), self.objects.upload_busy_percent())
            } else {
                Duration::ZERO
            };
            if rest.is_zero() {
                if shutdown.is_cancelled() {
                    return;
                }
            } else {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(rest) => {}
                }
            }
        }
    }

    /// Passes until nothing is left to move (or a pass moves nothing): for tests and
    /// benchmarks. Answers how many were moved.
    pub async fn drain(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let p = self.pass().await?;
            total += p.moved;
            if p.claimed == 0 || p.moved == 0 {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uploader_giving_way_works_its_share_of_the_time() {
        let worked = Duration::from_millis(300);
        assert_eq!(rest_after(worked, 25), Duration::from_millis(900));
        assert_eq!(rest_after(worked, 50), worked);
        assert_eq!(rest_after(worked, 100), Duration::ZERO);
        assert_eq!(rest_after(worked, 1), Duration::from_millis(29_700));
    }
}
