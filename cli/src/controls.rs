//! `vouch controls`, `vouch oscal` and `vouch export-findings`: control status from a server,
//! as a table, JSON, an OSCAL document or OCSF findings.

use super::*;

#[derive(clap::Args)]
pub(crate) struct ControlsArgs {
    #[command(flatten)]
    pub(crate) api: ApiArgs,
    /// The instant: RFC 3339, or a date (YYYY-MM-DD, midnight UTC); default now.
    #[arg(long)]
    pub(crate) as_of: Option<String>,
    /// Only this framework's controls (iso27001-2022, iso27701-2019, iso27701-2025).
    #[arg(long)]
    pub(crate) framework: Option<String>,
    /// Only controls in this state (pass, fail, accepted, stale, manual, error, no_evidence).
    #[arg(long)]
    pub(crate) status: Option<String>,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(clap::Args)]
pub(crate) struct OscalArgs {
    #[command(flatten)]
    pub(crate) api: ApiArgs,
    /// The framework (iso27001-2022, iso27701-2019, iso27701-2025).
    #[arg(long, default_value = "iso27001-2022")]
    pub(crate) framework: String,
    /// The instant: RFC 3339, or a date (YYYY-MM-DD, midnight UTC); default now.
    #[arg(long)]
    pub(crate) as_of: Option<String>,
    /// Write the document here instead of standard output.
    #[arg(long, short)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub(crate) struct ExportFindingsArgs {
    #[command(flatten)]
    pub(crate) api: ApiArgs,
    /// The format: `ocsf`, OCSF 1.8.0 Compliance Findings (class 2003), one JSON object per
    /// line.
    #[arg(long, value_parser = ["ocsf"], default_value = "ocsf")]
    pub(crate) format: String,
    /// Only results counting towards this framework's controls (iso27001-2022,
    /// iso27701-2019, iso27701-2025); default every framework.
    #[arg(long)]
    pub(crate) framework: Option<String>,
    /// Only results in this state (fail, stale, accepted, error, pass, not_applicable).
    #[arg(long)]
    pub(crate) status: Option<String>,
    /// The instant: RFC 3339, or a date (YYYY-MM-DD, midnight UTC); default now.
    #[arg(long)]
    pub(crate) as_of: Option<String>,
    /// Write the findings here (streamed; the file appears only once complete) instead of
    /// standard output.
    #[arg(long, short)]
    pub(crate) out: Option<PathBuf>,
}

/// `vouch export-findings`.
pub(crate) fn export_findings(args: ExportFindingsArgs) -> Result<ExitCode> {
    let ExportFindingsArgs {
        api,
        format,
        framework,
        status,
        as_of,
        out,
    } = args;
    let mut path = format!("/v1/findings?format={}", percent(&format));
    for (key, value) in [
        ("framework", framework),
        ("status", status),
        ("as_of", as_of.map(|t| expand_date(&t))),
    ] {
        if let Some(v) = value {
            path.push_str(&format!("&{key}={}", percent(&v)));
        }
    }
    let rt = runtime()?;
    match out {
        Some(file) => {
            let written = rt.block_on(api.download(&path, &file))?;
            eprintln!("wrote {} ({written} bytes)", file.display());
        }
        None => {
            let body = rt.block_on(api.get(&path))?;
            std::io::Write::write_all(&mut std::io::stdout(), &body)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `vouch controls`: exit 1 when a listed control fails.
pub(crate) fn controls(args: ControlsArgs) -> Result<ExitCode> {
    let ControlsArgs {
        api,
        as_of,
        framework,
        status,
        json,
    } = args;

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

/// `vouch oscal`.
pub(crate) fn oscal(args: OscalArgs) -> Result<ExitCode> {
    let OscalArgs {
        api,
        framework,
        as_of,
        out,
    } = args;

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

/// The `GET /v1/controls` answer as a table: a line per control, then, indented, what fails,
/// errs or is stale, and the manual evidence a control lacks.
pub(crate) fn render_controls_view(view: &serde_json::Value) -> String {
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
