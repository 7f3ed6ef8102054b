//! The import source: the reports of scanners a team already runs, taken from the files those
//! tools write and judged like every other evidence.
//!
//! An import watches the files its path globs match (`/var/lib/scans/*.json`, the wildcards `*`
//! and `?` in the file name only), on the agent's schedule. Each file is read (never written,
//! moved or deleted), its SHA-256 digest taken, its format recognised by its content and parsed
//! into facts: the tool and its version, and normalised findings. Formats:
//! SARIF 2.1.0 ([`sarif`]), CycloneDX 1.5 or later, SBOM and VEX ([`cyclonedx`]), Trivy JSON
//! ([`trivy`]), Grype JSON ([`grype`]) and Prowler's OCSF detection findings ([`ocsf`]).
//!
//! **The asset.** One import (one `[collectors.import]` table) is one asset of kind `import`,
//! named by its configured `name`, whose snapshot describes every report its globs match now:
//! - Verdicts are on the state of things. A snapshot holding only the reports that are new
//!   since the last one would make a failing vulnerability pass at the next collection, when
//!   nothing new arrived; so each snapshot holds the current set, and each report in it is
//!   named by path and digest (evidence `import.reports.imported`).
//! - A report is imported once: the same digest under two names, or unchanged between
//!   collections, is parsed once (a cache by digest) and counted once.
//! - One asset per import rather than one per scanned artifact keeps the agent's binding (an
//!   enrolment token names the imports, `import:NAME`) and its one chain per asset; the
//!   artifacts each report is about are named inside the evidence, and a control page lists
//!   the failing findings with the artifact, package and tool of each.
//! - Evidence is grouped by what the pack judges, not by tool: vulnerabilities (Trivy, Grype,
//!   CycloneDX; VEX statements from CycloneDX apply to all of them), the SBOM inventory, static
//!   analysis (SARIF) and cloud posture (Prowler). A kind of report the import holds none of
//!   makes its policies not applicable.
//!
//! **Hostile or broken files.** A file larger than [`MAX_REPORT_BYTES`], nested deeper than
//! serde_json's limit of 128 levels, malformed, of no known format, of the wrong shape for its
//! format (named by JSON path) or unreadable is listed in `import.reports.unreadable` with its
//! path and the problem, and the other reports are imported as usual: one bad file never
//! blocks the others. When no report at all could be read, every fact but that list is
//! unavailable, naming each file and its problem.
//!
//! **What is kept.** Facts only: ids, severities, package names and versions, rule ids, file
//! paths and lines as the report names them, check ids, resource ids, digests. Never messages,
//! snippets, descriptions or anything else the report quotes from the code or the cloud; every
//! string a report chose is cut to [`MAX_ECHO_CHARS`] characters, and lists to
//! [`MAX_FINDINGS`] entries beside whole counts.
//!
//! [`MAX_ECHO_CHARS`]: vouch_evidence::limits::MAX_ECHO_CHARS

mod cloud;
pub mod cyclonedx;
pub mod grype;
mod json;
pub mod ocsf;
pub mod report;
mod reports;
pub mod sarif;
mod sbom;
mod static_analysis;
pub mod trivy;
mod vulnerabilities;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use vouch_evidence::{Asset, AssetKind, Digest, EvidenceItem};

use crate::{
    CollectContext, Collector, EvidenceSpec, Registration, Source, SourceConfig, remote,
};
use report::{Format, Report};

/// Every area's declarations, for documentation and checks.
pub const EVIDENCE_AREAS: &[&[EvidenceSpec]] = &[
    reports::EVIDENCE,
    vulnerabilities::EVIDENCE,
    sbom::EVIDENCE,
    static_analysis::EVIDENCE,
    cloud::EVIDENCE,
];

/// The largest report read, in bytes; a larger file is listed as unreadable, unread.
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;

/// The most files one collection reads; the rest (by path) are named as not read.
pub const MAX_REPORTS: usize = 1000;

