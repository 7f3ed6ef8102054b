//! Storage encryption: block devices and how they stack (partitions, dm-crypt, LVM, md), LUKS
//! headers read from the devices themselves, persistent mounts and swap.
//!
//! Everything but the LUKS headers comes from sysfs and /proc, which anyone may read; the
//! headers need read access to the devices (root or the `disk` group), so only
//! `host.storage.luks_volumes` depends on privileges.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, describe_io, fact,
    file,
};

mod luks;
mod mounts;
use luks::*;
use mounts::*;

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.storage.block_devices",
        value_type: ValueType::ObjectList,
        meaning: "Every block device with media: `{name, type (disk, part, crypt, lvm, raid1…, \
                  loop, rom, dm), size_bytes, encrypted, parents}` (`dm_name` for device-mapper \
                  devices). `encrypted` is true for a dm-crypt device and for a device stacked \
                  only on encrypted ones (LVM on LUKS); `parents` are the devices it is built on.",
        source: "/sys/block (dev, size, dm/uuid, dm/name, slaves/, holders/, partitions)",
        context_only: Some(
            "the detail behind the encryption policies (host.storage.*).",
        ),
    },
    EvidenceSpec {
        id: "host.storage.luks_volumes",
        value_type: ValueType::ObjectList,
        meaning: "LUKS volumes, from the header on each device: `{device, version (1 or 2), \
                  cipher (e.g. aes-xts-plain64), key_bits, uuid}`. Read are the devices a \
                  dm-crypt LUKS mapping is built on and every unused disk, partition or volume \
                  (unopened volumes count too). `cipher` and `key_bits` are null for a mapping \
                  whose header is kept elsewhere (detached header). Needs read access to the \
                  devices (root).",
        source: "/dev/<device> (LUKS1/LUKS2 on-disk header), /sys/block",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.storage.mounts",
        value_type: ValueType::ObjectList,
        meaning: "Mounted persistent filesystems (on a block device; read-only images such as \
                  squashfs left out): `{mountpoint, fstype, source, device, encrypted}`; \
                  `device` is the kernel name of the block device (null if sysfs does not know \
                  it, and then `encrypted` is false).",
        source: "/proc/self/mountinfo (else /proc/self/mounts, /proc/mounts), /sys/block",
        context_only: Some(
            "the detail behind the encryption policies (host.storage.*).",
        ),
    },
    EvidenceSpec {
        id: "host.storage.root_encrypted",
        value_type: ValueType::Bool,
        meaning: "The root filesystem is on dm-crypt (directly or through LVM/RAID).",
        source: "/proc/self/mountinfo, /sys/block",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.storage.swap_encrypted_or_absent",
        value_type: ValueType::Bool,
        meaning: "No swap is in use, or every swap area is on dm-crypt or in memory (zram).",
        source: "/proc/swaps, /proc/self/mountinfo, /sys/block",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.storage.unencrypted_mounts",
        value_type: ValueType::StringList,
        meaning: "Mountpoints of persistent filesystems not shown to be on dm-crypt.",
        source: "/proc/self/mountinfo, /sys/block",
        context_only: None,
    },
];

/// The collector.
pub struct Storage;

const SYS_BLOCK: &str = "/sys/block";

/// A block device as sysfs describes it.
#[derive(Clone, Debug, PartialEq)]
struct BlockDevice {
    /// Kernel name (`vda3`, `dm-0`).
    name: String,
    /// `disk`, `part`, `crypt`, `lvm`, `raid1`, `loop`, `rom`, `dm`…
    kind: String,
    size_bytes: u64,
    /// major:minor.
    devnum: Option<(u32, u32)>,
    /// The device-mapper name (`vg0-root`).
    dm_name: Option<String>,
    /// The device-mapper uuid (`CRYPT-LUKS2-<uuid>-<name>`).
    dm_uuid: Option<String>,
    /// Devices it is built on (`slaves/`, or the disk of a partition).
    parents: Vec<String>,
    /// Devices built on it (`holders/`).
    holders: Vec<String>,
    /// A disk with a partition table.
    partitioned: bool,
}

/// Every block device and whether it is encrypted.
#[derive(Debug)]
struct BlockMap {
    devices: Vec<BlockDevice>,
    encrypted: Vec<bool>,
}

/// The names in a directory, sorted.
pub(super) fn sorted_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

