//! The view of every control at an instant: each asset's newest judged snapshot, its
//! freshness, the exceptions that accept a failure and the attestations that cover manual work.

use super::*;
use vouch_policies::Policy;

impl Policies {
    /// The control view at `at` (now: `None`), made from the store. The store reads the
    /// assets' evaluations in chunks while the results of those already read are tallied
    /// (on two cores, the read and the tally overlap).
    pub(super) async fn make_view(
        &self,
        at: Option<Timestamp>,
    ) -> Result<ControlsView, PolicyError> {
        let instant = at.unwrap_or_else(now);
        let exceptions = self.store.exceptions().await?;
        let attestations = self.store.attestations(None).await?;
        // The packs the server keeps; one that judged an evaluation and is not kept yet is
        // loaded and the tally begun again (the tally borrows the policies of every pack it
        // counts with, for as long as it runs).
        let mut packs: HashMap<String, Arc<PackJudge>> =
            self.kept.lock().expect("kept lock").clone();
        loop {
            match self
                .tally_view(at, instant, &packs, &exceptions, &attestations)
                .await?
            {
                Tallied::View(view) => return Ok(view),
                Tallied::Unknown(digest) => {
                    let judge = self.kept(&digest).await?;
                    packs.insert(digest, judge);
                }
            }
        }
    }

    /// One pass over the store's evaluations at `at`, counted with `packs`.
    async fn tally_view(
        &self,
        at: Option<Timestamp>,
        instant: Timestamp,
        packs: &HashMap<String, Arc<PackJudge>>,
        exceptions: &[ExceptionRecord],
        attestations: &[AttestationRecord],
    ) -> Result<Tallied, PolicyError> {
        let (chunks, mut read) = tokio::sync::mpsc::channel(4);
        let store = self.store.clone();
        let reading =
            tokio::spawn(async move { store.latest_evaluations_chunked(at, chunks).await });
        let in_force = self.in_force();
        let accepted = |r: &ResultRef<'_>| accepted_note(exceptions, r, instant);
        let attested = |id: &ControlId| attested(attestations, id, instant);
        let rollup = RollUp {
            catalogs: &self.catalogs,
            roles: &in_force.pack().config().roles,
            at: Some(instant),
            coverage: self.coverage.as_ref(),
            every_control: true,
            accepted: &accepted,
            attested: &attested,
        };
        // Each result counted with the policy of the pack that judged it, one at a time,
        // borrowed from the result set the store shares among the evaluations that have it.
        // The policies of a set's results are looked up once per set and pack: a fleet's
        // evaluations share few sets (every chunk is held until the tally ends, so a set's
        // address names it throughout).
        let mut resolved: HashMap<(usize, usize), Vec<Resolved<'_>>> = HashMap::new();
        let mut tally = rollup.tally();
        let mut held = Vec::new();
        let mut snapshots = std::collections::BTreeMap::new();
        let mut assets = 0;
        let mut unknown = None;
        'chunks: while let Some(chunk) = read.recv().await {
            for e in &chunk {
                let Some(judge) = packs.get(&e.evaluation.pack_digest) else {
                    unknown = Some(e.evaluation.pack_digest.clone());
                    break 'chunks;
                };
                let set = &e.evaluation.results;
                let policies = resolved
                    .entry((
                        Arc::as_ptr(set).cast::<()>() as usize,
                        Arc::as_ptr(judge) as usize,
                    ))
                    .or_insert_with(|| {
                        set.iter()
                            .map(|r| {
                                judge
                                    .pack()
                                    .policy(&r.policy_id)
                                    .map(|p| (p, Status::parse(&r.status).unwrap_or(Status::Error)))
                            })
                            .collect()
                    });
                let asset = Asset {
                    kind: e.chain.asset_kind,
                    id: e.chain.asset_id.clone(),
                    name: e.asset_name.clone(),
                };
                for (r, found) in set.iter().zip(policies.iter()) {
                    let Some((policy, status)) = *found else {
                        continue;
                    };
                    tally.add(
                        policy,
                        ResultRef {
                            policy: &r.policy_id,
                            asset: &asset,
                            status,
                            reason: &r.reason,
                            evidence: &r.evidence,
                            collected_at: e.collected_at,
                            fresh_until: policy.fresh_until(e.collected_at),
                        },
                    );
                }
                snapshots.insert(
                    format!("{}/{}", e.chain.asset_kind, e.chain.asset_id),
                    (e.evaluation.digest.to_hex(), e.collected_at),
                );
                assets += 1;
            }
            held.push(chunk);
        }
        // The reader stops at its next chunk once the receiver is gone.
        drop(read);
        reading
            .await
            .map_err(|e| PolicyError::Store(StoreError::Backend(format!("view reader: {e}"))))??;
        if let Some(digest) = unknown {
            return Ok(Tallied::Unknown(digest));
        }
        let controls = tally.finish();
        drop(held);
        Ok(Tallied::View(ControlsView {
            at: instant,
            pack: in_force.digest().to_string(),
            assets,
            controls,
            snapshots,
        }))
    }
}

/// What one pass of the tally made: the view, or the digest of a pack it met that it did not
/// have.
enum Tallied {
    View(ControlsView),
    Unknown(String),
}

/// A stored result's policy in the pack that judged it, with its status read; `None` for a
/// policy that pack does not hold.
type Resolved<'p> = Option<(&'p Policy, Status)>;

/// The note of the exception covering a failing result at `at`, if one does.
fn accepted_note(
    exceptions: &[ExceptionRecord],
    r: &ResultRef<'_>,
    at: Timestamp,
) -> Option<String> {
    exceptions
        .iter()
        .filter(|x| x.covers(r.policy, r.asset.kind, &r.asset.id, at))
        .max_by_key(|x| x.exception.expires_at)
        .map(|x| {
            let e = &x.exception;
            format!(
                "accepted under exception {} until {} (owner {}): {}",
                x.id, e.expires_at, e.owner, e.justification
            )
        })
}

/// The manual evidence of `control` at `at`: the attestation in force lasting longest, else
/// the newest recorded by then (expired), else none.
fn attested(attestations: &[AttestationRecord], control: &ControlId, at: Timestamp) -> Attested {
    let control = control.to_string();
    let mine = || {
        attestations
            .iter()
            .filter(|a| a.control == control && a.recorded_at <= at)
    };
    if let Some(a) = mine()
        .filter(|a| at < a.valid_until)
        .max_by_key(|a| a.valid_until)
    {
        let by = Envelope::from_slice(&a.envelope)
            .ok()
            .and_then(|e| e.payload_bytes().ok())
            .and_then(|p| serde_json::from_slice::<Attestation>(&p).ok())
            .map(|a| a.attested_by)
            .unwrap_or_default();
        return Attested::Holds {
            reference: a.digest.to_string(),
            by,
            until: a.valid_until,
        };
    }
    match mine().max_by_key(|a| a.recorded_at) {
        Some(a) => Attested::Expired {
            reference: a.digest.to_string(),
            until: a.valid_until,
        },
        None => Attested::Missing,
    }
}
