//! The agent's key and its enrolment record: created with mode 0600, replaced only once a new
//! enrolment is confirmed.

use super::*;

impl StateDir {
    pub(super) fn key_path(&self) -> PathBuf {
        self.root.join("agent.key")
    }

    pub(super) fn pending_key_path(&self) -> PathBuf {
        self.root.join("agent.key.new")
    }

    pub(super) fn enrollment_path(&self) -> PathBuf {
        self.root.join("enrollment.json")
    }

    pub(super) fn pending_enrollment_path(&self) -> PathBuf {
        self.root.join("enrollment.new.json")
    }

    fn rotation_path(&self) -> PathBuf {
        self.root.join("key-rotation.json")
    }

    /// The key rotation in progress, signed, when one is (`key-rotation.json`): the pending
    /// key is its new key.
    pub fn pending_rotation(&self) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.rotation_path()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records a key rotation in progress, durably, before it is sent.
    pub fn save_rotation(&self, signed: &[u8]) -> io::Result<()> {
        write_atomic(&self.rotation_path(), signed, 0o600)
    }

    /// Forgets the key rotation in progress (done, or refused for good).
    pub fn clear_rotation(&self) -> io::Result<()> {
        match fs::remove_file(self.rotation_path()) {
            Ok(()) => sync_dir(&self.root),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Loads the pending key (`agent.key.new`).
    pub fn load_pending_key(&self) -> io::Result<SigningKey> {
        read_key(&self.pending_key_path())
    }

    /// Creates a new key (refusing to replace one unless `replace`).
    pub fn create_key(&self, replace: bool) -> io::Result<SigningKey> {
        if self.key_path().exists() && !replace {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists: this agent is already enrolled (use --force to re-enrol)",
                    self.key_path().display()
                ),
            ));
        }
        let seed = new_seed()?;
        write_key(&self.key_path(), &seed)?;
        Ok(SigningKey::from_seed(&seed))
    }

    /// Makes a new key beside the current one, in `agent.key.new` (mode 0600, durable), for an
    /// enrolment in progress: `agent.key` and `enrollment.json` stay as they are until
    /// [`StateDir::commit_enrollment`]. A pending key left by an earlier attempt is replaced.
    pub fn create_pending_key(&self) -> io::Result<SigningKey> {
        let seed = new_seed()?;
        write_key(&self.pending_key_path(), &seed)?;
        Ok(SigningKey::from_seed(&seed))
    }

    /// Forgets the key of an enrolment that did not succeed; the current key is untouched.
    pub fn discard_pending_key(&self) -> io::Result<()> {
        match fs::remove_file(self.pending_key_path()) {
            Ok(()) => sync_dir(&self.root),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Makes the pending key (from [`StateDir::create_pending_key`]) and `enrollment` current,
    /// once the server has confirmed the enrolment. The enrolment is first written durably to
    /// `enrollment.new.json`, which marks the decision; then the key and the record are renamed
    /// into place. A crash in between is completed by the next [`StateDir::open`], so the agent
    /// never holds a key that does not match its enrolment record.
    pub fn commit_enrollment(&self, e: &Enrollment) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(e).map_err(io::Error::other)?;
        write_atomic(&self.pending_enrollment_path(), &json, 0o600)?;
        self.finish_enrollment_commit()
    }

    pub(super) fn finish_enrollment_commit(&self) -> io::Result<()> {
        if self.pending_key_path().exists() {
            fs::rename(self.pending_key_path(), self.key_path())?;
            sync_dir(&self.root)?;
        }
        fs::rename(self.pending_enrollment_path(), self.enrollment_path())?;
        sync_dir(&self.root)
    }

    /// Loads the key.
    pub fn load_key(&self) -> io::Result<SigningKey> {
        read_key(&self.key_path())
    }
}

fn read_key(path: &Path) -> io::Result<SigningKey> {
    let text = fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e} (enrol first)", path.display())))?;
    let bytes = B64
        .decode(text.trim())
        .map_err(|_| io::Error::other(format!("{}: not base64", path.display())))?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| {
        io::Error::other(format!("{}: an Ed25519 seed has 32 bytes", path.display()))
    })?;
    Ok(SigningKey::from_seed(&seed))
}

impl StateDir {
    /// Saves the enrolment.
    pub fn save_enrollment(&self, e: &Enrollment) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(e).map_err(io::Error::other)?;
        write_atomic(&self.enrollment_path(), &json, 0o600)
    }

    /// Loads the enrolment.
    pub fn load_enrollment(&self) -> io::Result<Enrollment> {
        let path = self.enrollment_path();
        let bytes = fs::read(&path).map_err(|e| {
            io::Error::new(e.kind(), format!("{}: {e} (enrol first)", path.display()))
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))
    }
}

pub(super) fn new_seed() -> io::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(seed)
}

pub(super) fn write_key(path: &Path, seed: &[u8; 32]) -> io::Result<()> {
    write_atomic(path, format!("{}\n", B64.encode(seed)).as_bytes(), 0o600)
}
