//! Offline verification of snapshot envelopes (`vouch verify`): no server, only the files and
//! the public keys.
//!
//! For each file: the DSSE signature must be by a key in the keyring and must verify over the
//! exact bytes; the payload must be RFC 8785 canonical and a valid snapshot of a known schema
//! (the same one-pass check the server runs at ingest); the snapshot must name the agent the
//! key belongs to (when the keyring says which). Then every chain among the files is audited:
//! gaps, forks and broken links are named. With `strict`, each payload is also parsed in full
//! into a [`Snapshot`], as a cross-check of the one-pass check.
//!
//! Files are read once each and checked on every core ([`verify_files`]); each check is
//! independent, only the chain audit needs them all. [`bundle`] checks evidence bundles.
//!
//! This crate depends on the evidence contract and the policy engine alone (no server, store,
//! network or collector: no cloud SDK), so what an auditor runs trusts nothing but the evidence,
//! the keys and the packs' own files. [`cli`] is the `vouch verify` command, shared by the
//! `vouch` binary and this crate's small `vouch-verify` binary, so both answer alike.

pub mod bundle;
pub mod cli;
pub mod keystatus;
pub mod results;
pub mod timestamp;
pub mod verdicts;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use vouch_evidence::chain::{self, Problem};
use vouch_evidence::dsse::{self, Envelope, Verified};
use vouch_evidence::{
    ChainLink, Digest, KeyId, PublicKey, SNAPSHOT_PAYLOAD_TYPE, Snapshot, SnapshotHeader, Timestamp,
};

/// Public keys and what each belongs to (the comment of its line: an agent id, or a name),
/// and the revocations of agents (`revoked <agent id> <instant> <reason>` lines).
#[derive(Debug, Default, Clone)]
pub struct Keyring {
    keys: HashMap<KeyId, (PublicKey, String)>,
    revoked: HashMap<String, (Timestamp, String)>,
    rotated: HashMap<KeyId, (String, Timestamp)>,
}

/// The keys-file line that records that `agent_id` rotated its key `keyid` at `at` (the
/// server's instant): the key stays in the file (what it signed before stays verifiable), and
/// nothing the server received signed by it from that instant on is evidence.
pub fn rotation_line(agent_id: &str, keyid: &KeyId, at: Timestamp) -> String {
    format!("rotated {agent_id} {keyid} {at}")
}

fn parse_rotation(rest: &str) -> Result<(String, KeyId, Timestamp), String> {
    let parts: Vec<&str> = rest.split_whitespace().collect();
    match parts.as_slice() {
        [agent, keyid, at] => match (keyid.parse::<KeyId>(), at.parse::<Timestamp>()) {
            (Ok(k), Ok(t)) => Ok((agent.to_string(), k, t)),
            _ => Err("a rotation line is `rotated <agent id> <key id> <RFC 3339 instant>`".into()),
        },
        _ => Err("a rotation line is `rotated <agent id> <key id> <RFC 3339 instant>`".into()),
    }
}

/// The keys-file line that records the revocation of `agent_id` at `at`: its key stays in the
/// file (what it signed before stays verifiable), and `vouch verify` names anything it signed
/// or had accepted from that instant on.
pub fn revocation_line(agent_id: &str, at: Timestamp, reason: &str) -> String {
    let reason = vouch_evidence::limits::truncate_echo(reason);
    format!("revoked {agent_id} {at} {}", reason.trim())
        .trim_end()
        .to_string()
}

fn parse_revocation(rest: &str) -> Result<(String, Timestamp, String), String> {
    let mut parts = rest.trim().splitn(3, ' ');
    let agent = parts.next().filter(|a| !a.is_empty());
    let at = parts.next().map(str::parse::<Timestamp>);
    match (agent, at) {
        (Some(agent), Some(Ok(at))) => Ok((
            agent.to_string(),
            at,
            parts.next().unwrap_or("").trim().to_string(),
        )),
        _ => Err("a revocation line is `revoked <agent id> <RFC 3339 instant> <reason>`".into()),
    }
}