/// The most findings one evidence list holds (the most urgent first); the count beside it is
/// whole.
pub const MAX_FINDINGS: usize = 1000;

/// `[collectors.import]` in the agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportConfig {
    /// Import scanner reports at all.
    pub enabled: bool,
    /// The import's name: the asset's id (`ci-scans`), as the enrolment token's scope names it
    /// (`import:ci-scans`); 1 to 256 printable characters, no comma.
    pub name: String,
    /// Absolute path globs of the reports (`/var/lib/scans/*.json`); `*` and `?` match in the
    /// file name only. Files are read, never modified or deleted.
    pub paths: Vec<String>,
    /// When to collect: a cron expression with seconds.
    pub schedule: String,
    /// Time budget of each area's collector, in seconds.
    pub timeout_secs: u64,
    /// Days a critical vulnerability may stay open (since its publication, else since the
    /// report that shows it was written) before the pack fails it.
    pub critical_max_age_days: u32,
    /// Days a high vulnerability may stay open, counted the same way.
    pub high_max_age_days: u32,
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig {
            enabled: false,
            name: String::new(),
            paths: Vec::new(),
            schedule: "0 */15 * * * *".into(),
            timeout_secs: 120,
            critical_max_age_days: 14,
            high_max_age_days: 30,
        }
    }
}

impl SourceConfig for ImportConfig {
    const REGISTRATION: Registration = Registration {
        name: "import",
        kind: AssetKind::Import,
        intro: "The reports of scanners a team already runs, read from the files their path globs match (never modified or deleted): SARIF 2.1.0, CycloneDX 1.5 or later (SBOM and VEX), Trivy and Grype JSON, and OCSF detection findings as Prowler writes them. Each report is named by path and SHA-256 digest with its tool and version, and imported once however often it is seen; its findings are normalised (ids, severities, packages and versions, rule and check ids, never messages or snippets). A report that cannot be read is listed with its path and the problem, the line or JSON path included, and never blocks the others.",
        evidence: EVIDENCE_AREAS,
    };

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        self.validate()
    }

    fn source(&self) -> Box<dyn Source> {
        Box::new(ImportSource::new(self.clone()))
    }
}

/// A path glob split into its directory and its file-name pattern.
fn split_glob(glob: &str) -> Option<(&str, &str)> {
    let (dir, pattern) = glob.rsplit_once('/')?;
    let dir = if dir.is_empty() { "/" } else { dir };
    (glob.starts_with('/') && !pattern.is_empty() && !dir.contains(['*', '?', '[']))
        .then_some((dir, pattern))
}

/// Whether `name` matches `pattern` (`*` any run of characters, `?` one character).
fn glob_matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl ImportConfig {
    /// Every problem, as (key below `collectors.import`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if self.enabled && self.name.is_empty() {
            errors.push((
                "name",
                "must name the import, e.g. \"ci-scans\" (the asset's id)".to_string(),
            ));
        } else if !self.name.is_empty()
            && (self.name.chars().count() > 256
                || self.name.contains(',')
                || self.name.chars().any(char::is_control))
        {
            errors.push((
                "name",
                format!(
                    "{:?} must be 1 to 256 printable characters without a comma",
                    vouch_evidence::limits::truncate_echo(&self.name)
                ),
            ));
        }
        if self.enabled && self.paths.is_empty() {
            errors.push((
                "paths",
                "must list at least one path glob, e.g. [\"/var/lib/scans/*.json\"]".to_string(),
            ));
        }
        for p in &self.paths {
            if split_glob(p).is_none() {
                errors.push((
                    "paths",
                    format!(
                        "{p:?} must be an absolute path whose wildcards (* and ?) are in the file name only"
                    ),
                ));
            }
        }
        remote::check_schedule_and_budget(
            &mut errors,
            &self.schedule,
            "0 */15 * * * *",
            self.timeout_secs,
        );
        remote::check_range(
            &mut errors,
            "critical_max_age_days",
            self.critical_max_age_days,
            1..=3650,
        );
        remote::check_range(
            &mut errors,
            "high_max_age_days",
            self.high_max_age_days,
            1..=3650,
        );
        errors
    }
}

