//! apt's package lists (`/var/lib/apt/lists/*_Packages`, plain or LZ4): the newest version
//! each list offers of the installed packages, read in one streaming pass that skips the
//! stanzas of packages not installed without allocating, and cached while the lists are
//! unchanged: in memory, and (given the agent's cache directory) on disk, so that a new agent
//! process does not decompress and scan the lists again (most of a cold collection's CPU).

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::version::dpkg_cmp;
use crate::{CollectContext, describe_io};

/// Where apt keeps the package lists and their Release files.
pub const LISTS_DIR: &str = "/var/lib/apt/lists";

/// The newest versions on offer for one installed package (name and architecture).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Offer {
    /// The newest version in any list apt installs from automatically.
    pub newest: Option<String>,
    /// The newest version in a security list.
    pub newest_security: Option<String>,
}

/// What the lists say about the installed packages.
#[derive(Debug, Default)]
pub struct ListIndex {
    /// Offers by (package name, architecture), `all` counted as the native architecture.
    pub offers: HashMap<(String, String), Offer>,
}

/// One Release (or InRelease) file's fields that matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Release {
    /// `Date`, when the archive published this index.
    pub date: Option<time::OffsetDateTime>,
    /// Whether the archive is a security archive (`Label`/`Suite`/`Codename`).
    pub security: bool,
    /// `NotAutomatic: yes` (backports, experimental): apt never upgrades to it on its own.
    pub not_automatic: bool,
}

/// A list file and how it is compressed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ListFile {
    name: String,
    lz4: bool,
}

