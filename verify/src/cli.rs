//! The `verify` command, shared by `vouch verify` and the standalone `vouch-verify` binary: the
//! same checks, the same lines printed, the same answer.

use std::io::{self, Write};
use std::path::PathBuf;

use crate::{Depth, Keyring, verify_files_at};

/// The command's arguments, as `vouch verify` and `vouch-verify` both take them.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyFlags {
    /// A keys file (`ed25519 <base64> <agent id>` lines) or a directory of `*.pub` files.
    /// Required for envelope files; for a bundle, the keys the bundle must match (without it
    /// the bundle's own keys are used and the server key id is printed to compare).
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Also parse every snapshot in full, as a cross-check of the one-pass payload check.
    #[arg(long, conflicts_with = "signatures_only")]
    pub strict: bool,
    /// Check only signatures, agent binding and chains (authenticity, integrity,
    /// completeness), not the payloads' canonical form: about twice as fast.
    #[arg(long)]
    pub signatures_only: bool,
    /// Threads to use (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Envelope files, or one evidence bundle (`.tar.gz` from `vouch export`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

impl VerifyFlags {
    /// What the flags ask for.
    pub fn into_args(self) -> VerifyArgs {
        VerifyArgs {
            keys: self.keys,
            depth: Depth::from_flags(self.strict, self.signatures_only),
            threads: self.threads.unwrap_or_else(default_threads),
            files: self.files,
        }
    }
}

/// What to verify, and how.
#[derive(Debug, Clone)]
pub struct VerifyArgs {
    /// A keys file or a directory of `*.pub` files: required for envelope files; for a bundle,
    /// the keys it must match.
    pub keys: Option<PathBuf>,
    /// How deep to check each envelope file.
    pub depth: Depth,
    /// Threads to use.
    pub threads: usize,
    /// Envelope files, or one evidence bundle (`.tar.gz` or `.tgz`).
    pub files: Vec<PathBuf>,
}

/// Why verification could not even start (bad arguments or unreadable keys or bundle); what it
/// finds wrong with the evidence is printed instead, and [`run`] answers `false`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// The keys file does not load.
    #[error("bad keys:\n  {}", .0.join("\n  "))]
    Keys(Vec<String>),
    /// A file cannot be read.
    #[error("reading {path}: {error}")]
    Read {
        /// Which.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// Writing the report failed.
    #[error("writing the report: {0}")]
    Output(#[from] io::Error),
}

/// The threads to use when none are given: every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn is_bundle(path: &std::path::Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// Verifies, printing one `FAIL …` line per problem, notes, and a last summary line ending in
/// `OK` or `FAILED`; answers whether everything verified.
pub fn run(args: &VerifyArgs, out: &mut dyn Write) -> Result<bool, CliError> {
    let ring = match &args.keys {
        Some(keys) => {
            let ring = Keyring::load(keys).map_err(CliError::Keys)?;
            if ring.is_empty() {
                return Err(CliError::Usage(format!(
                    "{}: no public keys found",
                    keys.display()
                )));
            }
            Some(ring)
        }
        None => None,
    };
    if args.files.iter().any(|p| is_bundle(p)) {
        if args.files.len() != 1 {
            return Err(CliError::Usage(
                "give one bundle at a time, without envelope files beside it".into(),
            ));
        }
        let path = &args.files[0];
        let bytes = std::fs::read(path).map_err(|error| CliError::Read {
            path: path.clone(),
            error,
        })?;
        let report = crate::bundle::verify(&bytes, ring.as_ref(), args.threads);
        for f in &report.failures {
            writeln!(out, "FAIL {f}")?;
        }
        for n in &report.notes {
            writeln!(out, "note: {n}")?;
        }
        writeln!(
            out,
            "{}: {}; {}",
            path.display(),
            report.summary,
            if report.ok() { "OK" } else { "FAILED" }
        )?;
        return Ok(report.ok());
    }
    let Some(ring) = ring else {
        return Err(CliError::Usage(
            "--keys is required to verify envelope files".into(),
        ));
    };
    let report = verify_files_at(&args.files, &ring, args.depth, args.threads);
    for line in report.failure_lines() {
        writeln!(out, "{line}")?;
    }
    for note in report.notes() {
        writeln!(out, "{note}")?;
    }
    let ok = report.files.iter().filter(|f| f.result.is_ok()).count();
    writeln!(
        out,
        "{ok} of {} envelopes verified; {} chain(s); {}",
        report.files.len(),
        report.chains.chains.len(),
        if report.ok() { "OK" } else { "FAILED" }
    )?;
    Ok(report.ok())
}
