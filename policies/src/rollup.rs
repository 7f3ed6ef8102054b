//! Rolling policy results up to controls, as a security lead reads them: a control is `fail`
//! when a fresh result of one of its policies fails on some asset with no exception covering it;
//! `error` when a result has no verdict (evidence unavailable, the policy broken); `stale` when
//! a result is past its policy's freshness or the control's attestation has expired; `manual`
//! when the control needs documents or an attestation and has none in force; `accepted` when
//! every failure is covered by an unexpired exception; `pass` when the rest pass and are fresh.
//! A control with nothing but not-applicable results is `not_applicable`, one with no result and
//! no attestation at all `no_evidence`. The worst contribution wins, in that order.
//!
//! A `partly` automated control passes only when its policies pass **and** an attestation in
//! force covers its manual part: without one it is `manual`, with a lapsed one `stale`, and with
//! an attestation but no policy result at all `no_evidence`; `missing` then says what is
//! missing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vouch_evidence::{Asset, Timestamp};

use crate::catalog::{Catalogs, ControlId, Role};
use crate::coverage::{Classified, Coverage, Level};
use crate::engine::{PolicyResult, Status};
use crate::metadata::{Policy, Severity};
use crate::pack::PolicyPack;

/// A control's status, or what one result counts as towards it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlState {
    /// Every applicable result passes on fresh evidence (and any attestation it needs holds).
    Pass,
    /// A fresh result fails and no exception covers it.
    Fail,
    /// Results fail, each covered by an exception in force (risk accepted, not passed).
    Accepted,
    /// Evidence is past its freshness, or the attestation has expired.
    Stale,
    /// It needs documents or an attestation, and none is in force.
    Manual,
    /// A result has no verdict: evidence unavailable, or the policy failed.
    Error,
    /// No policy result and no attestation speaks of it.
    NoEvidence,
    /// Only not-applicable results.
    NotApplicable,
}

impl ControlState {
    /// Every state, worst first.
    pub const ALL: [ControlState; 8] = [
        ControlState::Fail,
        ControlState::Error,
        ControlState::Stale,
        ControlState::Manual,
        ControlState::Accepted,
        ControlState::Pass,
        ControlState::NoEvidence,
        ControlState::NotApplicable,
    ];

    /// Its name in tables, files and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlState::Pass => "pass",
            ControlState::Fail => "fail",
            ControlState::Accepted => "accepted",
            ControlState::Stale => "stale",
            ControlState::Manual => "manual",
            ControlState::Error => "error",
            ControlState::NoEvidence => "no_evidence",
            ControlState::NotApplicable => "not_applicable",
        }
    }

    /// The state named `name` (as [`as_str`](Self::as_str) writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// How much it weighs in a roll-up: the heaviest contribution is the control's status.
    fn weight(self) -> u8 {
        match self {
            ControlState::Fail => 7,
            ControlState::Error => 6,
            ControlState::Stale => 5,
            ControlState::Manual => 4,
            ControlState::Accepted => 3,
            ControlState::Pass => 2,
            ControlState::NoEvidence => 1,
            ControlState::NotApplicable => 0,
        }
    }
}

/// One policy's verdict on one asset, as counted for a control.
///
/// A view of every control holds one per policy and asset (some 600,000 at 10,000 hosts), kept
/// once for the whole roll-up and shared by every control the policy maps to (see
/// [`Outcomes`]); what outcomes repeat is shared too, not copied: the policy's texts, the
/// asset, the evidence ids and a reason many assets give alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyOutcome {
    /// The policy.
    pub policy: Arc<OutcomePolicy>,
    /// The asset.
    pub asset: Arc<Asset>,
    /// The verdict as judged when the evidence was collected.
    pub status: Status,
    /// What it counts as now: a stale pass is `stale`, a failure under exception `accepted`.
    pub state: ControlState,
    /// Why (with the exception or the staleness, when one applies).
    pub reason: Arc<str>,
    /// The evidence ids it rests on.
    pub evidence: Arc<[String]>,
    /// When the evidence was collected.
    pub collected_at: Timestamp,
}

/// The policy of an outcome, as every outcome of it in a roll-up shares it. It displays as
/// its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomePolicy {
    /// The policy's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its severity.
    pub severity: Severity,
    /// What to do about a failure.
    pub remediation: String,
}

impl std::fmt::Display for OutcomePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

/// An outcome as the API has always written it: flat, the policy's texts beside the verdict.
impl Serialize for PolicyOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut o = s.serialize_struct("PolicyOutcome", 10)?;
        o.serialize_field("policy", &self.policy.id)?;
        o.serialize_field("title", &self.policy.title)?;
        o.serialize_field("severity", &self.policy.severity)?;
        o.serialize_field("asset", &*self.asset)?;
        o.serialize_field("status", &self.status)?;
        o.serialize_field("state", &self.state)?;
        o.serialize_field("reason", &*self.reason)?;
        o.serialize_field("remediation", &self.policy.remediation)?;
        o.serialize_field("evidence", &*self.evidence)?;
        o.serialize_field("collected_at", &self.collected_at)?;
        o.end()
    }
}

/// A control's outcomes, worst first: positions in the outcomes of the whole roll-up, which
/// every control shares (an outcome counts for each control its policy maps to, and is kept
/// once). It reads as a slice of [`PolicyOutcome`]s, and serializes as one.
#[derive(Clone, Default)]
pub struct Outcomes {
    all: Arc<Arena>,
    picked: Vec<u32>,
}

/// The outcomes of a roll-up, in the order counted, in blocks of a fixed size: growing never
/// copies them, nor leaves the allocator holding the smaller blocks a growing vector frees (at
/// 10,000 hosts, as much again as the outcomes).
#[derive(Default)]
struct Arena {
    blocks: Vec<Vec<PolicyOutcome>>,
    len: usize,
}

