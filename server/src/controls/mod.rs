//! Policies on the server: the pack in force, the evaluator that judges every accepted snapshot
//! with it, and control status at any instant.
//!
//! The pack is the built-in one and/or a directory of Rego files (`[policies]` in the
//! configuration), with the organisation's settings. [`Policies::reload`] loads it again (on
//! `SIGHUP` or `POST /v1/policies/reload`): a pack that does not load is refused with every
//! problem named and the last good pack stays in force. Each pack is kept in the store under
//! its digest with its files and settings, so that a result stored years ago is re-derived from
//! exactly the pack that produced it ([`PackJudge::from_record`]).
//!
//! [`Policies::controls`] is the control view at an instant: for each asset its newest evaluated
//! snapshot then, each result counted with the pack that judged it, stale once past its
//! policy's freshness, accepted while an exception covers it, and manual controls decided by the
//! attestations in force.

mod findings;
pub mod history;
mod judge;
mod settings;
mod view;

pub use findings::Findings;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{Asset, Attestation, Snapshot, Timestamp};
use vouch_policies::{
    Attested, Catalogs, ControlId, ControlState, ControlStatus, Coverage, KeptPack, LoadError,
    LoadErrors, PolicyPack, ResultRef, RollUp, Status,
};

use crate::clock::now;
use crate::evaluate::{Evaluator, Judge};
use crate::store::{
    AttestationRecord, ExceptionRecord, PackRecord, Store, StoreError, StoredResult,
};

/// The coverage classification ships with the built-in pack; a custom pack may not bear it
/// out (a control classified automated that no policy of the pack maps exactly, one classified
/// partly that none maps at all, one classified manual that a policy maps exactly). Each is
/// logged as a warning when the pack comes into force, so that a statement of applicability
/// never claims more than the pack in force proves unnoticed; answers the warnings.
pub fn coverage_warnings(
    coverage: Option<&Coverage>,
    pack: &vouch_policies::PolicyPack,
) -> Vec<String> {
    let Some(coverage) = coverage else {
        return Vec::new();
    };
    let warnings = vouch_policies::report::coverage_mismatches(coverage, pack, "iso27001-2022");
    for w in &warnings {
        tracing::warn!(mismatch = %w, "the coverage classification is not borne out by the pack in force");
    }
    warnings
}

pub use judge::PackJudge;
pub use settings::{Exclusion, PolicySettings};
pub use vouch_policies::kept::CONFIG_FILE;

/// Why policies could not be started or a view made.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The pack does not load.
    #[error("the policy pack does not load:\n{0}")]
    Load(LoadErrors),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A kept pack cannot be loaded again (the store is damaged or the engine changed).
    #[error("kept pack {digest}: {problem}")]
    KeptPack {
        /// Its digest.
        digest: String,
        /// What is wrong.
        problem: String,
    },
}

/// The last reload that was refused.
#[derive(Clone, Debug, Serialize)]
pub struct ReloadFailure {
    /// When.
    pub at: Timestamp,
    /// Every problem, with file and line.
    pub errors: Vec<LoadError>,
}

/// The controls at an instant.
#[derive(Clone, Debug, Serialize)]
pub struct ControlsView {
    /// The instant.
    pub at: Timestamp,
    /// The pack in force (new snapshots are judged by it).
    pub pack: String,
    /// Assets with an evaluated snapshot at that instant.
    pub assets: usize,
    /// Every applicable control of every catalog, in catalog order.
    pub controls: Vec<ControlStatus>,
    /// The snapshot each asset's results come from: `kind/id` → (digest, collected).
    #[serde(skip)]
    pub snapshots: std::collections::BTreeMap<String, (String, Timestamp)>,
}

/// The policies of a running server. Cheap to share.
pub struct Policies {
    settings: PolicySettings,
    catalogs: Catalogs,
    coverage: Option<Coverage>,
    store: Arc<dyn Store>,
    evaluator: Arc<Evaluator>,
    in_force: RwLock<Arc<PackJudge>>,
    kept: Mutex<HashMap<String, Arc<PackJudge>>>,
    last_failure: Mutex<Option<ReloadFailure>>,
    /// The control view of now, while nothing it rests on has changed.
    current: Mutex<Option<CurrentView>>,
    /// Bumped by every change a view rests on besides new results (exceptions, attestations,
    /// a reload).
    generation: AtomicU64,
}

