//! Dashboard benchmark: prints server time per page for the README (issue target ≤ 200 ms).
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
use vouch_server::store::sqlite::SqliteStore;
use vouch_server::store::{Evaluation, Store};

const ASSETS: u64 = 1_000;
const LONG_LIVED: u64 = 100;
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

    // VOUCH_BENCH_DB=path keeps the generated database there and reuses it on the next run.
    let tmp = tempfile::tempdir().unwrap();
    let db_path = std::env::var_os("VOUCH_BENCH_DB")
        .map_or_else(|| tmp.path().join("vouch.db"), std::path::PathBuf::from);
    let reuse = db_path.exists();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db_path).unwrap());
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
    let weak_results = judge.judge(&template(&weak));
    let fixed_results = judge.judge(&template(&fixed));

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
    if !reuse {
        generate(
            &store,
            &collected,
            (&weak, &weak_results),
            (&fixed, &fixed_results),
            &pack_digest,
            start,
        )
        .await;
        let db = std::fs::metadata(&db_path).map_or(0, |m| m.len());
        println!("database {:.2} GB", db as f64 / 1e9);
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
    pages(&state, &policies, end).await;
}

/// Stores the snapshots and their evaluations. See the module documentation.
async fn generate(
    store: &Arc<dyn Store>,
    collected: &vouch_collectors::Collected,
    (weak, weak_results): (
        &BTreeMap<String, EvidenceItem>,
        &Vec<vouch_server::store::StoredResult>,
    ),
    (fixed, fixed_results): (
        &BTreeMap<String, EvidenceItem>,
        &Vec<vouch_server::store::StoredResult>,
    ),
    pack_digest: &str,
    start: i64,
) {
    let t = Instant::now();
    let mut stored = 0u64;
    let mut bytes = 0usize;
    let mut batch = Vec::new();
    for a in 0..ASSETS {
        let key = SigningKey::from_seed(&[(a % 250) as u8 + 1; 32]);
        let agent_id = format!("agt_bench{a:011}");
        let asset = Asset {
            id: format!("host-{a:04}"),
            name: format!("web-{a:04}"),
            ..collected.asset.clone()
        };
        let hours: Vec<u64> = if a < LONG_LIVED {
            (0..HOURS).collect()
        } else {
            vec![HOURS - 1 - a % 24]
        };
        let mut previous = None;
        for (i, hour) in hours.iter().enumerate() {
            let collected_at = at(start + *hour as i64 * HOUR + a as i64 * 1_000_000);
            // A third of the long-lived hosts fix SSH for the second week of each month.
            let day = hour / 24;
            let fixed_now = a < LONG_LIVED && a % 3 == 0 && (day % 30) / 7 == 1;
            let (evidence, results) = if fixed_now {
                (fixed, fixed_results)
            } else {
                (weak, weak_results)
            };
            let sequence = i as u64 + 1;
            let snapshot = vouch_tests::generate::replayed(
                collected,
                &agent_id,
                &asset,
                collected_at,
                sequence,
                previous,
                evidence.clone(),
            );
            let received = at(collected_at.unix_micros() + 2_000_000);
            let (digest, size) =
                vouch_tests::generate::store_signed(store.as_ref(), &snapshot, &key, received)
                    .await;
            bytes += size;
            batch.push(Evaluation {
                digest,
                pack_digest: pack_digest.to_string(),
                evaluated_at: at(collected_at.unix_micros() + 60_000_000),
                run_id: None,
                results: results.clone(),
            });
            if batch.len() == 2_000 {
                store
                    .record_evaluations(std::mem::take(&mut batch))
                    .await
                    .unwrap();
            }
            previous = Some(digest);
            stored += 1;
        }
    }
    store.record_evaluations(batch).await.unwrap();
    println!(
        "stored and judged {stored} snapshots ({} evidence items, {} B envelopes, {} results each) of {ASSETS} assets in {:.0} s",
        weak.len(),
        bytes / stored as usize,
        weak_results.len(),
        t.elapsed().as_secs_f64(),
    );
}

/// Calls each page; prints the medians. See the module documentation.
async fn pages(state: &AppState, policies: &Arc<Policies>, end: i64) {
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
                .body(Body::from(format!("token={token}")))
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = login.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
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
            "an asset with 2,160 snapshots".into(),
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
    }
}