impl Arena {
    /// Outcomes per block (a power of two).
    const BLOCK: usize = 4096;

    fn push(&mut self, outcome: PolicyOutcome) -> u32 {
        let at = u32::try_from(self.len).expect("fewer than 2^32 outcomes in a roll-up");
        match self.blocks.last_mut() {
            Some(block) if block.len() < Self::BLOCK => block.push(outcome),
            _ => {
                let mut block = Vec::with_capacity(Self::BLOCK);
                block.push(outcome);
                self.blocks.push(block);
            }
        }
        self.len += 1;
        at
    }

    fn get(&self, at: u32) -> &PolicyOutcome {
        let at = at as usize;
        &self.blocks[at / Self::BLOCK][at % Self::BLOCK]
    }

    fn iter(&self) -> impl Iterator<Item = &PolicyOutcome> {
        self.blocks.iter().flatten()
    }
}

impl Outcomes {
    /// How many.
    pub fn len(&self) -> usize {
        self.picked.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.picked.is_empty()
    }

    /// Each, in order.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = &PolicyOutcome> + ExactSizeIterator + Clone {
        self.picked.iter().map(|&i| self.all.get(i))
    }

    /// The first (the worst), if any.
    pub fn first(&self) -> Option<&PolicyOutcome> {
        self.iter().next()
    }

    /// The `i`th, if there is one.
    pub fn get(&self, i: usize) -> Option<&PolicyOutcome> {
        self.picked.get(i).map(|&at| self.all.get(at))
    }
}

impl std::ops::Index<usize> for Outcomes {
    type Output = PolicyOutcome;

    fn index(&self, i: usize) -> &PolicyOutcome {
        self.all.get(self.picked[i])
    }
}

impl<'a> IntoIterator for &'a Outcomes {
    type Item = &'a PolicyOutcome;
    type IntoIter = Box<dyn DoubleEndedIterator<Item = &'a PolicyOutcome> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// Outcomes of their own, in the order given (tests, and views made by hand).
impl FromIterator<PolicyOutcome> for Outcomes {
    fn from_iter<I: IntoIterator<Item = PolicyOutcome>>(iter: I) -> Self {
        let mut all = Arena::default();
        let picked = iter.into_iter().map(|o| all.push(o)).collect();
        Outcomes {
            all: Arc::new(all),
            picked,
        }
    }
}

impl PartialEq for Outcomes {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Outcomes {}

impl std::fmt::Debug for Outcomes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Outcomes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Manual evidence for a control, as the roll-up sees it at its instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Attested {
    /// An attestation holds.
    Holds {
        /// Which (the attestation's digest).
        reference: String,
        /// Who attested.
        by: String,
        /// Until when it holds.
        until: Timestamp,
    },
    /// The newest attestation lapsed.
    Expired {
        /// Which.
        reference: String,
        /// When it lapsed.
        until: Timestamp,
    },
    /// None was ever recorded.
    Missing,
}

/// A control's status over a set of results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ControlStatus {
    /// The control.
    pub control: ControlId,
    /// Its title in the catalog.
    pub title: String,
    /// The rolled-up status.
    pub status: ControlState,
    /// How far it can be evidenced automatically, when the framework is classified.
    pub coverage: Option<Level>,
    /// Why it is classified so (one line), when the framework is classified.
    pub rationale: Option<String>,
    /// For a `partly` control, the part an attestation must cover.
    pub manual_part: Option<String>,
    /// True when the control's id or its correspondence comes from uncertain sources (every
    /// ISO/IEC 27701:2025 control): views flag it.
    pub provisional: bool,
    /// When it does not pass for want of evidence, what is missing (the attestation of its
    /// manual part, or any policy result for its technical part).
    pub missing: Option<String>,
    /// Its manual evidence, when it needs some or has some.
    pub attested: Option<Attested>,
    /// Every contributing outcome, worst first.
    pub outcomes: Outcomes,
}

impl ControlStatus {
    /// Counts of outcomes in `state`.
    pub fn count(&self, state: ControlState) -> usize {
        self.outcomes.iter().filter(|o| o.state == state).count()
    }
}

/// A policy result with the policy that produced it (results of several packs may be rolled up
/// together: each asset's newest evaluation may be by a different pack).
#[derive(Clone, Copy, Debug)]
pub struct Judged<'a> {
    /// The policy, from the pack that judged.
    pub policy: &'a Policy,
    /// Its result.
    pub result: &'a PolicyResult,
}

/// One result as a roll-up reads it, borrowed from wherever it is kept: a fresh
/// [`PolicyResult`] ([`PolicyResult::borrowed`]), or a stored result set that the evaluations
/// of many snapshots share (the server's view of a fleet), which is then never copied.
#[derive(Clone, Copy, Debug)]
pub struct ResultRef<'r> {
    /// The policy's id.
    pub policy: &'r str,
    /// The asset judged.
    pub asset: &'r Asset,
    /// The verdict.
    pub status: Status,
    /// Why, for people.
    pub reason: &'r str,
    /// The evidence ids the result rests on.
    pub evidence: &'r [String],
    /// When the evidence was collected.
    pub collected_at: Timestamp,
    /// After this instant the verdict is stale.
    pub fresh_until: Timestamp,
}

impl PolicyResult {
    /// This result as a roll-up reads it.
    pub fn borrowed(&self) -> ResultRef<'_> {
        ResultRef {
            policy: &self.policy,
            asset: &self.asset,
            status: self.status,
            reason: &self.reason,
            evidence: &self.evidence,
            collected_at: self.collected_at,
            fresh_until: self.fresh_until,
        }
    }
}

