//! S3: per bucket its default encryption, public access block, versioning, object lock, access
//! logging, bucket policy (public? TLS only?), tags, lifecycle expiration and region; the
//! account's public access block; and summary lists of the buckets that lack each.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::{ExpirationStatus, LifecycleRule};
use serde_json::{Map, Value, json};
use vouch_evidence::Source as ItemSource;

use super::client::{ApiCall, Session, absent_if, api_error, for_each};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "aws.s3.buckets",
        value_type: ValueType::ObjectList,
        meaning: "One object per bucket: `name`, `region`, `encryption` (null when the bucket \
                  has no default encryption, else `algorithm` AES256 (SSE-S3), aws:kms or \
                  aws:kms:dsse, `kms_key_id`, `bucket_key_enabled`), `public_access_block` \
                  (the four settings, all false when none is set), `versioning` (Enabled, \
                  Suspended or Disabled), `mfa_delete`, `object_lock`, `logging` (null or \
                  `target_bucket`, `target_prefix`), `policy` (null when none, else `public`, \
                  `tls_only`), `tags` (key → value), `lifecycle` (rules: `id`, `enabled`, \
                  `whole_bucket`, `prefix`, `expiration_days`, `expiration_date`, \
                  `noncurrent_expiration_days`). A member that could not be read is null and \
                  named with its reason in `unavailable`.",
        source: "s3:ListBuckets, s3:GetBucketLocation, s3:GetBucketEncryption, \
                 s3:GetPublicAccessBlock, s3:GetBucketVersioning, \
                 s3:GetObjectLockConfiguration, s3:GetBucketLogging, s3:GetBucketPolicy, \
                 s3:GetBucketTagging, s3:GetBucketLifecycleConfiguration",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.s3.account_public_access_block",
        value_type: ValueType::Object,
        meaning: "The account-wide S3 public access block: `block_public_acls`, \
                  `ignore_public_acls`, `block_public_policy`, `restrict_public_buckets` (all \
                  false when none is set).",
        source: "s3control:GetPublicAccessBlock",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.s3.unencrypted_buckets",
        value_type: ValueType::StringList,
        meaning: "Buckets without default encryption.",
        source: "s3:GetBucketEncryption",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.s3.public_policy_buckets",
        value_type: ValueType::StringList,
        meaning: "Buckets whose policy allows anyone: an Allow statement for Principal `*` (or \
                  any principal with a wildcard, or NotPrincipal) without a condition that \
                  fixes aws:SourceIp (a range no wider than /8, /32 for IPv6), aws:SourceArn, \
                  aws:SourceVpc, aws:SourceVpce, aws:SourceOwner, aws:SourceAccount, \
                  aws:userid, s3:DataAccessPointArn, s3:DataAccessPointAccount or \
                  s3:x-amz-server-side-encryption-aws-kms-key-id to values without wildcards \
                  or policy variables. The bucket and account public access blocks may still \
                  stop such a policy from taking effect.",
        source: "s3:GetBucketPolicy",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.s3.buckets_without_public_access_block",
        value_type: ValueType::StringList,
        meaning: "Buckets whose own public access block does not have all four settings on \
                  (the account's block may still cover them).",
        source: "s3:GetPublicAccessBlock",
        context_only: Some(
            "the detail behind exposure, which aws.s3.account_public_access_blocked (the account-wide block) and aws.s3.no_public_bucket_policies judge.",
        ),
    },
    EvidenceSpec {
        id: "aws.s3.unversioned_buckets",
        value_type: ValueType::StringList,
        meaning: "Buckets whose versioning is not Enabled (never enabled, or suspended).",
        source: "s3:GetBucketVersioning",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.s3.buckets_without_logging",
        value_type: ValueType::StringList,
        meaning: "Buckets without server access logging.",
        source: "s3:GetBucketLogging",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.s3.buckets_without_tls_only_policy",
        value_type: ValueType::StringList,
        meaning: "Buckets whose policy has no statement denying every S3 action on the bucket \
                  and its objects to every principal when aws:SecureTransport is false (and \
                  on no other condition).",
        source: "s3:GetBucketPolicy",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.s3.buckets_without_expiration",
        value_type: ValueType::StringList,
        meaning: "Buckets without an enabled lifecycle rule that expires objects (after days, \
                  or on a date) across the whole bucket (no prefix, tag or size filter): no \
                  retention limit on their data.",
        source: "s3:GetBucketLifecycleConfiguration",
        context_only: Some(
            "expiring objects is a retention choice per bucket, not a requirement of every bucket; where PII is, aws.privacy.pii_retention_limited judges retention.",
        ),
    },
];

