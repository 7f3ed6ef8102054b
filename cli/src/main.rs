//! `vouch`: the Vouch server and the auditor's command line. Thin glue over the library.

mod up;

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

/// How to reach the server's API.
#[derive(clap::Args)]
struct ApiArgs {
    /// The server, e.g. https://vouch.example.com:8443.
    #[arg(long, env = "VOUCH_SERVER")]
    server: String,
    /// A file holding an API token (auditor, security-lead or admin); or set VOUCH_TOKEN.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// CA certificate of the server (PEM); default: the system's CA bundle.
    #[arg(long)]
    ca: Option<PathBuf>,
}

/// The population and the draw.
#[derive(clap::Args)]
struct QueryArgs {
    /// Snapshots collected at or after this instant (RFC 3339, UTC).
    #[arg(long)]
    from: String,
    /// …and before this one.
    #[arg(long)]
    to: String,
    /// Asset kinds, comma-separated (default: all).
    #[arg(long, default_value = "")]
    kinds: String,
    /// Only the snapshots evidencing this framework (iso27001-2022) or control
    /// (iso27001-2022:A.8.24): the server narrows the kinds to those its policies cover.
    #[arg(long, default_value = "")]
    control: String,
    /// The population as the server held it at this instant (RFC 3339, or a date): pins it
    /// against snapshots delivered late; default everything received.
    #[arg(long)]
    as_of: Option<String>,
    /// Sample size.
    #[arg(long)]
    size: u32,
    /// The auditor's seed; the same seed draws the same sample.
    #[arg(long)]
    seed: String,
}

impl ApiArgs {
    /// GET `path_and_query` with the token; the body, or the server's error message.
    async fn get(&self, path_and_query: &str) -> anyhow::Result<Vec<u8>> {
        self.request(reqwest::Method::GET, path_and_query, None)
            .await
    }

    /// GETs `path_and_query` with the token into the file `output`, chunk by chunk as it
    /// arrives (memory stays flat however large the answer): written beside it first and
    /// renamed when complete, so a broken transfer leaves no file that looks whole. Answers
    /// the bytes written.
    async fn download(
        &self,
        path_and_query: &str,
        output: &std::path::Path,
    ) -> anyhow::Result<u64> {
        use std::io::Write as _;
        let (token, ca) = (self.token()?, self.ca_pem()?);
        let client = vouch_client::build_http_client(
            ca.as_deref(),
            std::time::Duration::from_secs(3600),
            concat!("vouch/", env!("CARGO_PKG_VERSION")),
        )?;
        let url = format!("{}{path_and_query}", self.server.trim_end_matches('/'));
        let mut resp = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().await?;
            let message = serde_json::from_slice::<vouch_evidence::api::ErrorBody>(&body)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            bail!("{url}: {status}: {message}");
        }
        let partial = output.with_extension("partial");
        let mut file = std::fs::File::create(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        let mut written = 0u64;
        let copied: anyhow::Result<()> = async {
            while let Some(chunk) = resp.chunk().await.with_context(|| format!("GET {url}"))? {
                file.write_all(&chunk)?;
                written += chunk.len() as u64;
            }
            file.sync_all()?;
            Ok(())
        }
        .await;
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context(format!("the transfer broke after {written} bytes")));
        }
        std::fs::rename(&partial, output)
            .with_context(|| format!("writing {}", output.display()))?;
        Ok(written)
    }

    /// Sends a request with the token (and a JSON body); the body, or the server's error message.
    /// The API token: from `--token-file`, else `VOUCH_TOKEN`.
    fn token(&self) -> anyhow::Result<String> {
        match (&self.token_file, std::env::var("VOUCH_TOKEN")) {
            (Some(f), _) => Ok(std::fs::read_to_string(f)
                .with_context(|| format!("reading {}", f.display()))?
                .trim()
                .to_string()),
            (None, Ok(t)) => Ok(t),
            (None, Err(_)) => bail!("an API token is needed: --token-file FILE or VOUCH_TOKEN"),
        }
    }

    /// The CA certificate given with `--ca`, if any.
    fn ca_pem(&self) -> anyhow::Result<Option<Vec<u8>>> {
        self.ca
            .as_ref()
            .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
            .transpose()
    }

    async fn request(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        json: Option<serde_json::Value>,
    ) -> anyhow::Result<Vec<u8>> {
        let (token, ca) = (self.token()?, self.ca_pem()?);
        let client = vouch_client::build_http_client(
            ca.as_deref(),
            std::time::Duration::from_secs(300),
            concat!("vouch/", env!("CARGO_PKG_VERSION")),
        )?;
        let url = format!("{}{path_and_query}", self.server.trim_end_matches('/'));
        let mut req = client.request(method.clone(), &url).bearer_auth(token);
        if let Some(body) = json {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = resp.status();
        let body = resp.bytes().await?.to_vec();
        if !status.is_success() {
            let message = serde_json::from_slice::<vouch_evidence::api::ErrorBody>(&body)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            bail!("{url}: {status}: {message}");
        }
        Ok(body)
    }
}

