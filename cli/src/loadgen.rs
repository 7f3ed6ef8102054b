//! `vouch loadgen`: load a server as a fleet would.

use super::*;

#[derive(clap::Args)]
pub(crate) struct LoadgenArgs {
    #[command(flatten)]
    pub(crate) api: ApiArgs,
    /// Simulated agents.
    #[arg(long, default_value_t = 100)]
    pub(crate) agents: usize,
    /// Snapshots each agent sends, in chain order.
    #[arg(long, default_value_t = 10)]
    pub(crate) snapshots_per_agent: u64,
    /// Agents sending at the same time.
    #[arg(long, default_value_t = 64)]
    pub(crate) concurrency: usize,
    /// Evidence items per snapshot (about 60 bytes each).
    #[arg(long, default_value_t = 100)]
    pub(crate) evidence_items: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `vouch loadgen`: exit 1 when any submission was refused.
pub(crate) fn loadgen(args: LoadgenArgs) -> Result<ExitCode> {
    let LoadgenArgs {
        api,
        agents,
        snapshots_per_agent,
        concurrency,
        evidence_items,
        json,
    } = args;

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
