//! `vouch`: the Vouch server and the auditor's command line. Thin glue over the library.

mod admin;
mod api;
mod controls;
mod loadgen;
mod manual;
mod policy;
mod serve;
mod up;

use admin::*;
use api::*;
use controls::{ControlsArgs, ExportFindingsArgs, OscalArgs};
use loadgen::LoadgenArgs;
use manual::{EvidenceCommand, ExceptionCommand};
use policy::*;
use serve::{ServeArgs, UpArgs};

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
    Up(UpArgs),
    /// Run the server.
    Serve(ServeArgs),
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
    AuditLog(AuditLogArgs),
    /// Check everything the server stores: every envelope (in the database or the bucket)
    /// against its digest, its agent's key and the index, every receipt, every chain's
    /// continuity. Prints each problem with its chain, sequence and digest; exit 1 on any.
    Fsck(FsckArgs),
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
    Controls(ControlsArgs),
    /// Load a server as a fleet would: N simulated agents with real keys enrol (an admin token
    /// issues their enrolment tokens) and push signed chains; prints accepted per second,
    /// latency percentiles and rejections by reason.
    Loadgen(LoadgenArgs),
    /// Export the assessment results of a framework in the OSCAL 1.1 assessment-results JSON
    /// model (for GRC tools), now or as of an instant.
    Oscal(OscalArgs),
    /// Export every current policy result (or as of an instant) as findings for a SIEM or a
    /// data lake: OCSF 1.8.0 Compliance Findings, one JSON object per line.
    ExportFindings(ExportFindingsArgs),
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

/// mimalloc, not glibc's malloc: judging a snapshot allocates many small values, and costs a
/// quarter less with it (`cargo bench -p vouch-policies --bench eval`); ingest spent a fifth of
/// its time in glibc's allocator. The benches of server paths use it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Command::Up(args) => serve::up(args, cli.log_format),
        Command::Serve(args) => serve::serve(args, cli.log_format),
        Command::Token { command } => token_command(command),
        Command::Agents { command } => agents_command(command),
        Command::AuditLog(args) => admin::audit_log(args),
        Command::Fsck(args) => admin::fsck(args),
        Command::Keys { command } => admin::keys_command(command),
        command @ (Command::Sample { .. } | Command::Export { .. }) => {
            runtime()?.block_on(sample_or_export(command))
        }
        Command::Policy { command } => policy(command),
        Command::Loadgen(args) => loadgen::loadgen(args),
        Command::Oscal(args) => controls::oscal(args),
        Command::ExportFindings(args) => controls::export_findings(args),
        Command::Controls(args) => controls::controls(args),
        Command::Exception { command } => manual::exception_command(command),
        Command::Evidence { command } => manual::evidence_command(command),
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