impl Keyring {
    /// Loads a keys file (`ed25519 <base64> <comment>` lines, `#` comments) or every `*.pub`
    /// file in a directory. Every bad line is reported, with file and line number.
    pub fn load(path: &Path) -> Result<Self, Vec<String>> {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| vec![format!("{}: {e}", path.display())])?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "pub"))
                .collect();
            v.sort();
            v
        } else {
            vec![path.to_path_buf()]
        };
        let mut ring = Keyring::default();
        let mut errors = Vec::new();
        for file in files {
            match std::fs::read_to_string(&file) {
                Ok(text) => ring.add_lines(&text, &file.display().to_string(), &mut errors),
                Err(e) => errors.push(format!("{}: {e}", file.display())),
            }
        }
        if errors.is_empty() {
            Ok(ring)
        } else {
            Err(errors)
        }
    }

    /// Parses the text of a keys file named `name` (for the messages).
    pub fn parse(text: &str, name: &str) -> Result<Self, Vec<String>> {
        let mut ring = Keyring::default();
        let mut errors = Vec::new();
        ring.add_lines(text, name, &mut errors);
        if errors.is_empty() {
            Ok(ring)
        } else {
            Err(errors)
        }
    }

    fn add_lines(&mut self, text: &str, name: &str, errors: &mut Vec<String>) {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("rotated ") {
                match parse_rotation(rest) {
                    Ok((agent, keyid, at)) => {
                        self.rotated.insert(keyid, (agent, at));
                    }
                    Err(e) => errors.push(format!("{name}:{}: {e}", n + 1)),
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix("revoked ") {
                match parse_revocation(rest) {
                    Ok((agent, at, reason)) => self.add_revocation(&agent, at, &reason),
                    Err(e) => errors.push(format!("{name}:{}: {e}", n + 1)),
                }
                continue;
            }
            match PublicKey::from_line(line) {
                Ok((key, comment)) => self.add(key, comment),
                Err(e) => errors.push(format!("{name}:{}: {e}", n + 1)),
            }
        }
    }

    /// The key with id `id` and what it belongs to.
    pub fn get(&self, id: &KeyId) -> Option<(&PublicKey, &str)> {
        self.keys.get(id).map(|(k, o)| (k, o.as_str()))
    }

    /// When and why `owner` (an agent id) was revoked, if it was.
    pub fn revocation(&self, owner: &str) -> Option<(Timestamp, &str)> {
        self.revoked.get(owner).map(|(at, r)| (*at, r.as_str()))
    }

    /// Records that `owner` was revoked at `at`; the earliest revocation of an agent stands.
    pub fn add_revocation(&mut self, owner: &str, at: Timestamp, reason: &str) {
        let entry = self
            .revoked
            .entry(owner.to_string())
            .or_insert_with(|| (at, reason.to_string()));
        if at < entry.0 {
            *entry = (at, reason.to_string());
        }
    }

    /// The agent that rotated the key `keyid` away, and when, if it did.
    pub fn rotation(&self, keyid: &KeyId) -> Option<(&str, Timestamp)> {
        self.rotated.get(keyid).map(|(a, at)| (a.as_str(), *at))
    }

    /// Every rotated key: key id, agent, instant.
    pub fn rotations(&self) -> impl Iterator<Item = (&KeyId, &str, Timestamp)> {
        self.rotated.iter().map(|(k, (a, at))| (k, a.as_str(), *at))
    }

    /// Every key and what it belongs to.
    pub fn keys(&self) -> impl Iterator<Item = (&PublicKey, &str)> {
        self.keys.values().map(|(k, o)| (k, o.as_str()))
    }

    /// Every revocation: agent id, instant, reason.
    pub fn revocations(&self) -> impl Iterator<Item = (&str, Timestamp, &str)> {
        self.revoked
            .iter()
            .map(|(a, (at, r))| (a.as_str(), *at, r.as_str()))
    }

    /// The keys of `owner` that are not rotated away: its current key(s).
    pub fn current_of<'a>(&'a self, owner: &'a str) -> impl Iterator<Item = &'a PublicKey> + 'a {
        self.of_owner(owner)
            .filter(|k| !self.rotated.contains_key(&k.id()))
    }

    /// The keys belonging to `owner`.
    pub fn of_owner<'a>(&'a self, owner: &'a str) -> impl Iterator<Item = &'a PublicKey> + 'a {
        self.keys
            .values()
            .filter(move |(_, o)| o == owner)
            .map(|(k, _)| k)
    }

    /// Adds a key with what it belongs to.
    pub fn add(&mut self, key: PublicKey, owner: String) {
        self.keys.insert(key.id(), (key, owner));
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A file's digest and chain position, or why it failed.
type Outcome = Result<(Digest, ChainLink), String>;

/// The outcome for one file.
#[derive(Debug)]
pub struct FileOutcome {
    /// The file.
    pub path: PathBuf,
    /// Its digest and chain position, or why it failed.
    pub result: Outcome,
}

/// What `verify_files` found.
#[derive(Debug)]
pub struct Report {
    /// One outcome per file, in the order given.
    pub files: Vec<FileOutcome>,
    /// The chain audit over the files that verified.
    pub chains: chain::Report,
}

impl Report {
    /// True when every file verified and no chain has a gap, fork or broken link.
    pub fn ok(&self) -> bool {
        self.files.iter().all(|f| f.result.is_ok())
            && self.chains.integrity_problems().next().is_none()
    }

    /// One line per failed file, then one per chain problem.
    pub fn failure_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .files
            .iter()
            .filter_map(|f| {
                f.result
                    .as_ref()
                    .err()
                    .map(|e| format!("FAIL {}: {e}", f.path.display()))
            })
            .collect();
        out.extend(
            self.chains
                .integrity_problems()
                .map(|p| format!("FAIL {p}")),
        );
        out
    }

    /// Notes that are not failures (a sample that starts after sequence 1).
    pub fn notes(&self) -> Vec<String> {
        self.chains
            .problems
            .iter()
            .filter(|p| matches!(p, Problem::StartsLate { .. }))
            .map(|p| format!("note: {p} (earlier snapshots were not given)"))
            .collect()
    }
}

