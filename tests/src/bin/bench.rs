//! `bench`: every performance figure of the README's targets in one run, each the median of
//! several runs on fresh data, printed as a table and written as JSON.
//!
//! ```text
//! cargo run --release -p vouch-tests --bin bench -- all            # about 30 minutes
//! cargo run --release -p vouch-tests --bin bench -- --quick all    # under 5 minutes
//! cargo run --release -p vouch-tests --bin bench -- eval ingest-sqlite
//! bash .ci/with-services cargo run --release -p vouch-tests --bin bench -- all   # with PostgreSQL
//! ```
//!
//! Options: `--quick` (smaller loads, for a before/after check on a branch), `--runs N` (3),
//! `--out DIR` (`target/bench`: the JSON, and each run's output under `logs/`).
//!
//! Each scenario is a real process: the benches of the crates (`cargo bench`, whose lines
//! starting `bench-figure NAME VALUE UNIT` this collects), `vouch serve` with `vouch loadgen`
//! over loopback HTTPS, and concurrent readers of a served control page. `ingest-postgres`
//! runs only where `.ci/with-services` set `VOUCH_TEST_POSTGRES_URL` and `VOUCH_TEST_MOTO_URL`;
//! `served` reads the database `dashboard` generated, so it runs after it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use serde_json::json;
use vouch_tests::process::{ServeProcess, binary, cargo_command, workspace};

/// What a figure should be (the issue's targets).
#[derive(Clone, Copy)]
enum Goal {
    AtLeast(f64),
    AtMost(f64),
    /// Shown for context, no target.
    Context,
}

impl Goal {
    fn met(self, value: f64) -> Option<bool> {
        match self {
            Goal::AtLeast(g) => Some(value >= g),
            Goal::AtMost(g) => Some(value <= g),
            Goal::Context => None,
        }
    }

    fn text(self) -> String {
        match self {
            Goal::AtLeast(g) => format!(">= {g}"),
            Goal::AtMost(g) => format!("<= {g}"),
            Goal::Context => "-".into(),
        }
    }
}

/// The figures of the table, in its order: name, what it is, its goal.
const FIGURES: &[(&str, &str, Goal)] = &[
    (
        "ingest_sqlite",
        "ingest, SQLite, HTTPS, loadgen (accepted/s)",
        Goal::AtLeast(10_000.0),
    ),
    ("ingest_sqlite_p99", "  its p99 latency", Goal::AtMost(50.0)),
    (
        "ingest_postgres",
        "ingest, PostgreSQL + S3 (moto) (accepted/s)",
        Goal::AtLeast(8_000.0),
    ),
    ("ingest_postgres_p99", "  its p99 latency", Goal::Context),
    (
        "verify_signatures_only",
        "verify --signatures-only, every core",
        Goal::AtLeast(20_000.0),
    ),
    (
        "pack_one_host_snapshot",
        "whole pack on one host snapshot (median)",
        Goal::AtMost(0.7),
    ),
    ("pack_load", "  loading the pack", Goal::Context),
    (
        "judged_on_arrival_10000",
        "10,000 snapshots judged on arrival",
        Goal::AtMost(6.0),
    ),
    ("judged_on_arrival_each", "  per snapshot", Goal::Context),
    (
        "overview_from_scratch",
        "overview made from scratch",
        Goal::AtMost(300.0),
    ),
    (
        "overview_kept",
        "  overview, view of now kept",
        Goal::Context,
    ),
    (
        "control_page_from_scratch",
        "control page made from scratch",
        Goal::Context,
    ),
    (
        "control_page_p99_50_readers",
        "control page, 50 readers over HTTPS, p99",
        Goal::AtMost(100.0),
    ),
    (
        "control_page_rate_50_readers",
        "  pages served per second",
        Goal::Context,
    ),
    (
        "server_rss",
        "server RSS after serving the fleet's pages",
        Goal::AtMost(300.0),
    ),
    ("server_peak_rss", "  its peak (VmHWM)", Goal::Context),
    ("agent_idle_rss", "agent idle RSS", Goal::AtMost(10.0)),
    ("agent_peak_rss", "  its peak", Goal::Context),
    (
        "host_collection_cold_wall",
        "host collection, cold, wall",
        Goal::AtMost(30.0),
    ),
    (
        "host_collection_cold_cpu",
        "host collection, cold, CPU",
        Goal::AtMost(20.0),
    ),
];

