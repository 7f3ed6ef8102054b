//! Vouch evidence collectors.
//!
//! A [`Collector`] gathers the facts of one area (a host's OS, its memory, its SSH settings…)
//! and declares the evidence ids it produces in a `pub const EVIDENCE: &[EvidenceSpec]` beside
//! its code; the reference documentation (`docs/evidence.md`) is generated from those
//! declarations. A [`Source`] groups the collectors for one asset and [`run_source`] runs them
//! concurrently, each with its own time budget: one that fails, panics or overruns is recorded
//! as failed and the others go on. Every read goes below the context's root, so tests run on
//! fixture trees.
//!
//! Each source is one folder (`host/`, `aws/`, `github/`, `kubernetes/`, `okta/`, `entra/`, `google_workspace/`, `import/`) and one line of the
//! `register_sources!` call below; everything else that lists sources (the agent's
//! `[collectors]` table as [`CollectorsSection`], the enabled sources, [`all_specs`], the
//! evidence reference) is derived from the resulting [`REGISTRY`]. See [`registry`].

/// Configuration loading ([`vouch_config`], re-exported where the sources' configs use it).
pub use vouch_config as config;
#[doc(hidden)]
pub mod fixtures;
pub mod internal_events;
pub mod registry;
mod remote;
mod spec;
#[cfg(feature = "testing")]
pub mod testing;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use vouch_evidence::{
    Asset, Clock, CollectorRun, EvidenceItem, RunOutcome, Source as ItemSource, Timestamp,
};

pub use registry::{Registration, SourceConfig, registration};
pub use spec::{EvidenceSpec, ValueType, reference_markdown, reference_markdown_of};

// The sources: one line each (the folder `src/<name>/` and its configuration type).
registry::register_sources! {
    mod host: HostConfig,
    mod aws: AwsConfig,
    mod github: GithubConfig,
    mod kubernetes: KubernetesConfig,
    mod okta: OktaConfig,
    mod entra: EntraConfig,
    mod google_workspace: GoogleWorkspaceConfig,
    mod import: ImportConfig,
}
pub use vouch_evidence::is_volatile;

/// What a collector gets: where the system's files are, until when it may run, and a signal
/// to stop early.
#[derive(Clone, Debug)]
pub struct CollectContext {
    /// The root below which every file is read (`/` on a live host).
    pub root: PathBuf,
    /// When the collector must have finished.
    pub deadline: Instant,
    /// Cancelled when the agent shuts down.
    pub shutdown: CancellationToken,
    /// The clock that stamps the collection and that every age is measured against (the
    /// system clock on a live agent; a fixed instant in tests and on `--at`).
    pub clock: Clock,
}

impl CollectContext {
    /// A context for tests: `root`, a generous deadline, never cancelled.
    pub fn for_test(root: impl Into<PathBuf>) -> Self {
        CollectContext {
            root: root.into(),
            deadline: Instant::now() + Duration::from_secs(60),
            shutdown: CancellationToken::new(),
            clock: Clock::System,
        }
    }

    /// The same context, its clock fixed at `at`.
    pub fn at(self, at: Timestamp) -> Self {
        CollectContext {
            clock: Clock::Fixed(at),
            ..self
        }
    }

    /// The path of `abs` (an absolute path on the asset) below the root.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// Reads a text file by its absolute path on the asset. The error says what failed in
    /// words fit for an evidence item's reason.
    pub fn read(&self, abs: &str) -> Result<String, String> {
        std::fs::read_to_string(self.path(abs)).map_err(|e| describe_io(abs, &e))
    }
}

/// The longest any one command may run, whatever the collector's remaining budget.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a fixture tree keeps the recorded output of the commands a collector would run.
pub const RECORDED_COMMANDS: &str = ".vouch-commands";

impl CollectContext {
    /// Whether the context reads the live system (root `/`), where commands may run.
    pub fn is_live(&self) -> bool {
        self.root == Path::new("/")
    }

