//! `vouch serve` (the server from a configuration file) and `vouch up` (everything locally on
//! embedded defaults: [`crate::up`]).

use super::*;

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Configuration file (TOML); without it, the defaults.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Data directory (overrides the configuration).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Listen address (overrides the configuration).
    #[arg(long)]
    pub(crate) listen: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct UpArgs {
    /// Data directory.
    #[arg(long, default_value = "./vouch-data")]
    pub(crate) data_dir: PathBuf,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub(crate) listen: String,
}

/// `vouch serve`: runs until SIGTERM or Ctrl-C; SIGHUP reloads the policy pack.
pub(crate) fn serve(args: ServeArgs, log_format: Option<LogFormat>) -> Result<ExitCode> {
    let ServeArgs {
        config,
        data_dir,
        listen,
    } = args;

    let mut cfg = match &config {
        Some(path) => ServerConfig::load(path).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => ServerConfig::default(),
    };
    if let Some(d) = data_dir {
        cfg.data_dir = d;
    }
    if let Some(l) = listen {
        cfg.listen = l;
    }
    let errors = cfg.validate(&config.map_or("command line".into(), |p| p.display().to_string()));
    if !errors.is_empty() {
        bail!("{}", vouch_server::config::ConfigErrors(errors));
    }
    vouch_config::logging::init(log_format.unwrap_or(cfg.log_format));
    runtime()?.block_on(async {
    let server = vouch_server::start(&cfg).await?;
    tracing::info!(addr = %server.local_addr, data_dir = %cfg.data_dir.display(), "vouch server started");
    #[cfg(unix)]
    if let Some(policies) = server.state().policies().cloned() {
        // SIGHUP reloads the policy pack; a bad pack is logged and the last good stays.
        let mut hup = tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::hangup(),
        )?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let _ = policies.reload().await;
            }
        });
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    anyhow::Ok(())
})?;
    Ok(ExitCode::SUCCESS)
}

/// `vouch up`: starts everything, prints how to reach it, runs until Ctrl-C.
pub(crate) fn up(args: UpArgs, log_format: Option<LogFormat>) -> Result<ExitCode> {
    let UpArgs { data_dir, listen } = args;

    vouch_config::logging::init(log_format.unwrap_or_default());
    runtime()?.block_on(async {
        let up = crate::up::up(&data_dir, &listen).await?;
        let assets = up.server.state().store().assets().await?;
        println!();
        println!("Vouch is running.");
        println!("  dashboard   {}/", up.url);
        println!("  admin token {}", up.admin_token);
        println!("  CA          {}", up.ca_cert.display());
        println!(
            "  agent       {} (config {})",
            up.agent.agent_id(),
            up.agent_config.display()
        );
        for d in &up.pushed {
            println!(
                "  snapshot    {d} (delivered {}, pending {})",
                up.delivery.delivered, up.delivery.pending
            );
        }
        println!("  assets      {}", assets.len());
        println!();
        println!(
            "Try:  curl --cacert {} -H 'Authorization: Bearer {}' {}/v1/assets",
            up.ca_cert.display(),
            up.admin_token,
            up.url
        );
        println!(
            "Ctrl-C stops; `vouch up` again reuses {}.",
            data_dir.display()
        );
        let stop = tokio_util::sync::CancellationToken::new();
        let agent_stop = stop.clone();
        let agent = up.agent;
        let agent_task = tokio::spawn(async move { agent.run(agent_stop).await });
        shutdown_signal().await;
        stop.cancel();
        let _ = agent_task.await;
        up.server.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
