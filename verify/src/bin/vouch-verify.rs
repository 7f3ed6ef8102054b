//! `vouch-verify`: the auditor's offline check of Vouch evidence, without the server, its
//! store, the collectors or any cloud SDK. Same checks, arguments and output as `vouch verify`.

use std::process::ExitCode;

use clap::Parser;
use vouch_verify::cli::{self, VerifyFlags};

/// Verify snapshot envelopes or an evidence bundle offline; exit 0 only when everything
/// verifies.
#[derive(Parser)]
#[command(name = "vouch-verify", version, about)]
struct Args {
    #[command(flatten)]
    flags: VerifyFlags,
}

fn main() -> ExitCode {
    let args = Args::parse().flags.into_args();
    match cli::run(&args, &mut std::io::stdout().lock()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
