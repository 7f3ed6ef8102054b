//! Collecting a 50-bucket, 200-user account from a moto server: wall time and API requests.
//!
//! `moto_server -H 127.0.0.1 -p 5000 &` then `cargo bench -p vouch-collectors --bench aws`
//! (`VOUCH_TEST_MOTO_URL` names another server). Each run makes a fresh moto account. Figures
//! are moto's (a Python server on this machine), not AWS's latencies.

#[path = "../tests/aws_moto/mod.rs"]
mod aws_moto;

use std::time::Instant;

use aws_moto::Moto;
use tokio_util::sync::CancellationToken;
use vouch_collectors::{Source, run_source};
use vouch_evidence::ItemStatus;

const BUCKETS: usize = 50;
const USERS: usize = 200;

async fn build(m: &Moto) {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    let s3 = m.s3("us-east-1");
    let iam = aws_sdk_iam::Client::new(&m.sdk("us-east-1"));
    for i in 0..BUCKETS {
        let name = format!("vouch-bench-{}-{i:03}", m.account);
        s3.create_bucket().bucket(&name).send().await.unwrap();
        if i % 2 == 0 {
            let rule = ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .unwrap(),
                )
                .build();
            s3.put_bucket_encryption()
                .bucket(&name)
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(rule)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
    }
    for i in 0..USERS {
        let name = format!("bench-user-{i:03}");
        iam.create_user().user_name(&name).send().await.unwrap();
        if i % 4 == 0 {
            iam.create_login_profile()
                .user_name(&name)
                .password("correct-Horse-battery-9")
                .send()
                .await
                .unwrap();
        }
        if i % 3 == 0 {
            iam.create_access_key()
                .user_name(&name)
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let m = Moto::fresh().await;
    let started = Instant::now();
    build(&m).await;
    println!(
        "built {BUCKETS} buckets and {USERS} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for limit in [8, 16] {
        let mut config = m.config(&["us-east-1"]);
        config.max_concurrent_requests = limit;
        let source =
            vouch_collectors::aws::AwsSource::with_credentials(config, m.credentials.clone());
        let started = Instant::now();
        let c = run_source(&source, &source.context(CancellationToken::new())).await;
        let wall = started.elapsed();
        let unavailable = c
            .evidence
            .values()
            .filter(|i| i.status == ItemStatus::Unavailable)
            .count();
        let buckets = c.evidence["aws.s3.buckets"]
            .value
            .as_array()
            .map_or(0, Vec::len);
        let users = c.evidence["aws.iam.users"]
            .value
            .as_array()
            .map_or(0, Vec::len);
        println!(
            "max_concurrent_requests {limit}: {:.2} s wall, {} API requests ({:.0}/s), \
             {} items ({unavailable} unavailable), {buckets} buckets, {users} users",
            wall.as_secs_f64(),
            source.requests_made(),
            source.requests_made() as f64 / wall.as_secs_f64(),
            c.evidence.len()
        );
        for run in &c.collectors {
            let ms = (run.finished_at.unix_micros() - run.started_at.unix_micros()) / 1000;
            println!("  {:<16} {ms:>6} ms", run.name);
        }
        assert_eq!(buckets, BUCKETS);
        assert_eq!(users, USERS + 1); // and the collector's own user
    }
}
