//! LUKS headers (version 1 and 2, the primary or a secondary copy), read from the device or its
//! backing file, and the LUKS volumes behind the block devices.

use super::*;

pub(super) const LUKS_MAGIC: &[u8; 6] = b"LUKS\xba\xbe";
pub(super) const LUKS2_SECONDARY_MAGIC: &[u8; 6] = b"SKUL\xba\xbe";
/// The binary part of a LUKS2 header; the JSON area follows it.
pub(super) const LUKS2_BINARY_HEADER: usize = 4096;
/// The largest LUKS2 header (binary + JSON) the format allows.
pub(super) const LUKS2_MAX_HEADER: u64 = 4 << 20;
/// Where a LUKS2 secondary header may start (its offset is the primary's size).
pub(super) const LUKS2_SECONDARY_OFFSETS: &[u64] = &[
    0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000,
];

/// What a LUKS header says about a volume (no key material is ever kept).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct LuksHeader {
    pub(super) version: u16,
    /// `aes-xts-plain64`: cipher and mode as dm-crypt names them.
    pub(super) cipher: Option<String>,
    /// The volume key's size.
    pub(super) key_bits: Option<u64>,
    pub(super) uuid: String,
}

/// A NUL-padded text field.
pub(super) fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).trim().to_string()
}

pub(super) fn be_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub(super) fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

pub(super) fn be_u64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The LUKS version and, for LUKS2, the header size, if `b` starts with a LUKS header.
pub(super) fn luks_prefix(b: &[u8]) -> Option<(u16, u64)> {
    if b.len() < 16 {
        return None;
    }
    let version = be_u16(b, 6);
    match (&b[..6], version) {
        (m, 1) if m == LUKS_MAGIC => Some((1, 592)),
        (m, 2) if m == LUKS_MAGIC || m == LUKS2_SECONDARY_MAGIC => Some((2, be_u64(b, 8))),
        (m, v) if m == LUKS_MAGIC => Some((v, 0)),
        _ => None,
    }
}

/// Parses a LUKS header (`b` holds at least the whole header: 592 bytes for LUKS1, `hdr_size`
/// for LUKS2). `Ok(None)`: not LUKS.
pub(super) fn parse_luks(b: &[u8]) -> Result<Option<LuksHeader>, String> {
    let Some((version, size)) = luks_prefix(b) else {
        return Ok(None);
    };
    match version {
        1 => {
            if b.len() < 208 {
                return Err("LUKS1 header is truncated".into());
            }
            let name = c_string(&b[8..40]);
            let mode = c_string(&b[40..72]);
            Ok(Some(LuksHeader {
                version: 1,
                cipher: Some(if mode.is_empty() {
                    name
                } else {
                    format!("{name}-{mode}")
                }),
                key_bits: Some(u64::from(be_u32(b, 108)) * 8),
                uuid: c_string(&b[168..208]),
            }))
        }
        2 => {
            if !(LUKS2_BINARY_HEADER as u64 + 1..=LUKS2_MAX_HEADER).contains(&size) {
                return Err(format!("LUKS2 header size {size} is out of range"));
            }
            let size = size as usize;
            if b.len() < size {
                return Err("LUKS2 header is truncated".into());
            }
            let area = &b[LUKS2_BINARY_HEADER..size];
            let end = area.iter().position(|&c| c == 0).unwrap_or(area.len());
            let meta: Value = serde_json::from_slice(&area[..end])
                .map_err(|e| format!("LUKS2 JSON metadata is not JSON: {e}"))?;
            let (cipher, key_bits) = luks2_encryption(&meta);
            Ok(Some(LuksHeader {
                version: 2,
                cipher,
                key_bits,
                uuid: c_string(&b[168..208]),
            }))
        }
        v => Err(format!("unsupported LUKS version {v}")),
    }
}

/// The data segment's encryption and the volume key size (bits) from LUKS2 metadata: the
/// first `crypt` segment, and the `key_size` (bytes) of the keyslots whose digest covers it.
pub(super) fn luks2_encryption(meta: &Value) -> (Option<String>, Option<u64>) {
    let Some(segments) = meta["segments"].as_object() else {
        return (None, None);
    };
    let segment = segments
        .iter()
        .filter(|(_, s)| s["type"] == "crypt")
        .min_by_key(|(id, _)| id.parse::<u64>().unwrap_or(u64::MAX));
    let Some((segment_id, segment)) = segment else {
        return (None, None);
    };
    let cipher = segment["encryption"].as_str().map(str::to_string);
    let key_bits = meta["digests"]
        .as_object()
        .into_iter()
        .flat_map(|d| d.values())
        .filter(|d| {
            d["segments"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x == segment_id.as_str()))
        })
        .flat_map(|d| d["keyslots"].as_array().into_iter().flatten())
        .filter_map(|k| meta["keyslots"][k.as_str()?]["key_size"].as_u64())
        .next()
        .map(|bytes| bytes * 8);
    (cipher, key_bits)
}