/// How often the watcher remakes the view of now at least: staleness and expiries move with
/// the clock.
const CURRENT_FOR: Duration = Duration::from_secs(30);

/// How old a kept view the dashboard still shows (the watcher remakes it every round and at
/// least every [`CURRENT_FOR`]; this covers a round in progress).
const SHOWN_FOR: Duration = Duration::from_secs(60);

/// The control view of now and what it was made from.
struct CurrentView {
    judged: u64,
    generation: u64,
    made: Instant,
    view: Arc<ControlsView>,
}

impl Policies {
    /// Loads the configured pack (refusing to start with one that does not load), records it
    /// and readies the evaluator; [`spawn`](Self::spawn) starts judging.
    pub async fn start(
        store: Arc<dyn Store>,
        settings: PolicySettings,
        catalogs: Catalogs,
    ) -> Result<Arc<Self>, PolicyError> {
        let judge = Arc::new(
            load(&settings, &catalogs)
                .await
                .map_err(PolicyError::Load)?,
        );
        let evaluator = Evaluator::new(store.clone(), judge.clone()).await?;
        tracing::info!(
            pack = judge.digest(),
            policies = judge.pack().policies().len(),
            "policy pack in force"
        );
        let coverage = Coverage::builtin(&catalogs).ok();
        coverage_warnings(coverage.as_ref(), judge.pack());
        Ok(Arc::new(Policies {
            settings,
            catalogs,
            coverage,
            store,
            evaluator,
            kept: Mutex::new(HashMap::from([(judge.digest().to_string(), judge.clone())])),
            in_force: RwLock::new(judge),
            last_failure: Mutex::new(None),
            current: Mutex::new(None),
            generation: AtomicU64::new(0),
        }))
    }

    /// Starts the evaluator's worker until `shutdown` (it judges what arrives, on every wake and
    /// every 30 s in case one was missed) and the watcher of control statuses: after new
    /// results (at most once per `gap`) and at least every 30 s it makes the control view of
    /// now, records every change of status in the history, and, with an `alerter`, tells its
    /// webhooks about each control that turned from pass to fail.
    pub fn spawn(
        self: &Arc<Self>,
        alerter: Option<crate::alerts::Alerter>,
        gap: Duration,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let worker = self
            .evaluator
            .clone()
            .spawn(Duration::from_secs(30), shutdown.clone());
        let this = self.clone();
        tokio::spawn(async move {
            let watcher = this.watch(alerter, gap, shutdown);
            let _ = tokio::join!(worker, watcher);
        })
    }