/// What identifies one version of a list or Release file: its path, size, inode, and
/// modification and status-change times (seconds, nanoseconds). apt replaces a list by
/// renaming a new file over it (a new inode and change time) and sets its modification time
/// to the archive's `Last-Modified`; the change time cannot be set back by any program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileId {
    path: PathBuf,
    size: u64,
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileId {
    /// The identity of `path` from its metadata.
    fn of(path: PathBuf, meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt as _;
        FileId {
            path,
            size: meta.size(),
            dev: meta.dev(),
            ino: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// The identity of every file read: the cache key.
type Identity = Vec<FileId>;

/// The lists directory: its package lists and Release files.
#[derive(Debug)]
pub struct Lists {
    lists: Vec<ListFile>,
    /// (file name prefix shared with its lists, fields), the longest prefix first.
    releases: Vec<(String, Release)>,
    /// Why the lists cannot all be read (a compression this reader does not handle).
    unreadable: Option<String>,
    identity: Identity,
}

impl Lists {
    /// Reads the directory and the head of every Release file (cheap: no list is opened).
    pub fn scan(ctx: &CollectContext) -> Result<Lists, String> {
        let dir = ctx.path(LISTS_DIR);
        let entries = std::fs::read_dir(&dir).map_err(|e| describe_io(LISTS_DIR, &e))?;
        let mut lists = Vec::new();
        let mut names = Vec::new();
        let mut unreadable = None;
        for entry in entries {
            let entry = entry.map_err(|e| describe_io(LISTS_DIR, &e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.ends_with("_InRelease") || name.ends_with("_Release") {
                names.push(name);
            } else {
                match list_file(&name) {
                    Ok(Some(list)) => lists.push(list),
                    Ok(None) => {}
                    Err(e) => unreadable = Some(e),
                }
            }
        }
        if lists.is_empty() && unreadable.is_none() {
            return Err(format!(
                "no package lists in {LISTS_DIR} (apt-get update has not run)"
            ));
        }
        lists.sort_by(|a, b| a.name.cmp(&b.name));
        names.sort();
        let mut identity = Identity::new();
        for name in lists.iter().map(|l| &l.name).chain(&names) {
            let path = dir.join(name);
            let abs = format!("{LISTS_DIR}/{name}");
            let meta = std::fs::metadata(&path).map_err(|e| describe_io(&abs, &e))?;
            identity.push(FileId::of(path, &meta));
        }
        let mut releases = Vec::new();
        for name in &names {
            let abs = format!("{LISTS_DIR}/{name}");
            let file = std::fs::File::open(ctx.path(&abs)).map_err(|e| describe_io(&abs, &e))?;
            let release = parse_release(BufReader::new(file)).map_err(|e| describe_io(&abs, &e))?;
            let prefix = name
                .strip_suffix("InRelease")
                .or_else(|| name.strip_suffix("Release"))
                .unwrap_or(name);
            releases.push((prefix.to_string(), release));
        }
        releases.sort_by_key(|r| std::cmp::Reverse(r.0.len()));
        Ok(Lists {
            lists,
            releases,
            unreadable,
            identity,
        })
    }

    /// The newest `Date` of the Release files: how current the lists are.
    pub fn newest_release_date(&self) -> Result<time::OffsetDateTime, String> {
        self.releases
            .iter()
            .filter_map(|(_, r)| r.date)
            .max()
            .ok_or_else(|| format!("no Release or InRelease file with a Date in {LISTS_DIR}"))
    }

    /// The offers of the lists for the packages named in `wanted` (sorted), from the cache
    /// when no list changed since the last call: this process's, else the one kept in
    /// `keep_in` (the agent's cache directory) by an earlier process. A new parse is kept
    /// there when the lists did not change while it was read.
    pub fn index(
        &self,
        ctx: &CollectContext,
        wanted: &[String],
        native: Option<&str>,
        keep_in: Option<&Path>,
    ) -> Result<Arc<ListIndex>, String> {
        if let Some(e) = &self.unreadable {
            return Err(e.clone());
        }
        let dir = ctx.path(LISTS_DIR);
        let native = native.map(str::to_string);
        let cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = cache.iter().find(|c| {
            c.dir == dir && c.identity == self.identity && c.wanted == wanted && c.native == native
        }) {
            return Ok(hit.index.clone());
        }
        drop(cache);
        let key = Kept::key(&self.identity, wanted, native.as_deref());
        let index = match keep_in.and_then(|d| load_kept(d, &key)) {
            Some(kept) => Arc::new(kept),
            None => {
                let index = self.parse(ctx, wanted, native.as_deref())?;
                if let Some(d) = keep_in
                    && self.unchanged()
                {
                    store_kept(d, &key.with(&index));
                }
                Arc::new(index)
            }
        };
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|c| c.dir != dir);
        cache.push(Cached {
            dir,
            identity: self.identity.clone(),
            wanted: wanted.to_vec(),
            native,
            index: index.clone(),
        });
        Ok(index)
    }

    /// Whether every file read still has the identity it had when the directory was scanned.
    fn unchanged(&self) -> bool {
        self.identity.iter().all(|id| {
            std::fs::metadata(&id.path).is_ok_and(|m| FileId::of(id.path.clone(), &m) == *id)
        })
    }

    /// Reads every list apt upgrades from automatically.
    fn parse(
        &self,
        ctx: &CollectContext,
        wanted: &[String],
        native: Option<&str>,
    ) -> Result<ListIndex, String> {
        let wanted_set: HashSet<&[u8]> = wanted.iter().map(|s| s.as_bytes()).collect();
        let mut index = ListIndex::default();
        for list in &self.lists {
            let release = self
                .releases
                .iter()
                .find(|(prefix, _)| list.name.starts_with(prefix.as_str()))
                .map(|(_, r)| r.clone())
                .unwrap_or_default();
            if release.not_automatic {
                continue;
            }
            let security = release.security || security_name(&list.name);
            let abs = format!("{LISTS_DIR}/{}", list.name);
            let file = std::fs::File::open(ctx.path(&abs)).map_err(|e| describe_io(&abs, &e))?;
            let reader: Box<dyn Read> = if list.lz4 {
                Box::new(lz4_flex::frame::FrameDecoder::new(file))
            } else {
                Box::new(file)
            };
            let mut record = |name: &[u8], arch: &[u8], version: &[u8]| {
                let (Ok(name), Ok(arch), Ok(version)) = (
                    std::str::from_utf8(name),
                    std::str::from_utf8(arch),
                    std::str::from_utf8(version),
                ) else {
                    return;
                };
                let arch = match (arch, native) {
                    ("all", Some(n)) => n,
                    _ => arch,
                };
                let offer = index
                    .offers
                    .entry((name.to_string(), arch.to_string()))
                    .or_default();
                raise(&mut offer.newest, version);
                if security {
                    raise(&mut offer.newest_security, version);
                }
            };
            scan_stanzas(reader, &wanted_set, ctx, &mut record).map_err(|e| match e.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::Interrupted => e.to_string(),
                _ => describe_io(&abs, &e),
            })?;
        }
        Ok(index)
    }
}

struct Cached {
    dir: PathBuf,
    identity: Identity,
    wanted: Vec<String>,
    native: Option<String>,
    index: Arc<ListIndex>,
}

/// The last parse for each lists directory (one per root, in practice one).
static CACHE: Mutex<Vec<Cached>> = Mutex::new(Vec::new());

/// Forgets this process's parse of the lists directory `dir`, as a new process would start.
#[cfg(test)]
pub fn forget(dir: &Path) {
    CACHE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|c| c.dir != dir);
}

/// The file in the agent's cache directory that keeps the offers between processes.
pub const KEPT: &str = "apt-offers.json";

/// The kept file's format; raised whenever what it holds, or how the lists are read, changes.
const KEPT_FORMAT: u32 = 1;

/// The largest kept file read: a few hundred bytes per installed package.
const KEPT_MAX: u64 = 16 << 20;

/// The offers of one parse as kept on disk, with everything they were computed from: the
/// identity of every list and Release file, the installed packages asked about, the native
/// architecture, and the agent version that parsed them.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kept {
    format: u32,
    agent: String,
    native: Option<String>,
    wanted: Vec<String>,
    files: Identity,
    /// (name, architecture, newest, newest from a security list), sorted.
    offers: Vec<(String, String, Option<String>, Option<String>)>,
}

impl Kept {
    /// What a parse of `identity` for `wanted` would be kept under (no offers yet).
    fn key(identity: &Identity, wanted: &[String], native: Option<&str>) -> Kept {
        Kept {
            format: KEPT_FORMAT,
            agent: env!("CARGO_PKG_VERSION").to_string(),
            native: native.map(str::to_string),
            wanted: wanted.to_vec(),
            files: identity.clone(),
            offers: Vec::new(),
        }
    }

    /// The key with `index`'s offers, sorted.
    fn with(mut self, index: &ListIndex) -> Kept {
        self.offers = index
            .offers
            .iter()
            .map(|((n, a), o)| {
                (
                    n.clone(),
                    a.clone(),
                    o.newest.clone(),
                    o.newest_security.clone(),
                )
            })
            .collect();
        self.offers.sort();
        self
    }

    /// The index these offers make, when they are sane for the packages asked about: each
    /// names a wanted package once per architecture, with well-formed versions, the security
    /// list's version never newer than the newest overall. None for anything else, whoever
    /// wrote it.
    fn index(self) -> Option<ListIndex> {
        let token = |s: &str, extra: &[u8]| {
            !s.is_empty()
                && s.len() <= 256
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        };
        let mut index = ListIndex::default();
        for (name, arch, newest, security) in self.offers {
            if self.wanted.binary_search(&name).is_err() || !token(&arch, b"-") {
                return None;
            }
            if [&newest, &security]
                .into_iter()
                .flatten()
                .any(|v| !token(v, b".+-~:"))
            {
                return None;
            }
            match (&newest, &security) {
                (None, Some(_)) => return None,
                (Some(n), Some(s)) if dpkg_cmp(s, n).is_gt() => return None,
                _ => {}
            }
            let offer = Offer {
                newest,
                newest_security: security,
            };
            if index.offers.insert((name, arch), offer).is_some() {
                return None;
            }
        }
        Some(index)
    }
}

/// The kept offers in `cache_dir` when they were computed from `key`'s very files, packages,
/// architecture and agent version, and the file is the agent's own (a regular file of this
/// user, not readable or writable by others) and sane. Anything else is ignored: the lists are
/// parsed again and the file replaced.
fn load_kept(cache_dir: &Path, key: &Kept) -> Option<ListIndex> {
    use std::os::unix::fs::MetadataExt as _;
    let path = cache_dir.join(KEPT);
    let mut file = std::fs::File::open(&path).ok()?;
    let meta = file.metadata().ok()?;
    let own = meta.is_file()
        && meta.uid() == rustix::process::geteuid().as_raw()
        && meta.mode() & 0o077 == 0
        && meta.len() <= KEPT_MAX;
    if !own {
        tracing::debug!(path = %path.display(), "ignoring a kept apt parse not the agent's own");
        return None;
    }
    let mut text = Vec::new();
    file.read_to_end(&mut text).ok()?;
    let kept: Kept = match serde_json::from_slice(&text) {
        Ok(k) => k,
        Err(e) => {
            tracing::debug!(path = %path.display(), "ignoring a corrupt kept apt parse: {e}");
            return None;
        }
    };
    let same = kept.format == key.format
        && kept.agent == key.agent
        && kept.native == key.native
        && kept.wanted == key.wanted
        && kept.files == key.files;
    if !same {
        return None;
    }
    let index = kept.index();
    if index.is_none() {
        tracing::debug!(path = %path.display(), "ignoring a kept apt parse with insane offers");
    }
    index
}

/// Keeps `kept` in `cache_dir` (mode 0600, written aside then renamed over the old file).
/// Failing to is no error: the next process parses the lists again.
fn store_kept(cache_dir: &Path, kept: &Kept) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = cache_dir.join(KEPT);
    let tmp = cache_dir.join(format!("{KEPT}.{}.tmp", std::process::id()));
    let written = serde_json::to_vec(kept)
        .map_err(io::Error::other)
        .and_then(|bytes| {
            let _ = std::fs::remove_file(&tmp);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&bytes)?;
            std::fs::rename(&tmp, &path)
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        tracing::debug!(path = %path.display(), "cannot keep the apt parse: {e}");
    }
}

