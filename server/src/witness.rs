//! This server as a witness of other transparency logs (C2SP `tlog-witness`): a second Vouch
//! server, or one an auditor runs, cosigns the checkpoints of the logs it is configured to
//! follow, each only when it is consistent with the last it cosigned for that log. A log that
//! shows two histories can then get at most one of them cosigned by each witness.
//!
//! The witness keeps, per log, the last checkpoint it cosigned (`<data_dir>/witness/`, one
//! file per origin, written durably before it answers); the check against it and the update
//! are one step under a lock, so two requests cannot roll the log back between them.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;
use vouch_evidence::SigningKey;
use vouch_evidence::cosign::{self, AddCheckpoint, Witness, WitnessRefusal};
use vouch_evidence::note::{Checkpoint, NoteVerifier};

/// `[witness]`: the logs this server cosigns; none, the witness is off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WitnessConfig {
    /// The verifier keys (`name+id+key`, `GET /v1/log/key` of each) of the logs to witness.
    pub logs: Vec<String>,
}

impl WitnessConfig {
    /// Every problem with the keys, by entry.
    pub fn problems(&self) -> Vec<(String, String)> {
        self.logs
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                NoteVerifier::parse(v)
                    .err()
                    .map(|e| (format!("witness.logs[{i}]"), e.to_string()))
            })
            .collect()
    }
}

/// The witness: its key and name, the logs it follows, what it last cosigned.
pub struct WitnessService {
    name: String,
    key: SigningKey,
    logs: Vec<NoteVerifier>,
    dir: Option<PathBuf>,
    latest: tokio::sync::Mutex<HashMap<String, Checkpoint>>,
}

/// Why the witness could not answer: a refusal the protocol names, or its own fault.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The protocol's refusal (its status is the answer's).
    #[error(transparent)]
    Refused(#[from] WitnessRefusal),
    /// Its record could not be read or written.
    #[error("the witness's record: {0}")]
    Io(#[from] std::io::Error),
}

impl WitnessService {
    /// A witness signing with `key` (named `vouch.witness/<hex id>`) for the logs of `config`
    /// (validated), keeping its record in `dir` (none: in memory, tests).
    pub fn new(
        key: SigningKey,
        config: &WitnessConfig,
        dir: Option<PathBuf>,
    ) -> Result<Self, WitnessError> {
        let id = cosign::cosigner_key_id("vouch.witness", key.public());
        let logs = config
            .logs
            .iter()
            .filter_map(|v| NoteVerifier::parse(v).ok())
            .collect::<Vec<_>>();
        let mut latest = HashMap::new();
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir)?;
            for log in &logs {
                match std::fs::read_to_string(dir.join(file_of(log.name()))) {
                    Ok(note) => {
                        let c = Checkpoint::open(&note, log)
                            .map_err(|e| std::io::Error::other(format!("{}: {e}", log.name())))?
                            .0;
                        latest.insert(log.name().to_string(), c);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(WitnessService {
            name: format!("vouch.witness/{id:08x}"),
            key,
            logs,
            dir,
            latest: tokio::sync::Mutex::new(latest),
        })
    }

    /// The witness's verifier key (type 0x04), which log clients and auditors trust.
    pub fn verifier(&self) -> Witness {
        Witness::new(&self.name, self.key.public().clone()).expect("a valid name")
    }

    /// `add-checkpoint`: checks the request against the last checkpoint cosigned for its log,
    /// records the new one durably and answers the cosignature line(s), at `time` (POSIX
    /// seconds).
    pub async fn add(&self, body: &str, time: u64) -> Result<String, WitnessError> {
        let request = AddCheckpoint::parse(body)?;
        let mut latest = self.latest.lock().await;
        let origin = request.open()?.1.origin;
        let (mut note, new) = request.check(&self.logs, latest.get(&origin))?;
        // Cosigned before it is recorded: nothing is recorded that was not answered.
        cosign::cosign(&mut note, &self.name, &self.key, time)
            .map_err(|e| WitnessRefusal::BadRequest(e.to_string()))?;
        if let Some(dir) = &self.dir {
            crate::files::write_private(&dir.join(file_of(&origin)), request.note.as_bytes())?;
        }
        latest.insert(origin, new);
        drop(latest);
        // The note's last line is the cosignature just added.
        let text = note.to_string();
        let line = text.lines().next_back().expect("a signed note").to_string();
        Ok(format!("{line}\n"))
    }
}

/// The record file of the log `origin`: its SHA-256, so any origin is a safe file name.
fn file_of(origin: &str) -> String {
    format!(
        "{}.checkpoint",
        vouch_evidence::Digest::of(origin.as_bytes())
    )
}
