//! `vouch`: the Vouch server and the auditor's command line. Thin glue over the library.

mod admin;
mod api;
mod policy;
mod up;

use admin::*;
use api::*;
use policy::*;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use vouch_server::auth::Role;
use vouch_server::config::{LogFormat, ServerConfig};
use vouch_server::state::{AppState, Limits, expand_date};

#[derive(Parser)]
#[command(
    name = "vouch",
    version,
    about = "Vouch: signed evidence for ISO/IEC 27001 and 27701 audits"
)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start everything locally on embedded defaults: server, local CA, an enrolled agent for
    /// this host and its first signed snapshot. Runs until Ctrl-C; run again to reuse the data.
    Up {
        /// Data directory.
        #[arg(long, default_value = "./vouch-data")]
        data_dir: PathBuf,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: String,
    },
    /// Run the server.
    Serve {
        /// Configuration file (TOML); without it, the defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (overrides the configuration).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Listen address (overrides the configuration).
        #[arg(long)]
        listen: Option<String>,
    },
    /// API and enrolment tokens: issue, list, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Enrolled agents: list, revoke.
    Agents {
        #[command(subcommand)]
        command: AgentsCommand,
    },
    /// The audit log: who issued and revoked what, newest first.
    AuditLog {
        /// How many entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Data directory.
        #[arg(long, default_value = "./vouch-data")]
        data_dir: PathBuf,
    },
    /// Check everything the server stores: every envelope (in the database or the bucket)
    /// against its digest, its agent's key and the index, every receipt, every chain's
    /// continuity. Prints each problem with its chain, sequence and digest; exit 1 on any.
    Fsck {
        /// The server's configuration file (database, object storage); without it, the defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (overrides the configuration).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Public keys of the enrolled agents and the server's receipt key.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Verify snapshot envelopes or an evidence bundle offline; exit 0 only when everything
    /// verifies (the same command as `vouch-verify`).
    Verify(vouch_server::verify::cli::VerifyFlags),
    /// Draw a reproducible audit sample through a server's API (auditor token).
    Sample {
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        query: QueryArgs,
        /// Print the whole answer as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Manual evidence: record a signed attestation for an organisational control.
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Control status from a server: pass, fail, accepted, stale, manual…, now or as of an
    /// instant, with what failed; exit 1 when a listed control fails.
    Controls {
        #[command(flatten)]
        api: ApiArgs,
        /// The instant: RFC 3339, or a date (YYYY-MM-DD, midnight UTC); default now.
        #[arg(long)]
        as_of: Option<String>,
        /// Only this framework's controls (iso27001-2022, iso27701-2019, iso27701-2025).
        #[arg(long)]
        framework: Option<String>,
        /// Only controls in this state (pass, fail, accepted, stale, manual, error, no_evidence).
        #[arg(long)]
        status: Option<String>,
        /// Print the server's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load a server as a fleet would: N simulated agents with real keys enrol (an admin token
    /// issues their enrolment tokens) and push signed chains; prints accepted per second,
    /// latency percentiles and rejections by reason.
    Loadgen {
        #[command(flatten)]
        api: ApiArgs,
        /// Simulated agents.
        #[arg(long, default_value_t = 100)]
        agents: usize,
        /// Snapshots each agent sends, in chain order.
        #[arg(long, default_value_t = 10)]
        snapshots_per_agent: u64,
        /// Agents sending at the same time.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Evidence items per snapshot (about 60 bytes each).
        #[arg(long, default_value_t = 100)]
        evidence_items: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export the assessment results of a framework in the OSCAL 1.1 assessment-results JSON
    /// model (for GRC tools), now or as of an instant.
    Oscal {
        #[command(flatten)]
        api: ApiArgs,
        /// The framework (iso27001-2022, iso27701-2019, iso27701-2025).
        #[arg(long, default_value = "iso27001-2022")]
        framework: String,
        /// The instant: RFC 3339, or a date (YYYY-MM-DD, midnight UTC); default now.
        #[arg(long)]
        as_of: Option<String>,
        /// Write the document here instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Exceptions (accepted risks): a failing policy shows as accepted, not pass, until the
    /// exception expires.
    Exception {
        #[command(subcommand)]
        command: ExceptionCommand,
    },
    /// Policy packs: run their test cases, check them, show what they cover; on a server,
    /// reload the pack or re-evaluate a period with it.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Download the evidence bundle of a sample (`.tar.gz`), to check with `vouch verify`.
    Export {
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        query: QueryArgs,
        /// Where to write the bundle.
        #[arg(short, long, default_value = "vouch-bundle.tar.gz")]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum EvidenceCommand {
    /// Record that a control is in place: who attests what, until when, with an optional
    /// document; the server signs and keeps it (security-lead or admin token).
    Add {
        #[command(flatten)]
        api: ApiArgs,
        /// The control, qualified: iso27001-2022:A.5.1.
        #[arg(long)]
        control: String,
        /// What is attested.
        #[arg(long)]
        statement: String,
        /// Who attests (name and role).
        #[arg(long)]
        by: String,
        /// Until when it holds: RFC 3339, or a date (YYYY-MM-DD, midnight UTC).
        #[arg(long)]
        valid_until: String,
        /// A document to attach (at most 2 MiB).
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ExceptionCommand {
    /// Accept the risk of a failing policy, on one asset or all, until a date (security-lead
    /// or admin token; at most a year).
    Add {
        #[command(flatten)]
        api: ApiArgs,
        /// The policy's id (host.ssh.root_login_disabled).
        #[arg(long)]
        policy: String,
        /// The asset, as KIND/ID (host/5f1c…); default every asset.
        #[arg(long)]
        asset: Option<String>,
        /// Why the risk is accepted.
        #[arg(long)]
        justification: String,
        /// Who owns the risk.
        #[arg(long)]
        owner: String,
        /// When it lapses: RFC 3339, or a date (YYYY-MM-DD, midnight UTC).
        #[arg(long)]
        expires: String,
    },
    /// Every exception ever recorded, lapsed ones too.
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Percent-encodes a query value.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `GET /v1/controls` answer as a table: a line per control, then, indented, what fails,
/// errs or is stale, and the manual evidence a control lacks.
fn render_controls_view(view: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let empty = Vec::new();
    let controls = view["controls"].as_array().unwrap_or(&empty);
    let _ = writeln!(
        out,
        "controls as of {}, pack {}, {} assets",
        view["at"].as_str().unwrap_or_default(),
        view["pack"]
            .as_str()
            .unwrap_or_default()
            .get(..12)
            .unwrap_or_default(),
        view["assets"]
    );
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for c in controls {
        let status = c["status"].as_str().unwrap_or_default();
        *counts.entry(status.to_string()).or_default() += 1;
        let _ = writeln!(
            out,
            "{:<24} {:<14} {}",
            c["control"].as_str().unwrap_or_default(),
            status,
            c["title"].as_str().unwrap_or_default()
        );
        for o in c["outcomes"].as_array().unwrap_or(&empty) {
            let state = o["state"].as_str().unwrap_or_default();
            if matches!(state, "fail" | "error" | "stale" | "accepted") {
                let _ = writeln!(
                    out,
                    "    {state} {} on {}: {}",
                    o["policy"].as_str().unwrap_or_default(),
                    o["asset"]["name"].as_str().unwrap_or_default(),
                    o["reason"].as_str().unwrap_or_default()
                );
            }
        }
        match c["attested"]["state"].as_str() {
            Some("missing") => {
                let _ = writeln!(out, "    manual: no attestation recorded");
            }
            Some("expired") => {
                let _ = writeln!(
                    out,
                    "    stale: attestation expired {}",
                    c["attested"]["until"].as_str().unwrap_or_default()
                );
            }
            _ => {}
        }
    }
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let _ = writeln!(out, "{} controls: {}", controls.len(), summary.join(", "));
    out
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn open_state(data_dir: &std::path::Path) -> Result<(tokio::runtime::Runtime, AppState)> {
    let rt = runtime()?;
    let d = ServerConfig::default();
    let limits = Limits {
        max_body_bytes: d.max_body_bytes,
        clock_skew_secs: d.clock_skew_secs,
    };
    let state = rt
        .block_on(AppState::open_data_dir(data_dir, limits))
        .with_context(|| format!("cannot open data directory {}", data_dir.display()))?;
    Ok((rt, state))
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Up { data_dir, listen } => {
            init_logs(cli.log_format.unwrap_or_default());
            runtime()?.block_on(async {
                let up = up::up(&data_dir, &listen).await?;
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
        Command::Serve {
            config,
            data_dir,
            listen,
        } => {
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
            let errors =
                cfg.validate(&config.map_or("command line".into(), |p| p.display().to_string()));
            if !errors.is_empty() {
                bail!("{}", vouch_server::config::ConfigErrors(errors));
            }
            init_logs(cli.log_format.unwrap_or(cfg.log_format));
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
        Command::Token { command } => token_command(command),
        Command::Agents { command } => agents_command(command),
        Command::AuditLog { limit, data_dir } => {
            let (rt, state) = open_state(&data_dir)?;
            for e in rt.block_on(state.store().audit_log(limit))? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    e.at, e.actor, e.action, e.subject, e.detail
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fsck { config, data_dir } => {
            let mut cfg = match &config {
                Some(path) => ServerConfig::load(path).map_err(|e| anyhow::anyhow!("{e}"))?,
                None => ServerConfig::default(),
            };
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            let limits = Limits {
                max_body_bytes: cfg.max_body_bytes,
                clock_skew_secs: cfg.clock_skew_secs,
            };
            let report = runtime()?.block_on(async {
                let state = AppState::open(&cfg.data_dir, cfg.database_url.as_deref(), limits)
                    .await
                    .with_context(|| format!("cannot open {}", cfg.data_dir.display()))?;
                if let Some(o) = &cfg.objects {
                    let objects = vouch_server::objects::ObjectStore::connect(o).await;
                    state.store().attach_objects(objects);
                }
                let key = state.receipt_key().public();
                let report = vouch_server::fsck::fsck(state.store().as_ref(), key).await;
                state.store().close().await?;
                anyhow::Ok(report?)
            })?;
            for p in &report.problems {
                println!("FAIL {p}");
            }
            println!(
                "{} snapshot(s) in {} chain(s): {} envelope(s) checked, {} removed by retention, {} problem(s)",
                report.snapshots,
                report.chains,
                report.envelopes_checked,
                report.expired,
                report.problems.len()
            );
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        command @ (Command::Sample { .. } | Command::Export { .. }) => {
            runtime()?.block_on(sample_or_export(command))
        }
        Command::Policy { command } => policy(command),
        Command::Loadgen {
            api,
            agents,
            snapshots_per_agent,
            concurrency,
            evidence_items,
            json,
        } => {
            let config = vouch_server::loadgen::LoadConfig {
                url: api.server.clone(),
                ca_pem: api.ca_pem()?,
                admin_token: api.token()?,
                agents,
                snapshots_per_agent,
                concurrency,
                evidence_items,
            };
            let report = runtime()?.block_on(vouch_server::loadgen::run(&config))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render());
            }
            Ok(if report.rejected.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Oscal {
            api,
            framework,
            as_of,
            out,
        } => {
            let mut path = format!("/v1/oscal?framework={}", percent(&framework));
            if let Some(t) = as_of {
                path.push_str(&format!("&as_of={}", percent(&expand_date(&t))));
            }
            let document = runtime()?.block_on(api.get(&path))?;
            match out {
                Some(file) => {
                    std::fs::write(&file, &document)
                        .with_context(|| format!("writing {}", file.display()))?;
                    eprintln!("wrote {} ({} bytes)", file.display(), document.len());
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &document)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Controls {
            api,
            as_of,
            framework,
            status,
            json,
        } => {
            let mut query = Vec::new();
            for (key, value) in [
                ("as_of", as_of.as_deref().map(expand_date)),
                ("framework", framework),
                ("status", status),
            ] {
                if let Some(v) = value {
                    query.push(format!("{key}={}", percent(&v)));
                }
            }
            let path = format!("/v1/controls?{}", query.join("&"));
            let answer = runtime()?.block_on(api.get(&path))?;
            let view: serde_json::Value = serde_json::from_slice(&answer)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print!("{}", render_controls_view(&view));
            }
            let failing = view["controls"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["status"] == "fail"));
            Ok(if failing {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Exception {
            command:
                ExceptionCommand::Add {
                    api,
                    policy,
                    asset,
                    justification,
                    owner,
                    expires,
                },
        } => {
            let mut body = serde_json::json!({
                "policy": policy,
                "justification": justification,
                "owner": owner,
                "expires_at": expand_date(&expires),
            });
            if let Some(asset) = asset {
                let (kind, id) = asset
                    .split_once('/')
                    .context("--asset is KIND/ID, e.g. host/5f1c1b0e")?;
                body["asset_kind"] = kind.into();
                body["asset_id"] = id.into();
            }
            let answer = runtime()?.block_on(api.request(
                reqwest::Method::POST,
                "/v1/exceptions",
                Some(body),
            ))?;
            let x: vouch_server::controls::api::ExceptionInfo = serde_json::from_slice(&answer)?;
            println!(
                "exception {} recorded: {} accepted on {} until {}",
                x.id,
                x.policy,
                x.asset_id.as_deref().unwrap_or("every asset"),
                x.expires_at
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Exception {
            command: ExceptionCommand::List { api },
        } => {
            let answer = runtime()?.block_on(api.get("/v1/exceptions"))?;
            let list: Vec<vouch_server::controls::api::ExceptionInfo> =
                serde_json::from_slice(&answer)?;
            for x in &list {
                println!(
                    "{:>4}  {:<7}  {}  on {}  until {}  owner {}: {}",
                    x.id,
                    if x.active { "active" } else { "lapsed" },
                    x.policy,
                    x.asset_id.as_deref().unwrap_or("every asset"),
                    x.expires_at,
                    x.owner,
                    x.justification
                );
            }
            println!("{} exceptions", list.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Evidence {
            command:
                EvidenceCommand::Add {
                    api,
                    control,
                    statement,
                    by,
                    valid_until,
                    file,
                },
        } => {
            let valid_until = expand_date(&valid_until);
            let mut body = serde_json::json!({
                "control": control,
                "statement": statement,
                "attested_by": by,
                "valid_until": valid_until,
            });
            if let Some(path) = file {
                use base64::Engine as _;
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                body["document_name"] = name.into();
                body["document_base64"] = base64::engine::general_purpose::STANDARD
                    .encode(bytes)
                    .into();
            }
            let answer = runtime()?.block_on(api.request(
                reqwest::Method::POST,
                "/v1/attestations",
                Some(body),
            ))?;
            let summary: vouch_server::manual::AttestationSummary =
                serde_json::from_slice(&answer)?;
            println!(
                "recorded attestation {} for {}, valid until {}",
                summary.digest, summary.control, summary.valid_until
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            command: KeysCommand::Export { data_dir, output },
        } => {
            let (_rt, state) = open_state(&data_dir)?;
            let text = state.keys_text();
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(flags) => {
            let args = flags.into_args();
            let ok = vouch_server::verify::cli::run(&args, &mut std::io::stdout().lock())?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

async fn shutdown_signal() {
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
