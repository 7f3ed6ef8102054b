//! Buckets in the moto S3 server `.ci/with-services` starts (`VOUCH_TEST_MOTO_URL`), for
//! tests and benchmarks of envelope storage.

use vouch_evidence::Digest;
use vouch_server::objects::{LockModeSetting, LockSettings, ObjectStore, ObjectsConfig};

/// The emulator's URL.
pub fn moto_url() -> String {
    std::env::var("VOUCH_TEST_MOTO_URL")
        .expect("VOUCH_TEST_MOTO_URL is not set: run under `bash .ci/with-services`")
}

/// A client on the emulator, to create buckets and look behind the server's back.
pub fn raw_client() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(moto_url())
        .force_path_style(true)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// A new bucket (with Object Lock enabled and a compliance lock of `lock_days` in the
/// configuration when given) and the server configuration naming it.
pub async fn bucket(lock_days: Option<u32>) -> ObjectsConfig {
    let name = format!(
        "vouch-{}",
        &Digest::of(format!("{:?}", std::time::Instant::now()).as_bytes()).to_hex()[..16]
    );
    raw_client()
        .create_bucket()
        .bucket(&name)
        .object_lock_enabled_for_bucket(lock_days.is_some())
        .send()
        .await
        .expect("bucket created in the emulator");
    ObjectsConfig {
        bucket: name,
        prefix: String::new(),
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto_url()),
        path_style: true,
        lock: lock_days.map(|days| LockSettings {
            mode: LockModeSetting::Compliance,
            days,
        }),
        upload_concurrency: 32,
        upload_busy_percent: 25,
    }
}

/// The object store for `config` with the emulator's credentials.
pub async fn store(config: &ObjectsConfig) -> ObjectStore {
    ObjectStore::connect_with(config, "testing", "testing").await
}

/// Every key in the bucket with its number of versions.
pub async fn versions(bucket: &str) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    let mut marker: (Option<String>, Option<String>) = (None, None);
    loop {
        let page = raw_client()
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(marker.0.clone())
            .set_version_id_marker(marker.1.clone())
            .send()
            .await
            .expect("versions listed");
        for v in page.versions() {
            *out.entry(v.key().unwrap_or_default().to_string())
                .or_insert(0) += 1;
        }
        if page.is_truncated() == Some(true) {
            marker = (
                page.next_key_marker().map(str::to_string),
                page.next_version_id_marker().map(str::to_string),
            );
        } else {
            return out;
        }
    }
}
