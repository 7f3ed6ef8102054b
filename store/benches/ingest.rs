//! Store-level ingest benchmark: what storing costs, without HTTPS or signatures. 8 agents
//! (tasks; `VOUCH_BENCH_AGENTS`) each store their own chain of 20 KB envelopes in order, concurrently, into a fresh
//! SQLite store (WAL, `synchronous=FULL`, the writer's group commit) and, when
//! `VOUCH_TEST_POSTGRES_URL` is set (`bash .ci/with-services`), a fresh PostgreSQL database.
//! Prints the rate and the latency of one `ingest` call for each of three runs, and their
//! median: the figures the transparency log's cost is read from (issue 19 asks that appending
//! to the log take no more than 10 % of ingest throughput).
//!
//! `cargo bench -p vouch-store --bench ingest` (`VOUCH_BENCH_PER_AGENT`, default 1000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use vouch_evidence::{AssetKind, ChainKey, Digest, Timestamp};
use vouch_store::sqlite::SqliteStore;
use vouch_store::{NewSnapshot, Store};

/// How many agents store at once (`VOUCH_BENCH_AGENTS`, default 8).
fn agents() -> usize {
    std::env::var("VOUCH_BENCH_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

fn chain(agent: usize, n: u64, envelope_bytes: usize) -> Vec<NewSnapshot> {
    let mut out: Vec<NewSnapshot> = Vec::new();
    for sequence in 1..=n {
        let mut envelope = format!("envelope {agent} {sequence} ").into_bytes();
        envelope.resize(envelope_bytes, b'x');
        let at = Timestamp::from_unix_micros(1_780_000_000_000_000 + sequence as i64 * 1_000_000)
            .unwrap();
        out.push(NewSnapshot {
            digest: Digest::of(&envelope),
            chain: ChainKey {
                agent_id: format!("agt_{agent:04}"),
                asset_kind: AssetKind::Host,
                asset_id: format!("m-{agent}"),
            },
            asset_name: format!("web-{agent}"),
            sequence,
            previous_digest: out.last().map(|s| s.digest),
            collected_at: at,
            received_at: at,
            receipt: vec![b'r'; 300],
            envelope,
        });
    }
    out
}

/// One run: every chain stored by its own task; the rate and the p50/p99 of one call.
async fn run(store: Arc<dyn Store>, per_agent: u64) -> (f64, Duration, Duration) {
    let chains: Vec<Vec<NewSnapshot>> =
        (0..agents()).map(|a| chain(a, per_agent, 20_000)).collect();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in chains {
        let store = store.clone();
        tasks.spawn(async move {
            let mut took = Vec::with_capacity(c.len());
            for s in c {
                let t = Instant::now();
                store.ingest(s).await.expect("stored");
                took.push(t.elapsed());
            }
            took
        });
    }
    let mut all = Vec::new();
    while let Some(t) = tasks.join_next().await {
        all.extend(t.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let q = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    (all.len() as f64 / elapsed.as_secs_f64(), q(0.5), q(0.99))
}

fn report(label: &str, runs: &mut [(f64, Duration, Duration)]) {
    for (i, (rate, p50, p99)) in runs.iter().enumerate() {
        println!(
            "{label} run {}: {rate:>8.0} /s, p50 {:.2} ms, p99 {:.2} ms",
            i + 1,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (rate, p50, p99) = runs[runs.len() / 2];
    println!(
        "{label} median: {rate:.0} /s, p50 {:.2} ms, p99 {:.2} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
}

fn main() {
    let per_agent: u64 = std::env::var("VOUCH_BENCH_PER_AGENT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!(
            "store ingest: {} agents x {per_agent} snapshots of 20 KB, 3 runs, each on a fresh store",
            agents()
        );
        let mut runs = Vec::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn Store> =
                Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
            runs.push(run(store.clone(), per_agent).await);
            store.close().await.unwrap();
        }
        report("sqlite", &mut runs);
        if let Ok(base) = std::env::var("VOUCH_TEST_POSTGRES_URL") {
            let mut runs = Vec::new();
            for _ in 0..3 {
                let url = vouch_store::postgres::create_test_database(&base)
                    .await
                    .unwrap();
                let store: Arc<dyn Store> =
                    Arc::new(vouch_store::postgres::PgStore::connect(&url).await.unwrap());
                runs.push(run(store.clone(), per_agent).await);
                store.close().await.unwrap();
            }
            report("postgres", &mut runs);
        }
    });
}