const SCENARIOS: &[&str] = &[
    "ingest-sqlite",
    "ingest-postgres",
    "verify",
    "eval",
    "judge",
    "dashboard",
    "served",
    "agent-rss",
    "collect",
];

/// The sizes of one mode.
struct Sizes {
    loadgen: (usize, u64),
    verify_envelopes: u64,
    eval_rounds: u64,
    judge_per_host: u64,
    assets: u64,
    long_lived: u64,
    readers: usize,
    reads_each: usize,
}

const FULL: Sizes = Sizes {
    loadgen: (100, 100),
    verify_envelopes: 10_000,
    eval_rounds: 500,
    judge_per_host: 100,
    // 9,900 hosts with one snapshot and 100 hourly over 90 days: 225,900 snapshots, 4.4 GB.
    // What the views hold grows with the assets (each one's newest results), not with the
    // snapshots; `VOUCH_BENCH_LONG_LIVED=460` makes 1,003,140 (about 19 GB, 15 minutes).
    assets: 10_000,
    long_lived: 100,
    readers: 50,
    reads_each: 40,
};

const QUICK: Sizes = Sizes {
    loadgen: (20, 50),
    verify_envelopes: 2_000,
    eval_rounds: 100,
    judge_per_host: 10,
    assets: 1_000,
    long_lived: 5,
    readers: 50,
    reads_each: 10,
};

struct Bench {
    sizes: &'static Sizes,
    out: PathBuf,
    work: tempfile::TempDir,
    figures: BTreeMap<String, (String, Vec<f64>)>,
    failures: Vec<String>,
    runtime: tokio::runtime::Runtime,
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut quick = false;
    let mut runs = 3usize;
    let mut out = workspace().join("target/bench");
    let mut chosen = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            "--out" => out = args.next().map(PathBuf::from).unwrap_or(out),
            "all" => chosen.extend(SCENARIOS.iter().map(|s| s.to_string())),
            s if SCENARIOS.contains(&s) => chosen.push(s.to_string()),
            other => {
                eprintln!(
                    "unknown argument {other:?}; usage: bench [--quick] [--runs N] [--out DIR] all | {}",
                    SCENARIOS.join(" | ")
                );
                return ExitCode::from(2);
            }
        }
    }
    if chosen.is_empty() || runs == 0 {
        eprintln!(
            "usage: bench [--quick] [--runs N] [--out DIR] all | {}",
            SCENARIOS.join(" | ")
        );
        return ExitCode::from(2);
    }
    std::fs::create_dir_all(out.join("logs")).expect("the output directory");
    let mut bench = Bench {
        sizes: if quick { &QUICK } else { &FULL },
        out,
        work: tempfile::tempdir().expect("a work directory"),
        figures: BTreeMap::new(),
        failures: Vec::new(),
        runtime: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime"),
    };
    let started = Instant::now();
    for scenario in SCENARIOS.iter().filter(|s| chosen.iter().any(|c| c == *s)) {
        let t = Instant::now();
        eprintln!("== {scenario}");
        if let Err(e) = bench.scenario(scenario, runs) {
            eprintln!("   {scenario} failed: {e}");
            bench.failures.push(format!("{scenario}: {e}"));
        }
        eprintln!("   {scenario}: {:.0} s", t.elapsed().as_secs_f64());
    }
    let table = bench.table(quick, runs, started.elapsed());
    print!("{table}");
    let path = bench.out.join(if quick {
        "bench-quick.json"
    } else {
        "bench.json"
    });
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&bench.json(quick, runs)).unwrap(),
    )
    .expect("write the JSON");
    std::fs::write(path.with_extension("txt"), &table).expect("write the table");
    eprintln!("written: {} and the table beside it", path.display());
    if bench.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