/// What a roll-up takes into account besides the results.
pub struct RollUp<'a> {
    /// The catalogs, for titles, order and privacy roles.
    pub catalogs: &'a Catalogs,
    /// The organisation's role per privacy framework; controls of other roles are left out.
    pub roles: &'a BTreeMap<String, Role>,
    /// The instant of the view: results past their freshness then are stale. `None`: judge
    /// them as they were collected (a fresh collection).
    pub at: Option<Timestamp>,
    /// The classification of controls; manual and partly automated controls need an
    /// attestation.
    pub coverage: Option<&'a Coverage>,
    /// List every applicable control of the catalogs, even those nothing speaks of.
    pub every_control: bool,
    /// The exception covering a failing result, if any, as a note for people.
    pub accepted: &'a (dyn Fn(&ResultRef<'_>) -> Option<String> + Sync),
    /// The manual evidence of a control.
    pub attested: &'a (dyn Fn(&ControlId) -> Attested + Sync),
}

impl ControlStatus {
    /// Rolls the results of one pack up to controls, as a fresh collection is judged (no
    /// exceptions, no attestations, freshness as collected): `vouch-agent check`.
    pub fn roll_up(
        pack: &PolicyPack,
        catalogs: &Catalogs,
        results: &[PolicyResult],
        now: Option<Timestamp>,
    ) -> Vec<ControlStatus> {
        let judged: Vec<Judged<'_>> = results
            .iter()
            .filter_map(|r| {
                Some(Judged {
                    policy: pack.policy(&r.policy)?,
                    result: r,
                })
            })
            .collect();
        RollUp {
            catalogs,
            roles: &pack.config().roles,
            at: now,
            coverage: None,
            every_control: false,
            accepted: &|_| None,
            attested: &|_| Attested::Missing,
        }
        .controls(&judged)
    }
}

impl RollUp<'_> {
    /// The controls `results` speak of (or every applicable control), in catalog order.
    pub fn controls(&self, results: &[Judged<'_>]) -> Vec<ControlStatus> {
        let mut tally = self.tally();
        for j in results {
            tally.add(j.policy, j.result.borrowed());
        }
        tally.finish()
    }

    /// A roll-up fed one result at a time, so a caller can drop each result once it is
    /// counted (the view of a whole fleet): [`RollUp::controls`] in parts.
    pub fn tally<'p>(&'p self) -> Tally<'p> {
        Tally {
            rollup: self,
            outcomes: Arena::default(),
            controls: Vec::new(),
            slots: HashMap::new(),
            shared: Shared::default(),
            policies: ByAddress::default(),
        }
    }

    fn finish(
        &self,
        slots: &HashMap<&ControlId, usize>,
        mut by_control: Vec<Vec<u32>>,
        all: &Arc<Arena>,
        order: &Order,
    ) -> Vec<ControlStatus> {
        let mut out = Vec::new();
        for catalog in self.catalogs.iter() {
            let role = self.roles.get(&catalog.id).copied();
            let classification: BTreeMap<&ControlId, &Classified> = self
                .coverage
                .map(|c| c.of(&catalog.id).iter().map(|c| (&c.id, c)).collect())
                .unwrap_or_default();
            for control in &catalog.controls {
                if let (Some(org), Some(applies)) = (role, control.role)
                    && !applies.applies_to(org)
                {
                    continue;
                }
                let mut picked = slots
                    .get(&control.id)
                    .map(|&slot| std::mem::take(&mut by_control[slot]))
                    .unwrap_or_default();
                let classified = classification.get(&control.id).copied();
                let level = classified.map(|c| c.level);
                let attested = match (self.attested)(&control.id) {
                    Attested::Missing if !matches!(level, Some(Level::Manual | Level::Partly)) => {
                        None
                    }
                    a => Some(a),
                };
                if picked.is_empty() && attested.is_none() && !self.every_control {
                    continue;
                }
                order.sort(&mut picked);
                let outcomes = Outcomes {
                    all: all.clone(),
                    picked,
                };
                let manual = attested.as_ref().map(|a| match a {
                    Attested::Holds { .. } => ControlState::Pass,
                    Attested::Expired { .. } => ControlState::Stale,
                    Attested::Missing => ControlState::Manual,
                });
                let mut status = outcomes
                    .first()
                    .map(|o| o.state)
                    .into_iter()
                    .chain(manual)
                    .max_by_key(|s| s.weight())
                    .unwrap_or(ControlState::NoEvidence);
                let what = || match classified {
                    Some(Classified {
                        level: Level::Partly,
                        manual_part: Some(part),
                        ..
                    }) => format!(
                        "an attestation of its manual part ({})",
                        part.trim_end_matches('.')
                    ),
                    _ => "an attestation (documents for the control)".to_string(),
                };
                let mut missing = match &attested {
                    Some(Attested::Missing) => Some(format!("{}: none recorded", what())),
                    Some(Attested::Expired { until, .. }) => {
                        Some(format!("{}: the last one lapsed at {until}", what()))
                    }
                    _ => None,
                };
                if level == Some(Level::Partly) && outcomes.is_empty() {
                    let none =
                        "a policy result for its technical part: no asset judged".to_string();
                    missing = Some(match missing {
                        Some(m) => format!("{m}; {none}"),
                        None => none,
                    });
                    if status == ControlState::Pass {
                        status = ControlState::NoEvidence;
                    }
                }
                out.push(ControlStatus {
                    control: control.id.clone(),
                    title: control.title.clone(),
                    status,
                    coverage: level,
                    rationale: classified.map(|c| c.why.clone()),
                    manual_part: classified.and_then(|c| c.manual_part.clone()),
                    provisional: control.provisional,
                    missing,
                    attested,
                    outcomes,
                });
            }
        }
        out
    }

    fn outcome(
        &self,
        policy: &mut Counted,
        r: &ResultRef<'_>,
        shared: &mut Shared,
    ) -> PolicyOutcome {
        let stale = self.at.is_some_and(|at| at > r.fresh_until);
        let (state, reason) = match r.status {
            Status::Fail if stale => (
                ControlState::Stale,
                format!(
                    "stale (evidence of {} was fresh until {}): {}",
                    r.collected_at, r.fresh_until, r.reason
                )
                .into(),
            ),
            Status::Fail => match (self.accepted)(r) {
                Some(note) => (
                    ControlState::Accepted,
                    format!("{} — {note}", r.reason).into(),
                ),
                None => (ControlState::Fail, policy.reason(r.reason, shared)),
            },
            Status::Error => (ControlState::Error, policy.reason(r.reason, shared)),
            _ if stale => (
                ControlState::Stale,
                format!(
                    "stale: evidence collected at {} was fresh until {}",
                    r.collected_at, r.fresh_until
                )
                .into(),
            ),
            Status::Pass => (ControlState::Pass, policy.reason(r.reason, shared)),
            Status::NotApplicable => (ControlState::NotApplicable, policy.reason(r.reason, shared)),
        };
        PolicyOutcome {
            policy: policy.texts.clone(),
            asset: shared.asset(r.asset),
            status: r.status,
            state,
            reason,
            evidence: policy.evidence(r.evidence, shared),
            collected_at: r.collected_at,
        }
    }
}