    /// The watcher [`spawn`](Self::spawn) starts.
    async fn watch(
        &self,
        alerter: Option<crate::alerts::Alerter>,
        gap: Duration,
        shutdown: CancellationToken,
    ) {
        let mut judged = self.evaluator.judged();
        let mut known = loop {
            match self.store.control_history(None).await {
                Ok(h) => break history::recorded(&h),
                Err(e) => {
                    tracing::error!(error = %e, "reading the control history failed; retrying")
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
                () = shutdown.cancelled() => return,
            }
        };
        loop {
            let checked = Instant::now();
            match self.controls(None).await {
                Ok(view) => {
                    let before = known.clone();
                    if let Err(e) = self.observe(&mut known, &view).await {
                        tracing::error!(error = %e, "recording control history failed");
                        known = before.clone();
                    }
                    if let Some(alerter) = &alerter {
                        for change in turned_to_fail(&before, &view, &self.catalogs) {
                            tracing::warn!(control = %change.control, "control turned from pass to fail");
                            alerter.notify(&change);
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "control view failed; history and alerts wait")
                }
            }
            tokio::select! {
                changed = judged.changed() => if changed.is_err() { break },
                () = tokio::time::sleep(CURRENT_FOR) => {}
                () = shutdown.cancelled() => break,
            }
            let wait = gap
                .max(Duration::from_millis(50))
                .saturating_sub(checked.elapsed());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => break,
            }
        }
    }

    /// Records the changes of status `view` makes to `known` (updated to match); answers how
    /// many.
    async fn observe(
        &self,
        known: &mut history::Recorded,
        view: &ControlsView,
    ) -> Result<usize, StoreError> {
        let changes = history::changes(known, &view.controls, view.at);
        let n = changes.len();
        if n > 0 {
            self.store.record_control_changes(changes).await?;
            tracing::info!(changes = n, "control statuses changed");
        }
        Ok(n)
    }

    /// Compares the control view of now with the recorded history and records every change
    /// of status (what the watcher does after each judging round); answers how many.
    pub async fn note_changes(&self) -> Result<usize, PolicyError> {
        let mut known = history::recorded(&self.store.control_history(None).await?);
        let view = self.controls(None).await?;
        Ok(self.observe(&mut known, &view).await?)
    }

    /// Tells the views that something they rest on besides results changed (an exception, an
    /// attestation).
    pub fn touched(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The recorded history of control statuses of one framework (all: `None`), oldest first.
    pub async fn history(
        &self,
        framework: Option<&str>,
    ) -> Result<Vec<crate::store::ControlChange>, PolicyError> {
        Ok(self
            .store
            .control_history(framework.map(str::to_string))
            .await?)
    }

    /// The evaluator (to wake it, or to ask for a re-evaluation).
    pub fn evaluator(&self) -> &Arc<Evaluator> {
        &self.evaluator
    }

    /// The pack in force.
    pub fn in_force(&self) -> Arc<PackJudge> {
        self.in_force.read().expect("pack lock").clone()
    }

    /// The last refused reload, unless a later one succeeded.
    pub fn last_failure(&self) -> Option<ReloadFailure> {
        self.last_failure.lock().expect("failure lock").clone()
    }

    /// The controls the organisation excludes, with the justification: control id → why.
    pub fn exclusions(&self) -> HashMap<String, String> {
        self.settings
            .exclusions
            .iter()
            .map(|x| (x.control.clone(), x.justification.clone()))
            .collect()
    }

    /// The catalogs controls are read from.
    pub fn catalogs(&self) -> &Catalogs {
        &self.catalogs
    }

    /// Loads the configured pack again. When it loads, it judges what arrives from now on (the
    /// history keeps its results until a re-evaluation is asked for); when it does not, every
    /// problem is logged and answered, and the pack in force stays.
    pub async fn reload(&self) -> Result<Arc<PackJudge>, LoadErrors> {
        match load(&self.settings, &self.catalogs).await {
            Ok(judge) => {
                let judge = Arc::new(judge);
                let previous = self.in_force();
                if judge.digest() != previous.digest() {
                    self.evaluator.set_judge(judge.clone()).await.map_err(|e| {
                        LoadErrors(vec![LoadError {
                            file: "(store)".into(),
                            line: 0,
                            reason: format!("cannot record the pack: {e}"),
                        }])
                    })?;
                    self.kept
                        .lock()
                        .expect("kept lock")
                        .insert(judge.digest().to_string(), judge.clone());
                    *self.in_force.write().expect("pack lock") = judge.clone();
                    self.touched();
                    coverage_warnings(self.coverage.as_ref(), judge.pack());
                    tracing::info!(
                        pack = judge.digest(),
                        previous = previous.digest(),
                        policies = judge.pack().policies().len(),
                        "policy pack reloaded"
                    );
                } else {
                    tracing::info!(pack = judge.digest(), "policy pack reloaded, unchanged");
                }
                *self.last_failure.lock().expect("failure lock") = None;
                Ok(self.in_force())
            }
            Err(errors) => {
                for e in &errors.0 {
                    tracing::error!(file = %e.file, line = e.line, reason = %e.reason, "policy pack refused");
                }
                tracing::warn!(
                    pack = self.in_force().digest(),
                    "the pack in force stays until the errors are fixed"
                );
                *self.last_failure.lock().expect("failure lock") = Some(ReloadFailure {
                    at: now(),
                    errors: errors.0.clone(),
                });
                Err(errors)
            }
        }
    }

    /// The pack with `digest`, loaded from the store when not in memory.
    pub async fn kept(&self, digest: &str) -> Result<Arc<PackJudge>, PolicyError> {
        if let Some(j) = self.kept.lock().expect("kept lock").get(digest) {
            return Ok(j.clone());
        }
        let err = |problem: String| PolicyError::KeptPack {
            digest: digest.to_string(),
            problem,
        };
        let record = self
            .store
            .pack(digest)
            .await?
            .ok_or_else(|| err("not in the store".into()))?;
        let catalogs = self.catalogs.clone();
        let judge = tokio::task::spawn_blocking(move || PackJudge::from_record(&record, &catalogs))
            .await
            .map_err(|e| err(e.to_string()))?
            .map_err(err)?;
        let judge = Arc::new(judge);
        self.kept
            .lock()
            .expect("kept lock")
            .insert(digest.to_string(), judge.clone());
        Ok(judge)
    }

    /// Every applicable control at `at` (now: `None`), from the stored results. The view of
    /// now is made once and shared until new results, an exception, an attestation, a reload
    /// or 30 s make it out of date.
    pub async fn controls(&self, at: Option<Timestamp>) -> Result<Arc<ControlsView>, PolicyError> {
        if at.is_some() {
            return Ok(Arc::new(self.make_view(at).await?));
        }
        let judged = *self.evaluator.judged().borrow();
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some(c) = self.current.lock().expect("view lock").as_ref()
            && c.judged == judged
            && c.generation == generation
            && c.made.elapsed() < CURRENT_FOR
        {
            return Ok(c.view.clone());
        }
        let made = Instant::now();
        let view = Arc::new(self.make_view(None).await?);
        let mine = CurrentView {
            judged,
            generation,
            made,
            view: view.clone(),
        };
        // Two views made at once (the watcher's round, a request): the one begun last is kept,
        // whichever finishes first — a view begun before a judging round ended must not
        // replace one begun after it (the dashboard showed no judged asset until the next
        // round when it did).
        let old = {
            let mut current = self.current.lock().expect("view lock");
            if current.as_ref().is_some_and(|c| c.made > made) {
                Some(mine)
            } else {
                current.replace(mine)
            }
        };
        // A view holds ~10^5 outcomes: free the old one off the request's path.
        if let Some(old) = old {
            tokio::task::spawn_blocking(move || drop(old));
        }
        Ok(view)
    }

    /// The control view the dashboard shows: as of `at`, or, for now, the view the watcher
    /// keeps — remade after every judging round, so at most one round (and 30 s) behind; its
    /// instant is on every page. An exception, an attestation or a reload is shown at once.
    pub async fn dashboard_view(
        &self,
        at: Option<Timestamp>,
    ) -> Result<Arc<ControlsView>, PolicyError> {
        if at.is_none() {
            let generation = self.generation.load(Ordering::SeqCst);
            if let Some(c) = self.current.lock().expect("view lock").as_ref()
                && c.generation == generation
                && c.made.elapsed() < SHOWN_FOR
            {
                return Ok(c.view.clone());
            }
        }
        self.controls(at).await
    }
}

/// The controls of `view` that passed in `before` and fail now, with what fails (as lines,
/// and as OCSF findings towards that control).
fn turned_to_fail(
    before: &history::Recorded,
    view: &ControlsView,
    catalogs: &Catalogs,
) -> Vec<crate::alerts::ControlChange> {
    view.controls
        .iter()
        .filter(|c| c.status == ControlState::Fail)
        .filter(|c| {
            before
                .get(&(c.control.framework.clone(), c.control.control.clone()))
                .is_some_and(|(s, _)| *s == ControlState::Pass)
        })
        .map(|c| crate::alerts::ControlChange {
            control: c.control.to_string(),
            title: c.title.clone(),
            from: ControlState::Pass.as_str().into(),
            to: ControlState::Fail.as_str().into(),
            at: view.at,
            failing: c
                .outcomes
                .iter()
                .filter(|o| o.state == ControlState::Fail)
                .map(|o| {
                    format!(
                        "{} {}: {} ({})",
                        o.asset.kind, o.asset.name, o.reason, o.policy
                    )
                })
                .collect(),
            findings: {
                let framework = &c.control.framework;
                let standard = catalogs
                    .get(framework)
                    .map_or(framework.as_str(), |cat| cat.name.as_str());
                c.outcomes
                    .iter()
                    .filter(|o| o.state == ControlState::Fail)
                    .map(|o| {
                        let key = format!("{}/{}", o.asset.kind, o.asset.id);
                        crate::ocsf::finding(
                            o,
                            &[c.control.to_string()],
                            &[standard],
                            view.snapshots.get(&key),
                            &view.pack,
                        )
                    })
                    .collect()
            },
        })
        .collect()
}

/// Loads the configured pack off the async threads (compiling 100 modules takes a moment).
async fn load(settings: &PolicySettings, catalogs: &Catalogs) -> Result<PackJudge, LoadErrors> {
    let settings = settings.clone();
    let catalogs = catalogs.clone();
    tokio::task::spawn_blocking(move || {
        PolicyPack::assemble(
            settings.builtin,
            settings.dir.as_deref(),
            &catalogs,
            settings.organisation.clone(),
        )
        .map(PackJudge::new)
    })
    .await
    .unwrap_or_else(|e| {
        Err(LoadErrors(vec![LoadError {
            file: "(loader)".into(),
            line: 0,
            reason: e.to_string(),
        }]))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use vouch_evidence::testing::host_snapshot;
    use vouch_evidence::{EvidenceItem, Source};
    use vouch_policies::OrgConfig;

    use super::*;

    /// The built-in pack bears out the coverage classification it ships with; a custom pack
    /// that keeps only its SSH policies does not, and each control it leaves unsupported is
    /// named.
    #[test]
    fn a_pack_that_does_not_bear_out_the_coverage_is_warned_of() {
        let catalogs = Catalogs::builtin();
        let coverage = Coverage::builtin(&catalogs).unwrap();
        assert_eq!(
            coverage_warnings(Some(&coverage), &PolicyPack::builtin()),
            Vec::<String>::new()
        );
        let ssh_only = PolicyPack::from_sources(
            vouch_policies::pack::builtin_sources()
                .filter(|(f, _)| f.starts_with("host/ssh_") || f.starts_with("lib/")),
            &catalogs,
        )
        .unwrap();
        let warnings = coverage_warnings(Some(&coverage), &ssh_only);
        assert!(!warnings.is_empty());
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("iso27001-2022:A.8.13 is classified")),
            "{warnings:#?}"
        );
        assert!(coverage_warnings(None, &ssh_only).is_empty());
    }

    /// A kept pack, loaded again from its stored files, has the recorded digest and gives the
    /// same results (history is reproducible); altered files or settings are refused.
    #[test]
    fn a_kept_pack_reproduces_its_results_and_detects_alteration() {
        let mut pack = PolicyPack::builtin();
        pack.set_config(OrgConfig {
            pii_tag_keys: vec!["data-classification".into()],
            ..OrgConfig::default()
        })
        .unwrap();
        let judge = PackJudge::new(pack);
        assert_ne!(
            judge.digest(),
            PackJudge::new(PolicyPack::builtin()).digest(),
            "the settings are part of the digest"
        );
        let record = PackRecord {
            digest: judge.digest().to_string(),
            loaded_at: now(),
            files: judge.files(),
        };
        let again = PackJudge::from_record(&record, &Catalogs::builtin()).unwrap();
        assert_eq!(again.digest(), judge.digest());
        let evidence = BTreeMap::from([(
            "host.ssh.permit_root_login".to_string(),
            EvidenceItem::ok("yes", Source::Command("sshd -T".into())),
        )]);
        let at: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
        let snapshot = host_snapshot("agt_1", "m1", at, 1, None, evidence);
        assert_eq!(again.judge(&snapshot), judge.judge(&snapshot));

        let mut altered = record.clone();
        let config = altered
            .files
            .iter_mut()
            .find(|(p, _)| p == CONFIG_FILE)
            .unwrap();
        config.1 = b"{\"pii_tag_keys\":[],\"allowed_jurisdictions\":[],\"roles\":{}}".to_vec();
        let err = PackJudge::from_record(&altered, &Catalogs::builtin())
            .err()
            .expect("refused");
        assert!(err.contains("not the recorded"), "{err}");
    }
}
