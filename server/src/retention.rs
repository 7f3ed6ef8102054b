//! Retention: how long evidence is kept, per framework, and the expiry that applies it.
//!
//! A snapshot serves the frameworks whose controls the policies in force map its asset kind
//! to. It is kept for the longest retention period of those frameworks; a framework without a
//! configured period keeps its evidence for ever, and so does an asset kind no policy maps
//! (unless `unmapped_days` is set). Once its period has passed, expiry removes the envelope
//! (from the database or the bucket) and marks the snapshot expired; its index row — digest,
//! chain position, predecessor — and its receipt stay, so the chain still proves that nothing
//! else went missing, and the API answers `410 gone` for its envelope.
//!
//! Expiry never removes:
//! - the newest snapshot of a chain (the asset's current state);
//! - anything collected inside an open audit period (`POST /v1/audit-periods`), whatever its
//!   framework: the evidence an audit in progress may sample stays until the period is closed;
//! - an envelope in the bucket still under an Object Lock retention (read from the object
//!   itself, not from the configuration, which may have changed since it was written), or one
//!   whose lock cannot be checked (the bucket unreachable, or no longer configured).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use vouch_evidence::{AssetKind, Digest, Timestamp};
use vouch_policies::PolicyPack;

use crate::objects::ObjectStore;
use crate::store::{ExpiryCandidate, Store, StoreError};

/// `[retention]`: how long evidence is kept.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days evidence is kept, per framework (`"iso27001-2022" = 1095`). Frameworks left out
    /// keep their evidence for ever. Empty (the default): nothing expires.
    pub frameworks: BTreeMap<String, u32>,
    /// Days evidence of asset kinds that no policy maps to any framework is kept; absent: for
    /// ever.
    pub unmapped_days: Option<u32>,
    /// How often expiry runs, in seconds.
    pub interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            frameworks: BTreeMap::new(),
            unmapped_days: None,
            interval_secs: 3600,
        }
    }
}

impl RetentionConfig {
    /// Whether anything can ever expire.
    pub fn enabled(&self) -> bool {
        !self.frameworks.is_empty() || self.unmapped_days.is_some()
    }

    /// Every problem, as `(key, problem)` under `retention`; `known` are the frameworks of the
    /// loaded catalogs.
    pub fn problems(&self, known: &BTreeSet<String>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (framework, days) in &self.frameworks {
            if !known.contains(framework) {
                out.push((
                    format!("frameworks.{framework}"),
                    format!(
                        "{framework:?} is in no loaded catalog (known: {})",
                        known.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if !(1..=36_500).contains(days) {
                out.push((
                    format!("frameworks.{framework}"),
                    format!("{days} days is outside 1..=36500"),
                ));
            }
        }
        if let Some(d) = self.unmapped_days
            && !(1..=36_500).contains(&d)
        {
            out.push(("unmapped_days".into(), format!("{d} is outside 1..=36500")));
        }
        if !(60..=7 * 86_400).contains(&self.interval_secs) {
            out.push((
                "interval_secs".into(),
                format!("{} is outside 60..=604800", self.interval_secs),
            ));
        }
        out
    }

    /// Per asset kind, the days its evidence is kept under `pack` (`None`: for ever).
    pub fn days_by_kind(&self, pack: &PolicyPack) -> BTreeMap<AssetKind, Option<u32>> {
        AssetKind::ALL
            .iter()
            .map(|kind| {
                let frameworks: BTreeSet<&str> = pack
                    .policies()
                    .iter()
                    .filter(|p| p.asset_kinds.contains(kind))
                    .flat_map(|p| p.controls.iter().map(|c| c.framework.as_str()))
                    .collect();
                let days = if frameworks.is_empty() {
                    self.unmapped_days
                } else {
                    // For ever as soon as one framework it serves has no period.
                    frameworks
                        .iter()
                        .map(|f| self.frameworks.get(*f).copied())
                        .collect::<Option<Vec<u32>>>()
                        .and_then(|d| d.into_iter().max())
                };
                (*kind, days)
            })
            .collect()
    }
}

/// What one expiry run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryReport {
    /// When it ran.
    pub at: Option<Timestamp>,
    /// Snapshots past their retention period examined.
    pub examined: u64,
    /// Expired now.
    pub expired: u64,
    /// Kept: collected inside an open audit period.
    pub held_by_audit_period: u64,
    /// Kept: the envelope is under an Object Lock retention (or its lock could not be read).
    pub held_by_object_lock: u64,
    /// Marked expired, but the object could not be deleted from the bucket (logged by key).
    pub objects_not_deleted: u64,
    /// Per asset kind, the days its evidence is kept (`null`: for ever).
    pub days_by_kind: BTreeMap<String, Option<u32>>,
}

/// How many candidates one store read returns.
const PAGE: u32 = 500;

/// Applies retention at `now`: see the module documentation.
pub async fn expire(
    store: &dyn Store,
    objects: Option<&ObjectStore>,
    config: &RetentionConfig,
    pack: &PolicyPack,
    now: Timestamp,
) -> Result<ExpiryReport, StoreError> {
    let days_by_kind = config.days_by_kind(pack);
    let mut report = ExpiryReport {
        at: Some(now),
        days_by_kind: days_by_kind
            .iter()
            .map(|(k, d)| (k.as_str().to_string(), *d))
            .collect(),
        ..ExpiryReport::default()
    };
    let open: Vec<_> = store
        .audit_periods()
        .await?
        .into_iter()
        .filter(|p| p.closed_at.is_none())
        .collect();
    for (kind, days) in days_by_kind {
        let Some(days) = days else { continue };
        let cutoff = Timestamp::from_unix_micros(
            now.unix_micros()
                .saturating_sub(i64::from(days) * 86_400_000_000),
        )
        .unwrap_or(now);
        let mut after: Option<(Timestamp, Digest)> = None;
        loop {
            let page = store
                .expiry_candidates(vec![kind], cutoff, after, PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.collected_at, last.digest));
            let full = page.len() as u32 == PAGE;
            let mut to_expire: Vec<ExpiryCandidate> = Vec::new();
            for c in page {
                report.examined += 1;
                if open.iter().any(|p| p.holds(c.collected_at)) {
                    report.held_by_audit_period += 1;
                    continue;
                }
                if let Some(sha) = &c.object {
                    let locked = match objects {
                        None => true,
                        Some(o) => match o.retention(sha).await {
                            Ok(r) => r.is_some_and(|r| r.until > now),
                            Err(e) => {
                                tracing::warn!(snapshot = %c.digest, error = %e, "object lock unreadable; kept");
                                true
                            }
                        },
                    };
                    if locked {
                        report.held_by_object_lock += 1;
                        continue;
                    }
                }
                to_expire.push(c);
            }
            if !to_expire.is_empty() {
                let digests = to_expire.iter().map(|c| c.digest).collect();
                report.expired += store.mark_expired(digests, now).await?;
                for c in &to_expire {
                    tracing::info!(snapshot = %c.digest, chain = %c.chain, sequence = c.sequence,
                        collected_at = %c.collected_at, "snapshot expired by retention");
                    if let (Some(sha), Some(o)) = (&c.object, objects)
                        && let Err(e) = o.delete(sha).await
                    {
                        report.objects_not_deleted += 1;
                        tracing::error!(snapshot = %c.digest, key = %o.key(sha), error = %e,
                            "expired envelope not deleted from the bucket");
                    }
                }
            }
            if !full {
                break;
            }
        }
    }
    Ok(report)
}