/// A roll-up in progress: see [`RollUp::tally`].
pub struct Tally<'p> {
    rollup: &'p RollUp<'p>,
    /// Every outcome counted, in the order counted: each is kept once, and each control
    /// it counts for holds its position.
    outcomes: Arena,
    /// The positions of the outcomes of each control counted for so far.
    controls: Vec<Vec<u32>>,
    /// Where each control is in `controls`.
    slots: HashMap<&'p ControlId, usize>,
    shared: Shared,
    /// Each policy counted so far, by its address: the policies are borrowed for the whole
    /// tally, so an address names one policy throughout.
    policies: ByAddress<Counted>,
}

/// A policy as the tally counts it.
struct Counted {
    /// Its texts, shared by its outcomes.
    texts: Arc<OutcomePolicy>,
    /// Where its controls are in [`Tally::controls`].
    controls: Vec<usize>,
    /// The reason and the evidence ids of its last outcome: a fleet's assets mostly give the
    /// same, so a comparison finds them before any lookup.
    reason: Option<Arc<str>>,
    evidence: Option<Arc<[String]>>,
}

impl Counted {
    fn reason(&mut self, reason: &str, shared: &mut Shared) -> Arc<str> {
        match &self.reason {
            Some(last) if **last == *reason => last.clone(),
            _ => self.reason.insert(shared.text(reason)).clone(),
        }
    }

    fn evidence(&mut self, evidence: &[String], shared: &mut Shared) -> Arc<[String]> {
        match &self.evidence {
            Some(last) if **last == *evidence => last.clone(),
            _ => self.evidence.insert(shared.evidence(evidence)).clone(),
        }
    }
}

impl<'p> Tally<'p> {
    /// Counts `result` of `policy` towards each control the policy maps to. `result` must be
    /// of `policy` (its id is the policy's).
    pub fn add(&mut self, policy: &'p Policy, result: ResultRef<'_>) {
        debug_assert_eq!(
            result.policy, policy.id,
            "a result counted under another policy"
        );
        // A policy says nothing about assets of kinds it does not apply to, and one mapped to
        // no control counts for none.
        if !policy.asset_kinds.contains(&result.asset.kind) || policy.controls.is_empty() {
            return;
        }
        let (controls, slots) = (&mut self.controls, &mut self.slots);
        let counted = self
            .policies
            .entry(std::ptr::from_ref(policy) as usize)
            .or_insert_with(|| Counted {
                texts: Arc::new(OutcomePolicy {
                    id: policy.id.clone(),
                    title: policy.title.clone(),
                    severity: policy.severity,
                    remediation: policy.remediation.clone(),
                }),
                controls: policy
                    .controls
                    .iter()
                    .map(|control| {
                        *slots.entry(control).or_insert_with(|| {
                            controls.push(Vec::new());
                            controls.len() - 1
                        })
                    })
                    .collect(),
                reason: None,
                evidence: None,
            });
        let at = self
            .outcomes
            .push(self.rollup.outcome(counted, &result, &mut self.shared));
        for &slot in &counted.controls {
            controls[slot].push(at);
        }
    }

    /// The controls the results speak of (or every applicable control), in catalog order.
    pub fn finish(self) -> Vec<ControlStatus> {
        let order = Order::of(
            &self.outcomes,
            self.policies.values().map(|p| &p.texts),
            &self.shared.assets,
        );
        let all = Arc::new(self.outcomes);
        self.rollup.finish(&self.slots, self.controls, &all, &order)
    }
}

/// The order of a control's outcomes: worst state first, then most severe, then by policy id
/// and asset id, then as counted. Each outcome's key is made once per tally (a fleet's view
/// sorts millions of outcomes), with ids ranked, so outcomes compare as one number; the ranks
/// follow the ids' order, ties included.
struct Order {
    /// Per outcome, from the highest bit: 3 bits of the state's lightness (7 less its
    /// weight), 2 of the severity's (3 less its rank), 27 of the policy's rank, 32 of the
    /// asset's.
    keys: Vec<u64>,
}

