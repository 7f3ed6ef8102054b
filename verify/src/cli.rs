//! The `verify` command, shared by `vouch verify` and the standalone `vouch-verify` binary: the
//! same checks, the same lines printed, the same answer.

use std::io::{self, Write};
use std::path::PathBuf;

use vouch_evidence::cosign::Witness;
use vouch_evidence::logproofs::{ConsistencyProof, open_checkpoint};
use vouch_evidence::note::Checkpoint;

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
    /// A checkpoint of the transparency log saved earlier (`GET /v1/log/checkpoint`): check
    /// that the log only grew since, with `--consistency`, up to the bundle's checkpoint or
    /// the one given with `--checkpoint` (or carried by the proof).
    #[arg(long, value_name = "CHECKPOINT", requires = "consistency")]
    pub since: Option<PathBuf>,
    /// The consistency proof from the `--since` checkpoint's size to the newer one's, as
    /// `GET /v1/log/consistency?from=<old size>&to=<new size>` answers it.
    #[arg(long, value_name = "PROOF", requires = "since")]
    pub consistency: Option<PathBuf>,
    /// The newer checkpoint, when no bundle is given and the proof does not carry it.
    #[arg(long, value_name = "CHECKPOINT", requires = "since")]
    pub checkpoint: Option<PathBuf>,
    /// A witness of the log whose cosignature the bundle's checkpoint must carry: its
    /// verifier key (`<name>+<hex id>+<base64>`; a Vouch witness answers it at
    /// `GET /v1/witness/key`) or a file of such keys, one per line. Repeat for several.
    #[arg(long = "witness", value_name = "VKEY|FILE")]
    pub witnesses: Vec<String>,
    /// How many of the `--witness` keys must have cosigned (default: all of them).
    #[arg(long, value_name = "N", requires = "witnesses")]
    pub witness_quorum: Option<usize>,
    /// The certificate (PEM or DER) of the time-stamping authority that dates the log's
    /// checkpoints: check the bundle's RFC 3161 time-stamps with it and date each snapshot.
    #[arg(long, value_name = "FILE")]
    pub tsa_cert: Option<PathBuf>,
    /// Envelope files, or one evidence bundle (`.tar.gz` from `vouch export`); none when only
    /// checking two checkpoints (`--since`).
    #[arg(required_unless_present = "since")]
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
            since: self.since.zip(self.consistency).map(|(old, proof)| Since {
                old,
                proof,
                new: self.checkpoint,
            }),
            witnesses: self.witnesses,
            witness_quorum: self.witness_quorum,
            tsa_cert: self.tsa_cert,
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
    /// Two checkpoints of the log to check for consistency.
    pub since: Option<Since>,
    /// Witnesses (verifier keys, or files of them) of which a quorum must have cosigned the
    /// bundle's checkpoint.
    pub witnesses: Vec<String>,
    /// How many of them; none: all.
    pub witness_quorum: Option<usize>,
    /// The TSA's certificate to check the bundle's time-stamps with.
    pub tsa_cert: Option<PathBuf>,
}

/// The witnesses `--witness` names (keys, or files of keys one per line, `#` comments) and
/// the quorum, checked: at least one, the quorum within 1..=their number.
fn witnesses(args: &VerifyArgs) -> Result<Option<(Vec<Witness>, usize)>, CliError> {
    if args.witnesses.is_empty() {
        return Ok(None);
    }
    let mut keys: Vec<Witness> = Vec::new();
    let mut bad = Vec::new();
    for given in &args.witnesses {
        let path = std::path::Path::new(given);
        let lines: Vec<String> = if path.is_file() {
            std::fs::read_to_string(path)
                .map_err(|error| CliError::Read {
                    path: path.to_path_buf(),
                    error,
                })?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from)
                .collect()
        } else {
            vec![given.clone()]
        };
        for line in lines {
            match Witness::parse(&line) {
                Ok(w) if !keys.contains(&w) => keys.push(w),
                Ok(_) => {}
                Err(e) => bad.push(format!("--witness {given}: {e}")),
            }
        }
    }
    if !bad.is_empty() {
        return Err(CliError::Usage(bad.join("; ")));
    }
    if keys.is_empty() {
        return Err(CliError::Usage("--witness: no witness key given".into()));
    }
    let quorum = args.witness_quorum.unwrap_or(keys.len());
    if quorum == 0 || quorum > keys.len() {
        return Err(CliError::Usage(format!(
            "--witness-quorum {quorum} is outside 1..={}",
            keys.len()
        )));
    }
    Ok(Some((keys, quorum)))
}