/// Reads at most `len` bytes from `offset`.
pub(super) fn read_at(f: &mut std::fs::File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(len);
    f.take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The LUKS header at `offset` of an open device, if there is one.
pub(super) fn header_at(
    f: &mut std::fs::File,
    offset: u64,
) -> io::Result<Result<Option<LuksHeader>, String>> {
    let mut buf = read_at(f, offset, LUKS2_BINARY_HEADER)?;
    match luks_prefix(&buf) {
        Some((2, size)) if size > buf.len() as u64 && size <= LUKS2_MAX_HEADER => {
            let more = read_at(f, offset + buf.len() as u64, (size as usize) - buf.len())?;
            buf.extend_from_slice(&more);
        }
        _ => {}
    }
    Ok(parse_luks(&buf))
}

/// The LUKS header of `/dev/<name>`; for a device a LUKS mapping is built on, a damaged
/// primary header falls back to the LUKS2 secondary one.
pub(super) fn read_luks(
    ctx: &CollectContext,
    name: &str,
    mapped: bool,
) -> Result<Option<LuksHeader>, String> {
    let abs = format!("/dev/{}", name.replace('!', "/"));
    let io_err = |e: io::Error| describe_io(&abs, &e);
    let mut f = std::fs::File::open(ctx.path(&abs)).map_err(io_err)?;
    let primary = header_at(&mut f, 0).map_err(io_err)?;
    if mapped && !matches!(primary, Ok(Some(_))) {
        for &offset in LUKS2_SECONDARY_OFFSETS {
            if let Ok(Ok(Some(h))) = header_at(&mut f, offset) {
                return Ok(Some(h));
            }
        }
    }
    primary.map_err(|e| format!("{abs}: {e}"))
}

/// `CRYPT-LUKS2-7b3c…4a-name` → (2, "7b3c…-…").
pub(super) fn uuid_from_dm(dm_uuid: &str) -> Option<(u16, String)> {
    let mut parts = dm_uuid.splitn(4, '-');
    let (_, kind, hex) = (parts.next()?, parts.next()?, parts.next()?);
    let version = kind.strip_prefix("LUKS")?.parse().ok()?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some((version, hex.to_string()));
    }
    let (a, rest) = hex.split_at(8);
    let (b, rest) = rest.split_at(4);
    let (c, rest) = rest.split_at(4);
    let (d, e) = rest.split_at(4);
    Some((version, format!("{a}-{b}-{c}-{d}-{e}")))
}

/// Every LUKS volume: the devices LUKS mappings are built on, and every unused device that
/// could hold an unopened volume (not a partitioned disk, not a loop device or drive, nothing
/// built on it).
pub(super) fn luks_volumes(ctx: &CollectContext, map: &BlockMap) -> Result<Value, String> {
    let mut out = Vec::new();
    for d in &map.devices {
        let luks_holder = d.holders.iter().find(|h| map.is_luks_mapping(h));
        // Not loop devices, optical or floppy drives (reading one without media can hang).
        let unused = d.holders.is_empty()
            && !d.partitioned
            && !matches!(d.kind.as_str(), "loop" | "rom" | "crypt")
            && !d.name.starts_with("fd");
        if luks_holder.is_none() && !unused {
            continue;
        }
        let header = match read_luks(ctx, &d.name, luks_holder.is_some())? {
            Some(h) => h,
            // A mapping whose header is elsewhere (cryptsetup --header): what dm says.
            None => match luks_holder
                .and_then(|h| map.index(h))
                .and_then(|i| map.devices[i].dm_uuid.as_deref())
                .and_then(uuid_from_dm)
            {
                Some((version, uuid)) => LuksHeader {
                    version,
                    cipher: None,
                    key_bits: None,
                    uuid,
                },
                None => continue,
            },
        };
        out.push(json!({
            "device": format!("/dev/{}", d.name.replace('!', "/")),
            "version": header.version,
            "cipher": header.cipher,
            "key_bits": header.key_bits,
            "uuid": header.uuid,
        }));
    }
    Ok(Value::Array(out))
}