/// The sorted names in a sysfs directory (none when it is absent).
fn names_in(dir: &Path) -> Vec<String> {
    sorted_names(dir).unwrap_or_default()
}

/// A small sysfs attribute, trimmed; `None` when absent.
fn attr(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_string())
}

/// `254:0` → (254, 0).
fn parse_devnum(s: &str) -> Option<(u32, u32)> {
    let (major, minor) = s.trim().split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The kind of a device-mapper device, from its uuid prefix (what `lsblk` shows as TYPE).
/// cryptsetup names all its devices `CRYPT-<type>-…`: dm-verity and dm-integrity ones
/// (`VERITY`, `INTEGRITY`, and `SUBDEV` under authenticated LUKS2) do not encrypt.
fn dm_kind(uuid: &str) -> &'static str {
    let mut parts = uuid.split('-');
    match (parts.next().unwrap_or(""), parts.next().unwrap_or("")) {
        ("CRYPT", "VERITY") => "verity",
        ("CRYPT", "INTEGRITY" | "SUBDEV") => "integrity",
        ("CRYPT", _) => "crypt",
        ("LVM", _) => "lvm",
        ("mpath", _) => "mpath",
        (p, _) if p.starts_with("part") => "part",
        _ => "dm",
    }
}

/// The device described by the sysfs directory `dir` (a disk, or a partition of `disk`).
fn read_device(dir: &Path, name: &str, disk: Option<&str>) -> BlockDevice {
    let dm_uuid = attr(dir, "dm/uuid");
    let kind = if disk.is_some() {
        "part".to_string()
    } else if let Some(uuid) = &dm_uuid {
        dm_kind(uuid).to_string()
    } else if name.starts_with("md") {
        attr(dir, "md/level").unwrap_or_else(|| "md".into())
    } else if name.starts_with("loop") {
        "loop".into()
    } else if name.starts_with("sr") {
        "rom".into()
    } else {
        "disk".into()
    };
    let sectors: u64 = attr(dir, "size").and_then(|s| s.parse().ok()).unwrap_or(0);
    BlockDevice {
        name: name.to_string(),
        kind,
        // sysfs counts 512-byte sectors whatever the device's logical block size.
        size_bytes: sectors * 512,
        devnum: attr(dir, "dev").and_then(|s| parse_devnum(&s)),
        dm_name: attr(dir, "dm/name"),
        dm_uuid,
        parents: match disk {
            Some(d) => vec![d.to_string()],
            None => names_in(&dir.join("slaves")),
        },
        holders: names_in(&dir.join("holders")),
        partitioned: false,
    }
}

/// Every block device with media below `/sys/block`, each disk followed by its partitions.
fn read_block_devices(ctx: &CollectContext) -> Result<Vec<BlockDevice>, String> {
    let sys = ctx.path(SYS_BLOCK);
    let disks = sorted_names(&sys).map_err(|e| describe_io(SYS_BLOCK, &e))?;
    let mut out = Vec::new();
    for name in disks {
        let dir = sys.join(&name);
        let mut disk = read_device(&dir, &name, None);
        // Unused loop devices, empty drives, unconfigured zram: no media, nothing to protect.
        if disk.size_bytes == 0 {
            continue;
        }
        let mut parts: Vec<(u32, BlockDevice)> = names_in(&dir)
            .into_iter()
            .filter(|n| n.starts_with(name.as_str()) && n != &name)
            .filter_map(|n| {
                let pdir = dir.join(&n);
                let number = attr(&pdir, "partition")?.parse().ok()?;
                Some((number, read_device(&pdir, &n, Some(&name))))
            })
            .collect();
        parts.sort_by_key(|(n, _)| *n);
        disk.partitioned = !parts.is_empty();
        out.push(disk);
        out.extend(parts.into_iter().map(|(_, p)| p));
    }
    Ok(out)
}