type Result<T> = std::result::Result<T, String>;

impl Bench {
    fn scenario(&mut self, name: &str, runs: usize) -> Result<()> {
        let s = self.sizes;
        for run in 1..=runs {
            let log = self.out.join(format!("logs/{name}-{run}.log"));
            let figures = match name {
                "ingest-sqlite" => self.ingest(None, &log)?,
                "ingest-postgres" => {
                    let (Ok(pg), Ok(_)) = (
                        std::env::var("VOUCH_TEST_POSTGRES_URL"),
                        std::env::var("VOUCH_TEST_MOTO_URL"),
                    ) else {
                        eprintln!(
                            "   skipped: run under `bash .ci/with-services` for PostgreSQL and moto"
                        );
                        return Ok(());
                    };
                    self.ingest(Some(&pg), &log)?
                }
                "verify" => cargo(
                    &["run", "-p", "vouch-server", "--example", "verify_rate"],
                    &[&s.verify_envelopes.to_string()],
                    &[],
                    &log,
                )?,
                "eval" => cargo(
                    &["bench", "-p", "vouch-policies", "--bench", "eval"],
                    &[],
                    &[("VOUCH_BENCH_ROUNDS", s.eval_rounds.to_string())],
                    &log,
                )?,
                "judge" => cargo(
                    &["bench", "-p", "vouch-tests", "--bench", "reevaluate"],
                    &[],
                    &[("VOUCH_BENCH_PER_HOST", s.judge_per_host.to_string())],
                    &log,
                )?,
                // The first run generates the fleet; the others read it again.
                "dashboard" => cargo(
                    &["bench", "-p", "vouch-tests", "--bench", "dashboard"],
                    &[],
                    &[
                        ("VOUCH_BENCH_DB", self.fleet_db().display().to_string()),
                        ("VOUCH_BENCH_ASSETS", s.assets.to_string()),
                        (
                            "VOUCH_BENCH_LONG_LIVED",
                            std::env::var("VOUCH_BENCH_LONG_LIVED")
                                .unwrap_or_else(|_| s.long_lived.to_string()),
                        ),
                    ],
                    &log,
                )?,
                "served" => self.served(&log)?,
                "agent-rss" => cargo(
                    &["bench", "-p", "vouch-agent", "--bench", "rss"],
                    &[],
                    &[],
                    &log,
                )?,
                "collect" => cargo(
                    &["bench", "-p", "vouch-agent", "--bench", "collect"],
                    &[],
                    &[("VOUCH_BENCH_LYNIS", "0".into())],
                    &log,
                )?,
                other => return Err(format!("no scenario {other}")),
            };
            if figures.is_empty() {
                return Err(format!("no figures in {}", log.display()));
            }
            for (figure, value, unit) in figures {
                eprintln!("   run {run}: {figure} {value} {unit}");
                let entry = self.figures.entry(figure).or_insert((unit, Vec::new()));
                entry.1.push(value);
            }
        }
        Ok(())
    }

    /// Where `dashboard` keeps the fleet it generates, as the data directory `served` serves.
    fn fleet_db(&self) -> PathBuf {
        let dir = self.work.path().join("fleet/data");
        std::fs::create_dir_all(&dir).expect("the fleet's directory");
        dir.join("vouch.db")
    }

