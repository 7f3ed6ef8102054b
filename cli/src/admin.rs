//! `vouch token`, `vouch agents`, `vouch keys`, `vouch audit-log` and `vouch fsck`:
//! administration on the server's data directory, each action recorded in the audit log.

use super::*;

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token and print it (it is shown only once).
    Create {
        /// `enroll`, `admin`, `security-lead`, `auditor` or `agent`.
        #[arg(long)]
        role: String,
        /// What an enrolment token's agent may write (repeat for several kinds): `host` (the
        /// host it runs on), `host:ID`, `kubernetes-cluster[:UID]`, `aws-account:ID[,ID…]`,
        /// `github-org:LOGIN[,LOGIN…]`, `okta-org:HOST[,HOST…]`,
        /// `entra-tenant:TENANT-ID[,TENANT-ID…]`, `google-workspace:CUSTOMER-ID[,CUSTOMER-ID…]`,
        /// `import:NAME[,NAME…]`.
        /// Required for `enroll`.
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
pub(crate) enum AgentsCommand {
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
pub(crate) fn cli_actor() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli ({user})")
}

pub(crate) fn token_command(command: TokenCommand) -> Result<ExitCode> {
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

pub(crate) fn agents_command(command: AgentsCommand) -> Result<ExitCode> {
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

pub(crate) fn parse_ttl(s: &str) -> Result<u64, String> {
    vouch_server::config::parse_duration(s)
}

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Write the keys file auditors give to `vouch verify --keys`.
    Export {
        /// Data directory.
        #[arg(long, default_value = "./vouch-data")]
        data_dir: PathBuf,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Replace one of the server's keys: the rotation, signed by the old key and the new, is
    /// recorded (keys exports and bundles carry the retired key and the signed rotation, so
    /// auditors who pinned the old key follow it to the new). Stop the server first, and copy
    /// the new key file to every replica before starting them again. The log's key is the
    /// log's identity and is not rotated.
    Rotate {
        /// Which key.
        #[arg(long, value_enum)]
        role: KeyRoleArg,
        /// Data directory.
        #[arg(long, default_value = "./vouch-data")]
        data_dir: PathBuf,
    },
}

/// A server key that can be rotated.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum KeyRoleArg {
    /// `receipt.key`: receipts, bundle manifests, key-status lists.
    Receipts,
    /// `verdict.key`: signed verdicts.
    Verdicts,
}

#[derive(clap::Args)]
pub(crate) struct AuditLogArgs {
    /// How many entries.
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: u32,
    /// Data directory.
    #[arg(long, default_value = "./vouch-data")]
    pub(crate) data_dir: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct FsckArgs {
    /// The server's configuration file (database, object storage); without it, the defaults.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Data directory (overrides the configuration).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
}

/// `vouch audit-log`.
pub(crate) fn audit_log(args: AuditLogArgs) -> Result<ExitCode> {
    let AuditLogArgs { limit, data_dir } = args;

    let (rt, state) = open_state(&data_dir)?;
    for e in rt.block_on(state.store().audit_log(limit))? {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            e.at, e.actor, e.action, e.subject, e.detail
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `vouch fsck`: exit 1 on any problem.
pub(crate) fn fsck(args: FsckArgs) -> Result<ExitCode> {
    let FsckArgs { config, data_dir } = args;

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

/// `vouch keys export`.
pub(crate) fn keys_command(command: KeysCommand) -> Result<ExitCode> {
    let (data_dir, output) = match command {
        KeysCommand::Export { data_dir, output } => (data_dir, output),
        KeysCommand::Rotate { role, data_dir } => {
            let role = match role {
                KeyRoleArg::Receipts => vouch_server::state::ServerKeyRole::Receipts,
                KeyRoleArg::Verdicts => vouch_server::state::ServerKeyRole::Verdicts,
            };
            let (rt, state) = open_state(&data_dir)?;
            let (old, new) = rt.block_on(vouch_server::state::rotate_server_key(
                &data_dir,
                state.store().as_ref(),
                role,
                state.now(),
            ))?;
            println!(
                "{}: key {} replaced by {} (restart the server, and copy {} to every replica)",
                role.owner(),
                old.id(),
                new.id(),
                data_dir.join(role.file()).display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let (_rt, state) = open_state(&data_dir)?;
    let text = state.keys_text();
    match output {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
