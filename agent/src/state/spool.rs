//! The spool: envelopes waiting for delivery, their receipts once acknowledged, refused ones
//! quarantined, unreadable ones set aside, and re-signing after a refusal.

use super::*;

impl StateDir {
    /// Writes a signed envelope to the spool (atomically: see [`write_atomic`]), replacing a
    /// file of the same sequence only once the new one is durable.
    pub fn spool(&self, chain: &ChainKey, sequence: u64, envelope: &[u8]) -> io::Result<PathBuf> {
        let dir = self.spool_dir(chain);
        if !dir.exists() {
            fs::create_dir_all(&dir)?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        if !dir.join("chain.json").exists() {
            write_atomic(
                &dir.join("chain.json"),
                &serde_json::to_vec(chain).map_err(io::Error::other)?,
                0o600,
            )?;
        }
        let path = dir.join(format!("{sequence:020}.json"));
        write_atomic(&path, envelope, 0o600)?;
        Ok(path)
    }

    /// Removes a spooled envelope whose content is now elsewhere (re-signed into another file),
    /// durably.
    pub fn remove_spooled(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)?;
        sync_dir(parent_dir(path))
    }

    /// The spooled envelopes of `chain`, oldest first, as (sequence, path).
    pub fn spooled(&self, chain: &ChainKey) -> io::Result<Vec<(u64, PathBuf)>> {
        spooled_in(&self.spool_dir(chain))
    }