    /// `vouch serve` on a fresh data directory (SQLite, or a fresh PostgreSQL database with a
    /// fresh Object Lock bucket in moto), loaded by `vouch loadgen`.
    fn ingest(&self, postgres: Option<&str>, log: &Path) -> Result<Vec<(String, f64, String)>> {
        let dir = tempfile::tempdir_in(self.work.path()).map_err(|e| e.to_string())?;
        let (agents, per_agent) = self.sizes.loadgen;
        let prefix = if postgres.is_some() {
            "ingest_postgres"
        } else {
            "ingest_sqlite"
        };
        self.runtime.block_on(async {
            let mut extra = String::new();
            let mut env = Vec::new();
            let url;
            if let Some(base) = postgres {
                url = vouch_server::store::postgres::create_test_database(base)
                    .await
                    .map_err(|e| e.to_string())?;
                let objects = vouch_tests::objects::bucket(Some(1)).await;
                writeln!(
                    extra,
                    "database_url = {url:?}\n[objects]\nbucket = {:?}\nendpoint_url = {:?}\npath_style = true\nregion = \"us-east-1\"\n[objects.lock]\nmode = \"compliance\"\ndays = 1",
                    objects.bucket,
                    objects.endpoint_url.unwrap_or_default()
                )
                .unwrap();
                env = vec![
                    // For `vouch token create`, which reads no configuration file.
                    ("VOUCH_DATABASE_URL", url.as_str()),
                    ("AWS_ACCESS_KEY_ID", "testing"),
                    ("AWS_SECRET_ACCESS_KEY", "testing"),
                    ("AWS_REGION", "us-east-1"),
                ];
            }
            // Every agent of the load enrols from this one address: lift the per-address
            // enrolment limit that protects a real server.
            extra.push_str("[connections]\nenroll_per_minute = 1000000\n");
            let server = ServeProcess::start(dir.path(), &extra, &env).await;
            let token = dir.path().join("admin.token");
            std::fs::write(&token, server.token("admin", &[])).map_err(|e| e.to_string())?;
            // CPU time of the server and of loadgen (this process's waited-for children),
            // apart: both share the machine's two cores, so the rate is bound by their sum.
            let server_pid = server.pid().ok_or("the server is not running")?;
            let server_before = cpu_seconds(&format!("/proc/{server_pid}/stat"), false)?;
            let loadgen_before = cpu_seconds("/proc/self/stat", true)?;
            let out = Command::new(binary("vouch", "vouch"))
                .args(["loadgen", "--server", &server.url, "--ca"])
                .arg(server.ca_path())
                .arg("--token-file")
                .arg(&token)
                .args(["--agents", &agents.to_string()])
                .args(["--snapshots-per-agent", &per_agent.to_string()])
                .args(["--evidence-items", "100", "--concurrency", "64", "--json"])
                .output()
                .map_err(|e| e.to_string())?;
            std::fs::write(log, [&out.stdout[..], &out.stderr[..]].concat()).ok();
            let report: serde_json::Value = serde_json::from_slice(&out.stdout)
                .map_err(|e| format!("loadgen answered no report ({e}); see {}", log.display()))?;
            if !out.status.success() {
                return Err(format!("loadgen: submissions refused: {}", report["rejected"]));
            }
            let server_cpu = cpu_seconds(&format!("/proc/{server_pid}/stat"), false)? - server_before;
            let loadgen_cpu = cpu_seconds("/proc/self/stat", true)? - loadgen_before;
            let number = |v: &serde_json::Value| v.as_f64().ok_or("loadgen's report lacks a figure");
            let accepted = number(&report["accepted"])?.max(1.0);
            Ok(vec![
                (prefix.to_string(), number(&report["accepted_per_sec"])?, "/s".into()),
                (format!("{prefix}_p99"), number(&report["latency_ms"][2])?, "ms".into()),
                (
                    format!("{prefix}_server_cpu"),
                    server_cpu * 1e6 / accepted,
                    "µs/snapshot".into(),
                ),
                (
                    format!("{prefix}_loadgen_cpu"),
                    loadgen_cpu * 1e6 / accepted,
                    "µs/snapshot".into(),
                ),
            ])
        })
    }