/// The calls this area makes.
pub const CALLS: &[ApiCall] = &[
    ApiCall {
        api: "s3:ListBuckets",
        permission: "s3:ListAllMyBuckets",
    },
    ApiCall {
        api: "s3:GetBucketLocation",
        permission: "s3:GetBucketLocation",
    },
    ApiCall {
        api: "s3:GetBucketEncryption",
        permission: "s3:GetEncryptionConfiguration",
    },
    ApiCall {
        api: "s3:GetPublicAccessBlock",
        permission: "s3:GetBucketPublicAccessBlock",
    },
    ApiCall {
        api: "s3:GetBucketVersioning",
        permission: "s3:GetBucketVersioning",
    },
    ApiCall {
        api: "s3:GetObjectLockConfiguration",
        permission: "s3:GetBucketObjectLockConfiguration",
    },
    ApiCall {
        api: "s3:GetBucketLogging",
        permission: "s3:GetBucketLogging",
    },
    ApiCall {
        api: "s3:GetBucketPolicy",
        permission: "s3:GetBucketPolicy",
    },
    ApiCall {
        api: "s3:GetBucketTagging",
        permission: "s3:GetBucketTagging",
    },
    ApiCall {
        api: "s3:GetBucketLifecycleConfiguration",
        permission: "s3:GetLifecycleConfiguration",
    },
    ApiCall {
        api: "s3control:GetPublicAccessBlock",
        permission: "s3:GetAccountPublicAccessBlock",
    },
];

/// The collector.
pub struct S3Area(pub Arc<Session>);

/// A value read for one member of a bucket's object.
type Member = Result<Value, String>;

/// What was read about one bucket, member by member.
struct Bucket {
    name: String,
    region: Member,
    encryption: Member,
    public_access_block: Member,
    versioning: Member,
    mfa_delete: Member,
    object_lock: Member,
    logging: Member,
    policy: Member,
    tags: Member,
    lifecycle: Member,
}

impl Bucket {
    fn members(&self) -> [(&'static str, &Member); 10] {
        [
            ("region", &self.region),
            ("encryption", &self.encryption),
            ("public_access_block", &self.public_access_block),
            ("versioning", &self.versioning),
            ("mfa_delete", &self.mfa_delete),
            ("object_lock", &self.object_lock),
            ("logging", &self.logging),
            ("policy", &self.policy),
            ("tags", &self.tags),
            ("lifecycle", &self.lifecycle),
        ]
    }

    fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("name".into(), json!(self.name));
        let mut unavailable = Map::new();
        for (key, member) in self.members() {
            match member {
                Ok(v) => obj.insert(key.into(), v.clone()),
                Err(reason) => {
                    unavailable.insert(key.into(), json!(reason));
                    obj.insert(key.into(), Value::Null)
                }
            };
        }
        obj.insert("unavailable".into(), Value::Object(unavailable));
        Value::Object(obj)
    }
}

/// The buckets for which `lacks` holds; unavailable, naming each bucket, when it cannot be
/// decided for some.
fn buckets_where(
    buckets: &[Bucket],
    member: impl Fn(&Bucket) -> &Member,
    lacks: impl Fn(&Value) -> bool,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for b in buckets {
        match member(b) {
            Ok(v) if lacks(v) => out.push(b.name.clone()),
            Ok(_) => {}
            Err(reason) => unknown.push(format!("{}: {reason}", b.name)),
        }
    }
    if unknown.is_empty() {
        Ok(out)
    } else {
        Err(unknown.join("; "))
    }
}