/// How much `vouch verify` checks beyond the signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Signatures, agent binding and chains: authenticity, integrity and completeness.
    Signatures,
    /// Also that every payload is RFC 8785 canonical and schema-valid (the server's ingest
    /// check). The default.
    Canonical,
    /// Also a full parse of every snapshot, as a cross-check of the one-pass check.
    Full,
}

impl Depth {
    /// The depth the command-line flags ask for: `--strict` is [`Depth::Full`],
    /// `--signatures-only` [`Depth::Signatures`], neither [`Depth::Canonical`].
    pub fn from_flags(strict: bool, signatures_only: bool) -> Self {
        match (strict, signatures_only) {
            (true, _) => Depth::Full,
            (false, true) => Depth::Signatures,
            (false, false) => Depth::Canonical,
        }
    }

    fn from_strict(strict: bool) -> Self {
        if strict {
            Depth::Full
        } else {
            Depth::Canonical
        }
    }
}

/// What is checked once a signature is known good.
fn after_signature(verified: Verified, keys: &Keyring, depth: Depth) -> Outcome {
    let header: SnapshotHeader = match depth {
        Depth::Signatures => SnapshotHeader::from_payload(&verified.payload),
        Depth::Canonical | Depth::Full => Snapshot::check_payload(&verified.payload),
    }
    .map_err(|e| format!("payload: {e}"))?;
    if depth == Depth::Full {
        Snapshot::from_payload(&verified.payload).map_err(|e| format!("payload: {e}"))?;
    }
    let link = header.link();
    let owner = &keys.keys[&verified.keyid].1;
    if owner.starts_with("agt_") && *owner != link.chain.agent_id {
        return Err(format!(
            "signed with the key of agent {owner} but names agent {}",
            link.chain.agent_id
        ));
    }
    if let Some((at, reason)) = keys.revocation(owner)
        && header.collected_at >= at
    {
        return Err(format!(
            "collected at {} by agent {owner}, which was revoked at {at} ({reason}): \
             nothing it signed from then on is evidence",
            header.collected_at
        ));
    }
    Ok((verified.digest, link))
}

/// Verifies one envelope's bytes: signature by a key of `keys`, canonical and valid payload,
/// agent binding. Returns the snapshot's digest and place in its chain.
pub fn verify_bytes(bytes: &[u8], keys: &Keyring, strict: bool) -> Outcome {
    let envelope = Envelope::from_slice(bytes).map_err(|e| e.to_string())?;
    let verified = envelope
        .verify(SNAPSHOT_PAYLOAD_TYPE, |id| {
            keys.keys.get(id).map(|(k, _)| k)
        })
        .map_err(|e| e.to_string())?;
    after_signature(verified, keys, Depth::from_strict(strict))
}

/// Verifies every file and audits the chains they form, on every core.
pub fn verify_files(paths: &[PathBuf], keys: &Keyring, strict: bool) -> Report {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    verify_files_with(paths, keys, strict, threads)
}

/// [`verify_files`] on at most `threads` threads.
pub fn verify_files_with(
    paths: &[PathBuf],
    keys: &Keyring,
    strict: bool,
    threads: usize,
) -> Report {
    verify_files_at(paths, keys, Depth::from_strict(strict), threads)
}