    /// `vouch serve` on the fleet `dashboard` generated: 50 readers of a control page over
    /// HTTPS at once, then the server's resident memory.
    fn served(&self, log: &Path) -> Result<Vec<(String, f64, String)>> {
        if !self.fleet_db().exists() {
            return Err("no fleet: run the dashboard scenario first".into());
        }
        let Sizes {
            readers,
            reads_each,
            ..
        } = *self.sizes;
        self.runtime.block_on(async {
            let dir = self.work.path().join("fleet");
            let mut server = ServeProcess::start(&dir, "", &[]).await;
            let token = server.token("auditor", &[]);
            let client = reqwest::Client::builder()
                .add_root_certificate(
                    reqwest::Certificate::from_pem(&server.ca_pem()).map_err(|e| e.to_string())?,
                )
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| e.to_string())?;
            let login = client
                .post(format!("{}/login", server.url))
                // The sign-in form's CSRF token, in its cookie and in the form.
                .header(
                    reqwest::header::COOKIE,
                    format!("{}=bench", vouch_server::session::LOGIN_CSRF_COOKIE),
                )
                .form(&[("csrf", "bench"), ("token", token.as_str())])
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let cookie = login
                .headers()
                .get_all(reqwest::header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok()?.split(';').next())
                .find(|c| c.starts_with(&format!("{}=", vouch_server::session::COOKIE)))
                .ok_or("no session cookie from /login")?
                .to_string();
            let page = format!("{}/controls/iso27001-2022/A.8.5", server.url);
            let get = |client: reqwest::Client, cookie: String, page: String| async move {
                let t = Instant::now();
                let resp = client
                    .get(&page)
                    .header(reqwest::header::COOKIE, cookie)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = resp.status();
                resp.bytes().await.map_err(|e| e.to_string())?;
                if !status.is_success() {
                    return Err(format!("{page}: {status}"));
                }
                Ok::<f64, String>(t.elapsed().as_secs_f64() * 1e3)
            };
            // The overview and the controls once, as a reader's first visit makes them.
            for path in ["/", "/controls?framework=iso27001-2022", "/assets"] {
                get(client.clone(), cookie.clone(), format!("{}{path}", server.url)).await?;
            }
            let started = Instant::now();
            let tasks: Vec<_> = (0..readers)
                .map(|_| {
                    let (client, cookie, page) = (client.clone(), cookie.clone(), page.clone());
                    tokio::spawn(async move {
                        let mut times = Vec::with_capacity(reads_each);
                        for _ in 0..reads_each {
                            times.push(get(client.clone(), cookie.clone(), page.clone()).await?);
                        }
                        Ok::<_, String>(times)
                    })
                })
                .collect();
            let mut times = Vec::new();
            for task in tasks {
                times.extend(task.await.map_err(|e| e.to_string())??);
            }
            let took = started.elapsed().as_secs_f64();
            times.sort_by(f64::total_cmp);
            let p99 = times[(times.len() - 1) * 99 / 100];
            tokio::time::sleep(Duration::from_secs(2)).await;
            let pid = server.pid().ok_or("the server stopped")?;
            let rss = status_mb(pid, "VmRSS:")?;
            let peak = status_mb(pid, "VmHWM:")?;
            server.stop();
            std::fs::write(
                log,
                format!(
                    "{} reads of {page} by {readers} readers in {took:.2} s; p50 {:.1} ms, p99 {p99:.1} ms, max {:.1} ms; RSS {rss:.1} MB, peak {peak:.1} MB\n\nserver log:\n{}",
                    times.len(),
                    times[times.len() / 2],
                    times[times.len() - 1],
                    server.log()
                ),
            )
            .ok();
            Ok(vec![
                ("control_page_p99_50_readers".into(), p99, "ms".into()),
                ("control_page_rate_50_readers".into(), times.len() as f64 / took, "/s".into()),
                ("server_rss".into(), rss, "MB".into()),
                ("server_peak_rss".into(), peak, "MB".into()),
            ])
        })
    }

    fn table(&self, quick: bool, runs: usize, took: Duration) -> String {
        let mut t = format!(
            "{} run, {runs} runs each, {:.0} s, {} cores\n{:<46} {:>10} {:>12} {:>25} {:>5}\n",
            if quick { "quick" } else { "full" },
            took.as_secs_f64(),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            "figure",
            "target",
            "median",
            "spread (min-max)",
            "met"
        );
        for (name, what, goal) in FIGURES {
            let Some((unit, values)) = self.figures.get(*name) else {
                continue;
            };
            let (median, min, max) = summary(values);
            let met = match goal.met(median) {
                Some(true) => "yes",
                Some(false) => "no",
                None => "",
            };
            writeln!(
                t,
                "{what:<46} {:>10} {:>9} {unit:<2} {:>25} {met:>5}",
                goal.text(),
                round(median),
                format!("{}-{} {unit}", round(min), round(max)),
            )
            .unwrap();
        }
        for f in &self.failures {
            writeln!(t, "FAILED {f}").unwrap();
        }
        t
    }

    fn json(&self, quick: bool, runs: usize) -> serde_json::Value {
        let commit = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(workspace())
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let figures: Vec<_> = FIGURES
            .iter()
            .filter_map(|(name, what, goal)| {
                let (unit, values) = self.figures.get(*name)?;
                let (median, min, max) = summary(values);
                Some(json!({
                    "name": name, "what": what.trim(), "unit": unit, "target": goal.text(),
                    "met": goal.met(median), "median": median, "min": min, "max": max,
                    "values": values,
                }))
            })
            .collect();
        json!({
            "quick": quick,
            "runs": runs,
            "commit": commit,
            "unix_time": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "figures": figures,
            "failures": self.failures,
        })
    }
}

