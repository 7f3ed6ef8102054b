//! Envelopes in S3-compatible object storage, with optional Object Lock retention.
//!
//! With `[objects]` configured, the database stays the index (chains, receipts, results) and
//! the envelopes move to a bucket, each under the SHA-256 of its bytes
//! (`<prefix>sha256/<hex>`): content-addressed, so a put is idempotent, replicas uploading the
//! same envelope at once write the same object, and every read is checked against the digest
//! the index keeps. An object store that lost or altered an envelope is reported, never served.
//!
//! Ingest does not wait for the bucket: the snapshot is committed to the database with its
//! envelope (durable before the receipt is sent, as without object storage), and each
//! replica's uploader (`vouch_server::objects::Uploader`) then moves envelopes to the bucket in the background, claiming them
//! in the database so that replicas share the work, and drops the database copy once the put
//! has succeeded (`put` is conditional, `If-None-Match: *`, and carries the SHA-256 checksum
//! S3 verifies). A slow or unavailable bucket therefore delays the move, never ingest; the
//! backlog is `vouch_objects_pending` in `/metrics`.
//!
//! With `lock` set, every object is written with an Object Lock retention (governance or
//! compliance mode, a number of days): the WORM store auditors trust. The bucket must have
//! Object Lock enabled; the server checks that at start-up and refuses to run otherwise.

use aws_config::BehaviorVersion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{ChecksumAlgorithm, ObjectLockEnabled, ObjectLockMode};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use base64::Engine as _;
use serde::Deserialize;
use vouch_evidence::{Digest, Timestamp};

/// `[objects]`: where envelopes are kept when not in the database.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectsConfig {
    /// The bucket (it must exist; with `lock`, created with Object Lock enabled).
    pub bucket: String,
    /// Prefix of every key, e.g. `vouch/` (keys are `<prefix>sha256/<hex>`).
    #[serde(default)]
    pub prefix: String,
    /// The bucket's region; absent: the standard chain's (`AWS_REGION`, profile), else
    /// `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint of an S3-compatible store (MinIO, Ceph, an emulator), `http(s)://host:port`;
    /// absent: AWS S3. Credentials come from the standard AWS chain (environment, profile,
    /// instance or container role), never from this file.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Path-style requests (`host/bucket/key`), which most S3-compatible stores need.
    #[serde(default)]
    pub path_style: bool,
    /// Object Lock retention put on every envelope; absent: none.
    #[serde(default)]
    pub lock: Option<LockSettings>,
    /// Envelopes moved to the bucket at once by each replica.
    #[serde(default = "default_upload_concurrency")]
    pub upload_concurrency: usize,
    /// While snapshots are arriving, the share of the time (in per cent, 1 to 100) the
    /// uploader spends moving envelopes; 100: it never gives way. Ingest comes first: an
    /// envelope waits in the database, which holds it durably, and moves at full speed once
    /// arrivals stop (the backlog is `vouch_objects_pending` in `/metrics`).
    #[serde(default = "default_upload_busy_percent")]
    pub upload_busy_percent: u32,
}

fn default_upload_concurrency() -> usize {
    32
}

fn default_upload_busy_percent() -> u32 {
    25
}

/// `[objects.lock]`: the Object Lock retention of every envelope written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockSettings {
    /// `compliance` (nobody, root included, can shorten it or delete the object) or
    /// `governance` (users with `s3:BypassGovernanceRetention` can; Vouch never does).
    pub mode: LockModeSetting,
    /// Days each envelope is locked for from its upload.
    pub days: u32,
}

/// Object Lock mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockModeSetting {
    /// Nobody can delete or shorten the retention.
    Compliance,
    /// Privileged users can bypass it.
    Governance,
}