/// Whether `name` is a binary package list: `Ok(None)` for other files, an error for a list
/// compressed in a way this reader does not handle (its packages would otherwise be missed).
fn list_file(name: &str) -> Result<Option<ListFile>, String> {
    if name.ends_with("_Packages") {
        return Ok(Some(ListFile {
            name: name.to_string(),
            lz4: false,
        }));
    }
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return Ok(None);
    };
    if !stem.ends_with("_Packages") {
        return Ok(None);
    }
    match ext {
        "lz4" => Ok(Some(ListFile {
            name: name.to_string(),
            lz4: true,
        })),
        "gz" | "xz" | "bz2" | "lzma" | "zst" => Err(format!(
            "cannot read {LISTS_DIR}/{name}: package lists compressed with .{ext} are not supported (only plain and .lz4)"
        )),
        // Not a list: e.g. the `.diff_Index` of incremental updates.
        _ => Ok(None),
    }
}

/// Keeps the newer of `slot` and `version`.
fn raise(slot: &mut Option<String>, version: &str) {
    if slot
        .as_deref()
        .is_none_or(|old| dpkg_cmp(version, old).is_gt())
    {
        *slot = Some(version.to_string());
    }
}

/// Whether a list's file name names a security archive (used when it has no Release file).
fn security_name(name: &str) -> bool {
    name.contains("-security_") || name.starts_with("security.")
}