impl BlockMap {
    fn new(devices: Vec<BlockDevice>) -> Self {
        let mut memo = vec![None; devices.len()];
        for i in 0..devices.len() {
            encrypted_at(&devices, i, &mut memo, 0);
        }
        let encrypted = memo.into_iter().map(|e| e.unwrap_or(false)).collect();
        BlockMap { devices, encrypted }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.name == name)
    }

    fn by_devnum(&self, devnum: (u32, u32)) -> Option<usize> {
        self.devices.iter().position(|d| d.devnum == Some(devnum))
    }

    /// The device a `/dev/…` path names: `/dev/vda1`, `/dev/dm-0`, `/dev/mapper/<dm name>`,
    /// `/dev/<vg>/<lv>`, or a `/dev/disk/by-*/…` link below the root.
    fn by_source(&self, ctx: &CollectContext, source: &str) -> Option<usize> {
        let rest = source.strip_prefix("/dev/")?;
        if let Some(mapped) = rest.strip_prefix("mapper/") {
            return self
                .devices
                .iter()
                .position(|d| d.dm_name.as_deref() == Some(mapped));
        }
        if rest.starts_with("disk/") {
            let target = std::fs::read_link(ctx.path(source)).ok()?;
            let name = target.file_name()?.to_string_lossy().into_owned();
            return self.index(&name);
        }
        if let Some((vg, lv)) = rest.split_once('/') {
            // LVM's /dev/<vg>/<lv> is /dev/mapper/<vg>-<lv>, dashes in either doubled.
            let dm = format!("{}-{}", vg.replace('-', "--"), lv.replace('-', "--"));
            return self
                .devices
                .iter()
                .position(|d| d.dm_name.as_deref() == Some(dm.as_str()))
                .or_else(|| self.index(&rest.replace('/', "!")));
        }
        self.index(rest)
    }

    fn is_luks_mapping(&self, name: &str) -> bool {
        self.index(name).is_some_and(|i| {
            self.devices[i]
                .dm_uuid
                .as_deref()
                .is_some_and(|u| u.starts_with("CRYPT-LUKS"))
        })
    }
}

/// Whether device `i` is encrypted: dm-crypt itself, or built only on encrypted devices.
fn encrypted_at(devices: &[BlockDevice], i: usize, memo: &mut [Option<bool>], depth: u32) -> bool {
    if let Some(known) = memo[i] {
        return known;
    }
    let d = &devices[i];
    let result = d.kind == "crypt"
        || (depth < 16
            && !d.parents.is_empty()
            && d.parents.iter().all(|p| {
                devices
                    .iter()
                    .position(|x| &x.name == p)
                    .is_some_and(|j| encrypted_at(devices, j, memo, depth + 1))
            }));
    memo[i] = Some(result);
    result
}

fn block_devices_value(map: &BlockMap) -> Value {
    map.devices
        .iter()
        .zip(&map.encrypted)
        .map(|(d, enc)| {
            let mut o = json!({
                "name": d.name,
                "type": d.kind,
                "size_bytes": d.size_bytes,
                "encrypted": enc,
                "parents": d.parents,
            });
            if let Some(n) = &d.dm_name {
                o["dm_name"] = json!(n);
            }
            o
        })
        .collect()
}

#[async_trait]
impl Collector for Storage {
    fn name(&self) -> &'static str {
        "host.storage"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let map = read_block_devices(ctx).map(BlockMap::new);
        let (table, mounts) = read_mounts(ctx);
        let stored = match (&map, &mounts) {
            (Ok(map), Ok(mounts)) => Ok(stored_mounts(ctx, map, mounts)),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
        let root = mounts
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|m| root_encrypted(ctx, map.as_ref(), m, table));
        let swap = ctx.read("/proc/swaps").and_then(|t| {
            swap_encrypted_or_absent(ctx, &parse_swaps(&t), map.as_ref(), stored.as_deref())
        });
        let unencrypted = stored
            .as_ref()
            .map(|s| {
                s.iter()
                    .filter(|m| !m.encrypted)
                    .map(|m| m.mount.mountpoint.clone())
                    .collect::<Vec<_>>()
            })
            .map_err(Clone::clone);
        let mounts_source = file(table);
        Ok(vec![
            fact(
                "host.storage.block_devices",
                file(SYS_BLOCK),
                map.as_ref().map(block_devices_value).map_err(Clone::clone),
            ),
            fact(
                "host.storage.luks_volumes",
                file("/dev"),
                map.as_ref()
                    .map_err(Clone::clone)
                    .and_then(|m| luks_volumes(ctx, m)),
            ),
            fact(
                "host.storage.mounts",
                mounts_source.clone(),
                match (&map, &stored) {
                    (Ok(map), Ok(s)) => Ok(mounts_value(map, s)),
                    (_, Err(e)) | (Err(e), _) => Err(e.clone()),
                },
            ),
            fact("host.storage.root_encrypted", mounts_source.clone(), root),
            fact(
                "host.storage.swap_encrypted_or_absent",
                file("/proc/swaps"),
                swap,
            ),
            fact(
                "host.storage.unencrypted_mounts",
                mounts_source,
                unencrypted,
            ),
        ])
    }
}

