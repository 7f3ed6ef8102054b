//! The host source: facts about a Linux host, read from its files below a root (`/` live, a
//! fixture tree in tests). One file per area; each declares its evidence ids.

mod accounts;
mod certificates;
mod hardening;
mod kernel;
mod logging;
mod malware;
mod network;
mod packages;
mod procs;
mod resources;
mod services;
mod ssh;
mod storage;
mod system;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use vouch_evidence::{Asset, AssetKind};

use crate::{CollectContext, Collector, EvidenceSpec, Source, Registration, SourceConfig};

/// Every area's declarations, for documentation and checks.
pub const EVIDENCE_AREAS: &[&[EvidenceSpec]] = &[
    system::EVIDENCE,
    resources::EVIDENCE,
    storage::EVIDENCE,
    hardening::EVIDENCE,
    kernel::EVIDENCE,
    certificates::EVIDENCE,
    network::EVIDENCE,
    logging::EVIDENCE,
    malware::EVIDENCE,
    packages::EVIDENCE,
    services::EVIDENCE,
    accounts::EVIDENCE,
    ssh::EVIDENCE,
];

/// `[collectors.host]` in the agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostConfig {
    /// Collect host evidence at all.
    pub enabled: bool,
    /// When to collect: a cron expression with seconds, e.g. `0 */15 * * * *`.
    pub schedule: String,
    /// The root below which the host's files are read; `/` on a live host.
    pub root: PathBuf,
    /// Time budget of each area's collector, in seconds.
    pub timeout_secs: u64,
    /// Process names (as in `/proc/<pid>/comm`) of anti-malware and EDR agents; any one of
    /// them running counts as malware protection present.
    pub anti_malware_processes: Vec<String>,
    /// Files or directories (searched one level deep) holding the certificates to report on:
    /// `.pem`, `.crt` and `.cer` files; private keys are never read.
    pub certificate_paths: Vec<PathBuf>,
    /// System directories scanned for world-writable files.
    pub world_writable_paths: Vec<PathBuf>,
    /// The most directory entries the world-writable scan visits before it stops and says so.
    pub world_writable_max_entries: u64,
    /// Where the source keeps what it computed between processes (the apt lists' offers for
    /// the installed packages): the agent's `<state_dir>/cache`, set by the agent, never by the
    /// configuration file. None keeps nothing.
    #[serde(skip)]
    pub cache_dir: Option<PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            enabled: true,
            schedule: "0 */15 * * * *".into(),
            root: PathBuf::from("/"),
            timeout_secs: 30,
            anti_malware_processes: [
                "clamd",
                "freshclam",
                "falcon-sensor",
                "wdavdaemon",
                "sentinelone-agent",
                "s1-agent",
                "cbagentd",
                "elastic-endpoint",
                "wazuh-agentd",
                "ds_agent",
                "osqueryd",
            ]
            .map(String::from)
            .to_vec(),
            certificate_paths: [
                "/etc/letsencrypt/live",
                "/etc/pki/tls/certs",
                "/etc/ssl/vouch",
            ]
            .map(PathBuf::from)
            .to_vec(),
            // Not /usr/lib: ~70,000 entries here, most of a collection's time budget.
            world_writable_paths: ["/etc", "/usr/bin", "/usr/sbin", "/usr/local"]
                .map(PathBuf::from)
                .to_vec(),
            world_writable_max_entries: 50_000,
            cache_dir: None,
        }
    }
}

impl SourceConfig for HostConfig {
    const REGISTRATION: Registration = Registration {
        name: "host",
        kind: AssetKind::Host,
        intro: "Facts about a Linux host, read from its files below a root (`/` on a live host, a fixture tree in tests) and, where no file exposes a fact, from the recorded or live output of a few commands.",
        evidence: EVIDENCE_AREAS,
    };

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        self.validate()
    }

    fn source(&self) -> Box<dyn Source> {
        Box::new(HostSource::new(self.clone()))
    }
}