/// The fields of a Release or InRelease file up to its checksum lists.
pub fn parse_release(mut r: impl BufRead) -> io::Result<Release> {
    let mut release = Release::default();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let l = line.trim_end();
        if l.starts_with("-----BEGIN PGP SIGNATURE") {
            break;
        }
        let Some((key, value)) = l.split_once(':') else {
            continue;
        };
        if key.starts_with(' ') {
            continue;
        }
        let value = value.trim();
        match key {
            "MD5Sum" | "SHA1" | "SHA256" | "SHA512" => break,
            "Date" => release.date = parse_rfc2822(value),
            "NotAutomatic" => release.not_automatic = value.eq_ignore_ascii_case("yes"),
            "Label" => {
                release.security |= value.to_ascii_lowercase().contains("security");
            }
            "Suite" | "Codename" => {
                release.security |= value.ends_with("-security") || value.ends_with("/updates");
            }
            _ => {}
        }
    }
    Ok(release)
}

/// A Release `Date` (`Sat, 16 May 2026 09:05:51 UTC`, or with a numeric zone).
pub fn parse_rfc2822(s: &str) -> Option<time::OffsetDateTime> {
    let s = s.split_once(',').map_or(s, |(_, rest)| rest).trim();
    let mut it = s.split_whitespace();
    let day: u8 = it.next()?.parse().ok()?;
    let month = match it.next()? {
        "Jan" => time::Month::January,
        "Feb" => time::Month::February,
        "Mar" => time::Month::March,
        "Apr" => time::Month::April,
        "May" => time::Month::May,
        "Jun" => time::Month::June,
        "Jul" => time::Month::July,
        "Aug" => time::Month::August,
        "Sep" => time::Month::September,
        "Oct" => time::Month::October,
        "Nov" => time::Month::November,
        "Dec" => time::Month::December,
        _ => return None,
    };
    let year: i32 = it.next()?.parse().ok()?;
    let mut hms = it.next()?.split(':').map(|p| p.parse::<u8>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next().unwrap_or(Some(0))?);
    let offset_secs = match it.next().unwrap_or("UTC") {
        "UTC" | "GMT" | "UT" | "Z" => 0,
        z => {
            let sign = match z.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits = &z[1..];
            if digits.len() != 4 {
                return None;
            }
            let hh: i32 = digits[..2].parse().ok()?;
            let mm: i32 = digits[2..].parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let t = time::Time::from_hms(h, m, sec).ok()?;
    let offset = time::UtcOffset::from_whole_seconds(offset_secs).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_offset(offset)
            .to_offset(time::UtcOffset::UTC),
    )
}

/// The first blank line (`\n\n`) in `h`: the index of its first `\n`. Eight bytes at a time.
pub fn find_blank_line(h: &[u8]) -> Option<usize> {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    // The top bit of every byte of `w` that is a newline, exactly.
    let newlines = |w: u64| {
        let x = w ^ NEWLINES;
        !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
    };
    let word = |at: usize| u64::from_le_bytes(h[at..at + 8].try_into().expect("eight bytes"));
    // A newline at byte k of the word at `at` and at byte k of the word one byte on.
    let pairs = |at: usize| newlines(word(at)) & newlines(word(at + 1));
    let mut i = 0;
    while i + 17 <= h.len() {
        if pairs(i) | pairs(i + 8) != 0 {
            break;
        }
        i += 16;
    }
    while i + 9 <= h.len() {
        let pairs = pairs(i);
        if pairs != 0 {
            return Some(i + pairs.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    (i..h.len().saturating_sub(1)).find(|&k| h[k] == b'\n' && h[k + 1] == b'\n')
}

/// Called with (name, architecture, version) of each wanted stanza.
pub type Record<'a> = &'a mut dyn FnMut(&[u8], &[u8], &[u8]);

/// The stanzas longer than this are refused: no real list has one.
const MAX_STANZA: usize = 16 << 20;

/// Reads Packages stanzas from `r` and calls `record(name, architecture, version)` for each
/// stanza of a package named in `wanted`. A stanza whose first field is another package's
/// `Package:` is skipped by finding its end only. Checks the context's deadline as it goes.
pub fn scan_stanzas(
    mut r: impl Read,
    wanted: &HashSet<&[u8]>,
    ctx: &CollectContext,
    record: Record<'_>,
) -> io::Result<()> {
    let mut buf = vec![0u8; 256 << 10];
    let (mut start, mut end, mut eof) = (0, 0, false);
    loop {
        while let Some(k) = find_blank_line(&buf[start..end]) {
            stanza(&buf[start..start + k], wanted, record);
            start += k + 2;
        }
        if eof {
            stanza(&buf[start..end], wanted, record);
            return Ok(());
        }
        if ctx.shutdown.is_cancelled() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "stopped reading the apt lists: the agent is shutting down",
            ));
        }
        if std::time::Instant::now() > ctx.deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "stopped reading the apt lists: the collector's time budget ran out",
            ));
        }
        buf.copy_within(start..end, 0);
        end -= start;
        start = 0;
        if end == buf.len() {
            if buf.len() >= MAX_STANZA {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a stanza longer than 16 MiB: not a package list",
                ));
            }
            buf.resize(buf.len() * 2, 0);
        }
        while end < buf.len() {
            match r.read(&mut buf[end..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// One stanza (without its final newline).
fn stanza(s: &[u8], wanted: &HashSet<&[u8]>, record: Record<'_>) {
    let s = &s[s.iter().take_while(|&&b| b == b'\n').count()..];
    if s.is_empty() {
        return;
    }
    if let Some(rest) = s.strip_prefix(b"Package:") {
        let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        if !wanted.contains(line.trim_ascii()) {
            return;
        }
    }
    let (mut name, mut arch, mut version) = (None, None, None);
    for line in s.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (key, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        match key {
            b"Package" => name = Some(value),
            b"Architecture" => arch = Some(value),
            b"Version" => version = Some(value),
            _ => {}
        }
    }
    if let (Some(name), Some(arch), Some(version)) = (name, arch, version)
        && wanted.contains(name)
    {
        record(name, arch, version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_found_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                let mut h = vec![b'x'; len];
                if at + 1 < len {
                    h[at] = b'\n';
                    h[at + 1] = b'\n';
                    assert_eq!(find_blank_line(&h), Some(at), "len {len} at {at}");
                }
                // Lone newlines, and a newline in a high bit position, are not blank lines.
                let mut single = vec![b'x'; len];
                for k in (at..len).step_by(2) {
                    single[k] = b'\n';
                }
                assert_eq!(find_blank_line(&single), None, "len {len} from {at}");
            }
        }
        assert_eq!(find_blank_line(b"\x8a\x0a\x8a\x0aabcdefgh\n\n"), Some(12));
        assert_eq!(find_blank_line(b"abcdefg\n\nz"), Some(7));
    }

    #[test]
    fn release_fields() {
        let text = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: Debian\n\
                    Label: Debian-Security\nSuite: oldstable-security\nCodename: bookworm-security\n\
                    Date: Sun, 22 Nov 2026 19:58:56 UTC\nSHA256:\n abc 12 main/Packages\n\
                    Date: Mon, 01 Jan 2029 00:00:00 UTC\n";
        let r = parse_release(text.as_bytes()).unwrap();
        assert!(r.security && !r.not_automatic);
        assert_eq!(
            r.date.unwrap(),
            time::macros::datetime!(2026-11-22 19:58:56 UTC)
        );
        let backports = "Origin: Debian Backports\nLabel: Debian Backports\nSuite: stable-backports\n\
                         NotAutomatic: yes\nButAutomaticUpgrades: yes\nDate: Sat, 21 Nov 2026 20:10:11 +0100\n";
        let r = parse_release(backports.as_bytes()).unwrap();
        assert!(r.not_automatic && !r.security);
        assert_eq!(
            r.date.unwrap(),
            time::macros::datetime!(2026-11-21 19:10:11 UTC)
        );
        let ubuntu = "Origin: Ubuntu\nLabel: Ubuntu\nSuite: jammy-security\nDate: Tue, 24 Nov 2026 10:00:00 UTC\n";
        assert!(parse_release(ubuntu.as_bytes()).unwrap().security);
        assert_eq!(parse_rfc2822("Sat, 31 Feb 2026 09:05:51 UTC"), None);
        assert_eq!(parse_rfc2822("yesterday"), None);
    }

    #[test]
    fn list_names() {
        assert_eq!(
            list_file("deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4"),
            Ok(Some(ListFile {
                name: "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4".into(),
                lz4: true
            }))
        );
        assert_eq!(list_file("x_dists_y_main_i18n_Translation-en"), Ok(None));
        assert_eq!(list_file("lock"), Ok(None));
        assert_eq!(
            list_file("x_dists_y-updates_main_binary-amd64_Packages.diff_Index"),
            Ok(None)
        );
        assert!(
            list_file("x_main_binary-amd64_Packages.gz")
                .unwrap_err()
                .contains("compressed with .gz are not supported")
        );
        assert!(security_name(
            "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages"
        ));
        assert!(security_name(
            "security.ubuntu.com_ubuntu_dists_jammy_main_binary-amd64_Packages"
        ));
        assert!(!security_name(
            "deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages"
        ));
    }

    /// Splits `data` into reads of `step` bytes, to cross stanza boundaries everywhere.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn stanzas_of_wanted_packages_only() {
        let list = "Package: 0ad\nVersion: 0.0.26-3\nArchitecture: amd64\nDescription: game\n\n\
                    Package: openssl\nVersion: 3.0.15-1~deb12u1\nInstalled-Size: 2301\n\
                    Architecture: amd64\nDescription: Secure Sockets Layer toolkit\n \
                    Package: not-a-field\n\n\n\
                    Architecture: all\nPackage: tzdata\nVersion: 2024b-0+deb12u1\n\n\
                    Package: openssl-provider-legacy\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\n\n\
                    Package: openssl\nVersion: 3.0.11-1~deb12u2\nArchitecture: i386\n";
        let wanted: HashSet<&[u8]> = [b"openssl".as_slice(), b"tzdata", b"not-a-field"]
            .into_iter()
            .collect();
        let ctx = CollectContext::for_test("/nonexistent");
        for step in [1, 3, 7, 64, 4096] {
            let mut got = Vec::new();
            let mut record = |n: &[u8], a: &[u8], v: &[u8]| {
                got.push(format!(
                    "{} {} {}",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(v)
                ))
            };
            let r = Trickle {
                data: list.as_bytes(),
                step,
            };
            scan_stanzas(r, &wanted, &ctx, &mut record).unwrap();
            assert_eq!(
                got,
                [
                    "openssl amd64 3.0.15-1~deb12u1",
                    "tzdata all 2024b-0+deb12u1",
                    "openssl i386 3.0.11-1~deb12u2"
                ],
                "reads of {step} bytes"
            );
        }
    }

    #[test]
    fn an_lz4_list_reads_like_the_plain_one() {
        // Linked 64 KiB blocks, as apt writes them, over several blocks.
        let mut plain = String::new();
        for i in 0..3000 {
            plain.push_str(&format!(
                "Package: filler{i}\nVersion: 1.{i}\nArchitecture: amd64\nDescription: x\n\n"
            ));
        }
        plain.push_str("Package: bash\nVersion: 5.2.15-2+b7\nArchitecture: amd64\n");
        let info = lz4_flex::frame::FrameInfo::new()
            .block_mode(lz4_flex::frame::BlockMode::Linked)
            .block_size(lz4_flex::frame::BlockSize::Max64KB);
        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        std::io::Write::write_all(&mut enc, plain.as_bytes()).unwrap();
        let packed = enc.finish().unwrap();
        assert!(plain.len() > 2 * 65536 && packed[4] & 0x20 == 0);
        let wanted: HashSet<&[u8]> = [b"bash".as_slice(), b"filler2999"].into_iter().collect();
        let ctx = CollectContext::for_test("/nonexistent");
        let mut got = Vec::new();
        let mut record = |_: &[u8], _: &[u8], v: &[u8]| got.push(v.to_vec());
        let r = lz4_flex::frame::FrameDecoder::new(packed.as_slice());
        scan_stanzas(r, &wanted, &ctx, &mut record).unwrap();
        assert_eq!(got, [b"1.2999".to_vec(), b"5.2.15-2+b7".to_vec()]);
        let mut broken = packed.clone();
        broken.truncate(packed.len() - 6);
        let r = lz4_flex::frame::FrameDecoder::new(broken.as_slice());
        assert!(scan_stanzas(r, &wanted, &ctx, &mut |_, _, _| {}).is_err());
    }

    #[test]
    fn a_spent_budget_stops_the_scan() {
        let mut ctx = CollectContext::for_test("/nonexistent");
        ctx.deadline = std::time::Instant::now() - std::time::Duration::from_secs(1);
        let data = vec![b'x'; 1 << 20];
        let err =
            scan_stanzas(data.as_slice(), &HashSet::new(), &ctx, &mut |_, _, _| {}).unwrap_err();
        assert!(err.to_string().contains("time budget"), "{err}");
    }
}
