//! Serving the app over HTTPS (rustls, HTTP/1.1 and HTTP/2) with graceful shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::app::app;
use crate::config::ServerConfig;
use crate::http::RemoteAddr;
use crate::state::{AppState, Limits, StateError};
use crate::tls::{self, LocalCa, TlsError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// State (store, keys) could not be opened.
    #[error(transparent)]
    State(#[from] StateError),
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The policy pack does not load.
    #[error(transparent)]
    Policies(#[from] crate::controls::PolicyError),
    /// The webhook client could not be made (no CA bundle to trust).
    #[error("alerts: {0}")]
    Alerts(String),
    /// The object storage bucket is not usable.
    #[error("objects: {0}")]
    Objects(#[from] crate::objects::ObjectError),
    /// The log's witnesses cannot be set up (a CA file that does not read).
    #[error(transparent)]
    Cosigners(#[from] crate::cosigning::CosignersError),
    /// The time-stamping authority cannot be set up (its certificate does not read).
    #[error(transparent)]
    Stamper(#[from] crate::timestamps::StamperError),
    /// Single sign-on cannot be set up (its CA file or client secret does not read).
    #[error(transparent)]
    Sso(#[from] crate::sso::SsoError),
    /// The witness's record (`<data_dir>/witness/`) does not read.
    #[error("witness: {0}")]
    Witness(#[from] crate::witness::WitnessError),
    /// `[metrics]` is not usable (its token file).
    #[error("metrics: {0}")]
    Metrics(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// A server running in this process.
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub local_addr: SocketAddr,
    /// The CA certificate clients should trust, when the server uses its local CA.
    pub ca_cert: Option<PathBuf>,
    /// The separate `/metrics` address, when `[metrics] listen` sets one.
    pub metrics_addr: Option<SocketAddr>,
    state: AppState,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    evaluator: Option<tokio::task::JoinHandle<()>>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// The server's state (store, token issuing, metrics).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish (up to 10 s), then closes the store
    /// after it has committed every queued write. The port is free again when this returns, so
    /// a new server may start on the same data directory and address.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
        if let Some(evaluator) = self.evaluator {
            let _ = evaluator.await;
        }
        for task in self.background {
            let _ = task.await;
        }
        if let Err(e) = self.state.flush_refusals().await {
            tracing::error!(error = %e, "writing the counted refusals failed");
        }
        if let Err(e) = self.state.store().close().await {
            tracing::error!(error = %e, "closing the store failed");
        }
    }

    /// Resolves when the server stops on its own (it does not, unless the task fails).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Opens the data directory, sets up TLS (the configured files, or the local CA) and starts
/// serving `config.listen`.
pub async fn start(config: &ServerConfig) -> Result<RunningServer, ServeError> {
    let objects = match &config.objects {
        Some(o) => Some(crate::objects::ObjectStore::connect(o).await),
        None => None,
    };
    start_using(config, objects).await
}

/// As [`start`], with the object store given (made with credentials the caller obtained,
/// e.g. [`ObjectStore::connect_with`](crate::objects::ObjectStore::connect_with)) instead of
/// one made from `config.objects` with the standard AWS credential chain.
pub async fn start_using(
    config: &ServerConfig,
    objects: Option<crate::objects::ObjectStore>,
) -> Result<RunningServer, ServeError> {
    let limits = Limits {
        max_body_bytes: config.max_body_bytes,
        clock_skew_secs: config.clock_skew_secs,
    };
    let state = AppState::open(&config.data_dir, config.database_url.as_deref(), limits).await?;
    if let Some(objects) = objects {
        objects.check().await?;
        tracing::info!(
            bucket = objects.bucket(),
            "envelopes move to object storage"
        );
        state.store().attach_objects(objects);
    }
    state.set_retention(config.retention.clone());
    if !config.witness.logs.is_empty() {
        let key = crate::state::load_or_create_key(&config.data_dir.join("witness.key"))?;
        let witness = crate::witness::WitnessService::new(
            key,
            &config.witness,
            Some(config.data_dir.join("witness")),
        )?;
        tracing::info!(witness = %witness.verifier(), logs = config.witness.logs.len(), "witnessing other logs");
        state.set_witness(witness);
    }
    if !config.log.witnesses.is_empty() {
        let cosigners = crate::cosigning::Cosigners::new(&config.log, crate::USER_AGENT)?;
        tracing::info!(
            witnesses = config.log.witnesses.len(),
            quorum = cosigners.quorum(),
            interval_secs = config.log.witness_interval_secs,
            "the log's checkpoints go to witnesses"
        );
        state.set_cosigners(cosigners);
    }
    if let Some(stamper) = crate::timestamps::Stamper::new(&config.timestamps, crate::USER_AGENT)? {
        tracing::info!(
            interval_secs = config.timestamps.interval_secs,
            "the log's checkpoints are time-stamped (RFC 3161)"
        );
        state.set_stamper(stamper);
    }
    if let Some(sso) = crate::sso::Sso::new(&config.oidc, crate::USER_AGENT)? {
        tracing::info!(
            issuer = config.oidc.issuer.as_deref().unwrap_or_default(),
            client_id = %config.oidc.client_id,
            groups = config.oidc.groups.len(),
            "people sign in through the OpenID provider"
        );
        state.set_sso(sso);
    }
    state.set_guards(crate::connections::Guards::new(config.connections.clone()));
    let metrics_listener = match config.metrics.listen_addr() {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Bind { addr, source })?,
        ),
        None => None,
    };
    state.set_metrics_access(crate::state::MetricsAccess {
        on_main_listener: metrics_listener.is_none(),
        token: config
            .metrics
            .token()
            .map_err(ServeError::Metrics)?
            .map(|t| vouch_evidence::Digest::of(t.as_bytes())),
    });
    let policies = crate::controls::Policies::start(
        state.store().clone(),
        config.policies.clone(),
        vouch_policies::Catalogs::builtin(),
    )
    .await?;
    state.set_policies(policies);
    if !config.alerts.webhooks.is_empty() {
        let client =
            crate::alerts::webhook_client(Duration::from_secs(10)).map_err(ServeError::Alerts)?;
        state.set_alerter(crate::alerts::Alerter::new(config.alerts.clone(), client));
    }
    let (tls_config, ca_cert) = match &config.tls {
        Some(files) => (tls::server_config(&files.cert, &files.key)?, None),
        None => {
            let ca = LocalCa::load_or_create(&config.data_dir.join("tls"), &config.tls_names)?;
            (
                tls::server_config(&ca.cert_path(), &ca.key_path())?,
                Some(ca.ca_cert_path()),
            )
        }
    };
    let mut running = start_with(state, config.listen_addr(), tls_config).await?;
    running.ca_cert = ca_cert;
    if let Some(listener) = metrics_listener {
        running.metrics_addr = listener.local_addr().ok();
        tracing::info!(addr = ?running.metrics_addr, "/metrics is served on its own address");
        let task = serve_metrics(listener, running.state.clone(), running.stop.clone());
        running.background.push(task);
    }
    Ok(running)
}

/// Serves `/metrics` alone, over plain HTTP, on `listener` until `stop`: at most 64
/// connections at once, each closed if its request head is not in within 10 s.
fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    const MAX_CONNECTIONS: usize = 64;
    let router = crate::http::metrics_app(state);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                _ = stop.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, max = MAX_CONNECTIONS, "metrics: connection refused: too many open");
                continue;
            };
            let router = router.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    router.clone().oneshot(req.map(axum::body::Body::new))
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(TokioIo::new(tcp), service);
                tokio::select! {
                    _ = conn => {}
                    _ = stop.cancelled() => {}
                }
            });
        }
    })
}