/// Files checked per Ed25519 batch.
const BATCH: usize = 256;

/// Verifies files at `depth` on at most `threads` threads. Files are taken in chunks; each
/// chunk's signatures are checked in one batch ([`vouch_evidence::dsse::verify_many`]).
pub fn verify_files_at(paths: &[PathBuf], keys: &Keyring, depth: Depth, threads: usize) -> Report {
    verify_loaded(
        paths,
        |p| p.clone(),
        |p| std::fs::read(p).map_err(|e| format!("cannot read: {e}")),
        keys,
        depth,
        threads,
    )
}

/// Verifies envelopes already in memory, each named by a path for the report (an evidence
/// bundle's members), as [`verify_files_at`] does files.
pub fn verify_blobs_at(
    blobs: &[(PathBuf, &[u8])],
    keys: &Keyring,
    depth: Depth,
    threads: usize,
) -> Report {
    verify_loaded(
        blobs,
        |(p, _)| p.clone(),
        |(_, b)| Ok(b.to_vec()),
        keys,
        depth,
        threads,
    )
}

/// The shared engine: `load` gives each item's bytes, `name` its path in the report.
fn verify_loaded<T: Sync>(
    items: &[T],
    name: impl Fn(&T) -> PathBuf,
    load: impl Fn(&T) -> Result<Vec<u8>, String> + Sync,
    keys: &Keyring,
    depth: Depth,
    threads: usize,
) -> Report {
    let check_chunk = |chunk: &[T]| -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(chunk.len());
        let mut envelopes = Vec::with_capacity(chunk.len());
        let mut slots = Vec::with_capacity(chunk.len());
        for p in chunk {
            match load(p).and_then(|b| Envelope::from_slice(&b).map_err(|e| e.to_string())) {
                Ok(env) => {
                    slots.push(outcomes.len());
                    envelopes.push(env);
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(Err(e))),
            }
        }
        let verified = dsse::verify_many(&envelopes, SNAPSHOT_PAYLOAD_TYPE, |id| {
            keys.keys.get(id).map(|(k, _)| k)
        });
        for (slot, v) in slots.into_iter().zip(verified) {
            outcomes[slot] = Some(
                v.map_err(|e| e.to_string())
                    .and_then(|v| after_signature(v, keys, depth)),
            );
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("every file has an outcome"))
            .collect()
    };
    let chunks: Vec<&[T]> = items.chunks(BATCH).collect();
    let threads = threads.clamp(1, chunks.len().max(1));
    let results: Vec<Outcome> = if threads == 1 {
        chunks.iter().flat_map(|c| check_chunk(c)).collect()
    } else {
        // Work stealing over chunks: threads never idle while work is left.
        let next = AtomicUsize::new(0);
        let slots: Mutex<Vec<Option<Vec<Outcome>>>> =
            Mutex::new((0..chunks.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(c) = chunks.get(i) else { break };
                        mine.push((i, check_chunk(c)));
                    }
                    let mut slots = slots.lock().expect("no thread panics holding it");
                    for (i, r) in mine {
                        slots[i] = Some(r);
                    }
                });
            }
        });
        slots
            .into_inner()
            .expect("no thread panics holding it")
            .into_iter()
            .flat_map(|r| r.expect("every chunk was taken by a thread"))
            .collect()
    };
    let files: Vec<FileOutcome> = items
        .iter()
        .zip(results)
        .map(|(p, result)| FileOutcome {
            path: name(p),
            result,
        })
        .collect();
    let chains = chain::audit(files.iter().filter_map(|f| f.result.as_ref().ok().cloned()));
    Report { files, chains }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use vouch_evidence::{EvidenceItem, SigningKey, Source, dsse};

    use super::*;

    const AGENT: &str = "agt_0011223344556677";

    fn snapshot(sequence: u64, previous: Option<Digest>) -> Snapshot {
        let at = "2026-11-24T01:00:00Z".parse().unwrap();
        let mut evidence = BTreeMap::new();
        evidence.insert(
            "host.kernel.release".to_string(),
            EvidenceItem::ok(format!("6.1.{sequence}"), Source::File("/proc/x".into())),
        );
        vouch_evidence::testing::host_snapshot(AGENT, "m-1", at, sequence, previous, evidence)
    }

    fn ring(key: &SigningKey) -> Keyring {
        let mut ring = Keyring::default();
        ring.add(key.public().clone(), AGENT.into());
        ring
    }

    /// Regression: `vouch verify` only checked payloads for canonical form with `--strict`, so a
    /// validly signed but non-canonical payload (two byte forms, two digests for one snapshot)
    /// passed the auditor's default check although the server refuses it.
    #[test]
    fn a_signed_non_canonical_payload_fails_by_default() {
        let key = SigningKey::from_seed(&[7; 32]);
        let pretty = serde_json::to_vec_pretty(&snapshot(1, None)).unwrap();
        let env = dsse::sign(&key, SNAPSHOT_PAYLOAD_TYPE, &pretty).to_vec();
        for strict in [false, true] {
            let err = verify_bytes(&env, &ring(&key), strict).unwrap_err();
            assert!(err.contains("canonical"), "{err}");
        }
        let (good, d) = snapshot(1, None).sign(&key).unwrap();
        assert_eq!(
            verify_bytes(&good.to_vec(), &ring(&key), false).unwrap().0,
            d
        );
    }

    /// `--signatures-only` checks authenticity and chains, not the payload's form: the same
    /// validly signed, non-canonical payload passes there and fails at the default depth.
    #[test]
    fn signatures_only_skips_the_payload_form_check_and_nothing_else() {
        let key = SigningKey::from_seed(&[8; 32]);
        let dir = tempfile::tempdir().unwrap();
        let pretty = serde_json::to_vec_pretty(&snapshot(1, None)).unwrap();
        let odd = dir.path().join("odd.json");
        std::fs::write(
            &odd,
            dsse::sign(&key, SNAPSHOT_PAYLOAD_TYPE, &pretty).to_vec(),
        )
        .unwrap();
        let (good, _) = snapshot(1, None)
            .sign(&SigningKey::from_seed(&[9; 32]))
            .unwrap();
        let forged = dir.path().join("forged.json");
        std::fs::write(&forged, good.to_vec()).unwrap();
        let files = [odd, forged];
        let fast = verify_files_at(&files, &ring(&key), Depth::Signatures, 1);
        assert!(fast.files[0].result.is_ok());
        assert!(
            fast.files[1]
                .result
                .as_ref()
                .unwrap_err()
                .contains("no signature by a known key")
        );
        let default = verify_files_at(&files, &ring(&key), Depth::Canonical, 1);
        assert!(
            default.files[0]
                .result
                .as_ref()
                .unwrap_err()
                .contains("canonical")
        );
    }

    /// The report keeps the order of the files given, however many threads check them.
    #[test]
    fn parallel_and_sequential_checks_agree_in_order() {
        let key = SigningKey::from_seed(&[8; 32]);
        let dir = tempfile::tempdir().unwrap();
        let mut prev = None;
        let mut paths = Vec::new();
        for seq in 1..=40u64 {
            let (env, d) = snapshot(seq, prev).sign(&key).unwrap();
            prev = Some(d);
            let p = dir.path().join(format!("{seq}.json"));
            let mut bytes = env.to_vec();
            if seq % 7 == 0 {
                bytes[20] ^= 1;
            }
            std::fs::write(&p, bytes).unwrap();
            paths.push(p);
        }
        paths.push(dir.path().join("missing.json"));
        let one = verify_files_with(&paths, &ring(&key), false, 1);
        let four = verify_files_with(&paths, &ring(&key), false, 4);
        assert_eq!(one.failure_lines(), four.failure_lines());
        for (a, b) in one.files.iter().zip(&four.files) {
            assert_eq!(a.path, b.path);
            assert_eq!(a.result, b.result);
        }
        assert_eq!(
            four.files.iter().filter(|f| f.result.is_err()).count(),
            6,
            "5 altered files and 1 missing"
        );
        assert!(!four.ok());
    }

    #[test]
    fn bad_key_lines_are_named_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed(&[9; 32]);
        std::fs::write(
            dir.path().join("a.pub"),
            format!("# ok\n{}\n", key.public().to_line("agt_a")),
        )
        .unwrap();
        std::fs::write(dir.path().join("b.pub"), "\nssh-rsa AAAA nope\n").unwrap();
        std::fs::write(dir.path().join("ignored.txt"), "garbage").unwrap();
        let errors = Keyring::load(dir.path()).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("b.pub:2"), "{}", errors[0]);
        std::fs::remove_file(dir.path().join("b.pub")).unwrap();
        assert_eq!(Keyring::load(dir.path()).unwrap().len(), 1);
    }
}
