//! Export benchmark (issue 15, defect 9): `GET /v1/export` streams the bundle as it is made, so
//! the server's memory stays flat however large the bundle. Fills a SQLite store with
//! `VOUCH_EXPORT_MB` (default 5,120) of 1 MiB incompressible envelopes in 5 chains, then
//! downloads the bundle of a sample touching every chain (so every envelope is in it) over
//! HTTPS, chunk by chunk, and reports the bundle's size, the time, and the process's peak
//! resident memory during the export against its resident memory before it.
//!
//! `cargo bench -p vouch-tests --bench export`. Figures go in the README and the issue's
//! closing note, never in a test.

use std::time::Instant;

use vouch_evidence::{AssetKind, ChainKey, Digest, Timestamp};
use vouch_server::store::NewSnapshot;
use vouch_tests::generate::env_count;
use vouch_tests::server::{TestServer, https_client};

const CHAINS: u64 = 5;
const ENVELOPE: usize = 1 << 20;

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Incompressible bytes (xorshift), different for each envelope.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn main() {
    let megabytes = env_count("VOUCH_EXPORT_MB", 5_120);
    let per_chain = megabytes.div_ceil(CHAINS);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(dir.path()).await;
        let store = server.running().state().store().clone();
        let base: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
        let filling = Instant::now();
        for c in 0..CHAINS {
            let mut previous = None;
            for sequence in 1..=per_chain {
                let envelope = noise(c * 1_000_000 + sequence, ENVELOPE);
                let digest = Digest::of(&envelope);
                let at = Timestamp::from_unix_micros(base.unix_micros() + sequence as i64 * 1_000_000)
                    .unwrap();
                store
                    .ingest(NewSnapshot {
                        digest,
                        chain: ChainKey {
                            agent_id: format!("agt_export{c}"),
                            asset_kind: AssetKind::Host,
                            asset_id: format!("m-export-{c}"),
                        },
                        asset_name: format!("export-{c}"),
                        sequence,
                        previous_digest: previous,
                        collected_at: at,
                        received_at: at,
                        envelope,
                        receipt: b"bench".to_vec(),
                    })
                    .await
                    .unwrap();
                previous = Some(digest);
            }
        }
        let fill_secs = filling.elapsed().as_secs_f64();
        let client = https_client(&server.ca_pem);
        // A sample of 40 from 5 chains touches every chain: the bundle holds every envelope.
        let url = format!(
            "{}/v1/export?from=2026-11-19T00:00:00Z&to=2026-12-31T00:00:00Z&size=40&seed=bench",
            server.url
        );
        let before_kb = status_kb("VmRSS:");
        // Reset the peak (VmHWM) to the current resident size: what follows is the export's.
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let started = Instant::now();
        let mut resp = client
            .get(&url)
            .bearer_auth(&server.admin_token)
            // The client's 30 s limit is for a whole request; a bundle of gigabytes takes longer.
            .timeout(std::time::Duration::from_secs(3600))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut bytes = 0u64;
        while let Some(chunk) = resp.chunk().await.unwrap() {
            bytes += chunk.len() as u64;
        }
        let secs = started.elapsed().as_secs_f64();
        let peak_kb = status_kb("VmHWM:");
        println!("export benchmark ({megabytes} MB of envelopes in {CHAINS} chains, filled in {fill_secs:.0} s)");
        println!(
            "bundle                                   {:>10.1} MB",
            bytes as f64 / 1e6
        );
        println!("streamed in                              {secs:>10.1} s ({:.0} MB/s)", bytes as f64 / 1e6 / secs);
        println!(
            "resident before the export               {:>10.1} MB",
            before_kb as f64 / 1024.0
        );
        println!(
            "peak resident during the export          {:>10.1} MB",
            peak_kb as f64 / 1024.0
        );
    });
}