impl HostConfig {
    /// Every problem, as (key below `collectors.host`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if let Err(e) = cron::Schedule::from_str(&self.schedule) {
            errors.push((
                "schedule",
                format!(
                    "{:?} is not a cron expression with seconds (e.g. \"0 */15 * * * *\"): {e}",
                    self.schedule
                ),
            ));
        }
        if !self.root.is_absolute() {
            errors.push((
                "root",
                format!("{} must be an absolute path", self.root.display()),
            ));
        } else if !self.root.is_dir() {
            errors.push((
                "root",
                format!("{} is not a directory", self.root.display()),
            ));
        }
        for p in self
            .certificate_paths
            .iter()
            .chain(&self.world_writable_paths)
        {
            if !p.is_absolute() {
                let key = if self.certificate_paths.contains(p) {
                    "certificate_paths"
                } else {
                    "world_writable_paths"
                };
                errors.push((key, format!("{} must be an absolute path", p.display())));
            }
        }
        if self.world_writable_max_entries == 0 {
            errors.push((
                "world_writable_max_entries",
                "must be at least 1".to_string(),
            ));
        }
        if !(1..=600).contains(&self.timeout_secs) {
            errors.push((
                "timeout_secs",
                format!("{} is outside 1..=600", self.timeout_secs),
            ));
        }
        errors
    }
}

/// The host source.
#[derive(Clone, Debug)]
pub struct HostSource {
    config: HostConfig,
}

impl HostSource {
    /// A host source with `config`.
    pub fn new(config: HostConfig) -> Self {
        HostSource { config }
    }

    /// Its configuration.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }
}

#[async_trait::async_trait]
impl Source for HostSource {
    fn name(&self) -> &'static str {
        <HostConfig as SourceConfig>::REGISTRATION.name
    }

    async fn asset(&self, ctx: &CollectContext) -> Asset {
        let hostname = system::hostname(ctx).unwrap_or_else(|_| "unknown-host".into());
        let id = ctx
            .read("/etc/machine-id")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("hostname:{hostname}"));
        Asset {
            kind: AssetKind::Host,
            id,
            name: hostname,
        }
    }

    fn collectors(&self) -> Vec<Arc<dyn Collector>> {
        vec![
            Arc::new(system::System),
            Arc::new(resources::Resources),
            Arc::new(storage::Storage),
            Arc::new(hardening::Hardening::new(&self.config)),
            Arc::new(kernel::Kernel),
            Arc::new(certificates::Certificates::new(&self.config)),
            Arc::new(network::Network),
            Arc::new(logging::Logging),
            Arc::new(malware::Malware::new(
                self.config.anti_malware_processes.clone(),
            )),
            Arc::new(packages::Packages::new(&self.config)),
            Arc::new(services::Services),
            Arc::new(accounts::Accounts),
            Arc::new(ssh::Ssh),
        ]
    }

    fn context(&self, shutdown: CancellationToken) -> CollectContext {
        CollectContext {
            root: self.config.root.clone(),
            deadline: Instant::now() + Duration::from_secs(self.config.timeout_secs),
            shutdown,
            clock: vouch_evidence::Clock::System,
        }
    }

    fn schedule(&self) -> &str {
        &self.config.schedule
    }
}