/// The four public access block settings of an S3 or S3 Control configuration (the two
/// SDKs have a type each), unset ones off.
macro_rules! public_access_block {
    ($c:expr) => {{
        let c = $c;
        public_access_block([
            c.and_then(|c| c.block_public_acls()),
            c.and_then(|c| c.ignore_public_acls()),
            c.and_then(|c| c.block_public_policy()),
            c.and_then(|c| c.restrict_public_buckets()),
        ])
    }};
}

/// The four public access block settings (unset ones are off), in the order
/// BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets.
fn public_access_block(settings: [Option<bool>; 4]) -> Value {
    let [acls, ignore, policy, restrict] = settings.map(|s| s.unwrap_or(false));
    json!({
        "block_public_acls": acls,
        "ignore_public_acls": ignore,
        "block_public_policy": policy,
        "restrict_public_buckets": restrict,
    })
}

/// The region of a `GetBucketLocation` answer: none or empty is us-east-1, `EU` eu-west-1.
fn location_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(r) => r.into(),
    }
}

/// One lifecycle rule as evidence.
fn lifecycle_rule(r: &LifecycleRule) -> Value {
    #[allow(deprecated)]
    let legacy_prefix = r.prefix();
    let filter = r.filter();
    let prefix = filter
        .and_then(|f| f.prefix())
        .or(legacy_prefix)
        .unwrap_or("");
    let filtered = filter.is_some_and(|f| {
        f.tag().is_some()
            || f.and().is_some()
            || f.object_size_greater_than().is_some()
            || f.object_size_less_than().is_some()
    });
    let expiration = r.expiration();
    json!({
        "id": r.id(),
        "enabled": *r.status() == ExpirationStatus::Enabled,
        "whole_bucket": prefix.is_empty() && !filtered,
        "prefix": prefix,
        "expiration_days": expiration.and_then(|e| e.days()),
        "expiration_date": expiration.and_then(|e| e.date()).map(|d| d.to_string()),
        "noncurrent_expiration_days": r.noncurrent_version_expiration().and_then(|n| n.noncurrent_days()),
    })
}

/// Whether some rule of a bucket's lifecycle expires objects across the whole bucket.
fn expires_whole_bucket(rules: &Value) -> bool {
    rules.as_array().is_some_and(|rules| {
        rules.iter().any(|r| {
            r["enabled"] == json!(true)
                && r["whole_bucket"] == json!(true)
                && (!r["expiration_days"].is_null() || !r["expiration_date"].is_null())
        })
    })
}

