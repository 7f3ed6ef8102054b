//! `vouch evidence` (signed attestations for organisational controls) and `vouch exception`
//! (accepted risks): manual evidence and risk treatment, through a server's API.

use super::*;

#[derive(Subcommand)]
pub(crate) enum EvidenceCommand {
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
pub(crate) enum ExceptionCommand {
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

/// `vouch evidence add`.
pub(crate) fn evidence_command(command: EvidenceCommand) -> Result<ExitCode> {
    let EvidenceCommand::Add {
        api,
        control,
        statement,
        by,
        valid_until,
        file,
    } = command;

    let valid_until = expand_date(&valid_until);
    let mut body = serde_json::json!({
        "control": control,
        "statement": statement,
        "attested_by": by,
        "valid_until": valid_until,
    });
    if let Some(path) = file {
        use base64::Engine as _;
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        body["document_name"] = name.into();
        body["document_base64"] = base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into();
    }
    let answer =
        runtime()?.block_on(api.request(reqwest::Method::POST, "/v1/attestations", Some(body)))?;
    let summary: vouch_server::http::manual::AttestationSummary = serde_json::from_slice(&answer)?;
    println!(
        "recorded attestation {} for {}, valid until {}",
        summary.digest, summary.control, summary.valid_until
    );
    Ok(ExitCode::SUCCESS)
}

/// `vouch exception add` and `vouch exception list`.
pub(crate) fn exception_command(command: ExceptionCommand) -> Result<ExitCode> {
    match command {
        ExceptionCommand::Add {
            api,
            policy,
            asset,
            justification,
            owner,
            expires,
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
            let x: vouch_server::http::controls::ExceptionInfo = serde_json::from_slice(&answer)?;
            println!(
                "exception {} recorded: {} accepted on {} until {}",
                x.id,
                x.policy,
                x.asset_id.as_deref().unwrap_or("every asset"),
                x.expires_at
            );
            Ok(ExitCode::SUCCESS)
        }
        ExceptionCommand::List { api } => {
            let answer = runtime()?.block_on(api.get("/v1/exceptions"))?;
            let list: Vec<vouch_server::http::controls::ExceptionInfo> =
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
    }
}
