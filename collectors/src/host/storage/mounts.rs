//! The mount table and swap: which stored filesystems and swap areas sit on encrypted devices.

use super::*;

/// One line of the mount table.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Mount {
    pub(super) source: String,
    pub(super) mountpoint: String,
    pub(super) fstype: String,
    /// major:minor of the filesystem's device (mountinfo only).
    pub(super) devnum: Option<(u32, u32)>,
}

/// Undoes the kernel's octal escapes in mount and swap tables (`\040` is a space).
pub(super) fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/proc/self/mountinfo`: `id parent major:minor root mountpoint options [optional…] -
/// fstype source superoptions`.
pub(super) fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            Some(Mount {
                devnum: parse_devnum(f.get(2)?),
                mountpoint: unescape(f.get(4)?),
                fstype: f.get(sep + 1)?.to_string(),
                source: unescape(f.get(sep + 2)?),
            })
        })
        .collect()
}

/// `/proc/mounts`: `source mountpoint fstype options dump pass`.
pub(super) fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            Some(Mount {
                source: unescape(f.next()?),
                mountpoint: unescape(f.next()?),
                fstype: f.next()?.to_string(),
                devnum: None,
            })
        })
        .collect()
}

/// The mount table and the file it was read from.
pub(super) fn read_mounts(ctx: &CollectContext) -> (&'static str, Result<Vec<Mount>, String>) {
    const INFO: &str = "/proc/self/mountinfo";
    let first = match ctx.read(INFO) {
        Ok(text) => return (INFO, Ok(parse_mountinfo(&text))),
        Err(e) => e,
    };
    for table in ["/proc/self/mounts", "/proc/mounts"] {
        if let Ok(text) = ctx.read(table) {
            return (table, Ok(parse_mounts(&text)));
        }
    }
    (INFO, Err(first))
}

/// Read-only images: not where data is written.
pub(super) const IMAGE_FILESYSTEMS: &[&str] = &["squashfs", "iso9660", "erofs", "udf", "cramfs"];

/// A persistent mount and what it sits on.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct StoredMount {
    pub(super) mount: Mount,
    pub(super) device: Option<usize>,
    pub(super) encrypted: bool,
}

/// The mount's block device, if it is on one: by major:minor, else by its `/dev/…` source.
/// `Some(None)`: a `/dev/…` source sysfs does not know.
pub(super) fn mount_device(
    ctx: &CollectContext,
    map: &BlockMap,
    m: &Mount,
) -> Option<Option<usize>> {
    if IMAGE_FILESYSTEMS.contains(&m.fstype.as_str()) || m.fstype.starts_with("fuse") {
        return None;
    }
    if let Some(i) = m.devnum.filter(|d| d.0 != 0).and_then(|d| map.by_devnum(d)) {
        return Some(Some(i));
    }
    if m.source.starts_with("/dev/") {
        return Some(map.by_source(ctx, &m.source));
    }
    None
}

/// The mounts on block devices, in mount order.
pub(super) fn stored_mounts(
    ctx: &CollectContext,
    map: &BlockMap,
    mounts: &[Mount],
) -> Vec<StoredMount> {
    mounts
        .iter()
        .filter_map(|m| {
            let device = mount_device(ctx, map, m)?;
            Some(StoredMount {
                mount: m.clone(),
                device,
                encrypted: device.is_some_and(|i| map.encrypted[i]),
            })
        })
        .collect()
}

pub(super) fn mounts_value(map: &BlockMap, stored: &[StoredMount]) -> Value {
    stored
        .iter()
        .map(|s| {
            json!({
                "mountpoint": s.mount.mountpoint,
                "fstype": s.mount.fstype,
                "source": s.mount.source,
                "device": s.device.map(|i| map.devices[i].name.clone()),
                "encrypted": s.encrypted,
            })
        })
        .collect()
}

/// Whether the root filesystem is encrypted.
pub(super) fn root_encrypted(
    ctx: &CollectContext,
    map: Result<&BlockMap, &String>,
    mounts: &[Mount],
    table: &str,
) -> Result<bool, String> {
    let root = mounts
        .iter()
        .rev()
        .find(|m| m.mountpoint == "/")
        .ok_or_else(|| format!("{table} has no mount on /"))?;
    let not_block = || {
        format!(
            "the root filesystem is {} ({}), not on a block device whose encryption can be seen",
            root.fstype, root.source
        )
    };
    if root.devnum.is_none_or(|d| d.0 == 0) && !root.source.starts_with("/dev/") {
        return Err(not_block());
    }
    let map = map.map_err(Clone::clone)?;
    match mount_device(ctx, map, root) {
        Some(Some(i)) => Ok(map.encrypted[i]),
        Some(None) => Err(format!(
            "the root filesystem's device {} is not in {SYS_BLOCK}",
            root.source
        )),
        None => Err(not_block()),
    }
}

/// One active swap area of `/proc/swaps`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Swap {
    pub(super) path: String,
    pub(super) kind: String,
}

pub(super) fn parse_swaps(text: &str) -> Vec<Swap> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some(Swap {
                path: unescape(f.next()?),
                kind: f.next()?.to_string(),
            })
        })
        .collect()
}

/// Whether every swap area is encrypted or in memory (true when there is none).
pub(super) fn swap_encrypted_or_absent(
    ctx: &CollectContext,
    swaps: &[Swap],
    map: Result<&BlockMap, &String>,
    stored: Result<&[StoredMount], &String>,
) -> Result<bool, String> {
    if swaps.is_empty() {
        return Ok(true);
    }
    let map = map.map_err(Clone::clone)?;
    let stored = stored.map_err(Clone::clone)?;
    for s in swaps {
        let encrypted = if s.kind == "file" {
            let holder = stored
                .iter()
                .filter(|m| {
                    let mp = m.mount.mountpoint.trim_end_matches('/');
                    s.path.starts_with(mp) && s.path[mp.len()..].starts_with('/')
                })
                .max_by_key(|m| m.mount.mountpoint.len())
                .ok_or_else(|| {
                    format!(
                        "swap file {} is not on a filesystem of a block device",
                        s.path
                    )
                })?;
            holder.encrypted
        } else {
            let i = map
                .by_source(ctx, &s.path)
                .ok_or_else(|| format!("swap device {} is not in {SYS_BLOCK}", s.path))?;
            map.devices[i].name.starts_with("zram") || map.encrypted[i]
        };
        if !encrypted {
            return Ok(false);
        }
    }
    Ok(true)
}