impl Order {
    fn of<'a>(
        outcomes: &Arena,
        policies: impl Iterator<Item = &'a Arc<OutcomePolicy>>,
        assets: &HashSet<Arc<Asset>>,
    ) -> Order {
        let policies =
            ranks(policies.map(|p| (Arc::as_ptr(p).cast::<()>() as usize, p.id.as_str())));
        let assets = ranks(
            assets
                .iter()
                .map(|a| (Arc::as_ptr(a).cast::<()>() as usize, a.id.as_str())),
        );
        let rank = |map: &ByAddress<u32>, at: usize| map.get(&at).copied().unwrap_or(u32::MAX);
        Order {
            keys: outcomes
                .iter()
                .map(|o| {
                    let lightness = u64::from(7 - o.state.weight());
                    let mildness = 3 - o.policy.severity as u64;
                    let policy = rank(&policies, Arc::as_ptr(&o.policy).cast::<()>() as usize);
                    let asset = rank(&assets, Arc::as_ptr(&o.asset).cast::<()>() as usize);
                    lightness << 61
                        | mildness << 59
                        | u64::from(policy.min(POLICY_RANKS - 1)) << 32
                        | u64::from(asset)
                })
                .collect(),
        }
    }

    /// Sorts the positions of a control's outcomes (outcomes equal in every key keep the
    /// order they were counted in).
    fn sort(&self, picked: &mut [u32]) {
        picked
            .sort_unstable_by_key(|&at| u128::from(self.keys[at as usize]) << 32 | u128::from(at));
    }
}

/// How many policy ranks a key tells apart (27 bits; a pack holds a few hundred policies).
const POLICY_RANKS: u32 = 1 << 27;

/// A map keyed by addresses (of values borrowed or shared for as long as the map lives), hashed
/// by one multiplication: the view of a fleet looks addresses up once or twice per outcome, and
/// no one chooses them to collide.
type ByAddress<V> = HashMap<usize, V, std::hash::BuildHasherDefault<AddressHasher>>;

/// The hasher of [`ByAddress`]: a folded multiply (the 128-bit product's halves xored), so the
/// low bits the table indexes by depend on every bit of the address, whose own low bits are
/// zero.
#[derive(Default)]
struct AddressHasher(u64);

impl AddressHasher {
    fn mix(&mut self, v: u64) {
        let m = u128::from(self.0 ^ v) * 0x9E37_79B9_7F4A_7C15_u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_usize(&mut self, at: usize) {
        self.mix(at as u64);
    }
}

/// The rank of each (address, id) by id: equal ids share a rank.
fn ranks<'a>(items: impl Iterator<Item = (usize, &'a str)>) -> ByAddress<u32> {
    let mut items: Vec<(usize, &str)> = items.collect();
    items.sort_unstable_by(|a, b| a.1.cmp(b.1));
    let mut out = ByAddress::with_capacity_and_hasher(items.len(), Default::default());
    let mut rank = 0u32;
    for (i, (at, id)) in items.iter().enumerate() {
        if i > 0 && items[i - 1].1 != *id {
            rank += 1;
        }
        out.insert(*at, rank);
    }
    out
}

/// What the outcomes of one roll-up share, each kept once (see [`PolicyOutcome`]).
#[derive(Default)]
struct Shared {
    texts: HashSet<Arc<str>>,
    assets: HashSet<Arc<Asset>>,
    evidence: HashSet<Arc<[String]>>,
    /// The asset shared last: an asset's results come one after the other, so most
    /// lookups are answered by one comparison.
    last_asset: Option<Arc<Asset>>,
}

impl Shared {
    fn text(&mut self, s: &str) -> Arc<str> {
        shared(&mut self.texts, s, |s| Arc::from(s))
    }

    fn asset(&mut self, a: &Asset) -> Arc<Asset> {
        if let Some(last) = &self.last_asset
            && **last == *a
        {
            return last.clone();
        }
        let kept = shared(&mut self.assets, a, |a| Arc::new(a.clone()));
        self.last_asset = Some(kept.clone());
        kept
    }

    fn evidence(&mut self, e: &[String]) -> Arc<[String]> {
        shared(&mut self.evidence, e, |e| Arc::from(e))
    }
}

/// The value equal to `v` in `set`, put there first (made by `make`) if it is not.
fn shared<T: ?Sized + Eq + std::hash::Hash>(
    set: &mut HashSet<Arc<T>>,
    v: &T,
    make: impl FnOnce(&T) -> Arc<T>,
) -> Arc<T> {
    if let Some(kept) = set.get(v) {
        return kept.clone();
    }
    let kept = make(v);
    set.insert(kept.clone());
    kept
}

