//! The Kubernetes source: facts about one cluster, asked of its API server with kube, in
//! cluster (the pod's service account) or through a kubeconfig. One file per area; each
//! declares its evidence ids.
//!
//! The collector only reads, and only what [`API_ACCESS`] lists: the read-only ClusterRole of
//! `packaging/kubernetes/rbac.yaml` grants exactly that, and a test compares the two. Secrets
//! are counted by type without their values ever leaving the API server (see `secrets.rs`).
//! List calls are paginated (`limit` and `continue`); an API server's `429 Too Many Requests`
//! is waited out (its `retryAfterSeconds`) within the collection's deadline.

mod apiserver;
mod cluster;
mod namespaces;
mod pods;
mod rbac;
mod secrets;
mod service_accounts;

use crate::remote::{get_call as call};
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{ListParams, ObjectList};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, OnceCell};
use tokio_util::sync::CancellationToken;
use vouch_evidence::{Asset, AssetKind};

use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Source, remote, Registration, SourceConfig};

/// Every area's declarations, for documentation and checks.
pub const EVIDENCE_AREAS: &[&[EvidenceSpec]] = &[
    cluster::EVIDENCE,
    rbac::EVIDENCE,
    pods::EVIDENCE,
    apiserver::EVIDENCE,
    namespaces::EVIDENCE,
    service_accounts::EVIDENCE,
    secrets::EVIDENCE,
];

/// One kind of API access, as RBAC names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiAccess {
    /// The API group (`""`: the core group).
    pub group: &'static str,
    /// The resource (plural), or for a non-resource URL the URL (`/version`).
    pub resource: &'static str,
    /// The verb.
    pub verb: &'static str,
}

const fn access(group: &'static str, resource: &'static str, verb: &'static str) -> ApiAccess {
    ApiAccess {
        group,
        resource,
        verb,
    }
}

/// Every API call the collectors make, as RBAC sees it. Non-resource URLs start with `/`.
pub const API_ACCESS: &[ApiAccess] = &[
    access("", "/version", "get"),
    access("", "namespaces", "get"),
    access("", "namespaces", "list"),
    access("", "nodes", "list"),
    access("", "pods", "list"),
    access("", "secrets", "list"),
    access("", "serviceaccounts", "list"),
    access("networking.k8s.io", "networkpolicies", "list"),
    access("rbac.authorization.k8s.io", "clusterrolebindings", "list"),
    access("rbac.authorization.k8s.io", "clusterroles", "list"),
    access("rbac.authorization.k8s.io", "roles", "list"),
];

/// `[collectors.kubernetes]` in the agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesConfig {
    /// Collect cluster evidence at all.
    pub enabled: bool,
    /// A kubeconfig file; absent: in cluster, with the pod's service account.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig's context to use; absent: its current context.
    pub context: Option<String>,
    /// The cluster's name in Vouch; absent: the context's name (`in-cluster` in cluster).
    pub name: Option<String>,
    /// When to collect: a cron expression with seconds.
    pub schedule: String,
    /// Time budget of each area's collector, in seconds.
    pub timeout_secs: u64,
    /// Objects asked for per list call (`limit`); larger lists come in pages.
    pub page_size: u32,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            enabled: false,
            kubeconfig: None,
            context: None,
            name: None,
            schedule: "0 */30 * * * *".into(),
            timeout_secs: 120,
            page_size: 500,
        }
    }
}

impl SourceConfig for KubernetesConfig {
    const REGISTRATION: Registration = Registration {
        name: "kubernetes",
        kind: AssetKind::KubernetesCluster,
        intro: "Facts about one Kubernetes cluster, asked of its API server in cluster or through a kubeconfig, with only the read access of `packaging/kubernetes/rbac.yaml`. Secrets are counted by type; their values never leave the API server.",
        evidence: EVIDENCE_AREAS,
    };

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        self.validate()
    }

    fn source(&self) -> Box<dyn Source> {
        Box::new(KubernetesSource::new(self.clone()))
    }
}