#[async_trait]
impl Collector for S3Area {
    fn name(&self) -> &'static str {
        "aws.s3"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, _ctx: &CollectContext) -> Result<Facts, CollectError> {
        let (buckets, account_block) = tokio::join!(self.buckets(), self.account_block());
        let api = |a: &str| ItemSource::Api(a.into());
        let mut facts = vec![fact(
            "aws.s3.account_public_access_block",
            api("s3control:GetPublicAccessBlock"),
            account_block,
        )];
        let buckets = match buckets {
            Ok(b) => b,
            Err(reason) => {
                for spec in EVIDENCE
                    .iter()
                    .filter(|s| s.id != "aws.s3.account_public_access_block")
                {
                    facts.push(fact(
                        spec.id,
                        api("s3:ListBuckets"),
                        Err::<Value, _>(reason.clone()),
                    ));
                }
                return Ok(facts);
            }
        };
        facts.push(fact(
            "aws.s3.buckets",
            api("s3:ListBuckets"),
            Ok::<_, String>(buckets.iter().map(Bucket::to_json).collect::<Vec<_>>()),
        ));
        let summaries: [(
            &'static str,
            &str,
            fn(&Bucket) -> &Member,
            fn(&Value) -> bool,
        ); 7] = [
            (
                "aws.s3.unencrypted_buckets",
                "s3:GetBucketEncryption",
                |b| &b.encryption,
                Value::is_null,
            ),
            (
                "aws.s3.public_policy_buckets",
                "s3:GetBucketPolicy",
                |b| &b.policy,
                |p| p["public"] == json!(true),
            ),
            (
                "aws.s3.buckets_without_public_access_block",
                "s3:GetPublicAccessBlock",
                |b| &b.public_access_block,
                |p| {
                    p.as_object()
                        .is_some_and(|o| o.values().any(|v| v != &json!(true)))
                },
            ),
            (
                "aws.s3.unversioned_buckets",
                "s3:GetBucketVersioning",
                |b| &b.versioning,
                |v| v != &json!("Enabled"),
            ),
            (
                "aws.s3.buckets_without_logging",
                "s3:GetBucketLogging",
                |b| &b.logging,
                Value::is_null,
            ),
            (
                "aws.s3.buckets_without_tls_only_policy",
                "s3:GetBucketPolicy",
                |b| &b.policy,
                |p| p["tls_only"] != json!(true),
            ),
            (
                "aws.s3.buckets_without_expiration",
                "s3:GetBucketLifecycleConfiguration",
                |b| &b.lifecycle,
                |l| !expires_whole_bucket(l),
            ),
        ];
        for (id, source, member, lacks) in summaries {
            facts.push(fact(
                id,
                api(source),
                buckets_where(&buckets, member, lacks),
            ));
        }
        Ok(facts)
    }
}

impl S3Area {
    /// An S3 client for `region`; path-style addressing when an endpoint override is set
    /// (emulators do not serve bucket host names).
    async fn s3(&self, region: Option<&str>) -> Result<aws_sdk_s3::Client, String> {
        let sdk = self.0.regional(region).await?;
        let conf = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(self.0.endpoint_override().is_some())
            .interceptor(self.0.recorder())
            .build();
        Ok(aws_sdk_s3::Client::from_conf(conf))
    }

    async fn account_block(&self) -> Result<Value, String> {
        let state = self.0.state().await;
        let account = state.account.as_ref().map_err(Clone::clone)?;
        let sdk = self.0.regional(None).await?;
        let mut conf =
            aws_sdk_s3control::config::Builder::from(&sdk).interceptor(self.0.recorder());
        if let Some(url) = self.0.endpoint_override() {
            // S3 Control puts the account id in front of the host name, which an emulator on
            // an address cannot serve: send to the endpoint as it is.
            conf = conf.endpoint_resolver(FixedEndpoint(url.to_string()));
        }
        let control = aws_sdk_s3control::Client::from_conf(conf.build());
        let out = absent_if(
            "s3control:GetPublicAccessBlock",
            control
                .get_public_access_block()
                .account_id(&account.id)
                .send()
                .await,
            &["NoSuchPublicAccessBlockConfiguration"],
        )?;
        let c = out
            .as_ref()
            .and_then(|o| o.public_access_block_configuration());
        Ok(public_access_block!(c))
    }