    /// Runs `program` (an absolute path on the asset) with `args` and returns its standard
    /// output. Only for facts no file exposes: never through a shell, with a cleared
    /// environment (`PATH` of the system directories, `LC_ALL=C`), killed at the deadline or
    /// after [`COMMAND_TIMEOUT`]. Below any root other than `/` the host's programs cannot
    /// describe the tree, so the output recorded in `<root>/.vouch-commands/<name> <args>` is
    /// returned instead (absent: the program counts as not installed). The error says what
    /// failed in words fit for an evidence item's reason.
    pub async fn command(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let line = command_line(program, args);
        let name = program.rsplit('/').next().unwrap_or(program);
        if !self.is_live() {
            let mut recorded = name.to_string();
            for a in args {
                recorded.push(' ');
                recorded.push_str(&a.replace('/', "%"));
            }
            let path = self.root.join(RECORDED_COMMANDS).join(recorded);
            return match std::fs::read_to_string(&path) {
                Ok(out) => Ok(out),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    Err(format!("not installed: {program}"))
                }
                Err(e) => Err(format!("cannot read the recorded output of `{line}`: {e}")),
            };
        }
        if !Path::new(program).exists() {
            return Err(format!("not installed: {program}"));
        }
        let timeout = self
            .deadline
            .saturating_duration_since(Instant::now())
            .min(COMMAND_TIMEOUT);
        let child = tokio::process::Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::select! {
            r = tokio::time::timeout(timeout, child) => match r {
                Ok(r) => r.map_err(|e| match e.kind() {
                    io::ErrorKind::PermissionDenied => format!("permission denied running `{line}`"),
                    _ => format!("cannot run `{line}`: {e}"),
                })?,
                Err(_) => return Err(format!("`{line}` timed out after {} s", timeout.as_secs())),
            },
            () = self.shutdown.cancelled() => return Err(format!("`{line}` stopped: the agent is shutting down")),
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            return Err(format!("`{line}` failed ({}): {first}", out.status));
        }
        String::from_utf8(out.stdout)
            .map_err(|_| format!("`{line}` printed text that is not UTF-8"))
    }
}

/// `program args…` for messages and item sources.
pub fn command_line(program: &str, args: &[&str]) -> String {
    let mut line = program.rsplit('/').next().unwrap_or(program).to_string();
    for a in args {
        line.push(' ');
        line.push_str(a);
    }
    line
}

/// A reason sentence for an I/O error on `abs`.
pub fn describe_io(abs: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!("not found: {abs}"),
        io::ErrorKind::PermissionDenied => format!("permission denied reading {abs}"),
        _ => format!("cannot read {abs}: {e}"),
    }
}

/// Why a whole collector failed (single facts that cannot be read are unavailable items).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// Something the collector cannot work without.
    #[error("{0}")]
    Failed(String),
}

/// The facts a collector produced: evidence id → item.
pub type Facts = Vec<(&'static str, EvidenceItem)>;

/// One area's collector.
#[async_trait]
pub trait Collector: Send + Sync + 'static {
    /// Its name in the snapshot's collector runs, e.g. `host.system`.
    fn name(&self) -> &'static str;
    /// The evidence it produces.
    fn evidence(&self) -> &'static [EvidenceSpec];
    /// Collects; every declared id must be present, ok or unavailable.
    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError>;
}

/// A group of collectors describing one asset.
#[async_trait]
pub trait Source: Send + Sync {
    /// The source's name (`host`).
    fn name(&self) -> &'static str;
    /// The asset described: read below `ctx.root` for a host, asked of the API for a cloud
    /// account (whose id the credentials decide, not the configuration).
    async fn asset(&self, ctx: &CollectContext) -> Asset;
    /// Its collectors.
    fn collectors(&self) -> Vec<Arc<dyn Collector>>;
    /// The root and time budget to collect with.
    fn context(&self, shutdown: CancellationToken) -> CollectContext;
    /// When to collect: a cron expression with seconds.
    fn schedule(&self) -> &str;
}