    /// Every chain with something spooled. A `chain.json` that cannot be read is set aside and,
    /// when a readable envelope in its directory names the chain, written again; a directory
    /// whose chain cannot be known is skipped with an error in the log (its files stay).
    pub fn spooled_chains(&self) -> io::Result<Vec<ChainKey>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.root.join("spool"))? {
            let dir = entry?.path();
            let path = dir.join("chain.json");
            let Ok(bytes) = fs::read(&path) else {
                continue;
            };
            let problem = match serde_json::from_slice::<ChainKey>(&bytes) {
                Ok(chain) if chain_dir_name(&chain) == file_name(&dir) => {
                    out.push(chain);
                    continue;
                }
                Ok(chain) => format!("names chain {chain}, which is not this directory's"),
                Err(e) => format!("not a chain key: {e}"),
            };
            self.set_aside_corrupt(&path, &problem)?;
            match self.chain_of_spooled(&dir) {
                Some(chain) => {
                    write_atomic(
                        &path,
                        &serde_json::to_vec(&chain).map_err(io::Error::other)?,
                        0o600,
                    )?;
                    tracing::warn!(dir = %dir.display(), chain = %chain, "chain.json rewritten from the spooled snapshots");
                    out.push(chain);
                }
                None => {
                    tracing::error!(dir = %dir.display(), "spool directory skipped: no readable snapshot names its chain");
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// The chain a spool directory holds, from the first readable snapshot in it that belongs
    /// there.
    pub(super) fn chain_of_spooled(&self, dir: &Path) -> Option<ChainKey> {
        spooled_in(dir).ok()?.into_iter().find_map(|(_, path)| {
            let chain = read_spooled_snapshot(&path).ok()?.chain_key();
            (chain_dir_name(&chain) == file_name(dir)).then_some(chain)
        })
    }

    /// How many envelopes wait in the spool, all chains together.
    pub fn spool_depth(&self) -> io::Result<usize> {
        let mut n = 0;
        for chain in self.spooled_chains()? {
            n += self.spooled(&chain)?.len();
        }
        Ok(n)
    }

    /// Saves a receipt, then removes the acknowledged envelope from the spool.
    pub fn acknowledge(&self, spooled: &Path, digest: Digest, receipt: &[u8]) -> io::Result<()> {
        write_atomic(
            &self.root.join("receipts").join(format!("{digest}.json")),
            receipt,
            0o600,
        )?;
        fs::remove_file(spooled)?;
        sync_dir(parent_dir(spooled))
    }

    /// The digest the server acknowledged at `sequence` of `chain`, from the saved receipts
    /// (the newest if several). It reads every receipt: for recovery only.
    pub fn acknowledged(&self, chain: &ChainKey, sequence: u64) -> io::Result<Option<Digest>> {
        let mut found: Option<Receipt> = None;
        for entry in fs::read_dir(self.root.join("receipts"))? {
            let Ok(bytes) = fs::read(entry?.path()) else {
                continue;
            };
            let Some(receipt) = Envelope::from_slice(&bytes)
                .ok()
                .and_then(|env| env.payload_bytes().ok())
                .and_then(|p| serde_json::from_slice::<Receipt>(&p).ok())
            else {
                continue;
            };
            if receipt.sequence == sequence
                && receipt.chain == *chain
                && found
                    .as_ref()
                    .is_none_or(|f| f.received_at < receipt.received_at)
            {
                found = Some(receipt);
            }
        }
        Ok(found.map(|r| r.digest))
    }

    /// The newest snapshot of `chain` the server acknowledged, from the saved receipts (the
    /// highest sequence; the newest receipt at it). It reads every receipt: for recovery only.
    pub fn newest_acknowledged(&self, chain: &ChainKey) -> io::Result<Option<Head>> {
        let mut newest: Option<Receipt> = None;
        for entry in fs::read_dir(self.root.join("receipts"))? {
            let Some(receipt) = fs::read(entry?.path())
                .ok()
                .and_then(|bytes| Envelope::from_slice(&bytes).ok())
                .and_then(|env| env.payload_bytes().ok())
                .and_then(|p| serde_json::from_slice::<Receipt>(&p).ok())
            else {
                continue;
            };
            if receipt.chain == *chain
                && newest.as_ref().is_none_or(|n| {
                    (n.sequence, n.received_at) < (receipt.sequence, receipt.received_at)
                })
            {
                newest = Some(receipt);
            }
        }
        Ok(newest.map(|r| Head {
            sequence: r.sequence,
            digest: r.digest,
        }))
    }

    /// Moves a refused envelope to `spool/rejected/`, with the server's error beside it, under
    /// a name no other file has: `<chain dir>-<sequence>-<snapshot digest>.json` (with `-<n>`
    /// added should that exist), so a second refusal at the same sequence never overwrites the
    /// first. Returns the new path.
    pub fn quarantine(&self, spooled: &Path, error: &str) -> io::Result<PathBuf> {
        let digest = match read_spooled(spooled) {
            Ok(s) => s.digest.to_hex(),
            Err(_) => Digest::of(&fs::read(spooled)?).to_hex(),
        };
        let stem = format!(
            "{}-{}-{digest}",
            file_name(parent_dir(spooled)),
            spooled
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or("snapshot"),
        );
        move_aside(
            spooled,
            &self.root.join("spool/rejected"),
            &stem,
            "error",
            error.as_bytes(),
        )
    }

    /// Sets a spool file that cannot be read aside, in `spool/corrupt/` as
    /// `<chain dir>-<file>-<SHA-256 of its bytes, 16 hex>.json` (never over another file), with
    /// `problem` beside it; logs it and counts it (see [`StateDir::corrupt_set_aside`]).
    /// Returns the new path.
    pub fn set_aside_corrupt(&self, path: &Path, problem: &str) -> io::Result<PathBuf> {
        let hash = Digest::of(&fs::read(path)?).to_hex();
        let stem = format!(
            "{}-{}-{}",
            file_name(parent_dir(path)),
            path.file_stem().and_then(|n| n.to_str()).unwrap_or("file"),
            &hash[..16]
        );
        let note = serde_json::json!({ "path": path, "problem": problem }).to_string();
        let moved = move_aside(
            path,
            &self.root.join("spool/corrupt"),
            &stem,
            "problem",
            note.as_bytes(),
        )?;
        self.set_aside.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            path = %path.display(),
            problem,
            moved = %moved.display(),
            "corrupt spool file set aside"
        );
        Ok(moved)
    }

    /// How many spool files this process (this `StateDir` and its clones) set aside as corrupt.
    pub fn corrupt_set_aside(&self) -> usize {
        self.set_aside.load(Ordering::Relaxed)
    }

    /// Records that the spooled snapshots of `chain` are about to be re-signed to follow
    /// `base`, so that an interruption is resumed by [`StateDir::pending_relink`].
    pub fn begin_relink(&self, chain: &ChainKey, base: Option<Head>) -> io::Result<()> {
        let file = RelinkFile {
            base: base.map(|h| BaseLink {
                sequence: h.sequence,
                digest: h.digest,
            }),
        };
        write_atomic(
            &self.spool_dir(chain).join("relink.json"),
            &serde_json::to_vec(&file).map_err(io::Error::other)?,
            0o600,
        )
    }

    /// A re-signing of `chain` that was begun and not finished. A record that cannot be read
    /// is set aside (the re-signing cannot be resumed) and `None` returned.
    pub fn pending_relink(&self, chain: &ChainKey) -> io::Result<Option<Relink>> {
        let path = self.spool_dir(chain).join("relink.json");
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match serde_json::from_slice::<RelinkFile>(&bytes) {
            Ok(f) => Ok(Some(Relink {
                base: f.base.map(|b| Head {
                    sequence: b.sequence,
                    digest: b.digest,
                }),
            })),
            Err(e) => {
                self.set_aside_corrupt(&path, &format!("not a relink record: {e}"))?;
                Ok(None)
            }
        }
    }

    /// Records that the re-signing of `chain` is complete.
    pub fn end_relink(&self, chain: &ChainKey) -> io::Result<()> {
        let path = self.spool_dir(chain).join("relink.json");
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(parent_dir(&path)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// How many envelopes were refused.
    pub fn rejected_count(&self) -> io::Result<usize> {
        count_moved(&self.root.join("spool/rejected"), "error")
    }

    /// How many spool files were set aside as corrupt, ever (the files in `spool/corrupt/`).
    pub fn corrupt_count(&self) -> io::Result<usize> {
        count_moved(&self.root.join("spool/corrupt"), "problem")
    }

    /// How many receipts are kept.
    pub fn receipt_count(&self) -> io::Result<usize> {
        Ok(fs::read_dir(self.root.join("receipts"))?.count())
    }
}

pub(super) fn spooled_in(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let seq = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            out.push((seq, path));
        }
    }
    out.sort();
    Ok(out)
}
