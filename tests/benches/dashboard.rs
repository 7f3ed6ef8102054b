//! Dashboard benchmark: prints server time per page for the README (issue target ≤ 200 ms;
//! on PostgreSQL, the overview of 10,000 assets in ≤ 300 ms).
//!
//! `cargo bench -p vouch-tests --bench dashboard` builds, in SQLite, 1,000 host assets (900
//! with one snapshot, 100 with hourly snapshots over 90 days: 216,900 signed snapshots of
//! evidence collected from the `debian12-weak` fixture host, its small facts), each judged by
//! the built-in pack a minute after collection (the pack runs once per distinct evidence: a
//! third of the long-lived hosts fix their SSH root login for a week every month, so controls
//! change over time), and the control history recorded day by day as the watcher would. Then
//! it calls each page through the real router (as `oneshot`, with a session cookie) and prints
//! the median of 5 calls: the view of now as the watcher keeps it, the view of now made from
//! scratch, and views as of 45 days ago.
//!
//! Variants, chosen by environment variables (without any, the run above):
//! - `VOUCH_BENCH_ASSETS=n` host assets (default 1,000), of which `VOUCH_BENCH_LONG_LIVED=m`
//!   (default 100) have hourly snapshots over 90 days and the others one snapshot each.
//! - `VOUCH_BENCH_DB=path` keeps the generated SQLite database there and reuses it on the
//!   next run.
//! - `VOUCH_BENCH_POSTGRES_URL=postgres://user@host/db` generates into a fresh PostgreSQL
//!   database in that cluster instead (made by `create_test_database`; the bench prints its
//!   URL), written by 4 tasks at once. `VOUCH_BENCH_DB=` that URL (`postgres://…`) reuses it
//!   on a later run while the cluster lives. With the throwaway cluster of `.ci/with-services`
//!   (dropped on exit), the 10,000-asset run is:
//!   `bash .ci/with-services sh -c 'VOUCH_BENCH_POSTGRES_URL=$VOUCH_TEST_POSTGRES_URL
//!   VOUCH_BENCH_ASSETS=10000 cargo bench -p vouch-tests --bench dashboard'`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use vouch_collectors::host::{HostConfig, HostSource};
use vouch_collectors::{Source, run_source};
use vouch_evidence::{Asset, EvidenceItem, SCHEMA_VERSION, SigningKey, Snapshot, Timestamp};
use vouch_policies::Catalogs;
use vouch_server::auth::Role;
use vouch_server::config::PolicySettings;
use vouch_server::controls::{Policies, history};
use vouch_server::evaluate::Judge;
use vouch_server::state::{AppState, Limits};
use vouch_server::store::postgres::{PgStore, create_test_database};
use vouch_server::store::prelude::*;
use vouch_server::store::sqlite::SqliteStore;
use vouch_server::store::{Evaluation, Store, StoredResult};
use vouch_tests::generate::env_count;

/// Tasks writing the PostgreSQL database at once (each commit waits for its own flush); the
/// SQLite database is written by one, as it always was.
const POSTGRES_WRITERS: u64 = 4;
const HOURS: u64 = 90 * 24;
const HOUR: i64 = 3_600_000_000;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

fn at(us: i64) -> Timestamp {
    Timestamp::from_unix_micros(us).unwrap()
}