/// Writes `contents` to `abs` below the root of `ctx`, creating its directories (for the
/// host areas' tests).
#[cfg(test)]
pub(super) fn put(ctx: &CollectContext, abs: &str, contents: impl AsRef<[u8]>) {
    let path = ctx.path(abs);
    std::fs::create_dir_all(path.parent().expect("below the root")).expect("create directories");
    std::fs::write(path, contents).expect("write");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic LUKS1 header (592 bytes, as the LUKS1 specification lays it out).
    fn luks1(cipher: &str, mode: &str, key_bytes: u32, uuid: &str) -> Vec<u8> {
        let mut h = vec![0u8; 592];
        h[..6].copy_from_slice(LUKS_MAGIC);
        h[6..8].copy_from_slice(&1u16.to_be_bytes());
        h[8..8 + cipher.len()].copy_from_slice(cipher.as_bytes());
        h[40..40 + mode.len()].copy_from_slice(mode.as_bytes());
        h[72..78].copy_from_slice(b"sha256");
        h[104..108].copy_from_slice(&4096u32.to_be_bytes());
        h[108..112].copy_from_slice(&key_bytes.to_be_bytes());
        h[168..168 + uuid.len()].copy_from_slice(uuid.as_bytes());
        h
    }

    /// A synthetic LUKS2 header: the 4096-byte binary header and the JSON area, `size` bytes.
    fn luks2(magic: &[u8; 6], size: u64, uuid: &str, meta: &Value) -> Vec<u8> {
        let mut h = vec![0u8; size as usize];
        h[..6].copy_from_slice(magic);
        h[6..8].copy_from_slice(&2u16.to_be_bytes());
        h[8..16].copy_from_slice(&size.to_be_bytes());
        h[72..78].copy_from_slice(b"sha256");
        h[168..168 + uuid.len()].copy_from_slice(uuid.as_bytes());
        let text = meta.to_string();
        h[4096..4096 + text.len()].copy_from_slice(text.as_bytes());
        h
    }

    fn luks2_meta(encryption: &str, key_size: u64) -> Value {
        json!({
            "keyslots": {
                "0": {"type": "luks2", "key_size": key_size,
                      "area": {"type": "raw", "encryption": encryption, "key_size": key_size}},
                "1": {"type": "luks2", "key_size": 32}
            },
            "segments": {
                "0": {"type": "crypt", "offset": "16777216", "size": "dynamic",
                      "encryption": encryption, "sector_size": 4096}
            },
            "digests": {
                "0": {"type": "pbkdf2", "keyslots": ["0"], "segments": ["0"]},
                "1": {"type": "pbkdf2", "keyslots": ["1"], "segments": []}
            },
            "config": {"json_size": "12288", "keyslots_size": "16744448"}
        })
    }

    fn header(version: u16, cipher: &str, key_bits: u64, uuid: &str) -> Option<LuksHeader> {
        Some(LuksHeader {
            version,
            cipher: Some(cipher.into()),
            key_bits: Some(key_bits),
            uuid: uuid.into(),
        })
    }

    #[test]
    fn luks1_header_fields() {
        let h = luks1(
            "aes",
            "cbc-essiv:sha256",
            32,
            "2e9d4a61-8c3b-47f0-b5e2-0a1c6d9f4e87",
        );
        assert_eq!(
            parse_luks(&h).unwrap(),
            header(
                1,
                "aes-cbc-essiv:sha256",
                256,
                "2e9d4a61-8c3b-47f0-b5e2-0a1c6d9f4e87"
            )
        );
        assert_eq!(
            parse_luks(&h[..100]).unwrap_err(),
            "LUKS1 header is truncated"
        );
    }

    #[test]
    fn luks2_header_reads_the_segment_and_its_keyslot() {
        let uuid = "7b3c8e2a-1d4f-4e6b-9a0c-5f2d8e1b3c4a";
        for magic in [LUKS_MAGIC, LUKS2_SECONDARY_MAGIC] {
            let h = luks2(magic, 16384, uuid, &luks2_meta("aes-xts-plain64", 64));
            assert_eq!(
                parse_luks(&h).unwrap(),
                header(2, "aes-xts-plain64", 512, uuid)
            );
        }
        // A secondary header's magic is not LUKS1's.
        let mut odd = luks1("aes", "xts-plain64", 64, uuid);
        odd[..6].copy_from_slice(LUKS2_SECONDARY_MAGIC);
        assert_eq!(parse_luks(&odd).unwrap(), None);
    }

    #[test]
    fn luks2_without_keyslots_or_with_bad_sizes() {
        let meta = json!({"segments": {"0": {"type": "crypt", "encryption": "serpent-xts-plain64"}},
                          "keyslots": {}, "digests": {}});
        let h = luks2(LUKS_MAGIC, 16384, "u", &meta);
        let parsed = parse_luks(&h).unwrap().unwrap();
        assert_eq!(parsed.cipher.as_deref(), Some("serpent-xts-plain64"));
        assert_eq!(parsed.key_bits, None);
        let h = luks2(LUKS_MAGIC, 16384, "u", &luks2_meta("aes-xts-plain64", 64));
        assert_eq!(
            parse_luks(&h[..8192]).unwrap_err(),
            "LUKS2 header is truncated"
        );
        let mut huge = h.clone();
        huge[8..16].copy_from_slice(&(64u64 << 20).to_be_bytes());
        assert!(parse_luks(&huge).unwrap_err().contains("out of range"));
        let mut v3 = h.clone();
        v3[6..8].copy_from_slice(&3u16.to_be_bytes());
        assert_eq!(parse_luks(&v3).unwrap_err(), "unsupported LUKS version 3");
        let mut garbage = h;
        garbage[4096..4100].copy_from_slice(b"{{{{");
        assert!(parse_luks(&garbage).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn not_luks() {
        assert_eq!(parse_luks(b"").unwrap(), None);
        assert_eq!(parse_luks(&[0u8; 4096]).unwrap(), None);
        let mut ext4 = vec![0u8; 4096];
        ext4[1080..1082].copy_from_slice(&[0x53, 0xef]);
        assert_eq!(parse_luks(&ext4).unwrap(), None);
    }

    #[test]
    fn secondary_header_is_found_when_the_primary_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dev")).unwrap();
        let uuid = "7b3c8e2a-1d4f-4e6b-9a0c-5f2d8e1b3c4a";
        let meta = luks2_meta("aes-xts-plain64", 64);
        let mut disk = vec![0u8; 16384];
        disk.extend(luks2(LUKS2_SECONDARY_MAGIC, 16384, uuid, &meta));
        std::fs::write(dir.path().join("dev/sdb"), &disk).unwrap();
        let ctx = CollectContext::for_test(dir.path());
        assert_eq!(read_luks(&ctx, "sdb", false).unwrap(), None);
        let found = read_luks(&ctx, "sdb", true).unwrap().unwrap();
        assert_eq!((found.version, found.uuid.as_str()), (2, uuid));
        assert_eq!(
            read_luks(&ctx, "sdc", true).unwrap_err(),
            "not found: /dev/sdc"
        );
    }

    #[test]
    fn dm_uuids() {
        assert_eq!(
            dm_kind("CRYPT-LUKS2-7b3c8e2a1d4f4e6b9a0c5f2d8e1b3c4a-root"),
            "crypt"
        );
        assert_eq!(dm_kind("CRYPT-PLAIN-swap"), "crypt");
        assert_eq!(dm_kind("CRYPT-BITLK-0a1b-win"), "crypt");
        assert_eq!(dm_kind("CRYPT-VERITY-9f1c-root"), "verity");
        assert_eq!(dm_kind("CRYPT-INTEGRITY-data"), "integrity");
        assert_eq!(dm_kind("CRYPT-SUBDEV-7b3c-data_dif"), "integrity");
        assert_eq!(dm_kind("LVM-abc"), "lvm");
        assert_eq!(dm_kind("part1-mpath-3600"), "part");
        assert_eq!(dm_kind(""), "dm");
        assert_eq!(
            uuid_from_dm("CRYPT-LUKS2-7b3c8e2a1d4f4e6b9a0c5f2d8e1b3c4a-luks-7b3c"),
            Some((2, "7b3c8e2a-1d4f-4e6b-9a0c-5f2d8e1b3c4a".to_string()))
        );
        assert_eq!(uuid_from_dm("CRYPT-PLAIN-swap"), None);
    }

    #[test]
    fn mount_tables() {
        let info = "27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/mapper/vg0-root rw\n\
                    30 27 0:33 / /srv/my\\040data rw - btrfs /dev/mapper/data rw,space_cache\n\
                    31 27 0:5 / /proc rw - proc proc rw\n\
                    bad line\n";
        let m = parse_mountinfo(info);
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[0],
            Mount {
                source: "/dev/mapper/vg0-root".into(),
                mountpoint: "/".into(),
                fstype: "ext4".into(),
                devnum: Some((254, 1)),
            }
        );
        assert_eq!(m[1].mountpoint, "/srv/my data");
        assert_eq!(m[1].devnum, Some((0, 33)));
        let plain = parse_mounts("/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n");
        assert_eq!(plain[0].source, "/dev/sda1");
        assert_eq!(plain[1].devnum, None);
        assert_eq!(unescape(r"a\134b\011c\0"), "a\\b\tc\\0");
    }

    #[test]
    fn swaps_table() {
        let s = parse_swaps(
            "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
             /dev/dm-2                               partition\t2097148\t\t0\t\t-2\n\
             /swap\\040file                           file\t\t1048572\t\t0\t\t-3\n",
        );
        assert_eq!(
            s,
            [
                Swap {
                    path: "/dev/dm-2".into(),
                    kind: "partition".into()
                },
                Swap {
                    path: "/swap file".into(),
                    kind: "file".into()
                }
            ]
        );
        assert!(parse_swaps("Filename Type Size Used Priority\n").is_empty());
    }

    /// A sysfs and /dev tree: sda1 (plain), sda2 → dm-0 (LUKS2 "cryptdata") → dm-1 (LVM
    /// "my--vg-home"), and btrfs (anonymous device numbers) on the mapping.
    fn stacked_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let ctx = CollectContext::for_test(dir.path());
        let put = |rel: &str, text: &str| put(&ctx, rel, text);
        put("sys/block/sda/dev", "8:0\n");
        put("sys/block/sda/size", "2000\n");
        for (n, size) in [(1, 1000), (2, 998)] {
            put(&format!("sys/block/sda/sda{n}/dev"), &format!("8:{n}\n"));
            put(&format!("sys/block/sda/sda{n}/size"), &format!("{size}\n"));
            put(
                &format!("sys/block/sda/sda{n}/partition"),
                &format!("{n}\n"),
            );
        }
        put("sys/block/sda/sda2/holders/dm-0", "");
        put("sys/block/dm-0/dev", "253:0\n");
        put("sys/block/dm-0/size", "990\n");
        put("sys/block/dm-0/slaves/sda2", "");
        put("sys/block/dm-0/holders/dm-1", "");
        put("sys/block/dm-0/dm/name", "cryptdata\n");
        put(
            "sys/block/dm-0/dm/uuid",
            "CRYPT-LUKS2-7b3c8e2a1d4f4e6b9a0c5f2d8e1b3c4a-cryptdata\n",
        );
        put("sys/block/dm-1/dev", "253:1\n");
        put("sys/block/dm-1/size", "900\n");
        put("sys/block/dm-1/slaves/dm-0", "");
        put("sys/block/dm-1/dm/name", "my--vg-home\n");
        put("sys/block/dm-1/dm/uuid", "LVM-abc\n");
        put("dev/sda1", "");
        put("dev/dm-1", "");
        let meta = luks2_meta("aes-xts-plain64", 64);
        let header = luks2(
            LUKS_MAGIC,
            16384,
            "7b3c8e2a-1d4f-4e6b-9a0c-5f2d8e1b3c4a",
            &meta,
        );
        super::put(&ctx, "dev/sda2", header);
        std::fs::create_dir_all(dir.path().join("dev/disk/by-uuid")).unwrap();
        std::os::unix::fs::symlink("../../sda1", dir.path().join("dev/disk/by-uuid/0d5c")).unwrap();
        dir
    }

    #[test]
    fn mounts_and_swap_map_to_devices_by_number_or_by_name() {
        let dir = stacked_tree();
        let ctx = CollectContext::for_test(dir.path());
        let map = BlockMap::new(read_block_devices(&ctx).unwrap());
        let names: Vec<&str> = map.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["dm-0", "dm-1", "sda", "sda1", "sda2"]);
        assert_eq!(map.encrypted, [true, true, false, false, false]);
        let at = |src: &str| {
            map.by_source(&ctx, src)
                .map(|i| map.devices[i].name.as_str())
        };
        assert_eq!(at("/dev/mapper/cryptdata"), Some("dm-0"));
        assert_eq!(at("/dev/my-vg/home"), Some("dm-1"));
        assert_eq!(at("/dev/disk/by-uuid/0d5c"), Some("sda1"));
        assert_eq!(at("/dev/sda2"), Some("sda2"));
        assert_eq!(at("/dev/sdz"), None);
        assert_eq!(at("tmpfs"), None);
        let mounts = parse_mountinfo(
            "1 0 8:1 / / rw - ext4 /dev/root rw\n\
             2 1 0:40 / /data rw - btrfs /dev/mapper/cryptdata rw\n\
             3 1 0:41 / /home rw - xfs /dev/my-vg/home rw\n\
             4 1 7:0 / /snap/core/1 ro - squashfs /dev/loop0 ro\n\
             5 1 0:42 / /mnt/usb rw - vfat /dev/sdz1 rw\n\
             6 1 0:5 / /run rw - tmpfs tmpfs rw\n",
        );
        let stored = stored_mounts(&ctx, &map, &mounts);
        let view: Vec<(&str, Option<&str>, bool)> = stored
            .iter()
            .map(|s| {
                let dev = s.device.map(|i| map.devices[i].name.as_str());
                (s.mount.mountpoint.as_str(), dev, s.encrypted)
            })
            .collect();
        assert_eq!(
            view,
            [
                ("/", Some("sda1"), false),
                ("/data", Some("dm-0"), true),
                ("/home", Some("dm-1"), true),
                ("/mnt/usb", None, false),
            ]
        );
        assert_eq!(root_encrypted(&ctx, Ok(&map), &mounts, "t"), Ok(false));
        let swap =
            |text: &str| swap_encrypted_or_absent(&ctx, &parse_swaps(text), Ok(&map), Ok(&stored));
        let header = "Filename Type Size Used Priority\n";
        assert_eq!(swap(header), Ok(true));
        assert_eq!(
            swap(&format!("{header}/data/swapfile file 100 0 -2\n")),
            Ok(true)
        );
        assert_eq!(
            swap(&format!("{header}/swapfile file 100 0 -2\n")),
            Ok(false)
        );
        assert_eq!(
            swap(&format!("{header}/dev/dm-1 partition 100 0 -2\n")),
            Ok(true)
        );
        assert_eq!(
            swap(&format!("{header}/dev/zram0 partition 100 0 -2\n")),
            Err("swap device /dev/zram0 is not in /sys/block".into())
        );
        let overlay = parse_mounts("overlay / overlay rw 0 0\n");
        assert!(
            root_encrypted(&ctx, Err(&"not found: /sys/block".into()), &overlay, "t")
                .unwrap_err()
                .starts_with("the root filesystem is overlay (overlay)")
        );
        assert_eq!(
            luks_volumes(&ctx, &map).unwrap(),
            json!([{"device": "/dev/sda2", "version": 2, "cipher": "aes-xts-plain64",
                    "key_bits": 512, "uuid": "7b3c8e2a-1d4f-4e6b-9a0c-5f2d8e1b3c4a"}])
        );
    }

    fn dev(name: &str, kind: &str, parents: &[&str]) -> BlockDevice {
        BlockDevice {
            name: name.into(),
            kind: kind.into(),
            size_bytes: 1,
            devnum: None,
            dm_name: None,
            dm_uuid: None,
            parents: parents.iter().map(|p| p.to_string()).collect(),
            holders: vec![],
            partitioned: false,
        }
    }

    #[test]
    fn encryption_follows_the_stack() {
        let map = BlockMap::new(vec![
            dev("sda", "disk", &[]),
            dev("sda1", "part", &["sda"]),
            dev("dm-0", "crypt", &["sda1"]),
            dev("dm-1", "lvm", &["dm-0"]),
            dev("sdb", "disk", &[]),
            // An LVM volume group over one encrypted and one plain disk is not encrypted.
            dev("dm-2", "lvm", &["dm-0", "sdb"]),
            dev("md0", "raid1", &["dm-0", "dm-0"]),
            dev("dm-3", "lvm", &["missing"]),
        ]);
        assert_eq!(
            map.encrypted,
            [false, false, true, true, false, false, true, false]
        );
    }
}