/// Serves `state` on `addr` with `tls`.
pub async fn start_with(
    state: AppState,
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
) -> Result<RunningServer, ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let stop = CancellationToken::new();
    let evaluator = state
        .policies()
        .map(|p| p.spawn(state.alerter(), Duration::from_secs(10), stop.clone()));
    let background = background_tasks(&state, &stop);
    let router = app(state.clone());
    let acceptor = TlsAcceptor::from(tls);
    let token = stop.clone();
    let limits = state.guards().limits.clone();
    let header_timeout = Duration::from_secs(limits.header_timeout_secs);
    let body_timeout = Duration::from_secs(limits.body_timeout_secs);
    let idle_timeout = Duration::from_secs(limits.idle_timeout_secs);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        loop {
            let (tcp, peer) = tokio::select! {
                _ = token.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            // Beyond the cap a connection is closed at once: it costs no task, no TLS.
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, max = limits.max_connections, "connection refused: too many open");
                drop(tcp);
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let router = router.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _slot = slot;
                let (tcp, idle) = crate::connections::Activity::new(tcp);
                let tls = match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
                let service =
                    hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                        req.extensions_mut().insert(RemoteAddr(peer));
                        // Every body must arrive within its deadline (slow bodies).
                        let req = req.map(|b| {
                            axum::body::Body::new(crate::connections::TimedBody::new(
                                axum::body::Body::new(b),
                                body_timeout,
                            ))
                        });
                        router.clone().oneshot(req)
                    });
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout);
                builder.http2().timer(TokioTimer::new());
                let conn = builder.serve_connection(TokioIo::new(tls), service);
                tokio::select! {
                    ended = watcher.watch(conn) => {
                        if let Err(e) = ended {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    }
                    () = idle.idle_for(idle_timeout) => {
                        tracing::debug!(%peer, "idle connection closed");
                    }
                }
            });
        }
        drop(listener);
        if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not finish within 10 s of shutdown");
        }
    });
    tracing::info!(%local_addr, "listening (HTTPS)");
    Ok(RunningServer {
        local_addr,
        ca_cert: None,
        metrics_addr: None,
        state,
        stop,
        task,
        evaluator,
        background,
    })
}