async fn run() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hosts/debian12-weak");
    let source = HostSource::new(HostConfig {
        root,
        ..HostConfig::default()
    });
    let collected = run_source(&source, &source.context(CancellationToken::new())).await;
    // The small facts (settings, counts), as most of a host's evidence is.
    let weak: BTreeMap<String, EvidenceItem> = collected
        .evidence
        .iter()
        .filter(|(_, item)| serde_json::to_string(&item.value).unwrap().len() <= 120)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut fixed = weak.clone();
    fixed.insert(
        "host.ssh.permit_root_login".into(),
        EvidenceItem::ok("no", vouch_evidence::Source::Command("sshd -T".into())),
    );

    let fleet = Fleet {
        assets: env_count("VOUCH_BENCH_ASSETS", 1_000),
        long_lived: env_count("VOUCH_BENCH_LONG_LIVED", 100),
    };
    assert!(
        fleet.long_lived <= fleet.assets,
        "VOUCH_BENCH_LONG_LIVED exceeds VOUCH_BENCH_ASSETS"
    );
    let tmp = tempfile::tempdir().unwrap();
    let (store, db, reuse) = open_store(tmp.path()).await;
    let state = AppState::new(
        store.clone(),
        SigningKey::from_seed(&[7; 32]),
        Limits {
            max_body_bytes: 1 << 20,
            clock_skew_secs: 300,
        },
    )
    .await
    .unwrap();
    let policies = Policies::start(
        store.clone(),
        PolicySettings::default(),
        Catalogs::builtin(),
    )
    .await
    .unwrap();
    state.set_policies(policies.clone());
    let judge = policies.in_force();
    let pack_digest = judge.digest().to_string();

    // Results per distinct evidence, computed once by the real pack.
    let template = |evidence: &BTreeMap<String, EvidenceItem>| Snapshot {
        schema_version: SCHEMA_VERSION,
        agent_id: "agt_template".into(),
        asset: collected.asset.clone(),
        collected_at: at(1_790_000_000_000_000),
        sequence: 1,
        previous_digest: None,
        collectors: vec![],
        evidence: evidence.clone(),
    };
    let weak_results: Arc<[StoredResult]> = judge.judge(&template(&weak)).into();
    let fixed_results: Arc<[StoredResult]> = judge.judge(&template(&fixed)).into();

    let end = if reuse {
        store
            .assets()
            .await
            .unwrap()
            .iter()
            .map(|a| a.last_collected_at.unix_micros() / HOUR * HOUR)
            .max()
            .unwrap()
    } else {
        vouch_server::state::now().unix_micros() / HOUR * HOUR
    };
    let start = end - HOURS as i64 * HOUR;
    if reuse {
        println!("reusing {}", db.name());
    } else {
        let generator = Generator {
            store: store.clone(),
            collected: Arc::new(collected),
            weak: (Arc::new(weak), weak_results),
            fixed: (Arc::new(fixed), fixed_results),
            pack_digest,
            start,
            fleet,
        };
        generate(generator, db.writers()).await;
        println!("database {}: {}", db.name(), db.size());
        // The history, as the watcher records it: the view at the end of each day.
        let t = Instant::now();
        let mut known = history::Recorded::new();
        let mut changes = 0;
        for day in 1..=90 {
            let instant = at(start + day * 24 * HOUR - 1);
            let view = policies.controls(Some(instant)).await.unwrap();
            let found = history::changes(&mut known, &view.controls, instant);
            changes += found.len();
            store.record_control_changes(found).await.unwrap();
        }
        println!(
            "control history: {changes} changes recorded over 90 days in {:.0} s",
            t.elapsed().as_secs_f64()
        );
    }
    for (name, instant) in [
        ("now", None),
        ("45 days ago", Some(at(end - 45 * 24 * HOUR))),
    ] {
        let t = Instant::now();
        let n = store.latest_evaluations(instant).await.unwrap().len();
        let read = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        policies.controls(instant.or(Some(at(end)))).await.unwrap();
        println!(
            "view {name}: store read of {n} evaluations {read:.0} ms; whole view {:.0} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    pages(&state, &policies, end, fleet).await;
}

/// How many host assets, and how many of them long-lived. See the module documentation.
#[derive(Clone, Copy)]
struct Fleet {
    assets: u64,
    long_lived: u64,
}

/// Where the generated data is.
enum Db {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Db {
    fn name(&self) -> String {
        match self {
            Db::Sqlite(path) => format!("SQLite {}", path.display()),
            Db::Postgres(url) => format!("PostgreSQL {url}"),
        }
    }

    fn writers(&self) -> u64 {
        match self {
            Db::Sqlite(_) => 1,
            Db::Postgres(_) => POSTGRES_WRITERS,
        }
    }

    /// The size on disk (of a PostgreSQL database as `psql` reports it, if it is installed).
    fn size(&self) -> String {
        let bytes = match self {
            Db::Sqlite(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
            Db::Postgres(url) => {
                let out = std::process::Command::new("psql")
                    .args([url.as_str(), "-Atc"])
                    .arg("SELECT pg_database_size(current_database())")
                    .output();
                match out.ok().and_then(|o| String::from_utf8(o.stdout).ok()) {
                    Some(n) if n.trim().parse::<u64>().is_ok() => n.trim().parse().unwrap(),
                    _ => return "size unknown (no psql)".into(),
                }
            }
        };
        format!("{:.2} GB", bytes as f64 / 1e9)
    }
}

/// The store the bench generates into or reuses, which it is, and whether it is reused. See
/// the module documentation.
async fn open_store(tmp: &std::path::Path) -> (Arc<dyn Store>, Db, bool) {
    let db = std::env::var("VOUCH_BENCH_DB")
        .ok()
        .filter(|s| !s.is_empty());
    let base = std::env::var("VOUCH_BENCH_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty());
    let db = match (db, base) {
        (Some(url), _) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Db::Postgres(url)
        }
        (Some(_), Some(_)) => {
            panic!("VOUCH_BENCH_DB with VOUCH_BENCH_POSTGRES_URL must be a postgres:// URL")
        }
        (None, Some(base)) => Db::Postgres(create_test_database(&base).await.unwrap()),
        (path, None) => Db::Sqlite(path.map_or_else(|| tmp.join("vouch.db"), Into::into)),
    };
    match db {
        Db::Sqlite(path) => {
            let reuse = path.exists();
            let store = Arc::new(SqliteStore::open(&path).unwrap());
            (store, Db::Sqlite(path), reuse)
        }
        Db::Postgres(url) => {
            let store = Arc::new(PgStore::connect(&url).await.unwrap());
            let reuse = !store.assets().await.unwrap().is_empty();
            (store, Db::Postgres(url), reuse)
        }
    }
}

/// What [`generate`] needs, shared by its writers.
#[derive(Clone)]
struct Generator {
    store: Arc<dyn Store>,
    collected: Arc<vouch_collectors::Collected>,
    weak: (Arc<BTreeMap<String, EvidenceItem>>, Arc<[StoredResult]>),
    fixed: (Arc<BTreeMap<String, EvidenceItem>>, Arc<[StoredResult]>),
    pack_digest: String,
    start: i64,
    fleet: Fleet,
}

/// Stores the snapshots and their evaluations, by `writers` tasks each taking every
/// `writers`-th asset. See the module documentation.
async fn generate(g: Generator, writers: u64) {
    let t = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let g = g.clone();
            tokio::spawn(async move { write_assets(&g, w, writers).await })
        })
        .collect();
    let (mut stored, mut bytes) = (0u64, 0usize);
    for task in tasks {
        let (n, b) = task.await.unwrap();
        stored += n;
        bytes += b;
    }
    println!(
        "stored and judged {stored} snapshots ({} evidence items, {} B envelopes, {} results each) of {} assets in {:.0} s",
        g.weak.0.len(),
        bytes / stored as usize,
        g.weak.1.len(),
        g.fleet.assets,
        t.elapsed().as_secs_f64(),
    );
}

/// Stores assets `first`, `first + step`, …: their snapshots and evaluations. Answers how many
/// snapshots and envelope bytes.
async fn write_assets(g: &Generator, first: u64, step: u64) -> (u64, usize) {
    let Fleet { assets, long_lived } = g.fleet;
    let start = g.start;
    let mut stored = 0u64;
    let mut bytes = 0usize;
    let mut batch = Vec::new();
    for a in (first..assets).step_by(step as usize) {
        let key = SigningKey::from_seed(&[(a % 250) as u8 + 1; 32]);
        let agent_id = format!("agt_bench{a:011}");
        let asset = Asset {
            id: format!("host-{a:04}"),
            name: format!("web-{a:04}"),
            ..g.collected.asset.clone()
        };
        let hours: Vec<u64> = if a < long_lived {
            (0..HOURS).collect()
        } else {
            vec![HOURS - 1 - a % 24]
        };
        let mut previous = None;
        for (i, hour) in hours.iter().enumerate() {
            let collected_at = at(start + *hour as i64 * HOUR + a as i64 * 1_000_000);
            // A third of the long-lived hosts fix SSH for the second week of each month.
            let day = hour / 24;
            let fixed_now = a < long_lived && a % 3 == 0 && (day % 30) / 7 == 1;
            let (evidence, results) = if fixed_now { &g.fixed } else { &g.weak };
            let sequence = i as u64 + 1;
            let snapshot = vouch_tests::generate::replayed(
                &g.collected,
                &agent_id,
                &asset,
                collected_at,
                sequence,
                previous,
                evidence.as_ref().clone(),
            );
            let received = at(collected_at.unix_micros() + 2_000_000);
            let (digest, size) =
                vouch_tests::generate::store_signed(g.store.as_ref(), &snapshot, &key, received)
                    .await;
            bytes += size;
            batch.push(Evaluation {
                digest,
                pack_digest: g.pack_digest.clone(),
                evaluated_at: at(collected_at.unix_micros() + 60_000_000),
                run_id: None,
                results: results.clone(),
            });
            if batch.len() == 2_000 {
                g.store
                    .record_evaluations(std::mem::take(&mut batch))
                    .await
                    .unwrap();
            }
            previous = Some(digest);
            stored += 1;
        }
    }
    g.store.record_evaluations(batch).await.unwrap();
    (stored, bytes)
}

/// Calls each page; prints the medians. See the module documentation.
async fn pages(state: &AppState, policies: &Arc<Policies>, end: i64, fleet: Fleet) {
    let app = vouch_server::app(state.clone());
    let token = state
        .create_api_token(Role::Auditor, "bench")
        .await
        .unwrap();
    let login = app
        .clone()
        .oneshot(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                // The sign-in form's CSRF token, in its cookie and in the form.
                .header(
                    header::COOKIE,
                    format!("{}=bench", vouch_server::session::LOGIN_CSRF_COOKIE),
                )
                .body(Body::from(format!("csrf=bench&token={token}")))
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = login
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|c| c.starts_with(&format!("{}=", vouch_server::session::COOKIE)))
        .expect("a session cookie from /login")
        .to_string();
    let past = at(end - 45 * 24 * HOUR).to_string();
    let day_ago = at(end - 24 * HOUR).to_string()[..10].to_string();
    let today = at(end + 24 * HOUR).to_string()[..10].to_string();
    let pages: Vec<(String, String)> = vec![
        ("overview".into(), "/".into()),
        (
            "controls".into(),
            "/controls?framework=iso27001-2022".into(),
        ),
        (
            "a control (A.8.5)".into(),
            "/controls/iso27001-2022/A.8.5".into(),
        ),
        (
            "Statement of Applicability".into(),
            "/reports/soa?framework=iso27001-2022".into(),
        ),
        ("assets".into(), "/assets".into()),
        (
            "assets failing a policy".into(),
            "/assets?status=failing".into(),
        ),
        (
            if fleet.long_lived > 0 {
                "an asset with 2,160 snapshots".into()
            } else {
                "an asset with 1 snapshot".into()
            },
            "/assets/host/host-0000".into(),
        ),
        (
            "overview as of 45 days ago".into(),
            format!("/?as_of={past}"),
        ),
        (
            "a control as of 45 days ago".into(),
            format!("/controls/iso27001-2022/A.8.5?as_of={past}"),
        ),
        (
            "an asset as of 45 days ago".into(),
            format!("/assets/host/host-0000?as_of={past}"),
        ),
        (
            "period report (one day)".into(),
            format!("/reports/period?framework=iso27001-2022&from={day_ago}&to={today}"),
        ),
    ];
    let call = |path: String| {
        let app = app.clone();
        let cookie = cookie.clone();
        async move {
            let t = Instant::now();
            let resp = app
                .oneshot(
                    Request::get(path.as_str())
                        .header(header::COOKIE, cookie)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let ms = t.elapsed().as_secs_f64() * 1e3;
            assert_eq!(
                status,
                StatusCode::OK,
                "{path}: {}",
                String::from_utf8_lossy(&body)
            );
            (ms, body.len())
        }
    };
    println!("page (server time, median of 5)            view of now kept   made from scratch");
    for (name, path) in &pages {
        let mut warm = Vec::new();
        let mut cold = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let _ = policies.controls(None).await.unwrap(); // as the watcher keeps it
            let (ms, n) = call(path.clone()).await;
            warm.push(ms);
            size = n;
            policies.touched(); // as after new results: the page makes the view itself
            cold.push(call(path.clone()).await.0);
        }
        warm.sort_by(f64::total_cmp);
        cold.sort_by(f64::total_cmp);
        println!(
            "{name:<42} {:>8.1} ms {:>15.1} ms   ({} KB)",
            warm[2],
            cold[2],
            size / 1024
        );
        // For `bench` (vouch-tests).
        let figure = match path.as_str() {
            "/" => Some("overview"),
            "/controls/iso27001-2022/A.8.5" => Some("control_page"),
            _ => None,
        };
        if let Some(figure) = figure {
            println!("bench-figure {figure}_kept {:.2} ms", warm[2]);
            println!("bench-figure {figure}_from_scratch {:.2} ms", cold[2]);
        }
    }
}

/// The allocator of the `vouch` binary, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