/// What running a source produced: a snapshot body without the chain fields.
#[derive(Clone, Debug)]
pub struct Collected {
    /// The asset.
    pub asset: Asset,
    /// When collection started.
    pub collected_at: Timestamp,
    /// One run per collector.
    pub collectors: Vec<CollectorRun>,
    /// Every fact, by id.
    pub evidence: BTreeMap<String, EvidenceItem>,
}

/// Runs every collector of `source` concurrently, each until the context's deadline. A failed,
/// panicked or late collector becomes a failed run, and its declared ids become unavailable
/// items naming why: the snapshot never silently lacks a fact.
pub async fn run_source(source: &dyn Source, ctx: &CollectContext) -> Collected {
    run_source_with_progress(source, ctx, &mut |_| {}).await
}

/// One collector finished, for progress displays.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// The collector's run, with its outcome.
    pub run: &'a CollectorRun,
    /// Collectors finished so far, this one included.
    pub done: usize,
    /// Collectors in the source.
    pub total: usize,
    /// Time since the source started.
    pub elapsed: Duration,
}

/// [`run_source`], calling `progress` as each collector's result is taken (in the source's
/// collector order, which is also the order of the snapshot's runs).
pub async fn run_source_with_progress(
    source: &dyn Source,
    ctx: &CollectContext,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Collected {
    let start = Instant::now();
    let collected_at = ctx.clock.now();
    let asset = source.asset(ctx).await;
    let budget = ctx.deadline.saturating_duration_since(Instant::now());
    let tasks: Vec<_> = source
        .collectors()
        .into_iter()
        .map(|c| {
            let ctx = ctx.clone();
            let started = ctx.clock.now();
            let name = c.name();
            let specs = c.evidence();
            let handle = tokio::spawn(async move { c.collect(&ctx).await });
            (name, specs, started, handle)
        })
        .collect();
    let total = tasks.len();
    let mut runs = Vec::new();
    let mut evidence = BTreeMap::new();
    for (name, specs, started, handle) in tasks {
        let abort = handle.abort_handle();
        let outcome = match tokio::time::timeout(budget, handle).await {
            Ok(Ok(Ok(facts))) => Ok(facts),
            Ok(Ok(Err(e))) => Err(e.to_string()),
            Ok(Err(join)) if join.is_panic() => Err("collector panicked".to_string()),
            Ok(Err(join)) => Err(format!("collector task failed: {join}")),
            Err(_) => {
                abort.abort();
                Err(format!(
                    "collector overran its time budget of {} s",
                    budget.as_secs()
                ))
            }
        };
        let run_outcome = match outcome {
            Ok(facts) => {
                for (id, item) in facts {
                    if let Some(reason) = &item.reason {
                        internal_events::item_unavailable(name, id, reason);
                    }
                    evidence.insert(id.to_string(), item);
                }
                RunOutcome::Ok
            }
            Err(message) => {
                internal_events::collector_failed(name, &message);
                for spec in specs {
                    evidence.insert(
                        spec.id.to_string(),
                        EvidenceItem::unavailable(
                            ItemSource::Syscall(format!("collector {name}")),
                            format!("collector {name} failed: {message}"),
                        ),
                    );
                }
                RunOutcome::Error { message }
            }
        };
        runs.push(CollectorRun {
            name: name.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: started,
            finished_at: ctx.clock.now().max(started),
            outcome: run_outcome,
        });
        progress(Progress {
            run: runs.last().expect("just pushed"),
            done: runs.len(),
            total,
            elapsed: start.elapsed(),
        });
    }
    Collected {
        asset,
        collected_at,
        collectors: runs,
        evidence,
    }
}

/// Every evidence id any source declares (for documentation and checks).
pub fn all_specs() -> Vec<&'static EvidenceSpec> {
    specs_of(REGISTRY)
}

/// Every evidence id the sources of `registry` declare, source by source.
pub fn specs_of(registry: &[Registration]) -> Vec<&'static EvidenceSpec> {
    registry.iter().flat_map(Registration::specs).collect()
}