impl KubernetesConfig {
    /// Every problem, as (key below `collectors.kubernetes`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if let Some(p) = &self.kubeconfig {
            if !p.is_absolute() {
                errors.push((
                    "kubeconfig",
                    format!("{} must be an absolute path", p.display()),
                ));
            } else if self.enabled && !p.is_file() {
                errors.push((
                    "kubeconfig",
                    format!("{} is not a readable file", p.display()),
                ));
            }
        } else if self.context.is_some() {
            errors.push((
                "context",
                "names a kubeconfig context, but no kubeconfig is set".to_string(),
            ));
        }
        if self.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            errors.push(("name", "must not be empty".to_string()));
        }
        remote::check_schedule_and_budget(
            &mut errors,
            &self.schedule,
            "0 */30 * * * *",
            self.timeout_secs,
        );
        remote::check_range(&mut errors, "page_size", self.page_size, 1..=5000);
        errors
    }

    /// A client as configured, and the context's name. The error is a reason sentence.
    async fn connect(&self) -> Result<(kube::Client, Option<String>), String> {
        let (mut config, context) = match &self.kubeconfig {
            Some(path) => {
                let file = Kubeconfig::read_from(path)
                    .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
                let context = self
                    .context
                    .clone()
                    .or_else(|| file.current_context.clone());
                let options = KubeConfigOptions {
                    context: self.context.clone(),
                    ..KubeConfigOptions::default()
                };
                let config = kube::Config::from_custom_kubeconfig(file, &options)
                    .await
                    .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
                (config, context)
            }
            None => (
                kube::Config::incluster().map_err(|e| format!("not running in a cluster: {e}"))?,
                None,
            ),
        };
        // 429s are waited out here, within the deadline, not by kube's own unbounded retries.
        config.default_retry = false;
        config.read_timeout = Some(remote::REQUEST_TIMEOUT);
        let client =
            kube::Client::try_from(config).map_err(|e| format!("Kubernetes client: {e}"))?;
        Ok((client, context))
    }
}

/// One collection's client and the lists more than one area reads (asked once per collection).
struct Run {
    client: Result<kube::Client, String>,
    context: Option<String>,
    pods: OnceCell<Result<Arc<Vec<Pod>>, String>>,
}

/// What the collectors of one source share.
struct Shared {
    config: KubernetesConfig,
    run: Mutex<Option<Arc<Run>>>,
}

impl Shared {
    /// This collection's client and lists, made if there are none yet.
    async fn run(&self) -> Arc<Run> {
        let mut run = self.run.lock().await;
        if let Some(r) = run.as_ref() {
            return r.clone();
        }
        let (client, context) = match self.config.connect().await {
            Ok((c, context)) => (Ok(c), context),
            Err(e) => (Err(e), self.config.context.clone()),
        };
        let made = Arc::new(Run {
            client,
            context,
            pods: OnceCell::new(),
        });
        *run = Some(made.clone());
        made
    }

    /// Starts a new collection: the next [`Shared::run`] connects afresh.
    async fn reset(&self) {
        *self.run.lock().await = None;
    }

    /// The client, or the collector fails with the reason.
    async fn client(&self) -> Result<(Arc<Run>, kube::Client), CollectError> {
        let run = self.run().await;
        let client = run.client.clone().map_err(CollectError::Failed)?;
        Ok((run, client))
    }

    /// Every pod of the cluster, asked once per collection.
    async fn pods(&self, ctx: &CollectContext) -> Result<Arc<Vec<Pod>>, String> {
        let run = self.run().await;
        let client = run.client.clone()?;
        run.pods
            .get_or_init(|| async {
                let api = kube::Api::<Pod>::all(client);
                list(ctx, &self.config, PODS, &api).await.map(Arc::new)
            })
            .await
            .clone()
    }
}

/// `GET /api/v1/pods`, the pods of every namespace.
const PODS: &str = "/api/v1/pods";

/// One API call, waiting out `429 Too Many Requests` within the deadline. The error is a
/// reason sentence naming the call (`GET path`).
async fn request<T, Fut>(
    ctx: &CollectContext,
    path: &str,
    mut send: impl FnMut() -> Fut,
) -> Result<T, String>
where
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let call = format!("GET {path}");
    let mut waited = 0;
    loop {
        match remote::bounded(ctx, send()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(kube::Error::Api(status))) if status.code == 429 => {
                let secs = status
                    .details
                    .as_ref()
                    .map(|d| d.retry_after_seconds)
                    .filter(|s| *s > 0)
                    .unwrap_or(1);
                let until = SystemTime::now() + Duration::from_secs(u64::from(secs));
                remote::wait_out_rate_limit(ctx, &call, until, waited).await?;
                waited += 1;
            }
            Ok(Err(kube::Error::Api(status))) => {
                let reason = if status.reason.is_empty() {
                    String::new()
                } else {
                    format!(" {}", status.reason)
                };
                return Err(format!(
                    "{call}: HTTP {}{reason}: {}",
                    status.code, status.message
                ));
            }
            Ok(Err(e)) => return Err(format!("{call}: {e}")),
            Err(reason) => return Err(format!("{call}: {reason}")),
        }
    }
}

