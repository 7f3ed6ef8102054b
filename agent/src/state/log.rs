//! The transparency log as this agent saw it: the log's key, pinned at the first delivery that
//! carried it, and the last checkpoint it verified (`log/key`, `log/checkpoint`). The next
//! delivery asks the server to prove that checkpoint's tree a prefix of its current one.

use vouch_evidence::Timestamp;
use vouch_evidence::note::{Checkpoint, NoteVerifier};

use super::*;

impl StateDir {
    fn log_dir(&self) -> PathBuf {
        self.root.join("log")
    }

    /// The pinned log key and the last checkpoint verified with it (none before the first
    /// delivery to a server with a log). A file that does not read is an error, never a
    /// reason to trust anew.
    pub fn log_seen(&self) -> io::Result<(Option<NoteVerifier>, Option<Checkpoint>)> {
        let invalid = |what: &str, e: String| {
            io::Error::new(io::ErrorKind::InvalidData, format!("log/{what}: {e}"))
        };
        let key = match std::fs::read_to_string(self.log_dir().join("key")) {
            Ok(text) => {
                Some(NoteVerifier::parse(&text).map_err(|e| invalid("key", e.to_string()))?)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let checkpoint = match (
            &key,
            std::fs::read_to_string(self.log_dir().join("checkpoint")),
        ) {
            (Some(key), Ok(note)) => Some(
                Checkpoint::open(&note, key)
                    .map_err(|e| invalid("checkpoint", e.to_string()))?
                    .0,
            ),
            (_, Err(e)) if e.kind() == io::ErrorKind::NotFound => None,
            (None, Ok(_)) => return Err(invalid("checkpoint", "no pinned key beside it".into())),
            (_, Err(e)) => return Err(e),
        };
        Ok((key, checkpoint))
    }

    /// Keeps the log key (pinned from now on) and a checkpoint verified with it, of `size`
    /// leaves; a checkpoint smaller than the one kept is never kept.
    pub fn save_log(&self, key: &NoteVerifier, checkpoint: &str, size: u64) -> io::Result<()> {
        let dir = self.log_dir();
        std::fs::create_dir_all(&dir)?;
        let key_path = dir.join("key");
        if !key_path.exists() {
            write_atomic(&key_path, format!("{key}\n").as_bytes(), 0o644)?;
        }
        if let (_, Some(kept)) = self.log_seen()?
            && kept.size > size
        {
            return Ok(());
        }
        write_atomic(&dir.join("checkpoint"), checkpoint.as_bytes(), 0o644)
    }

    /// Keeps the proofs a server answered that did not check: the signed checkpoint in them,
    /// beside the one this agent kept, is the server's own signed evidence of two histories
    /// (`log/alarm.json`, replaced by each new refusal; removed by the operator once the
    /// server is investigated). Answers where it went.
    pub fn record_log_alarm(
        &self,
        at: Timestamp,
        digest: &Digest,
        error: &str,
        proofs: &vouch_evidence::logproofs::LogProofs,
    ) -> io::Result<PathBuf> {
        let dir = self.log_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("alarm.json");
        let record = serde_json::json!({
            "at": at,
            "snapshot": digest,
            "error": error,
            "proofs": proofs,
        });
        let mut bytes = serde_json::to_vec_pretty(&record).map_err(io::Error::other)?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes, 0o644)?;
        Ok(path)
    }

    /// The alarm kept by [`StateDir::record_log_alarm`]: its first lines, when there is one.
    pub fn log_alarm(&self) -> io::Result<Option<String>> {
        match std::fs::read_to_string(self.log_dir().join("alarm.json")) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}