/// Median, lowest and highest.
fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Three significant figures, for the table.
fn round(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn status_mb(pid: u32, field: &str) -> Result<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .ok_or_else(|| format!("no {field} for process {pid}"))
}

/// Runs `cargo ARGS… -- EXTRA…` (release builds: `cargo bench`, or `run --release`) in the workspace with `env`; keeps its output
/// in `log` and answers its `bench-figure` lines.
fn cargo(
    args: &[&str],
    extra: &[&str],
    env: &[(&str, String)],
    log: &Path,
) -> Result<Vec<(String, f64, String)>> {
    let mut cmd = cargo_command();
    cmd.args(args);
    if args[0] == "run" {
        cmd.arg("--release");
    }
    cmd.args(["--locked", "--quiet"]);
    if !extra.is_empty() {
        cmd.arg("--").args(extra);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    std::fs::write(log, [&out.stdout[..], b"\n", &out.stderr[..]].concat()).ok();
    if !out.status.success() {
        return Err(format!("{cmd:?} failed; see {}", log.display()));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.strip_prefix("bench-figure ")?.split_whitespace();
            let name = parts.next()?.to_string();
            let value = parts.next()?.parse().ok()?;
            Some((name, value, parts.next().unwrap_or("").to_string()))
        })
        .collect())
}

/// User plus system CPU seconds in a `/proc/<pid>/stat` file: the process's own, or
/// (`children`) that of its children it has waited for. /proc counts in USER_HZ ticks, which
/// Linux fixes at 100 a second for user space.
fn cpu_seconds(stat: &str, children: bool) -> Result<f64> {
    let text = std::fs::read_to_string(stat).map_err(|e| format!("{stat}: {e}"))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| format!("{stat}: no command name"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) or 16 and 17 (cutime, cstime), counted from 1 with the
    // pid and the name as 1 and 2: here from 0 after the name, so 11, 12 or 13, 14.
    let at = if children { 13 } else { 11 };
    let tick = |i: usize| -> Result<f64> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| format!("{stat}: field {} unreadable", i + 3))
    };
    Ok((tick(at)? + tick(at + 1)?) / 100.0)
}
