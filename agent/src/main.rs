//! `vouch-agent`: the command line over the agent library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;
use vouch_agent::config::{AgentConfig, LogFormat};
use vouch_agent::{Agent, enroll, sources};
use vouch_collectors::{CollectContext, run_source_with_progress};
use vouch_evidence::Timestamp;

#[derive(Parser)]
#[command(
    name = "vouch-agent",
    version,
    about = "Collects, signs and delivers audit evidence"
)]
struct Cli {
    /// Configuration file [default: /etc/vouch/agent.toml; `collect` and `check` use the
    /// built-in defaults when it does not exist and no file was named].
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Log format (default: the configuration's).
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Make this agent's key and register it with a one-time enrolment token.
    Enroll {
        /// The server URL (overrides the configuration's).
        #[arg(long)]
        server: Option<String>,
        /// The one-time enrolment token (`vouch token create --role enroll`).
        #[arg(long, env = "VOUCH_ENROLL_TOKEN")]
        token: String,
        /// CA certificate of the server (overrides the configuration's).
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Replace an existing enrolment with a new key.
        #[arg(long)]
        force: bool,
    },
    /// Run as a daemon: collect on schedule, sign, spool, deliver. SIGTERM stops it cleanly.
    Run,
    /// Collect every enabled source once, sign, spool and deliver everything pending.
    PushOnce,
    /// Collect and print the evidence without signing or sending.
    Collect {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Collect as of this RFC 3339 instant instead of the clock's: it stamps the collection
        /// and every age is measured against it (to reproduce a judgement).
        #[arg(long, value_name = "INSTANT")]
        at: Option<Timestamp>,
    },
    /// Collect like `collect`, judge the evidence with the built-in policy pack and print each
    /// control's status with the failing policies and their reasons; exit 1 when a control fails.
    /// (Built with the `check` feature, on by default: it links the Rego engine.)
    #[cfg(feature = "check")]
    Check {
        /// Judge as of this RFC 3339 instant instead of the clock's (as `collect --at`).
        #[arg(long, value_name = "INSTANT")]
        at: Option<Timestamp>,
    },
    /// Show enrolment and spool.
    Status,
    /// Replace this agent's key with a new one: the change, signed by the old key and the
    /// new, is sent to the server, and the agent's chains continue under the new key (a
    /// running daemon picks it up at its next collection or delivery). Run again to finish a
    /// rotation that was interrupted.
    RotateKey,
    /// Print generated reference documentation.
    Docs {
        /// What to print: `evidence`.
        topic: String,
    },
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

fn runtime() -> Result<tokio::runtime::Runtime> {
    // One thread: the agent is I/O-bound and should stay small.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
}

/// Where the configuration is read from unless `--config` names another file.
const DEFAULT_CONFIG: &str = "/etc/vouch/agent.toml";

/// Whether the command is `check`.
fn is_check(command: &Command) -> bool {
    #[cfg(feature = "check")]
    if matches!(command, Command::Check { .. }) {
        return true;
    }
    let _ = command;
    false
}

fn load(path: &std::path::Path) -> Result<AgentConfig> {
    AgentConfig::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

fn run(cli: Cli) -> Result<ExitCode> {
    if let Command::Docs { topic } = &cli.command {
        anyhow::ensure!(topic == "evidence", "unknown topic {topic:?} (evidence)");
        print!("{}", vouch_collectors::reference_markdown());
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = match &cli.config {
        Some(path) => load(path)?,
        None => {
            let path = std::path::Path::new(DEFAULT_CONFIG);
            // A dry run on a machine the agent is not installed on: the defaults (this host,
            // nothing sent), said so, rather than an error about a file nobody asked for.
            let dry_run = matches!(cli.command, Command::Collect { .. })
                || cfg!(feature = "check") && is_check(&cli.command);
            if dry_run && !path.exists() {
                eprintln!(
                    "note: no {DEFAULT_CONFIG}: collecting this host with the built-in defaults"
                );
                AgentConfig::dry_run()
            } else {
                load(path)?
            }
        }
    };
    vouch_config::logging::init(cli.log_format.unwrap_or(config.agent.log_format));
    let rt = runtime()?;
    match cli.command {
        Command::Docs { .. } => unreachable!("handled above"),
        Command::Enroll {
            server,
            token,
            ca,
            force,
        } => {
            if let Some(s) = server {
                config.server.url = s;
            }
            if let Some(ca) = ca {
                config.server.ca_cert = Some(ca);
            }
            let e = rt.block_on(enroll(&config, &token, force))?;
            println!("enrolled as {} (key {})", e.agent_id, e.keyid);
            Ok(ExitCode::SUCCESS)
        }
        Command::RotateKey => {
            let e = rt.block_on(vouch_agent::rotate_key(&config))?;
            println!("agent {} now signs with key {}", e.agent_id, e.keyid);
            Ok(ExitCode::SUCCESS)
        }
        Command::Run => {
            let agent = Agent::open(config)?;
            let shutdown = CancellationToken::new();
            rt.block_on(async {
                let stop = shutdown.clone();
                tokio::spawn(async move {
                    wait_for_signal().await;
                    tracing::info!("signal received; stopping");
                    stop.cancel();
                });
                agent.run(shutdown).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::PushOnce => {
            let agent = Agent::open(config)?;
            let report = rt.block_on(async {
                agent.collect_and_spool().await?;
                agent.deliver_pending().await
            })?;
            println!(
                "delivered {}, duplicates {}, rejected {}, corrupt set aside {}, still pending {}",
                report.delivered,
                report.duplicates,
                report.rejected,
                report.corrupt,
                report.pending
            );
            let clean = report.pending == 0 && report.rejected == 0 && report.corrupt == 0;
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Collect { format, at } => {
            use std::io::IsTerminal as _;
            // Progress on a terminal only, so redirected output stays clean.
            let show_progress = std::io::stderr().is_terminal();
            for source in sources(&config) {
                let started = std::time::Instant::now();
                let c = rt.block_on(run_source_with_progress(
                    source.as_ref(),
                    &context(source.as_ref(), at),
                    &mut |p| {
                        if show_progress {
                            eprint!(
                                "\r\x1b[Kcollecting {}: {}/{} ({}, {} ms)",
                                source.name(),
                                p.done,
                                p.total,
                                p.run.name,
                                p.elapsed.as_millis()
                            );
                        }
                    },
                ));
                if show_progress {
                    eprint!("\r\x1b[K");
                }
                match format {
                    Format::Json => {
                        let body = serde_json::json!({
                            "asset": c.asset,
                            "collected_at": c.collected_at,
                            "collectors": c.collectors,
                            "evidence": c.evidence,
                        });
                        println!("{}", serde_json::to_string_pretty(&body)?);
                    }
                    Format::Table => {
                        print!("{}", vouch_agent::table::render(&c, started.elapsed()));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "check")]
        Command::Check { at } => {
            use vouch_policies::{Catalogs, ControlState, ControlStatus, PolicyPack, SnapshotView};
            let pack = PolicyPack::builtin();
            let catalogs = Catalogs::builtin();
            let mut failed = false;
            for source in sources(&config) {
                let ctx = context(source.as_ref(), at);
                let c = rt.block_on(vouch_collectors::run_source(source.as_ref(), &ctx));
                let results = pack.evaluate(&SnapshotView {
                    asset: &c.asset,
                    collected_at: c.collected_at,
                    evidence: &c.evidence,
                });
                let controls = ControlStatus::roll_up(&pack, &catalogs, &results, None);
                println!(
                    "{} {} ({}), collected {}, pack {}",
                    c.asset.kind,
                    c.asset.name,
                    c.asset.id,
                    c.collected_at,
                    &pack.digest()[..12]
                );
                print!("{}", vouch_policies::render_controls(&controls));
                failed |= controls.iter().any(|c| c.status == ControlState::Fail);
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Status => {
            let agent = Agent::open(config)?;
            let s = agent.state();
            println!("agent {}", agent.agent_id());
            println!("state  {}", s.root().display());
            println!(
                "spooled {}, rejected {}, corrupt {}, receipts {}",
                s.spool_depth()?,
                s.rejected_count()?,
                s.corrupt_count()?,
                s.receipt_count()?
            );
            match s.log_seen()? {
                (Some(key), Some(c)) => {
                    println!("log    {key}, last checkpoint of {} leaves", c.size)
                }
                _ => println!("log    none seen yet"),
            }
            if let Some(alarm) = s.log_alarm()? {
                println!(
                    "ALARM  the server's transparency log did not check ({}):\n{alarm}",
                    s.root().join("log/alarm.json").display()
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The context to collect `source` with once, its clock fixed at `at` when given.
fn context(source: &dyn vouch_collectors::Source, at: Option<Timestamp>) -> CollectContext {
    let ctx = source.context(CancellationToken::new());
    match at {
        Some(at) => ctx.at(at),
        None => ctx,
    }
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