/// Every object of a paginated list: `fetch` is called with `params` (a field selector, say),
/// the configured `limit` and, after the first page, the `continue` token of the previous one.
async fn pages<K, Fut>(
    ctx: &CollectContext,
    config: &KubernetesConfig,
    path: &str,
    params: ListParams,
    mut fetch: impl FnMut(ListParams) -> Fut,
) -> Result<Vec<K>, String>
where
    K: Clone + DeserializeOwned + Debug,
    Fut: Future<Output = Result<ObjectList<K>, kube::Error>>,
{
    let mut params = params.limit(config.page_size);
    let mut items = Vec::new();
    loop {
        let page = request(ctx, path, || fetch(params.clone())).await?;
        items.extend(page.items);
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(items),
        }
    }
}

/// Every object `api` lists (`GET path`), page by page.
async fn list<K>(
    ctx: &CollectContext,
    config: &KubernetesConfig,
    path: &str,
    api: &kube::Api<K>,
) -> Result<Vec<K>, String>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
{
    pages(ctx, config, path, ListParams::default(), |lp| async move {
        api.list(&lp).await
    })
    .await
}

/// `namespace/name` of an object.
fn qualified(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}

/// The Kubernetes source.
#[derive(Clone)]
pub struct KubernetesSource {
    shared: Arc<Shared>,
}

impl KubernetesSource {
    /// A Kubernetes source with `config`.
    pub fn new(config: KubernetesConfig) -> Self {
        KubernetesSource {
            shared: Arc::new(Shared {
                config,
                run: Mutex::new(None),
            }),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &KubernetesConfig {
        &self.shared.config
    }
}

#[async_trait::async_trait]
impl Source for KubernetesSource {
    fn name(&self) -> &'static str {
        <KubernetesConfig as SourceConfig>::REGISTRATION.name
    }

    /// The cluster: its id is the UID of the `kube-system` namespace, which lives as long as
    /// the cluster; its name the configured one, else the kubeconfig context's. When the
    /// namespace cannot be read the id says so (`unknown:<name>`), a chain apart.
    async fn asset(&self, ctx: &CollectContext) -> Asset {
        self.shared.reset().await;
        let run = self.shared.run().await;
        let name = self
            .shared
            .config
            .name
            .clone()
            .or_else(|| run.context.clone())
            .unwrap_or_else(|| "in-cluster".to_string());
        let uid = match &run.client {
            Ok(client) => {
                let api = kube::Api::<Namespace>::all(client.clone());
                request(ctx, "/api/v1/namespaces/kube-system", || {
                    api.get("kube-system")
                })
                .await
                .and_then(|ns| {
                    ns.metadata
                        .uid
                        .ok_or_else(|| "the kube-system namespace has no uid".to_string())
                })
            }
            Err(e) => Err(e.clone()),
        };
        let id = uid.unwrap_or_else(|e| {
            tracing::warn!(cluster = name, error = e, "cluster id unavailable");
            format!("unknown:{name}")
        });
        Asset {
            kind: AssetKind::KubernetesCluster,
            id,
            name,
        }
    }

    fn collectors(&self) -> Vec<Arc<dyn Collector>> {
        vec![
            Arc::new(cluster::Cluster(self.shared.clone())),
            Arc::new(rbac::Rbac(self.shared.clone())),
            Arc::new(pods::Pods(self.shared.clone())),
            Arc::new(apiserver::ApiServer(self.shared.clone())),
            Arc::new(namespaces::Namespaces(self.shared.clone())),
            Arc::new(service_accounts::ServiceAccounts(self.shared.clone())),
            Arc::new(secrets::Secrets(self.shared.clone())),
        ]
    }

    fn context(&self, shutdown: CancellationToken) -> CollectContext {
        remote::api_context(self.shared.config.timeout_secs, shutdown)
    }

    fn schedule(&self) -> &str {
        &self.shared.config.schedule
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_problems_are_all_reported() {
        let bad = KubernetesConfig {
            enabled: true,
            kubeconfig: Some("kubeconfig".into()),
            name: Some(" ".into()),
            schedule: "often".into(),
            timeout_secs: 0,
            page_size: 0,
            ..KubernetesConfig::default()
        };
        let keys: Vec<&str> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "kubeconfig",
                "name",
                "schedule",
                "timeout_secs",
                "page_size"
            ]
        );
        let orphan_context = KubernetesConfig {
            context: Some("prod".into()),
            ..KubernetesConfig::default()
        };
        assert_eq!(orphan_context.validate()[0].0, "context");
        let missing = KubernetesConfig {
            enabled: true,
            kubeconfig: Some("/nonexistent/kubeconfig".into()),
            ..KubernetesConfig::default()
        };
        assert!(missing.validate()[0].1.contains("not a readable file"));
        assert!(KubernetesConfig::default().validate().is_empty());
    }

    #[test]
    fn access_is_read_only_and_sorted() {
        assert!(API_ACCESS.iter().all(|a| matches!(a.verb, "get" | "list")));
        assert!(API_ACCESS.windows(2).all(|w| w[0] < w[1]));
    }
}