/// A table for people: one line per control with its status, then, indented, each failing or
/// erring policy with its reason (and the asset, when there are several).
pub fn render_controls(controls: &[ControlStatus]) -> String {
    let mut out = String::new();
    let width = controls
        .iter()
        .map(|c| c.control.to_string().len())
        .max()
        .unwrap_or(0);
    let several_assets = controls
        .iter()
        .flat_map(|c| &c.outcomes)
        .map(|o| (&o.asset.kind, &o.asset.id))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    let mut count: BTreeMap<ControlState, usize> = BTreeMap::new();
    for c in controls {
        *count.entry(c.status).or_default() += 1;
        let passing = c.count(ControlState::Pass);
        let _ = writeln!(
            out,
            "{:<width$}  {:<14}  {} ({} of {} policy results pass)",
            c.control.to_string(),
            c.status.as_str(),
            c.title,
            passing,
            c.outcomes.len(),
        );
        for o in c.outcomes.iter().filter(|o| {
            matches!(
                o.state,
                ControlState::Fail | ControlState::Error | ControlState::Stale
            )
        }) {
            let asset = if several_assets {
                format!(" on {}", o.asset.name)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "{:<width$}    {} {} [{}]{asset}: {}",
                "",
                o.state.as_str(),
                o.policy,
                o.policy.severity,
                o.reason,
            );
        }
    }
    let summary: Vec<String> = count
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let _ = writeln!(out, "{} controls: {}", controls.len(), summary.join(", "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Role;
    use crate::engine::OrgConfig;
    use crate::testing::{load, module};
    use vouch_evidence::AssetKind;

    fn pack() -> PolicyPack {
        let policy = |id: &str, controls: &str, severity: &str| {
            let rules = "allow := \"ok\" if true\ndeny contains \"no\" if false";
            module(id, severity, controls, "host.test.flag", rules)
        };
        load(&[
            (
                "a.rego",
                policy(
                    "host.test.a",
                    "iso27001-2022:A.8.24, iso27701-2025:A.3.26",
                    "high",
                ),
            ),
            (
                "b.rego",
                policy("host.test.b", "iso27001-2022:A.8.24", "low"),
            ),
            (
                "c.rego",
                policy(
                    "host.test.c",
                    "iso27001-2022:A.8.9, iso27701-2019:B.8.4.1",
                    "low",
                ),
            ),
        ])
        .unwrap()
    }

    fn result(policy: &str, status: Status, asset: &str) -> PolicyResult {
        let at: Timestamp = "2026-05-01T10:00:00Z".parse().unwrap();
        PolicyResult {
            policy: policy.into(),
            asset: Asset {
                kind: AssetKind::Host,
                id: asset.into(),
                name: asset.into(),
            },
            status,
            reason: format!("{policy} says {}", status.as_str()),
            evidence: vec!["host.test.flag".into()],
            collected_at: at,
            fresh_until: "2026-05-01T11:00:00Z".parse().unwrap(),
            pack_digest: "d".into(),
        }
    }

    /// A control's outcomes come worst state first, then most severe, then by policy id and
    /// asset id, whatever order the results came in; assets sharing an id keep the order they
    /// came in.
    #[test]
    fn outcomes_are_ordered_by_state_severity_policy_and_asset() {
        let pack = pack();
        let mut renamed = result("host.test.b", Status::Pass, "m1");
        renamed.asset.name = "m1 renamed".into();
        let results = [
            result("host.test.b", Status::Pass, "m3"),
            result("host.test.a", Status::Pass, "m2"),
            renamed,
            result("host.test.b", Status::Pass, "m1"),
            result("host.test.a", Status::Pass, "m10"),
            result("host.test.b", Status::Fail, "m9"),
            result("host.test.a", Status::Pass, "m1"),
        ];
        let c = ControlStatus::roll_up(&pack, &Catalogs::builtin(), &results, None);
        let a824 = c
            .iter()
            .find(|c| c.control.to_string() == "iso27001-2022:A.8.24")
            .unwrap();
        let got: Vec<(&str, &str)> = a824
            .outcomes
            .iter()
            .map(|o| (o.policy.id.as_str(), o.asset.name.as_str()))
            .collect();
        // The failure first; then the high policy a before the low b; ids as strings.
        assert_eq!(
            got,
            [
                ("host.test.b", "m9"),
                ("host.test.a", "m1"),
                ("host.test.a", "m10"),
                ("host.test.a", "m2"),
                ("host.test.b", "m1 renamed"),
                ("host.test.b", "m1"),
                ("host.test.b", "m3"),
            ],
            "{a824:?}"
        );
    }

    /// An outcome is kept once, however many controls its policy maps to, and reads and
    /// serializes as the flat record the API has always written.
    #[test]
    fn an_outcome_is_kept_once_for_all_its_controls_and_serializes_flat() {
        let pack = pack();
        let results = [
            result("host.test.c", Status::Fail, "m1"),
            result("host.test.b", Status::Pass, "m2"),
        ];
        let c = ControlStatus::roll_up(&pack, &Catalogs::builtin(), &results, None);
        let of = |id: &str| c.iter().find(|c| c.control.to_string() == id).unwrap();
        let (a89, b841) = (of("iso27001-2022:A.8.9"), of("iso27701-2019:B.8.4.1"));
        assert_eq!((a89.outcomes.len(), b841.outcomes.len()), (1, 1));
        assert!(
            std::ptr::eq(&a89.outcomes[0], &b841.outcomes[0]),
            "host.test.c's outcome is shared by both its controls"
        );
        assert_eq!(a89.outcomes.first(), a89.outcomes.get(0));
        assert_eq!(a89.outcomes.get(1), None);

        let json = serde_json::to_value(a89).unwrap();
        let o = &json["outcomes"][0];
        assert_eq!(o["policy"], "host.test.c");
        assert_eq!(o["severity"], "low");
        assert_eq!(o["state"], "fail");
        assert_eq!(o["reason"], "host.test.c says fail");
        assert_eq!(o["asset"]["id"], "m1");
        assert_eq!(o["evidence"], serde_json::json!(["host.test.flag"]));
        assert!(
            o["title"].is_string() && o["remediation"].is_string(),
            "{o}"
        );
        assert_eq!(json["outcomes"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn worst_outcome_wins_and_controls_come_in_catalog_order() {
        let pack = pack();
        let results = [
            result("host.test.a", Status::Pass, "m1"),
            result("host.test.b", Status::Fail, "m2"),
            result("host.test.c", Status::Error, "m1"),
        ];
        let c = ControlStatus::roll_up(&pack, &Catalogs::builtin(), &results, None);
        let got: Vec<(String, ControlState)> = c
            .iter()
            .map(|c| (c.control.to_string(), c.status))
            .collect();
        assert_eq!(
            got,
            vec![
                ("iso27001-2022:A.8.9".to_string(), ControlState::Error),
                ("iso27001-2022:A.8.24".to_string(), ControlState::Fail),
                ("iso27701-2019:B.8.4.1".to_string(), ControlState::Error),
                // Derived from B.8.4.1 through the 2019–2025 correspondence.
                ("iso27701-2025:A.2.4.2".to_string(), ControlState::Error),
                ("iso27701-2025:A.3.26".to_string(), ControlState::Pass),
            ]
        );
        assert!(c[3].provisional && c[4].provisional && !c[0].provisional);
        assert_eq!(c[1].outcomes[0].policy.id, "host.test.b");
        let table = render_controls(&c);
        assert!(
            table.contains("fail host.test.b [low] on m2: host.test.b says fail"),
            "{table}"
        );
        assert!(
            table.ends_with("5 controls: 1 pass, 1 fail, 3 error\n"),
            "{table}"
        );
    }

    #[test]
    fn stale_results_roles_and_other_kinds_are_taken_into_account() {
        let mut pack = pack();
        let mut other_kind = result("host.test.b", Status::Fail, "acct");
        other_kind.asset.kind = AssetKind::AwsAccount;
        let results = [
            result("host.test.a", Status::Pass, "m1"),
            result("host.test.c", Status::Pass, "m1"),
            other_kind,
        ];
        let later: Timestamp = "2026-05-02T10:00:00Z".parse().unwrap();
        let c = ControlStatus::roll_up(&pack, &Catalogs::builtin(), &results, Some(later));
        // Stale is its own status (issue 5: pass / fail / stale / manual), no longer an error.
        assert!(c.iter().all(|c| c.status == ControlState::Stale), "{c:?}");
        pack.set_config(OrgConfig {
            roles: [("iso27701-2019".to_string(), Role::Controller)].into(),
            ..OrgConfig::default()
        })
        .unwrap();
        let c = ControlStatus::roll_up(&pack, &Catalogs::builtin(), &results, None);
        assert!(
            c.iter()
                .all(|c| c.control.to_string() != "iso27701-2019:B.8.4.1"),
            "a processor control is left out for a controller: {c:?}"
        );
        assert!(c.iter().all(|c| c.status == ControlState::Pass));
    }

    fn roll_up_with<'a>(
        pack: &'a PolicyPack,
        catalogs: &'a Catalogs,
        coverage: Option<&'a Coverage>,
        at: Timestamp,
        accepted: &'a (dyn Fn(&ResultRef<'_>) -> Option<String> + Sync),
        attested: &'a (dyn Fn(&ControlId) -> Attested + Sync),
    ) -> RollUp<'a> {
        RollUp {
            catalogs,
            roles: &pack.config().roles,
            at: Some(at),
            coverage,
            every_control: true,
            accepted,
            attested,
        }
    }

    fn judged<'a>(pack: &'a PolicyPack, results: &'a [PolicyResult]) -> Vec<Judged<'a>> {
        results
            .iter()
            .map(|r| Judged {
                policy: pack.policy(&r.policy).unwrap(),
                result: r,
            })
            .collect()
    }

    fn state_of(controls: &[ControlStatus], id: &str) -> ControlState {
        status_of(controls, id).status
    }

    /// An exception turns a failure into `accepted`, never `pass`; a failure it does not cover
    /// still fails the control.
    #[test]
    fn exceptions_accept_failures_without_passing_them() {
        let pack = pack();
        let catalogs = Catalogs::builtin();
        let at: Timestamp = "2026-05-01T10:30:00Z".parse().unwrap();
        let results = [
            result("host.test.a", Status::Pass, "m1"),
            result("host.test.b", Status::Fail, "m2"),
        ];
        let accept_m2 = |r: &ResultRef<'_>| {
            (r.asset.id == "m2").then(|| "accepted until 2026-06-01 (exception 1)".to_string())
        };
        let c = roll_up_with(&pack, &catalogs, None, at, &accept_m2, &|_| {
            Attested::Missing
        })
        .controls(&judged(&pack, &results));
        assert_eq!(state_of(&c, "iso27001-2022:A.8.24"), ControlState::Accepted);
        let a824 = c
            .iter()
            .find(|c| c.control.to_string() == "iso27001-2022:A.8.24")
            .unwrap();
        assert!(a824.outcomes[0].reason.contains("exception 1"), "{a824:?}");
        assert_eq!(a824.outcomes[0].status, Status::Fail, "the verdict is kept");
        let lapsed = |_: &ResultRef<'_>| None;
        let c = roll_up_with(&pack, &catalogs, None, at, &lapsed, &|_| Attested::Missing)
            .controls(&judged(&pack, &results));
        assert_eq!(state_of(&c, "iso27001-2022:A.8.24"), ControlState::Fail);
    }

    /// Manual and partly automated controls need an attestation in force: none is `manual`,
    /// an expired one `stale`, one that holds lets the automated results decide.
    #[test]
    fn attestations_decide_manual_controls() {
        let pack = pack();
        let catalogs = Catalogs::builtin();
        let coverage = Coverage::builtin(&catalogs).unwrap();
        let at: Timestamp = "2026-05-01T10:30:00Z".parse().unwrap();
        let results = [result("host.test.a", Status::Pass, "m1")];
        let until: Timestamp = "2026-12-31T00:00:00Z".parse().unwrap();
        let attested = |id: &ControlId| match id.to_string().as_str() {
            "iso27001-2022:A.5.1" => Attested::Holds {
                reference: "d1".into(),
                by: "ciso".into(),
                until,
            },
            "iso27001-2022:A.5.2" => Attested::Expired {
                reference: "d2".into(),
                until: "2026-01-01T00:00:00Z".parse().unwrap(),
            },
            _ => Attested::Missing,
        };
        let none = |_: &ResultRef<'_>| None;
        let c = roll_up_with(&pack, &catalogs, Some(&coverage), at, &none, &attested)
            .controls(&judged(&pack, &results));
        assert_eq!(state_of(&c, "iso27001-2022:A.5.1"), ControlState::Pass);
        assert_eq!(state_of(&c, "iso27001-2022:A.5.2"), ControlState::Stale);
        assert_eq!(state_of(&c, "iso27001-2022:A.5.3"), ControlState::Manual);
        // A.8.24 is partly automated: its passing policy is not enough (see below).
        assert_eq!(state_of(&c, "iso27001-2022:A.8.24"), ControlState::Manual);
        // An automated control nothing speaks of has no evidence (not a pass).
        assert_eq!(
            state_of(&c, "iso27001-2022:A.8.17"),
            ControlState::NoEvidence
        );
        // A.8.1, which no policy maps to, is manual: it needs its attestation.
        assert_eq!(state_of(&c, "iso27001-2022:A.8.1"), ControlState::Manual);
        // A partly automated control without its attestation is not a pass either.
        assert_eq!(state_of(&c, "iso27001-2022:A.8.12"), ControlState::Manual);
        assert_eq!(
            c.iter()
                .filter(|c| c.control.to_string().starts_with("iso27001-2022:"))
                .count(),
            93,
            "every Annex A control is listed"
        );
    }

    fn status_of<'a>(controls: &'a [ControlStatus], id: &str) -> &'a ControlStatus {
        controls
            .iter()
            .find(|c| c.control.to_string() == id)
            .unwrap_or_else(|| panic!("{id} not listed"))
    }

    /// A `partly` control (A.8.24: encryption settings judged, the rules on cryptography and key
    /// management attested) passes only when its policies pass and an attestation in force
    /// covers its manual part; otherwise it says what is missing. Instants are injected.
    #[test]
    fn a_partly_control_needs_its_policies_and_a_current_attestation() {
        let pack = pack();
        let catalogs = Catalogs::builtin();
        let coverage = Coverage::builtin(&catalogs).unwrap();
        let at: Timestamp = "2026-05-01T10:30:00Z".parse().unwrap();
        let results = [
            result("host.test.a", Status::Pass, "m1"),
            result("host.test.b", Status::Pass, "m2"),
        ];
        let none = |_: &ResultRef<'_>| None;
        let judged = judged(&pack, &results);
        let roll = |attested: &(dyn Fn(&ControlId) -> Attested + Sync)| {
            roll_up_with(&pack, &catalogs, Some(&coverage), at, &none, attested).controls(&judged)
        };

        // Policies pass, no attestation: `manual`, naming the manual part that is missing.
        let c = roll(&|_| Attested::Missing);
        let a824 = status_of(&c, "iso27001-2022:A.8.24");
        assert_eq!(a824.status, ControlState::Manual);
        assert!(a824.outcomes.iter().all(|o| o.state == ControlState::Pass));
        assert_eq!(a824.coverage, Some(Level::Partly));
        let part = a824.manual_part.clone().unwrap();
        let part = part.trim_end_matches('.');
        assert!(
            a824.rationale
                .as_deref()
                .is_some_and(|r| r.contains("LUKS"))
        );
        assert_eq!(
            a824.missing.as_deref(),
            Some(format!("an attestation of its manual part ({part}): none recorded").as_str())
        );

        // An attestation in force at the instant: `pass`, nothing missing.
        let holds = |id: &ControlId| match id.control.as_str() {
            "A.8.24" => Attested::Holds {
                reference: "d1".into(),
                by: "ciso".into(),
                until: "2026-05-01T10:31:00Z".parse().unwrap(),
            },
            _ => Attested::Missing,
        };
        let c = roll(&holds);
        let a824 = status_of(&c, "iso27001-2022:A.8.24");
        assert_eq!(a824.status, ControlState::Pass);
        assert_eq!(a824.missing, None);

        // The attestation lapsed before the instant: `stale`, saying when.
        let lapsed = |id: &ControlId| match id.control.as_str() {
            "A.8.24" => Attested::Expired {
                reference: "d1".into(),
                until: "2026-05-01T10:29:59Z".parse().unwrap(),
            },
            _ => Attested::Missing,
        };
        let c = roll(&lapsed);
        let a824 = status_of(&c, "iso27001-2022:A.8.24");
        assert_eq!(a824.status, ControlState::Stale);
        assert!(
            a824.missing
                .as_deref()
                .is_some_and(|m| m.ends_with("the last one lapsed at 2026-05-01T10:29:59.000000Z")),
            "{:?}",
            a824.missing
        );

        // An attestation alone, with no policy result for the technical part, is no pass.
        let c = roll_up_with(&pack, &catalogs, Some(&coverage), at, &none, &holds).controls(&[]);
        let a824 = status_of(&c, "iso27001-2022:A.8.24");
        assert_eq!(a824.status, ControlState::NoEvidence);
        assert!(
            a824.missing
                .as_deref()
                .is_some_and(|m| m.contains("technical part")),
            "{:?}",
            a824.missing
        );

        // An automated control (A.8.17) is decided by its policies alone.
        let c = roll(&|_| Attested::Missing);
        let a817 = status_of(&c, "iso27001-2022:A.8.17");
        assert_eq!(
            (a817.status, a817.missing.as_ref()),
            (ControlState::NoEvidence, None)
        );
    }

    /// A stale failure counts as stale, not as a failure an exception could accept; a fresh
    /// error outweighs a stale pass.
    #[test]
    fn staleness_and_errors_order() {
        let pack = pack();
        let catalogs = Catalogs::builtin();
        let later: Timestamp = "2026-05-02T10:00:00Z".parse().unwrap();
        let mut fresh_error = result("host.test.b", Status::Error, "m2");
        fresh_error.fresh_until = "2026-06-01T00:00:00Z".parse().unwrap();
        let results = [result("host.test.a", Status::Pass, "m1"), fresh_error];
        let none = |_: &ResultRef<'_>| None;
        let c = roll_up_with(&pack, &catalogs, None, later, &none, &|_| Attested::Missing)
            .controls(&judged(&pack, &results));
        assert_eq!(state_of(&c, "iso27001-2022:A.8.24"), ControlState::Error);
        assert_eq!(state_of(&c, "iso27701-2025:A.3.26"), ControlState::Stale);
        assert_eq!(
            ControlState::parse("no_evidence"),
            Some(ControlState::NoEvidence)
        );
    }
}