/// The hostname of the host whose files are below `root`.
pub fn hostname_of(root: &std::path::Path) -> Option<String> {
    system::hostname(&CollectContext::for_test(root)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{all_specs, run_source};
    use serde_json::json;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/hosts")
            .join(name)
    }

    async fn collect(name: &str) -> crate::Collected {
        let source = HostSource::new(HostConfig {
            root: fixture(name),
            ..HostConfig::default()
        });
        run_source(&source, &source.context(CancellationToken::new())).await
    }

    #[tokio::test]
    async fn debian12_hardened_fixture_field_by_field() {
        let c = collect("debian12-hardened").await;
        assert_eq!(c.asset.kind, AssetKind::Host);
        assert_eq!(c.asset.id, "5f1c1b0e3a9d4c2e8b7a6f5e4d3c2b1a");
        assert_eq!(c.asset.name, "web-1");
        let v = |id: &str| c.evidence[id].value.clone();
        assert_eq!(v("host.os.id"), json!("debian"));
        assert_eq!(v("host.os.name"), json!("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(v("host.os.version_id"), json!("12"));
        assert_eq!(v("host.kernel.release"), json!("6.1.0-28-amd64"));
        assert_eq!(v("host.system.hostname"), json!("web-1"));
        assert_eq!(v("host.system.uptime_seconds"), json!(350_735));
        assert_eq!(
            v("host.system.boot_time"),
            json!("2026-11-20T01:20:00.000000Z")
        );
        assert_eq!(v("host.system.machine_id_present"), json!(true));
        assert_eq!(v("host.cpu.count"), json!(2));
        assert_eq!(v("host.cpu.model"), json!("AMD EPYC 7B13"));
        assert_eq!(v("host.memory.total_bytes"), json!(25_165_824u64 * 1024));
        assert_eq!(
            v("host.memory.available_bytes"),
            json!(20_971_520u64 * 1024)
        );
        assert_eq!(v("host.swap.total_bytes"), json!(0));
        assert!(
            c.collectors
                .iter()
                .all(|r| r.outcome == vouch_evidence::RunOutcome::Ok)
        );
    }

    /// Every emitted id is declared with the right type, every declared id is emitted.
    #[tokio::test]
    async fn emitted_ids_match_declarations() {
        for name in ["debian12-hardened", "empty"] {
            let c = collect(name).await;
            let specs: Vec<&EvidenceSpec> = EVIDENCE_AREAS.iter().flat_map(|a| a.iter()).collect();
            for spec in &specs {
                let item = c
                    .evidence
                    .get(spec.id)
                    .unwrap_or_else(|| panic!("{name}: {} not emitted", spec.id));
                if item.status == vouch_evidence::ItemStatus::Ok {
                    assert!(
                        spec.value_type.matches(&item.value),
                        "{name}: {} = {} is not {:?}",
                        spec.id,
                        item.value,
                        spec.value_type
                    );
                }
            }
            for id in c.evidence.keys() {
                assert!(
                    specs.iter().any(|s| s.id == id),
                    "{name}: {id} emitted but not declared"
                );
            }
        }
    }

    /// A tree with none of the files: every fact unavailable with the reason, nothing aborted.
    #[tokio::test]
    async fn missing_files_give_unavailable_items_with_reasons() {
        let c = collect("empty").await;
        let item = &c.evidence["host.os.id"];
        assert_eq!(item.status, vouch_evidence::ItemStatus::Unavailable);
        assert_eq!(
            item.reason.as_deref(),
            Some("not found: /usr/lib/os-release")
        );
        assert_eq!(
            c.evidence["host.kernel.release"].reason.as_deref(),
            Some("not found: /proc/sys/kernel/osrelease")
        );
        assert!(c.asset.id.starts_with("hostname:"));
        assert!(
            c.collectors
                .iter()
                .all(|r| r.outcome == vouch_evidence::RunOutcome::Ok)
        );
    }

    #[test]
    fn config_problems_are_all_reported() {
        let bad = HostConfig {
            schedule: "every hour".into(),
            root: "relative".into(),
            timeout_secs: 0,
            ..HostConfig::default()
        };
        let keys: Vec<&str> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["schedule", "root", "timeout_secs"]);
        assert!(HostConfig::default().validate().is_empty());
    }

    #[test]
    fn reference_lists_every_id() {
        let doc = crate::reference_markdown();
        for spec in all_specs() {
            assert!(doc.contains(&format!("`{}`", spec.id)));
        }
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/evidence.md");
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &doc).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == doc,
            "docs/evidence.md is stale: run `UPDATE_DOCS=1 cargo test -p vouch-collectors reference` and commit it"
        );
    }
}