/// A report imported in this collection.
#[derive(Clone, Debug)]
pub struct Imported {
    /// Its path (the first, by name, when several files hold the same bytes).
    pub path: String,
    /// The SHA-256 digest of its bytes, hex.
    pub sha256: String,
    /// Its format.
    pub format: Format,
    /// What it says.
    pub report: Arc<Report>,
    /// How many matched files hold exactly these bytes.
    pub copies: usize,
}

/// A file that could not be imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// Its path (or the glob's directory, when that cannot be listed).
    pub path: String,
    /// The problem, with the line or JSON path where there is one.
    pub problem: String,
}

/// Every report of one collection.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// The reports read, one per digest, by path.
    pub reports: Vec<Imported>,
    /// The files that could not be.
    pub unreadable: Vec<Unreadable>,
}

impl Batch {
    /// When no report could be read but some file could not: why, naming each (the reason
    /// of every fact but the list of unreadable files).
    pub fn none_readable(&self) -> Option<String> {
        if !self.reports.is_empty() || self.unreadable.is_empty() {
            return None;
        }
        let each: Vec<String> = self
            .unreadable
            .iter()
            .take(10)
            .map(|u| format!("{}: {}", u.path, u.problem))
            .collect();
        let more = self.unreadable.len().saturating_sub(10);
        Some(format!(
            "no report could be read: {}{}",
            each.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ))
    }

    /// The reports of `format`.
    pub fn of(&self, format: Format) -> impl Iterator<Item = &Imported> {
        self.reports.iter().filter(move |r| r.format == format)
    }
}

/// What one file gave: a report or a problem.
type Parsed = Result<(Format, Arc<Report>), String>;

/// Reads one file: its bytes (at most [`MAX_REPORT_BYTES`]), read-only.
fn read_report(path: &std::path::Path, shown: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| crate::describe_io(shown, &e))?;
    let len = file
        .metadata()
        .map_err(|e| crate::describe_io(shown, &e))?
        .len();
    if len > MAX_REPORT_BYTES {
        return Err(format!(
            "{len} bytes, more than the limit of {MAX_REPORT_BYTES} bytes: not read"
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(MAX_REPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::describe_io(shown, &e))?;
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(format!(
            "more than the limit of {MAX_REPORT_BYTES} bytes (it grew while read): not read"
        ));
    }
    Ok(bytes)
}

/// Parses a report's bytes: JSON (serde_json's limit of 128 levels of nesting holds), then
/// its format. The error names the line and column or the JSON path.
pub fn parse_bytes(bytes: &[u8]) -> Result<(Format, Report), String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    report::parse(&value)
}

/// What the collectors of one source share: the configuration, the reports by digest (kept
/// between collections so an unchanged report is not parsed again) and this collection's batch.
struct Shared {
    config: ImportConfig,
    cache: Mutex<HashMap<Digest, Parsed>>,
    batch: tokio::sync::Mutex<Option<Arc<Batch>>>,
}

impl Shared {
    /// This collection's reports, read once for all the areas, off the async workers (parsing
    /// a large report takes a while).
    async fn batch(self: &Arc<Self>, ctx: &CollectContext) -> Arc<Batch> {
        let mut batch = self.batch.lock().await;
        if let Some(b) = batch.as_ref() {
            return b.clone();
        }
        let (shared, ctx) = (self.clone(), ctx.clone());
        let scanned = match tokio::task::spawn_blocking(move || shared.scan(&ctx)).await {
            Ok(b) => b,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Batch::default(),
        };
        let scanned = Arc::new(scanned);
        *batch = Some(scanned.clone());
        scanned
    }

