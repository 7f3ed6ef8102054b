//! The view of every control at an instant: each asset's newest judged snapshot, its
//! freshness, the exceptions that accept a failure and the attestations that cover manual work.

use super::*;
use vouch_policies::Policy;

impl Policies {
    /// The control view at `at` (now: `None`), made from the store.
    pub(super) async fn make_view(
        &self,
        at: Option<Timestamp>,
    ) -> Result<ControlsView, PolicyError> {
        let instant = at.unwrap_or_else(now);
        let evaluations = self.store.latest_evaluations(at).await?;
        let exceptions = self.store.exceptions().await?;
        let attestations = self.store.attestations(None).await?;
        let mut packs: HashMap<String, Arc<PackJudge>> = HashMap::new();
        for e in &evaluations {
            let digest = &e.evaluation.pack_digest;
            if !packs.contains_key(digest) {
                packs.insert(digest.clone(), self.kept(digest).await?);
            }
        }
        let in_force = self.in_force();
        let snapshots = evaluations
            .iter()
            .map(|e| {
                (
                    format!("{}/{}", e.chain.asset_kind, e.chain.asset_id),
                    (e.evaluation.digest.to_hex(), e.collected_at),
                )
            })
            .collect();
        let assets = evaluations.len();
        let accepted = |r: &ResultRef<'_>| accepted_note(&exceptions, r, instant);
        let attested = |id: &ControlId| attested(&attestations, id, instant);
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
        // evaluations share few sets (the evaluations are held throughout, so a set's
        // address names it).
        let mut resolved: HashMap<(usize, &str), Vec<Resolved<'_>>> = HashMap::new();
        let mut tally = rollup.tally();
        for e in &evaluations {
            let judge = &packs[&e.evaluation.pack_digest];
            let set = &e.evaluation.results;
            let policies = resolved
                .entry((
                    Arc::as_ptr(set).cast::<()>() as usize,
                    &e.evaluation.pack_digest,
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
        }
        let controls = tally.finish();
        Ok(ControlsView {
            at: instant,
            pack: in_force.digest().to_string(),
            assets,
            controls,
            snapshots,
        })
    }
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
