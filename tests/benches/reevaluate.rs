//! Evaluation benchmark: prints figures for the README.
//!
//! `cargo bench -p vouch-tests --bench reevaluate` stores 10,000 signed snapshots of real host
//! evidence (the collectors run on the `debian12-weak` fixture host; 100 hosts × 100 snapshots)
//! in SQLite, then measures, with the built-in pack on every core of this machine:
//! - evaluation on arrival of all 10,000 (the server's background worker);
//! - an explicit re-evaluation of the whole period after a pack change (issue target: ≤ 60 s);
//! - the control view over the 100 hosts' newest results.
//!
//! `VOUCH_BENCH_PER_HOST=n` stores n snapshots per host instead of 100 (`bench --quick`).

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;
use vouch_collectors::host::{HostConfig, HostSource};
use vouch_collectors::{Source, run_source};
use vouch_evidence::{Asset, SigningKey, Timestamp};
use vouch_policies::{Catalogs, OrgConfig, PolicyPack};
use vouch_server::config::PolicySettings;
use vouch_server::controls::{PackJudge, Policies};
use vouch_server::evaluate::Evaluator;
use vouch_server::store::Store;
use vouch_server::store::sqlite::SqliteStore;

const HOSTS: u64 = 100;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let per_host = vouch_tests::generate::env_count("VOUCH_BENCH_PER_HOST", 100);
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hosts/debian12-weak");
    let source = HostSource::new(HostConfig {
        root,
        ..HostConfig::default()
    });
    let collected = run_source(&source, &source.context(CancellationToken::new())).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("vouch.db")).unwrap());

    let started = Instant::now();
    let base = Timestamp::from_unix_micros(1_790_000_000_000_000).unwrap();
    let mut bytes = 0usize;
    for h in 0..HOSTS {
        let key = SigningKey::from_seed(&[h as u8 + 1; 32]);
        let agent_id = format!("agt_bench{h:011}");
        let mut previous = None;
        for seq in 1..=per_host {
            let at = Timestamp::from_unix_micros(
                base.unix_micros() + (seq * 900 + h) as i64 * 1_000_000,
            )
            .unwrap();
            let asset = Asset {
                id: format!("host-{h:03}"),
                name: format!("web-{h:03}"),
                ..collected.asset.clone()
            };
            let snapshot = vouch_tests::generate::replayed(
                &collected,
                &agent_id,
                &asset,
                at,
                seq,
                previous,
                collected.evidence.clone(),
            );
            let (digest, size) =
                vouch_tests::generate::store_signed(store.as_ref(), &snapshot, &key, at).await;
            bytes += size;
            previous = Some(digest);
        }
    }
    let n = HOSTS * per_host;
    println!(
        "stored {n} snapshots of {} evidence items ({} KB each) in {:.1} s",
        collected.evidence.len(),
        bytes / n as usize / 1024,
        started.elapsed().as_secs_f64()
    );

    let catalogs = Catalogs::builtin();
    let pack = PolicyPack::builtin();
    let policies = pack.policies().len();
    let evaluator = Evaluator::new(store.clone(), Arc::new(PackJudge::new(pack)))
        .await
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let judged = evaluator.run_once().await.unwrap();
    let arrival = t.elapsed().as_secs_f64();
    assert_eq!(judged, n);
    println!(
        "evaluation on arrival, {policies} policies, {cores} cores: {n} snapshots in {arrival:.1} s ({:.0} /s, {:.2} ms each)",
        n as f64 / arrival,
        arrival * 1e3 / n as f64
    );
    println!(
        "bench-figure judged_on_arrival_each {:.4} ms",
        arrival * 1e3 / n as f64
    );
    println!(
        "bench-figure judged_on_arrival_10000 {:.2} s",
        arrival * 10_000.0 / n as f64
    );

    // A pack change (other organisation settings make another pack), then history re-judged.
    let mut changed = PolicyPack::builtin();
    changed
        .set_config(OrgConfig {
            pii_tag_keys: vec!["data-classification".into()],
            ..OrgConfig::default()
        })
        .unwrap();
    evaluator
        .set_judge(Arc::new(PackJudge::new(changed)))
        .await
        .unwrap();
    let end = Timestamp::from_unix_micros(base.unix_micros() + 365 * 86_400 * 1_000_000).unwrap();
    evaluator
        .request_run("bench", "pack changed", base, end)
        .await
        .unwrap();
    let t = Instant::now();
    let judged = evaluator.run_once().await.unwrap();
    let rerun = t.elapsed().as_secs_f64();
    assert_eq!(judged, n);
    println!(
        "re-evaluation after a pack change: {n} snapshots in {rerun:.1} s ({:.0} /s; target ≤ 60 s)",
        n as f64 / rerun
    );

    let view = Policies::start(store.clone(), PolicySettings::default(), catalogs)
        .await
        .unwrap();
    let mut times = Vec::new();
    let mut controls = 0;
    for _ in 0..5 {
        let t = Instant::now();
        // As of now: made from the store each time (the view of now would be shared).
        let v = view
            .controls(Some(vouch_server::state::now()))
            .await
            .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        controls = v.controls.len();
        assert_eq!(v.assets, HOSTS as usize);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "control view ({controls} controls over {HOSTS} hosts' newest results): median {:.1} ms",
        times[2]
    );
}

/// The allocator of the `vouch` binary, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