    async fn buckets(&self) -> Result<Vec<Bucket>, String> {
        let home = self.s3(None).await?;
        let names: Vec<String> = home
            .list_buckets()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| api_error("s3:ListBuckets", &e))?
            .into_iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect();
        let limit = self.0.config().max_concurrent_requests;
        let located = for_each(names, limit, |name| {
            let home = &home;
            async move {
                let region = home
                    .get_bucket_location()
                    .bucket(&name)
                    .send()
                    .await
                    .map(|o| location_region(o.location_constraint().map(|c| c.as_str())))
                    .map_err(|e| api_error("s3:GetBucketLocation", &e));
                (name, region)
            }
        })
        .await;
        let mut clients: HashMap<String, aws_sdk_s3::Client> = HashMap::new();
        for (_, region) in &located {
            if let Ok(r) = region
                && !clients.contains_key(r)
            {
                clients.insert(r.clone(), self.s3(Some(r)).await?);
            }
        }
        Ok(for_each(located, limit, |(name, region)| {
            let client = region.as_ref().ok().and_then(|r| clients.get(r)).cloned();
            async move {
                match client {
                    Some(c) => bucket(&c, name, region).await,
                    None => {
                        let reason = format!(
                            "the bucket's region is unknown: {}",
                            region.as_ref().err().cloned().unwrap_or_default()
                        );
                        let no = || Err(reason.clone());
                        Bucket {
                            name,
                            region: region.map(Value::from),
                            encryption: no(),
                            public_access_block: no(),
                            versioning: no(),
                            mfa_delete: no(),
                            object_lock: no(),
                            logging: no(),
                            policy: no(),
                            tags: no(),
                            lifecycle: no(),
                        }
                    }
                }
            }
        })
        .await)
    }
}

/// Reads everything about one bucket, its calls concurrently.
async fn bucket(c: &aws_sdk_s3::Client, name: String, region: Result<String, String>) -> Bucket {
    let b = name.as_str();
    let (enc, pab, ver, lock, log, pol, tags, life) = tokio::join!(
        c.get_bucket_encryption().bucket(b).send(),
        c.get_public_access_block().bucket(b).send(),
        c.get_bucket_versioning().bucket(b).send(),
        c.get_object_lock_configuration().bucket(b).send(),
        c.get_bucket_logging().bucket(b).send(),
        c.get_bucket_policy().bucket(b).send(),
        c.get_bucket_tagging().bucket(b).send(),
        c.get_bucket_lifecycle_configuration().bucket(b).send(),
    );
    let encryption = absent_if(
        "s3:GetBucketEncryption",
        enc,
        &["ServerSideEncryptionConfigurationNotFoundError"],
    )
    .map(|out| {
        out.as_ref()
            .and_then(|o| o.server_side_encryption_configuration())
            .and_then(|c| {
                c.rules()
                    .iter()
                    .find_map(|r| Some((r, r.apply_server_side_encryption_by_default()?)))
            })
            .map_or(Value::Null, |(rule, d)| {
                json!({
                    "algorithm": d.sse_algorithm().as_str(),
                    "kms_key_id": d.kms_master_key_id(),
                    "bucket_key_enabled": rule.bucket_key_enabled().unwrap_or(false),
                })
            })
    });
    let public_access_block = absent_if(
        "s3:GetPublicAccessBlock",
        pab,
        &["NoSuchPublicAccessBlockConfiguration"],
    )
    .map(|out| {
        let c = out
            .as_ref()
            .and_then(|o| o.public_access_block_configuration());
        public_access_block!(c)
    });
    let versioning = ver.map_err(|e| api_error("s3:GetBucketVersioning", &e));
    let mfa_delete = versioning
        .as_ref()
        .map(|v| json!(v.mfa_delete() == Some(&aws_sdk_s3::types::MfaDeleteStatus::Enabled)))
        .map_err(Clone::clone);
    let versioning = versioning.map(|v| json!(v.status().map_or("Disabled", |s| s.as_str())));
    let object_lock = absent_if(
        "s3:GetObjectLockConfiguration",
        lock,
        &["ObjectLockConfigurationNotFoundError"],
    )
    .map(|out| {
        json!(
            out.as_ref()
                .and_then(|o| o.object_lock_configuration())
                .and_then(|c| c.object_lock_enabled())
                == Some(&aws_sdk_s3::types::ObjectLockEnabled::Enabled)
        )
    });
    let logging =
        log.map_err(|e| api_error("s3:GetBucketLogging", &e))
            .map(|o| {
                o.logging_enabled().map_or(Value::Null, |l| {
                json!({"target_bucket": l.target_bucket(), "target_prefix": l.target_prefix()})
            })
            });
    let policy = absent_if("s3:GetBucketPolicy", pol, &["NoSuchBucketPolicy"]).and_then(|out| {
        match out.as_ref().and_then(|o| o.policy()) {
            None => Ok(Value::Null),
            Some(text) => {
                let doc: Value = serde_json::from_str(text)
                    .map_err(|e| format!("s3:GetBucketPolicy: the policy is not JSON: {e}"))?;
                Ok(json!({
                    "public": policy::grants_public_access(&doc),
                    "tls_only": policy::requires_tls(&doc, b),
                }))
            }
        }
    });
    let tags = absent_if("s3:GetBucketTagging", tags, &["NoSuchTagSet"]).map(|out| {
        let map: BTreeMap<&str, &str> = out
            .as_ref()
            .map(|o| o.tag_set().iter().map(|t| (t.key(), t.value())).collect())
            .unwrap_or_default();
        json!(map)
    });
    let lifecycle = absent_if(
        "s3:GetBucketLifecycleConfiguration",
        life,
        &["NoSuchLifecycleConfiguration"],
    )
    .map(|out| {
        json!(
            out.as_ref()
                .map(|o| o.rules().iter().map(lifecycle_rule).collect::<Vec<_>>())
                .unwrap_or_default()
        )
    });
    Bucket {
        name,
        region: region.map(Value::from),
        encryption,
        public_access_block,
        versioning,
        mfa_delete,
        object_lock,
        logging,
        policy,
        tags,
        lifecycle,
    }
}