impl QueryArgs {
    fn to_query_string(&self) -> String {
        format!(
            "from={}&to={}&kinds={}&control={}&size={}&seed={}{}",
            percent(&self.from),
            percent(&self.to),
            percent(&self.kinds),
            percent(&self.control),
            self.size,
            percent(&self.seed),
            self.as_of
                .as_deref()
                .map(|t| format!("&as_of={}", percent(&expand_date(t))))
                .unwrap_or_default()
        )
    }
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Run the `*_test.json` cases of the pack in DIR, as `opa test` does; exit 0 only when
    /// every case passes and every policy has a pass and a fail case.
    Test {
        /// The pack's directory (e.g. policies/pack).
        dir: PathBuf,
    },
    /// Load and check the pack in DIR: print every problem (file:line: reason), exit non-zero
    /// when there is any.
    Check {
        /// The pack's directory.
        dir: PathBuf,
    },
    /// The ISO/IEC 27001:2022 Annex A table: each control automated, partly or manual, with
    /// the policies that evidence it.
    Coverage {
        /// A pack directory instead of the built-in pack.
        #[arg(long)]
        pack: Option<PathBuf>,
    },
    /// Make a server load its configured pack again; a pack that does not load is refused
    /// with every problem named, and the pack in force stays (security-lead or admin token).
    Reload {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Re-judge the snapshots collected in a period with the server's pack in force, recorded
    /// with who and why; earlier results stay beside the new ones.
    Reevaluate {
        #[command(flatten)]
        api: ApiArgs,
        /// Start of the period: RFC 3339 or YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// End of the period (exclusive).
        #[arg(long)]
        to: String,
        /// Why history is re-judged.
        #[arg(long)]
        reason: String,
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

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it (it is shown only once).
    Create {
        /// `enroll`, `admin`, `security-lead`, `auditor` or `agent`.
        #[arg(long)]
        role: String,
        /// What an enrolment token's agent may write (repeat for several kinds): `host` (the
        /// host it runs on), `host:ID`, `kubernetes-cluster[:UID]`, `aws-account:ID[,ID…]`,
        /// `github-org:LOGIN[,LOGIN…]`. Required for `enroll`.
        #[arg(long)]
        scope: Vec<String>,
        /// Validity: `90s`, `30m`, `24h`, `7d` (default 24h for `enroll`, at most 30d; 90d for
        /// an API token, at most 400d).
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<u64>,
        /// A label to remember the token by.
        #[arg(long, default_value = "")]
        label: String,
        /// Data directory.
        #[arg(long, default_value = "./vouch-data")]
        data_dir: PathBuf,
    },
    /// One line per token (never the token: its id, the first digits of its hash): id, role,
    /// created, expires, last used, state, label.
    List {
        /// Data directory.
        #[arg(long, default_value = "./vouch-data")]
        data_dir: PathBuf,
    },
    /// Revoke a token by its id (from `vouch token list`, at least 8 digits). Dashboard
    /// sessions signed in with it end at their next request.
    Revoke {
        /// The token's id.
        id: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
        /// Data directory.
        #[arg(long, default_value = "./vouch-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum AgentsCommand {
    /// One line per enrolled agent: id, key id, enrolment time, name, what it may write, and
    /// its revocation if any.
    List {
        /// Data directory.
        #[arg(long, default_value = "./vouch-data")]
        data_dir: PathBuf,
    },
    /// Revoke an agent: nothing it signs is accepted any more (a running server stops taking
    /// its snapshots within 5 seconds); what it signed before stays verifiable, and its key
    /// stays in `vouch keys export` with the revocation instant.
    Revoke {
        /// The agent's id.
        id: String,
        /// Why, for the audit log and the refusals the agent gets.
        #[arg(long)]
        reason: String,
        /// Data directory.
        #[arg(long, default_value = "./vouch-data")]
        data_dir: PathBuf,
    },
}

/// Who a command-line action is recorded as in the audit log.
fn cli_actor() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli ({user})")
}

fn token_command(command: TokenCommand) -> Result<ExitCode> {
    match command {
        TokenCommand::Create {
            role,
            scope,
            ttl,
            label,
            data_dir,
        } => {
            let (rt, state) = open_state(&data_dir)?;
            let token = if role == "enroll" {
                let scope = vouch_server::scope::Scope::parse(&scope)
                    .map_err(|e| anyhow::anyhow!("--scope: {e}"))?;
                let ttl = ttl.unwrap_or(vouch_server::state::DEFAULT_ENROLL_TOKEN_TTL_SECS);
                rt.block_on(state.create_enroll_token(ttl, &scope, &label, &cli_actor()))?
            } else {
                let role = Role::parse(&role).with_context(|| {
                    format!("unknown role {role:?}: enroll, admin, security-lead, auditor or agent")
                })?;
                anyhow::ensure!(
                    scope.is_empty(),
                    "--scope is for enrolment tokens; an API token's role says what it may do"
                );
                let ttl = ttl.unwrap_or(vouch_server::state::DEFAULT_API_TOKEN_TTL_SECS);
                rt.block_on(state.issue_api_token(role, &label, ttl, &cli_actor()))?
            };
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { data_dir } => {
            let (rt, state) = open_state(&data_dir)?;
            let now = state.now();
            println!("id\trole\tcreated\texpires\tlast used\tstate\tlabel");
            for t in rt.block_on(state.tokens())? {
                let status = match (&t.kind, t.invalid_at(now)) {
                    (_, Some(vouch_server::store::access::TokenInvalid::Revoked(at))) => {
                        format!("revoked {at}")
                    }
                    (
                        vouch_server::store::TokenKind::Enroll {
                            used_by: Some(a), ..
                        },
                        _,
                    ) => {
                        format!("used by {a}")
                    }
                    (_, Some(vouch_server::store::access::TokenInvalid::Expired(_))) => {
                        "expired".into()
                    }
                    (vouch_server::store::TokenKind::Enroll { scope, .. }, None) => {
                        if scope.is_empty() {
                            "unusable (issued before scopes)".into()
                        } else {
                            format!("valid, scope {}", scope.join(" "))
                        }
                    }
                    (_, None) => "valid".into(),
                };
                let show = |t: Option<vouch_evidence::Timestamp>| {
                    t.map_or_else(|| "-".to_string(), |t| t.to_string())
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.id(),
                    t.role_name(),
                    t.created_at,
                    show(t.expires_at),
                    show(t.last_used_at),
                    status,
                    t.label
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke {
            id,
            reason,
            data_dir,
        } => {
            let (rt, state) = open_state(&data_dir)?;
            use vouch_server::store::RevokeOutcome;
            match rt.block_on(state.revoke_token(&id, &reason, &cli_actor()))? {
                RevokeOutcome::Revoked(t) => {
                    println!("revoked {} token {}", t.role_name(), t.id());
                    Ok(ExitCode::SUCCESS)
                }
                RevokeOutcome::AlreadyRevoked(t) => {
                    println!(
                        "{} token {} was already revoked at {}",
                        t.role_name(),
                        t.id(),
                        t.revoked_at.map(|a| a.to_string()).unwrap_or_default()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                RevokeOutcome::NotFound => {
                    anyhow::bail!(
                        "no token has id {id:?} (ids are in `vouch token list`, at least 8 hex digits)"
                    )
                }
                RevokeOutcome::Ambiguous(n) => {
                    anyhow::bail!("{n} tokens have ids starting {id:?}: give more digits")
                }
            }
        }
    }
}

fn agents_command(command: AgentsCommand) -> Result<ExitCode> {
    match command {
        AgentsCommand::List { data_dir } => {
            let (rt, state) = open_state(&data_dir)?;
            for a in rt.block_on(state.agents())? {
                let revoked = a.revoked.as_ref().map_or_else(String::new, |r| {
                    format!(" REVOKED {} by {}: {}", r.at, r.by, r.reason)
                });
                println!(
                    "{} {} {} {} [{}]{revoked}",
                    a.agent_id,
                    a.keyid(),
                    a.enrolled_at,
                    a.name,
                    a.binding
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AgentsCommand::Revoke {
            id,
            reason,
            data_dir,
        } => {
            anyhow::ensure!(!reason.trim().is_empty(), "--reason must say why");
            let (rt, state) = open_state(&data_dir)?;
            use vouch_server::store::RevokeOutcome;
            match rt.block_on(state.revoke_agent(&id, &reason, &cli_actor()))? {
                RevokeOutcome::Revoked(a) => {
                    println!("revoked agent {} ({})", a.agent_id, a.name);
                    Ok(ExitCode::SUCCESS)
                }
                RevokeOutcome::AlreadyRevoked(a) => {
                    let r = a.revoked.expect("revoked");
                    println!(
                        "agent {} was already revoked at {}: {}",
                        a.agent_id, r.at, r.reason
                    );
                    Ok(ExitCode::SUCCESS)
                }
                RevokeOutcome::NotFound | RevokeOutcome::Ambiguous(_) => {
                    anyhow::bail!("no agent has id {id:?} (see `vouch agents list`)")
                }
            }
        }
    }
}

fn parse_ttl(s: &str) -> Result<u64, String> {
    vouch_server::config::parse_duration(s)
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write the keys file auditors give to `vouch verify --keys`.
    Export {
        /// Data directory.
        #[arg(long, default_value = "./vouch-data")]
        data_dir: PathBuf,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
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

/// `vouch policy …`: thin glue over vouch-policies.
fn policy(command: PolicyCommand) -> Result<ExitCode> {
    use vouch_policies::{Catalogs, Coverage, PolicyPack, cases, report};
    let exit = |ok: bool| {
        if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    };
    match command {
        PolicyCommand::Reload { api } => {
            let answer = runtime()?.block_on(api.request(
                reqwest::Method::POST,
                "/v1/policies/reload",
                None,
            ))?;
            let info: serde_json::Value = serde_json::from_slice(&answer)?;
            println!(
                "pack {} in force ({} policies)",
                info["digest"].as_str().unwrap_or_default(),
                info["policies"].as_array().map_or(0, Vec::len)
            );
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Reevaluate {
            api,
            from,
            to,
            reason,
        } => {
            let body = serde_json::json!({
                "from": expand_date(&from),
                "to": expand_date(&to),
                "reason": reason,
            });
            let answer = runtime()?.block_on(api.request(
                reqwest::Method::POST,
                "/v1/evaluations",
                Some(body),
            ))?;
            let run: vouch_server::controls::api::RunInfo = serde_json::from_slice(&answer)?;
            println!(
                "re-evaluation {} of snapshots collected in [{}, {}) with pack {} recorded; the server carries it out",
                run.id, run.from, run.to, run.pack
            );
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Test { dir } => {
            let report = cases::run_dir(&dir).map_err(|e| anyhow::anyhow!("{e}"))?;
            print!("{}", report.render());
            Ok(exit(report.ok()))
        }
        PolicyCommand::Check { dir } => match PolicyPack::load(&dir) {
            Ok(pack) => {
                println!(
                    "{}: {} policies, digest {}",
                    dir.display(),
                    pack.policies().len(),
                    pack.digest()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                println!("{errors}");
                eprintln!("{}: {} problem(s)", dir.display(), errors.0.len());
                Ok(ExitCode::FAILURE)
            }
        },
        PolicyCommand::Coverage { pack } => {
            let catalogs = Catalogs::builtin();
            let coverage = Coverage::builtin(&catalogs).map_err(|e| {
                let lines: Vec<String> = e.iter().map(ToString::to_string).collect();
                anyhow::anyhow!("{}", lines.join("\n"))
            })?;
            let pack = match pack {
                Some(dir) => PolicyPack::load(&dir).map_err(|e| anyhow::anyhow!("{e}"))?,
                None => PolicyPack::builtin(),
            };
            print!(
                "{}",
                report::coverage_table(&catalogs, &coverage, &pack, "iso27001-2022")
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn sample_or_export(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Sample { api, query, json } => {
            let body = api
                .get(&format!("/v1/sample?{}", query.to_query_string()))
                .await?;
            let answer: vouch_evidence::api::SampleResponse = serde_json::from_slice(&body)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "population: {} snapshot(s) collected in [{}, {}), fingerprint {}",
                answer.population_count,
                answer.query.from,
                answer.query.to,
                answer.population_fingerprint
            );
            println!(
                "sample of {} drawn with seed {:?} ({}):",
                answer.sample.len(),
                answer.query.seed,
                answer.algorithm
            );
            for (i, m) in answer.sample.iter().enumerate() {
                println!(
                    "{:>4}  {}  {} {}  seq {:<6} {}",
                    i + 1,
                    m.digest,
                    m.asset_kind,
                    m.asset_id,
                    m.sequence,
                    m.collected_at
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { api, query, output } => {
            let written = api
                .download(&format!("/v1/export?{}", query.to_query_string()), &output)
                .await?;
            println!(
                "wrote {} ({written} bytes); check it with: vouch verify {} --keys KEYS",
                output.display(),
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        _ => unreachable!("only sample and export"),
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