/// A checkpoint saved earlier, the proof that the log only grew since, and the newer
/// checkpoint's file (else the bundle's, else the one the proof carries).
#[derive(Debug, Clone)]
pub struct Since {
    /// The older checkpoint.
    pub old: PathBuf,
    /// The consistency proof (JSON).
    pub proof: PathBuf,
    /// The newer checkpoint.
    pub new: Option<PathBuf>,
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
    /// The log's checkpoints or proof cannot be read as such.
    #[error("{0}")]
    Log(String),
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
    let witnessing = witnesses(args)?;
    if (witnessing.is_some() || args.tsa_cert.is_some()) && !args.files.iter().any(|p| is_bundle(p))
    {
        return Err(CliError::Usage(
            "--witness and --tsa-cert check the log's proofs in a bundle: give one".into(),
        ));
    }
    let tsa_cert = match &args.tsa_cert {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|error| CliError::Read {
                path: path.clone(),
                error,
            })?;
            Some(
                crate::timestamp::certificate_der(&bytes)
                    .map_err(|e| CliError::Usage(format!("--tsa-cert {}: {e}", path.display())))?,
            )
        }
        None => None,
    };
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
        let mut report = crate::bundle::verify(&bytes, ring.as_ref(), args.threads);
        if let Some((witnesses, quorum)) = &witnessing {
            report.check_witnesses(witnesses, *quorum);
        }
        if let Some(cert) = &tsa_cert {
            report.check_timestamps(cert);
        }
        if let Some(since) = &args.since {
            // The key the bundle's checkpoint verified with (checked against pinned keys).
            let key = match &report.log_key {
                Some(k) => k.clone(),
                None => log_key(ring.as_ref())?,
            };
            match (&report.checkpoint, &since.new) {
                (_, Some(_)) => {
                    return Err(CliError::Usage(
                        "with a bundle, the newer checkpoint is the bundle's: leave out --checkpoint"
                            .into(),
                    ));
                }
                (None, None) => report.failures.push(
                    "--since: the bundle has no checkpoint of the log that verified to compare with"
                        .into(),
                ),
                (Some(new), None) => match consistency(since, &key, Some(new.clone())) {
                    Ok(line) => report.notes.push(line),
                    Err(CliError::Log(e)) => report.failures.push(e),
                    Err(e) => return Err(e),
                },
            }
        }
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
            "--keys is required to verify envelope files or checkpoints".into(),
        ));
    };
    if let Some(since) = &args.since {
        let key = log_key(Some(&ring))?;
        match consistency(since, &key, None) {
            Ok(line) => writeln!(out, "{line}")?,
            Err(CliError::Log(e)) => {
                writeln!(out, "FAIL {e}")?;
                writeln!(out, "the log's checkpoints: FAILED")?;
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
        if args.files.is_empty() {
            return Ok(true);
        }
    }
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

/// The log's key: the `vouch-server-log` line of the keys given.
fn log_key(ring: Option<&Keyring>) -> Result<vouch_evidence::PublicKey, CliError> {
    ring.and_then(|r| r.of_owner(crate::bundle::LOG_KEY_OWNER).next().cloned())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--since: no log key ({}) in the keys to check the checkpoints with",
                crate::bundle::LOG_KEY_OWNER
            ))
        })
}

/// Checks that the log grew only by appending from the checkpoint `since.old` to the newer
/// one (`new`, else `since.new`, else the one the proof carries); answers the line to print,
/// or [`CliError::Log`] naming what failed.
fn consistency(
    since: &Since,
    key: &vouch_evidence::PublicKey,
    new: Option<Checkpoint>,
) -> Result<String, CliError> {
    let read = |path: &PathBuf| -> Result<String, CliError> {
        std::fs::read_to_string(path).map_err(|error| CliError::Read {
            path: path.clone(),
            error,
        })
    };
    let open = |what: &str, note: &str| {
        open_checkpoint(note, key)
            .map(|(c, _)| c)
            .map_err(|e| CliError::Log(format!("{what}: {e}")))
    };
    let old = open(&since.old.display().to_string(), &read(&since.old)?)?;
    let proof: ConsistencyProof = serde_json::from_str(&read(&since.proof)?).map_err(|e| {
        CliError::Log(format!(
            "{}: not a consistency proof: {e}",
            since.proof.display()
        ))
    })?;
    let new = match (new, &since.new, &proof.checkpoint) {
        (Some(c), _, _) => c,
        (None, Some(path), _) => open(&path.display().to_string(), &read(path)?)?,
        (None, None, Some(note)) => {
            open(&format!("{} (its checkpoint)", since.proof.display()), note)?
        }
        (None, None, None) => {
            return Err(CliError::Usage(
                "--since: give the newer checkpoint with --checkpoint (the proof carries none)"
                    .into(),
            ));
        }
    };
    if old.origin != new.origin {
        return Err(CliError::Log(format!(
            "the checkpoints are of two logs: {} and {}",
            old.origin, new.origin
        )));
    }
    proof
        .verify(&old, &new)
        .map_err(|e| CliError::Log(format!("{}: {e}", since.proof.display())))?;
    Ok(format!(
        "the log {} only grew from {} leaves ({}) to {} ({}): consistent",
        new.origin,
        old.size,
        since.old.display(),
        new.size,
        since.new.as_ref().map_or_else(
            || "the newer checkpoint".to_string(),
            |p| p.display().to_string()
        )
    ))
}