/// A helper for collectors: the file `abs` as an item source.
pub fn file(abs: &str) -> ItemSource {
    ItemSource::File(abs.to_string())
}

/// Whether `path` exists below the root.
pub fn exists(ctx: &CollectContext, abs: &str) -> bool {
    Path::new(&ctx.path(abs)).exists()
}

/// One fact: its value when it could be read, otherwise an unavailable item with the reason.
pub fn fact<V: Into<serde_json::Value>>(
    id: &'static str,
    source: ItemSource,
    value: Result<V, String>,
) -> (&'static str, EvidenceItem) {
    match value {
        Ok(v) => (id, EvidenceItem::ok(v, source)),
        Err(reason) => (id, EvidenceItem::unavailable(source, reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_evidence::{AssetKind, ItemStatus};

    const OK_SPEC: &[EvidenceSpec] = &[EvidenceSpec {
        id: "test.ok.value",
        value_type: ValueType::Integer,
        meaning: "",
        source: "",
        context_only: None,
    }];
    const PANIC_SPEC: &[EvidenceSpec] = &[EvidenceSpec {
        id: "test.panic.value",
        value_type: ValueType::Integer,
        meaning: "",
        source: "",
        context_only: None,
    }];
    const SLOW_SPEC: &[EvidenceSpec] = &[EvidenceSpec {
        id: "test.slow.value",
        value_type: ValueType::Integer,
        meaning: "",
        source: "",
        context_only: None,
    }];

    struct Good;
    struct Panics;
    struct Slow;

    /// Every evidence id the README and the architecture notes name is one a collector declares
    /// (the README once named `host.os.kernel`, which none did).
    #[test]
    fn evidence_ids_named_in_the_docs_exist() {
        let declared: Vec<&str> = all_specs().iter().map(|s| s.id).collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for doc in ["README.md", "docs/architecture.md", "SECURITY.md"] {
            let text = std::fs::read_to_string(root.join(doc)).unwrap();
            for quoted in text.split('`').skip(1).step_by(2) {
                let is_id = REGISTRY
                    .iter()
                    .any(|r| quoted.starts_with(&format!("{}.", r.name)))
                    && quoted.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
                    })
                    && !quoted.ends_with('.');
                if is_id {
                    assert!(
                        declared.contains(&quoted),
                        "{doc} names `{quoted}`, which no collector declares"
                    );
                }
            }
        }
    }

    /// The volatile ids of the evidence contract are facts a collector declares.
    #[test]
    fn every_volatile_id_is_declared() {
        let declared: Vec<&str> = all_specs().iter().map(|s| s.id).collect();
        for &id in vouch_evidence::VOLATILE_EVIDENCE {
            assert!(is_volatile(id) && declared.contains(&id), "{id}");
        }
        assert!(!is_volatile("host.ssh.password_authentication"));
    }

    #[async_trait]
    impl Collector for Good {
        fn name(&self) -> &'static str {
            "test.ok"
        }
        fn evidence(&self) -> &'static [EvidenceSpec] {
            OK_SPEC
        }
        async fn collect(&self, _: &CollectContext) -> Result<Facts, CollectError> {
            Ok(vec![fact("test.ok.value", file("/x"), Ok::<_, String>(7))])
        }
    }
    #[async_trait]
    impl Collector for Panics {
        fn name(&self) -> &'static str {
            "test.panic"
        }
        fn evidence(&self) -> &'static [EvidenceSpec] {
            PANIC_SPEC
        }
        async fn collect(&self, _: &CollectContext) -> Result<Facts, CollectError> {
            panic!("boom")
        }
    }
    #[async_trait]
    impl Collector for Slow {
        fn name(&self) -> &'static str {
            "test.slow"
        }
        fn evidence(&self) -> &'static [EvidenceSpec] {
            SLOW_SPEC
        }
        async fn collect(&self, _: &CollectContext) -> Result<Facts, CollectError> {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(vec![])
        }
    }

    struct Mixed;
    #[async_trait]
    impl Source for Mixed {
        fn name(&self) -> &'static str {
            "test"
        }
        async fn asset(&self, _: &CollectContext) -> Asset {
            Asset {
                kind: AssetKind::Host,
                id: "t".into(),
                name: "t".into(),
            }
        }
        fn collectors(&self) -> Vec<Arc<dyn Collector>> {
            vec![Arc::new(Good), Arc::new(Panics), Arc::new(Slow)]
        }
        fn context(&self, shutdown: CancellationToken) -> CollectContext {
            CollectContext {
                root: "/".into(),
                deadline: Instant::now() + Duration::from_millis(200),
                shutdown,
                clock: vouch_evidence::Clock::System,
            }
        }
        fn schedule(&self) -> &str {
            "* * * * * *"
        }
    }

    #[tokio::test]
    async fn commands_run_without_a_shell_and_with_a_deadline() {
        let live = CollectContext::for_test("/");
        assert_eq!(
            live.command("/bin/echo", &["a;b", "$HOME"]).await.unwrap(),
            "a;b $HOME\n"
        );
        let env = live.command("/usr/bin/env", &[]).await.unwrap();
        assert!(env.contains("LC_ALL=C") && !env.contains("HOME="), "{env}");
        let failed = live.command("/bin/false", &[]).await.unwrap_err();
        assert!(
            failed.starts_with("`false` failed (exit status: 1)"),
            "{failed}"
        );
        assert_eq!(
            live.command("/nonexistent/sshd", &["-T"])
                .await
                .unwrap_err(),
            "not installed: /nonexistent/sshd"
        );
        let mut short = CollectContext::for_test("/");
        short.deadline = Instant::now() + Duration::from_millis(200);
        let started = Instant::now();
        let late = short.command("/bin/sleep", &["5"]).await.unwrap_err();
        assert!(late.contains("timed out"), "{late}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[tokio::test]
    async fn below_a_fixture_root_commands_replay_their_recorded_output() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(RECORDED_COMMANDS)).unwrap();
        std::fs::write(
            dir.path()
                .join(RECORDED_COMMANDS)
                .join("sshd -T -f %etc%ssh%x"),
            "permitrootlogin no\n",
        )
        .unwrap();
        let ctx = CollectContext::for_test(dir.path());
        assert!(!ctx.is_live());
        let out = ctx
            .command("/usr/sbin/sshd", &["-T", "-f", "/etc/ssh/x"])
            .await;
        assert_eq!(out.unwrap(), "permitrootlogin no\n");
        let absent = ctx.command("/usr/bin/systemctl", &["--failed"]).await;
        assert_eq!(absent.unwrap_err(), "not installed: /usr/bin/systemctl");
    }

    #[tokio::test]
    async fn a_panicking_or_late_collector_fails_alone() {
        let (failures_before, _) = internal_events::counts();
        let c = run_source(&Mixed, &Mixed.context(CancellationToken::new())).await;
        let outcome = |n: &str| {
            c.collectors
                .iter()
                .find(|r| r.name == n)
                .unwrap()
                .outcome
                .clone()
        };
        assert_eq!(outcome("test.ok"), RunOutcome::Ok);
        assert_eq!(
            outcome("test.panic"),
            RunOutcome::Error {
                message: "collector panicked".into()
            }
        );
        assert!(
            matches!(outcome("test.slow"), RunOutcome::Error { message } if message.contains("overran"))
        );
        assert_eq!(c.evidence["test.ok.value"].value, serde_json::json!(7));
        assert_eq!(
            c.evidence["test.panic.value"].status,
            ItemStatus::Unavailable
        );
        assert!(
            c.evidence["test.slow.value"]
                .reason
                .as_deref()
                .unwrap()
                .contains("overran")
        );
        assert!(internal_events::counts().0 >= failures_before + 2);
    }
}
