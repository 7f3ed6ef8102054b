//! `vouch policy …`: testing, checking and reloading policy packs.

use super::*;

#[derive(Subcommand)]
pub(crate) enum PolicyCommand {
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
    /// The ISO/IEC 27001:2022 Annex A table: the counts per level and per mapping relation,
    /// then each control automated, partly or manual with its rationale, for a partly control
    /// the part an attestation must cover, and the policies that map to it (exact or
    /// supporting). With another pack, the claims it does not bear out are warned of.
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

/// `vouch policy …`: thin glue over vouch-policies.
pub(crate) fn policy(command: PolicyCommand) -> Result<ExitCode> {
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
            let run: vouch_server::http::controls::RunInfo = serde_json::from_slice(&answer)?;
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
            // The classification ships with the built-in pack (loading checks it against that
            // pack); another pack may not bear it out.
            for m in report::coverage_mismatches(&coverage, &pack, "iso27001-2022") {
                eprintln!("warning: {m}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