impl ObjectsConfig {
    /// Every problem, as `(key, problem)` under `objects`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let b = &self.bucket;
        let valid_bucket = (3..=63).contains(&b.len())
            && b.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
            && b.starts_with(|c: char| c.is_ascii_alphanumeric())
            && b.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid_bucket {
            out.push((
                "bucket".into(),
                format!("{b:?} is not an S3 bucket name (3-63 of a-z 0-9 . -)"),
            ));
        }
        if self.prefix.starts_with('/') {
            out.push(("prefix".into(), "must not start with '/'".into()));
        }
        if let Some(url) = &self.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            out.push((
                "endpoint_url".into(),
                format!("{url:?} is not an http:// or https:// URL"),
            ));
        }
        if let Some(lock) = &self.lock
            && !(1..=36_500).contains(&lock.days)
        {
            out.push((
                "lock.days".into(),
                format!("{} is outside 1..=36500", lock.days),
            ));
        }
        if !(1..=256).contains(&self.upload_concurrency) {
            out.push((
                "upload_concurrency".into(),
                format!("{} is outside 1..=256", self.upload_concurrency),
            ));
        }
        if !(1..=100).contains(&self.upload_busy_percent) {
            out.push((
                "upload_busy_percent".into(),
                format!("{} is outside 1..=100", self.upload_busy_percent),
            ));
        }
        out
    }
}

/// Why an object operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The bucket is not usable as configured.
    #[error("bucket {bucket}: {problem}")]
    Bucket {
        /// The bucket.
        bucket: String,
        /// What is wrong.
        problem: String,
    },
    /// A request failed.
    #[error("{message} (object {key})")]
    Request {
        /// The object key.
        key: String,
        /// The S3 operation and what S3 (or the connection) said.
        message: String,
    },
    /// The object is not there although the index says it is.
    #[error("object {key} is missing from the bucket")]
    Missing {
        /// The object key.
        key: String,
    },
    /// The object's bytes do not hash to the digest the index keeps.
    #[error("object {key} was altered: its bytes hash to {actual}, the index recorded {expected}")]
    Altered {
        /// The object key.
        key: String,
        /// The digest recorded.
        expected: Digest,
        /// The digest of the bytes read.
        actual: Digest,
    },
}

/// The SDK's raw HTTP response.
type Raw = aws_sdk_s3::config::http::HttpResponse;

/// A failed call on object `key`.
fn request_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    api: &'static str,
    key: &str,
    e: &SdkError<E, Raw>,
) -> ObjectError {
    ObjectError::Request {
        key: key.to_string(),
        message: s3_error(api, e),
    }
}

/// A failed S3 call as one sentence: the API, then the error code and message S3 gave (e.g.
/// `s3:PutObject: AccessDenied: Access Denied`), or what failed on the way (timeout,
/// connection, credentials) with its causes once the SDK's retries gave up.
fn s3_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    api: &str,
    e: &SdkError<E, Raw>,
) -> String {
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{api}: {code}: {message}"),
        (Some(code), None) => format!("{api}: {code}"),
        _ => format!("{api}: {}", aws_sdk_s3::error::DisplayErrorContext(e)),
    }
}

/// The HTTP status of a service error, if it is one.
fn status<E>(e: &SdkError<E, Raw>) -> Option<u16> {
    match e {
        SdkError::ServiceError(s) => Some(s.raw().status().as_u16()),
        _ => None,
    }
}

/// An instant `secs` seconds after the epoch, or the last one we can write (year 9999).
/// The instant `secs` seconds after the Unix epoch, clamped to the last second of 9999 (the
/// latest instant a [`Timestamp`] holds).
pub fn instant_from_secs(secs: i64) -> Timestamp {
    Timestamp::from_unix_micros(secs.saturating_mul(1_000_000))
        .filter(|t| t.datetime().year() <= 9999)
        .or_else(|| Timestamp::from_unix_micros(253_402_300_799_000_000))
        .expect("9999-12-31T23:59:59Z is an instant")
}

/// A retention an object is under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// `COMPLIANCE` or `GOVERNANCE`.
    pub compliance: bool,
    /// Until when.
    pub until: Timestamp,
}