/// An endpoint resolver that always answers the configured URL.
#[derive(Debug)]
struct FixedEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_sdk_s3control::config::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

/// Reading bucket policies: does one grant public access, does one require TLS.
pub mod policy;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_of_location_constraints() {
        assert_eq!(location_region(None), "us-east-1");
        assert_eq!(location_region(Some("")), "us-east-1");
        assert_eq!(location_region(Some("EU")), "eu-west-1");
        assert_eq!(location_region(Some("ap-south-2")), "ap-south-2");
    }

    fn bucket(name: &str, encryption: Member) -> Bucket {
        let ok = || Ok(Value::Null);
        Bucket {
            name: name.into(),
            region: ok(),
            encryption,
            public_access_block: ok(),
            versioning: ok(),
            mfa_delete: ok(),
            object_lock: ok(),
            logging: ok(),
            policy: ok(),
            tags: ok(),
            lifecycle: ok(),
        }
    }

    #[test]
    fn a_summary_is_unavailable_when_a_bucket_cannot_be_read() {
        let buckets = [
            bucket("a", Ok(Value::Null)),
            bucket("b", Ok(json!({"algorithm": "AES256"}))),
        ];
        assert_eq!(
            buckets_where(&buckets, |b| &b.encryption, Value::is_null).unwrap(),
            ["a"]
        );
        let buckets = [
            bucket("a", Ok(Value::Null)),
            bucket(
                "c",
                Err("s3:GetBucketEncryption: AccessDenied: Access Denied".into()),
            ),
        ];
        assert_eq!(
            buckets_where(&buckets, |b| &b.encryption, Value::is_null).unwrap_err(),
            "c: s3:GetBucketEncryption: AccessDenied: Access Denied"
        );
        let json = buckets[1].to_json();
        assert_eq!(json["encryption"], Value::Null);
        assert_eq!(
            json["unavailable"]["encryption"],
            "s3:GetBucketEncryption: AccessDenied: Access Denied"
        );
    }

    #[test]
    fn whole_bucket_expiration() {
        let rule = |enabled: bool, whole: bool, days: Value| json!([{"enabled": enabled, "whole_bucket": whole, "expiration_days": days, "expiration_date": null}]);
        assert!(expires_whole_bucket(&rule(true, true, json!(365))));
        assert!(!expires_whole_bucket(&rule(false, true, json!(365))));
        assert!(!expires_whole_bucket(&rule(true, false, json!(365))));
        assert!(!expires_whole_bucket(&rule(true, true, Value::Null)));
        assert!(!expires_whole_bucket(&json!([])));
    }
}