/// Runs `job` every `period` until `stop` is cancelled: first after one period, or at once
/// too with `at_start`.
fn every<F, Fut>(
    state: &AppState,
    stop: &CancellationToken,
    period: Duration,
    at_start: bool,
    job: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let state = state.clone();
    let stop = stop.clone();
    tokio::spawn(async move {
        if at_start {
            job(state.clone()).await;
        }
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(period) => {}
            }
            job(state.clone()).await;
        }
    })
}

/// The keyring refresh (revocations made by the command line or another replica), the write
/// of counted refusals, the gauges `/metrics` shows (so that a scrape costs no query), the
/// uploader of envelopes to object storage (when attached) and periodic expiry (when a
/// retention period is configured), each stopping with `stop`.
fn background_tasks(
    state: &AppState,
    stop: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let secs = Duration::from_secs;
    let mut tasks = vec![
        every(
            state,
            stop,
            secs(crate::state::KEYRING_REFRESH_SECS),
            false,
            |state| async move {
                if let Err(e) = state.refresh_keys().await {
                    tracing::warn!(error = %e, "reading the keyring again failed");
                }
            },
        ),
        every(
            state,
            stop,
            secs(crate::refusals::FLUSH_SECS),
            false,
            |state| async move {
                if let Err(e) = state.flush_refusals().await {
                    tracing::warn!(error = %e, "writing the counted refusals failed");
                }
            },
        ),
    ];
    if let Some(cosigners) = state.cosigners() {
        tasks.push(every(
            state,
            stop,
            cosigners.interval(),
            true,
            |state| async move { state.witness_round().await },
        ));
    }
    if let Some(stamper) = state.stamper() {
        // The first stamp one interval after start: a restart does not ask the TSA again for
        // a checkpoint it dated moments ago.
        tasks.push(every(
            state,
            stop,
            stamper.interval(),
            false,
            |state| async move { state.timestamp_round().await },
        ));
    }
    if let Some(objects) = state.store().objects() {
        tasks.push(every(state, stop, secs(10), true, |state| async move {
            match state.store().pending_uploads().await {
                Ok(n) => state.metrics().set_objects_pending(n),
                Err(e) => tracing::warn!(error = %e, "cannot count envelopes to move"),
            }
        }));
        let uploader = crate::objects::Uploader::new(state.store().clone(), objects.clone());
        tasks.push(tokio::spawn(
            uploader.run(stop.clone(), Some(state.clone())),
        ));
    }
    if state.retention().enabled() {
        let period = secs(state.retention().interval_secs);
        tasks.push(every(state, stop, period, false, |state| async move {
            match state.expire().await {
                Ok(r) => tracing::info!(
                    examined = r.examined,
                    expired = r.expired,
                    held_by_audit_period = r.held_by_audit_period,
                    held_by_object_lock = r.held_by_object_lock,
                    "retention applied"
                ),
                Err(e) => tracing::error!(error = %e, "retention run failed"),
            }
        }));
    }
    tasks
}