    /// Lists the files, reads and parses them (or takes them from the cache by digest).
    fn scan(&self, ctx: &CollectContext) -> Batch {
        let mut out = Batch::default();
        let mut files = BTreeSet::new();
        for glob in &self.config.paths {
            let Some((dir, pattern)) = split_glob(glob) else {
                continue;
            };
            let entries = match std::fs::read_dir(ctx.path(dir)) {
                Ok(e) => e,
                Err(e) => {
                    out.unreadable.push(Unreadable {
                        path: dir.to_string(),
                        problem: crate::describe_io(dir, &e),
                    });
                    continue;
                }
            };
            for entry in entries.flatten() {
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if (name.starts_with('.') && !pattern.starts_with('.'))
                    || !glob_matches(pattern, &name)
                {
                    continue;
                }
                let shown = if dir == "/" {
                    format!("/{name}")
                } else {
                    format!("{dir}/{name}")
                };
                // What the glob matches is named, even when it is not a file it can read.
                match std::fs::metadata(entry.path()) {
                    Ok(m) if m.is_file() => {
                        files.insert(shown);
                    }
                    Ok(_) => out.unreadable.push(Unreadable {
                        path: shown,
                        problem: "not a regular file".to_string(),
                    }),
                    Err(e) => {
                        let problem = crate::describe_io(&shown, &e);
                        out.unreadable.push(Unreadable {
                            path: shown,
                            problem,
                        });
                    }
                }
            }
        }
        if files.len() > MAX_REPORTS {
            out.unreadable.push(Unreadable {
                path: self.config.paths.join(" "),
                problem: format!(
                    "{} files match: only the first {MAX_REPORTS} by path are read",
                    files.len()
                ),
            });
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut seen: BTreeMap<Digest, usize> = BTreeMap::new();
        let mut read_now: BTreeSet<Digest> = BTreeSet::new();
        for shown in files.into_iter().take(MAX_REPORTS) {
            if ctx.shutdown.is_cancelled() || Instant::now() >= ctx.deadline {
                out.unreadable.push(Unreadable {
                    path: shown,
                    problem: "not read: the collection's time budget ran out".to_string(),
                });
                continue;
            }
            let bytes = match read_report(&ctx.path(&shown), &shown) {
                Ok(b) => b,
                Err(problem) => {
                    tracing::warn!(path = %shown, %problem, "import: report unreadable");
                    out.unreadable.push(Unreadable {
                        path: shown,
                        problem,
                    });
                    continue;
                }
            };
            let digest = Digest::of(&bytes);
            read_now.insert(digest);
            if let Some(&i) = seen.get(&digest) {
                out.reports[i].copies += 1;
                continue;
            }
            let parsed = cache
                .entry(digest)
                .or_insert_with(|| {
                    parse_bytes(&bytes).map(|(format, report)| (format, Arc::new(report)))
                })
                .clone();
            match parsed {
                Ok((format, report)) => {
                    tracing::debug!(path = %shown, sha256 = %digest.to_hex(), format = format.as_str(), "import: report read");
                    seen.insert(digest, out.reports.len());
                    out.reports.push(Imported {
                        path: shown,
                        sha256: digest.to_hex(),
                        format,
                        report,
                        copies: 1,
                    });
                }
                Err(problem) => {
                    tracing::warn!(path = %shown, %problem, "import: report unreadable");
                    out.unreadable.push(Unreadable {
                        path: shown,
                        problem,
                    });
                }
            }
        }
        // Only the digests read now stay cached: the cache never outgrows one collection.
        cache.retain(|d, _| read_now.contains(d));
        out.unreadable.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// Forgets this collection's batch: the next one reads the files again.
    async fn reset(&self) {
        *self.batch.lock().await = None;
    }
}

/// The facts of an area when no report could be read: each unavailable with the reason.
fn all_unavailable(specs: &'static [EvidenceSpec], reason: &str) -> crate::Facts {
    specs
        .iter()
        .map(|s| {
            (
                s.id,
                EvidenceItem::unavailable(
                    vouch_evidence::Source::File("import".into()),
                    reason.to_string(),
                ),
            )
        })
        .collect()
}

/// The item source of an area's facts: the files read.
fn files_source(batch: &Batch, format: Option<Format>) -> vouch_evidence::Source {
    let paths: Vec<&str> = batch
        .reports
        .iter()
        .filter(|r| format.is_none_or(|f| r.format == f))
        .map(|r| r.path.as_str())
        .take(10)
        .collect();
    vouch_evidence::Source::File(if paths.is_empty() {
        "(no report)".to_string()
    } else {
        paths.join(" ")
    })
}

/// The import source.
#[derive(Clone)]
pub struct ImportSource {
    shared: Arc<Shared>,
}

impl ImportSource {
    /// An import source with `config`.
    pub fn new(config: ImportConfig) -> Self {
        ImportSource {
            shared: Arc::new(Shared {
                config,
                cache: Mutex::new(HashMap::new()),
                batch: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &ImportConfig {
        &self.shared.config
    }
}

#[async_trait::async_trait]
impl Source for ImportSource {
    fn name(&self) -> &'static str {
        <ImportConfig as SourceConfig>::REGISTRATION.name
    }

    /// The import, named as configured.
    async fn asset(&self, _ctx: &CollectContext) -> Asset {
        self.shared.reset().await;
        Asset {
            kind: AssetKind::Import,
            id: self.shared.config.name.clone(),
            name: self.shared.config.name.clone(),
        }
    }

    fn collectors(&self) -> Vec<Arc<dyn Collector>> {
        vec![
            Arc::new(reports::Reports(self.shared.clone())),
            Arc::new(vulnerabilities::Vulnerabilities(self.shared.clone())),
            Arc::new(sbom::Sbom(self.shared.clone())),
            Arc::new(static_analysis::StaticAnalysis(self.shared.clone())),
            Arc::new(cloud::Cloud(self.shared.clone())),
        ]
    }

    fn context(&self, shutdown: CancellationToken) -> CollectContext {
        CollectContext {
            root: "/".into(),
            deadline: Instant::now() + Duration::from_secs(self.shared.config.timeout_secs),
            shutdown,
            clock: vouch_evidence::Clock::System,
        }
    }

    fn schedule(&self) -> &str {
        &self.shared.config.schedule
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_problems_are_all_reported() {
        let bad = ImportConfig {
            enabled: true,
            name: "a,b".into(),
            paths: vec!["scans/*.json".into(), "/var/*/x.json".into()],
            schedule: "hourly".into(),
            timeout_secs: 0,
            critical_max_age_days: 0,
            high_max_age_days: 4000,
        };
        let keys: Vec<&str> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "name",
                "paths",
                "paths",
                "schedule",
                "timeout_secs",
                "critical_max_age_days",
                "high_max_age_days"
            ]
        );
        assert!(ImportConfig::default().validate().is_empty());
        let missing = ImportConfig {
            enabled: true,
            ..ImportConfig::default()
        };
        let keys: Vec<&str> = missing.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["name", "paths"]);
    }

    #[test]
    fn globs_match_in_the_file_name_only() {
        assert_eq!(
            split_glob("/var/lib/scans/*.json"),
            Some(("/var/lib/scans", "*.json"))
        );
        assert_eq!(split_glob("/report.json"), Some(("/", "report.json")));
        assert_eq!(split_glob("/var/lib/scans/"), None);
        assert_eq!(split_glob("/var/*/x.json"), None);
        for (p, n, m) in [
            ("*.json", "trivy.json", true),
            ("*.json", "trivy.json.tmp", false),
            ("trivy-?.json", "trivy-1.json", true),
            ("trivy-?.json", "trivy-12.json", false),
            ("*", "", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("*.sarif", "x.sarif", true),
        ] {
            assert_eq!(glob_matches(p, n), m, "{p} {n}");
        }
    }
}