/// The bucket envelopes are moved to. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ObjectStore {
    client: Client,
    bucket: String,
    prefix: String,
    lock: Option<LockSettings>,
    concurrency: usize,
    busy_percent: u32,
}

impl ObjectStore {
    /// A client for `config` with credentials from the standard AWS chain.
    pub async fn connect(config: &ObjectsConfig) -> Self {
        Self::build(config, None).await
    }

    /// A client for `config` with the given static credentials (S3-compatible stores and
    /// emulators in tests).
    pub async fn connect_with(config: &ObjectsConfig, key_id: &str, secret: &str) -> Self {
        let creds = Credentials::new(key_id, secret, None, None, "vouch-static");
        Self::build(config, Some(creds)).await
    }

    async fn build(config: &ObjectsConfig, creds: Option<Credentials>) -> Self {
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https);
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(c) = creds {
            loader = loader.credentials_provider(c);
        }
        let sdk = loader.load().await;
        let mut conf = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(config.path_style);
        if sdk.region().is_none() {
            conf = conf.region(aws_config::Region::new("us-east-1"));
        }
        ObjectStore {
            client: Client::from_conf(conf.build()),
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
            lock: config.lock,
            concurrency: config.upload_concurrency,
            busy_percent: config.upload_busy_percent,
        }
    }

    /// How many envelopes an uploader puts at once (`upload_concurrency`).
    pub fn upload_concurrency(&self) -> usize {
        self.concurrency
    }

    /// The share of the time an uploader works while snapshots arrive (`upload_busy_percent`).
    pub fn upload_busy_percent(&self) -> u32 {
        self.busy_percent
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key of the envelope whose bytes hash to `sha256`.
    pub fn key(&self, sha256: &Digest) -> String {
        format!("{}sha256/{}", self.prefix, sha256.to_hex())
    }

    /// Checks that the bucket is reachable and, when a lock is configured, that Object Lock is
    /// enabled on it.
    pub async fn check(&self) -> Result<(), ObjectError> {
        let bucket_error = |problem: String| ObjectError::Bucket {
            bucket: self.bucket.clone(),
            problem,
        };
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| bucket_error(s3_error("s3:HeadBucket", &e)))?;
        if self.lock.is_some() {
            let conf = match self
                .client
                .get_object_lock_configuration()
                .bucket(&self.bucket)
                .send()
                .await
            {
                Ok(c) => Some(c),
                Err(e) if e.code() == Some("ObjectLockConfigurationNotFoundError") => None,
                Err(e) => {
                    return Err(bucket_error(format!(
                        "[objects.lock] is set but the bucket's Object Lock configuration cannot be read ({})",
                        s3_error("s3:GetObjectLockConfiguration", &e)
                    )));
                }
            };
            let enabled = conf
                .as_ref()
                .and_then(|c| c.object_lock_configuration())
                .and_then(|c| c.object_lock_enabled())
                == Some(&ObjectLockEnabled::Enabled);
            if !enabled {
                return Err(bucket_error(
                    "[objects.lock] is set but Object Lock is not enabled on the bucket".into(),
                ));
            }
        }
        Ok(())
    }

    /// Writes `bytes` (whose SHA-256 is `sha256`) unless an object is already under its key,
    /// with the configured retention from `now`. An object already there counts as written only
    /// once its bytes are read back and hash to `sha256` ([`ObjectError::Altered`] otherwise).
    pub async fn put(
        &self,
        sha256: &Digest,
        bytes: Vec<u8>,
        now: Timestamp,
    ) -> Result<(), ObjectError> {
        let key = self.key(sha256);
        let checksum = base64::engine::general_purpose::STANDARD.encode(sha256.0);
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .if_none_match("*")
            .content_type("application/json")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(checksum)
            .body(ByteStream::from(bytes));
        if let Some(lock) = self.lock {
            let until = now.unix_micros() / 1_000_000 + i64::from(lock.days) * 86_400;
            req = req
                .object_lock_mode(match lock.mode {
                    LockModeSetting::Compliance => ObjectLockMode::Compliance,
                    LockModeSetting::Governance => ObjectLockMode::Governance,
                })
                .object_lock_retain_until_date(DateTime::from_secs(until));
        }
        match req.send().await {
            Ok(_) => Ok(()),
            // Something is already under the key. Content-addressed, it should be these bytes,
            // but that is just what someone who can write to the bucket would have us assume:
            // read it back and compare digests. Altered, the put fails (the envelope stays in
            // the database, the uploader retries and counts the failure) and says so.
            Err(e) if status(&e) == Some(412) => self.get(sha256).await.map(|_| ()),
            Err(e) => Err(request_error("s3:PutObject", &key, &e)),
        }
    }

    /// The envelope whose bytes hash to `sha256`, checked against it.
    pub async fn get(&self, sha256: &Digest) -> Result<Vec<u8>, ObjectError> {
        let key = self.key(sha256);
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if status(&e) == Some(404) => return Err(ObjectError::Missing { key }),
            Err(e) => return Err(request_error("s3:GetObject", &key, &e)),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| ObjectError::Request {
                key: key.clone(),
                message: format!("s3:GetObject: {e}"),
            })?
            .into_bytes()
            .to_vec();
        let actual = Digest::of(&bytes);
        if &actual != sha256 {
            return Err(ObjectError::Altered {
                key,
                expected: *sha256,
                actual,
            });
        }
        Ok(bytes)
    }

    /// The longest Object Lock retention of any version of the object, if any (`None` also
    /// when it is gone). Every version counts: a newer unlocked version written over a locked
    /// one hides the lock from a plain `HeadObject`, yet the locked version cannot be deleted.
    pub async fn retention(&self, sha256: &Digest) -> Result<Option<Retention>, ObjectError> {
        let key = self.key(sha256);
        let mut longest: Option<Retention> = None;
        for version in self.versions(&key).await? {
            let mut req = self.client.head_object().bucket(&self.bucket).key(&key);
            if let Some(id) = &version {
                req = req.version_id(id);
            }
            let head = match req.send().await {
                Ok(h) => h,
                // A delete marker, or gone meanwhile.
                Err(e) if matches!(status(&e), Some(404 | 405)) => continue,
                Err(e) => return Err(request_error("s3:HeadObject", &key, &e)),
            };
            let Some(until) = head.object_lock_retain_until_date() else {
                continue;
            };
            let this = Retention {
                compliance: head.object_lock_mode() == Some(&ObjectLockMode::Compliance),
                until: instant_from_secs(until.secs()),
            };
            if longest.is_none_or(|l| this.until > l.until) {
                longest = Some(this);
            }
        }
        Ok(longest)
    }

    /// The version ids under `key` (objects and delete markers; `None` for an unversioned
    /// bucket's single object). Empty when nothing is there.
    async fn versions(&self, key: &str) -> Result<Vec<Option<String>>, ObjectError> {
        let listed = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(key)
            .send()
            .await
            .map_err(|e| request_error("s3:ListObjectVersions", key, &e))?;
        let ids = listed
            .versions()
            .iter()
            .filter(|v| v.key() == Some(key))
            .map(|v| v.version_id())
            .chain(
                listed
                    .delete_markers()
                    .iter()
                    .filter(|m| m.key() == Some(key))
                    .map(|m| m.version_id()),
            )
            .map(|id| id.filter(|i| *i != "null").map(str::to_string))
            .collect();
        Ok(ids)
    }

    /// Deletes every version of the object (a versioned bucket keeps old versions after a
    /// plain delete). Never bypasses a governance retention.
    pub async fn delete(&self, sha256: &Digest) -> Result<(), ObjectError> {
        let key = self.key(sha256);
        for id in self.versions(&key).await? {
            let mut req = self.client.delete_object().bucket(&self.bucket).key(&key);
            if let Some(id) = id {
                req = req.version_id(id);
            }
            req.send()
                .await
                .map_err(|e| request_error("s3:DeleteObject", &key, &e))?;
        }
        Ok(())
    }
}
