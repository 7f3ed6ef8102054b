//! Kernel hardening (the CIS sysctls), the permissions of the account and SSH files, and
//! world-writable files in system directories.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use async_trait::async_trait;
use serde_json::{Value, json};
use vouch_evidence::Source as ItemSource;

use super::HostConfig;
use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, describe_io, exists,
    fact, file,
};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.sysctl.kernel_randomize_va_space",
        value_type: ValueType::Integer,
        meaning: "Address space layout randomisation: 2 = full (stack, mmap, heap), 1 = partial, \
                  0 = off.",
        source: "/proc/sys/kernel/randomize_va_space",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sysctl.accept_redirects",
        value_type: ValueType::Bool,
        meaning: "ICMP redirects are accepted: true if any of net.ipv4.conf.{all,default}.\
                  accept_redirects or the IPv6 equivalents is on (IPv6 ones ignored when IPv6 is \
                  disabled).",
        source: "/proc/sys/net/ipv{4,6}/conf/{all,default}/accept_redirects",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sysctl.send_redirects",
        value_type: ValueType::Bool,
        meaning: "ICMP redirects are sent: true if net.ipv4.conf.all or .default.send_redirects \
                  is on.",
        source: "/proc/sys/net/ipv4/conf/{all,default}/send_redirects",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sysctl.accept_source_route",
        value_type: ValueType::Bool,
        meaning: "Source-routed packets are accepted: true if any of net.ipv4.conf.{all,default}.\
                  accept_source_route or the IPv6 equivalents is on.",
        source: "/proc/sys/net/ipv{4,6}/conf/{all,default}/accept_source_route",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sysctl.tcp_syncookies",
        value_type: ValueType::Bool,
        meaning: "TCP SYN cookies protect against SYN floods (net.ipv4.tcp_syncookies 1 or 2).",
        source: "/proc/sys/net/ipv4/tcp_syncookies",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sysctl.ptrace_scope",
        value_type: ValueType::Integer,
        meaning: "Yama ptrace restriction (kernel.yama.ptrace_scope): 0 = any process of the same \
                  user, 1 = descendants only, 2 = admin only, 3 = none.",
        source: "/proc/sys/kernel/yama/ptrace_scope",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sysctl.dmesg_restrict",
        value_type: ValueType::Bool,
        meaning: "Only privileged users may read the kernel log (kernel.dmesg_restrict).",
        source: "/proc/sys/kernel/dmesg_restrict",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sysctl.protected_symlinks",
        value_type: ValueType::Bool,
        meaning: "Symlinks in sticky world-writable directories are followed only by their owner \
                  (fs.protected_symlinks).",
        source: "/proc/sys/fs/protected_symlinks",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sysctl.protected_hardlinks",
        value_type: ValueType::Bool,
        meaning: "Users may hard-link only files they own or can read and write \
                  (fs.protected_hardlinks).",
        source: "/proc/sys/fs/protected_hardlinks",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sysctl.suid_dumpable",
        value_type: ValueType::Integer,
        meaning: "Core dumps of setuid programs (fs.suid_dumpable): 0 = none, 1 = all, \
                  2 = readable by root only.",
        source: "/proc/sys/fs/suid_dumpable",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.files.passwd",
        value_type: ValueType::Object,
        meaning: "Permissions of /etc/passwd: `{mode (\"0644\"), owner, group}`; owner and group \
                  by name from the host's /etc/passwd and /etc/group, numeric when not listed.",
        source: "/etc/passwd (stat)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.files.shadow",
        value_type: ValueType::Object,
        meaning: "Permissions of /etc/shadow: `{mode, owner, group}`.",
        source: "/etc/shadow (stat)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.files.group",
        value_type: ValueType::Object,
        meaning: "Permissions of /etc/group: `{mode, owner, group}`.",
        source: "/etc/group (stat)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.files.gshadow",
        value_type: ValueType::Object,
        meaning: "Permissions of /etc/gshadow: `{mode, owner, group}`.",
        source: "/etc/gshadow (stat)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.files.sshd_config",
        value_type: ValueType::Object,
        meaning: "Permissions of /etc/ssh/sshd_config: `{mode, owner, group}`.",
        source: "/etc/ssh/sshd_config (stat)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.files.world_writable",
        value_type: ValueType::StringList,
        meaning: "World-writable regular files and directories (sticky directories left out) \
                  in the configured system directories, without following symlinks or \
                  crossing into other filesystems; sorted, at most 200 listed.",
        source: "collectors.host.world_writable_paths (lstat)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.files.world_writable_count",
        value_type: ValueType::Integer,
        meaning: "How many world-writable files and directories the scan found (all of them, \
                  also those beyond the 200 listed).",
        source: "collectors.host.world_writable_paths (lstat)",
        context_only: Some(
            "the full count behind host.files.world_writable, which host.files.no_world_writable judges.",
        ),
    },
    EvidenceSpec {
        id: "host.files.world_writable_scan_truncated",
        value_type: ValueType::Bool,
        meaning: "The scan stopped at collectors.host.world_writable_max_entries entries: files \
                  beyond were not checked.",
        source: "collectors.host.world_writable_paths",
        context_only: None,
    },
];

/// (id, sysctl file) of the integer sysctls.
const INTEGER_SYSCTLS: &[(&str, &str)] = &[
    (
        "host.sysctl.kernel_randomize_va_space",
        "/proc/sys/kernel/randomize_va_space",
    ),
    (
        "host.sysctl.ptrace_scope",
        "/proc/sys/kernel/yama/ptrace_scope",
    ),
    ("host.sysctl.suid_dumpable", "/proc/sys/fs/suid_dumpable"),
];

/// (id, sysctl files): true if any of them is non-zero.
const SWITCH_SYSCTLS: &[(&str, &[&str])] = &[
    (
        "host.sysctl.accept_redirects",
        &[
            "/proc/sys/net/ipv4/conf/all/accept_redirects",
            "/proc/sys/net/ipv4/conf/default/accept_redirects",
            "/proc/sys/net/ipv6/conf/all/accept_redirects",
            "/proc/sys/net/ipv6/conf/default/accept_redirects",
        ],
    ),
    (
        "host.sysctl.send_redirects",
        &[
            "/proc/sys/net/ipv4/conf/all/send_redirects",
            "/proc/sys/net/ipv4/conf/default/send_redirects",
        ],
    ),
    (
        "host.sysctl.accept_source_route",
        &[
            "/proc/sys/net/ipv4/conf/all/accept_source_route",
            "/proc/sys/net/ipv4/conf/default/accept_source_route",
            "/proc/sys/net/ipv6/conf/all/accept_source_route",
            "/proc/sys/net/ipv6/conf/default/accept_source_route",
        ],
    ),
    (
        "host.sysctl.tcp_syncookies",
        &["/proc/sys/net/ipv4/tcp_syncookies"],
    ),
    (
        "host.sysctl.dmesg_restrict",
        &["/proc/sys/kernel/dmesg_restrict"],
    ),
    (
        "host.sysctl.protected_symlinks",
        &["/proc/sys/fs/protected_symlinks"],
    ),
    (
        "host.sysctl.protected_hardlinks",
        &["/proc/sys/fs/protected_hardlinks"],
    ),
];

/// (id, file) whose permissions are reported.
const PROTECTED_FILES: &[(&str, &str)] = &[
    ("host.files.passwd", "/etc/passwd"),
    ("host.files.shadow", "/etc/shadow"),
    ("host.files.group", "/etc/group"),
    ("host.files.gshadow", "/etc/gshadow"),
    ("host.files.sshd_config", "/etc/ssh/sshd_config"),
];

/// The most world-writable paths listed (all are counted).
const WORLD_WRITABLE_LISTED: usize = 200;

/// The collector.
pub struct Hardening {
    world_writable_paths: Vec<PathBuf>,
    world_writable_max_entries: u64,
}

impl Hardening {
    /// The collector with the world-writable scan's settings from `config`.
    pub fn new(config: &HostConfig) -> Self {
        Hardening {
            world_writable_paths: config.world_writable_paths.clone(),
            world_writable_max_entries: config.world_writable_max_entries,
        }
    }
}

/// An integer sysctl.
fn sysctl(ctx: &CollectContext, abs: &str) -> Result<i64, String> {
    let text = ctx.read(abs)?;
    text.trim()
        .parse()
        .map_err(|_| format!("{abs} is not a number: {:?}", text.trim()))
}

/// Whether any of the sysctls is on; IPv6 ones are skipped when the kernel has no IPv6.
fn any_on(ctx: &CollectContext, files: &[&str]) -> Result<bool, String> {
    let ipv6 = exists(ctx, "/proc/sys/net/ipv6");
    let mut on = false;
    for f in files {
        if f.starts_with("/proc/sys/net/ipv6/") && !ipv6 {
            continue;
        }
        on |= sysctl(ctx, f)? != 0;
    }
    Ok(on)
}

/// Names by numeric id, from a passwd- or group-format file (`name:x:id:…`).
fn names_by_id(text: &str) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for line in text.lines() {
        let mut f = line.split(':');
        if let (Some(name), Some(_), Some(id)) = (f.next(), f.next(), f.next())
            && let Ok(id) = id.trim().parse()
            && !name.is_empty()
            && !name.starts_with('#')
        {
            // The first entry for an id wins, as getpwuid(3) does.
            names.entry(id).or_insert_with(|| name.to_string());
        }
    }
    names
}

/// `mode` as four octal digits (with the setuid, setgid and sticky bits).
fn octal_mode(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// `{mode, owner, group}` of `abs`, owner and group named through `users` and `groups`.
fn ownership(
    ctx: &CollectContext,
    abs: &str,
    users: &HashMap<u32, String>,
    groups: &HashMap<u32, String>,
) -> Result<Value, String> {
    let md = std::fs::metadata(ctx.path(abs)).map_err(|e| describe_io(abs, &e))?;
    let name = |names: &HashMap<u32, String>, id: u32| {
        names.get(&id).cloned().unwrap_or_else(|| id.to_string())
    };
    Ok(json!({
        "mode": octal_mode(md.permissions().mode()),
        "owner": name(users, md.uid()),
        "group": name(groups, md.gid()),
    }))
}

/// What the world-writable scan found.
#[derive(Debug, Default, PartialEq)]
struct WorldWritable {
    /// Absolute paths on the host, sorted.
    found: Vec<String>,
    truncated: bool,
}

/// A world-writable regular file, or a world-writable directory without the sticky bit.
fn is_world_writable(file_type: std::fs::FileType, mode: u32) -> bool {
    let other_write = mode & 0o002 != 0;
    if file_type.is_dir() {
        other_write && mode & 0o1000 == 0
    } else {
        file_type.is_file() && other_write
    }
}

/// Scans `paths` (absolute on the host) below the root for world-writable entries, visiting
/// at most `max_entries`, never following symlinks nor leaving the filesystem each path is on.
/// A directory that cannot be read makes the scan incomplete: that is an error.
fn scan_world_writable(
    ctx: &CollectContext,
    paths: &[PathBuf],
    max_entries: u64,
) -> Result<WorldWritable, String> {
    let mut out = WorldWritable::default();
    let mut visited = 0u64;
    for top in paths {
        let top_abs = top.to_string_lossy().trim_end_matches('/').to_string();
        let top_path = ctx.path(&top_abs);
        // A configured path that is a symlink (/sbin → usr/sbin) is followed; nothing below.
        let md = match std::fs::metadata(&top_path) {
            Ok(md) => md,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(describe_io(&top_abs, &e)),
        };
        if is_world_writable(md.file_type(), md.mode()) {
            out.found.push(top_abs.clone());
        }
        if !md.is_dir() {
            continue;
        }
        let device = md.dev();
        let mut stack: Vec<(String, PathBuf)> = vec![(top_abs, top_path)];
        while let Some((dir_abs, dir)) = stack.pop() {
            let mut entries = std::fs::read_dir(&dir)
                .and_then(|rd| rd.collect::<Result<Vec<_>, _>>())
                .map_err(|e| describe_io(&dir_abs, &e))?;
            entries.sort_by_cached_key(|e| e.file_name());
            let path_of =
                |e: &std::fs::DirEntry| format!("{dir_abs}/{}", e.file_name().to_string_lossy());
            let mut subdirs = Vec::new();
            for e in entries {
                if visited >= max_entries {
                    out.truncated = true;
                    out.found.sort();
                    return Ok(out);
                }
                visited += 1;
                // Only a directory or a regular file can be world-writable here or lead further
                // (see `is_world_writable`): the type the directory gives (no lstat, unless the
                // filesystem does not say) spares the lstat of every symlink, a third of them.
                match e.file_type() {
                    Ok(ft) if !ft.is_dir() && !ft.is_file() => continue,
                    Ok(_) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(describe_io(&path_of(&e), &err)),
                }
                // lstat: a symlink is reported as one, never followed.
                let md = match e.metadata() {
                    Ok(md) => md,
                    // Removed while we looked.
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(describe_io(&path_of(&e), &err)),
                };
                let ft = md.file_type();
                if is_world_writable(ft, md.mode()) {
                    out.found.push(path_of(&e));
                }
                if ft.is_dir() && md.dev() == device {
                    subdirs.push((path_of(&e), e.path()));
                }
            }
            // Depth first, in name order.
            stack.extend(subdirs.into_iter().rev());
        }
    }
    out.found.sort();
    Ok(out)
}

#[async_trait]
impl Collector for Hardening {
    fn name(&self) -> &'static str {
        "host.hardening"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let mut facts = Vec::new();
        for &(id, abs) in INTEGER_SYSCTLS {
            facts.push(fact(id, file(abs), sysctl(ctx, abs)));
        }
        for &(id, files) in SWITCH_SYSCTLS {
            let source = EVIDENCE
                .iter()
                .find(|s| s.id == id)
                .map_or(files[0], |s| s.source);
            facts.push(fact(id, file(source), any_on(ctx, files)));
        }
        let names = |abs: &str| ctx.read(abs).map(|t| names_by_id(&t)).unwrap_or_default();
        let (users, groups) = (names("/etc/passwd"), names("/etc/group"));
        for &(id, abs) in PROTECTED_FILES {
            facts.push(fact(
                id,
                ItemSource::Syscall(format!("stat {abs}")),
                ownership(ctx, abs, &users, &groups),
            ));
        }
        let scan = scan_world_writable(
            ctx,
            &self.world_writable_paths,
            self.world_writable_max_entries,
        );
        let source =
            || ItemSource::Syscall("lstat below collectors.host.world_writable_paths".into());
        let listed = scan.as_ref().map(|s| {
            s.found
                .iter()
                .take(WORLD_WRITABLE_LISTED)
                .cloned()
                .collect::<Vec<_>>()
        });
        facts.push(fact(
            "host.files.world_writable",
            source(),
            listed.map_err(Clone::clone),
        ));
        facts.push(fact(
            "host.files.world_writable_count",
            source(),
            scan.as_ref()
                .map(|s| s.found.len() as u64)
                .map_err(Clone::clone),
        ));
        facts.push(fact(
            "host.files.world_writable_scan_truncated",
            source(),
            scan.map(|s| s.truncated),
        ));
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, Permissions};
    use std::path::Path;

    fn mode_of(path: &Path) -> String {
        octal_mode(fs::metadata(path).unwrap().permissions().mode())
    }

    fn chmod(p: &Path, mode: u32) {
        fs::set_permissions(p, Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn names_by_id_reads_passwd_and_group_formats() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      # comment\n\
                      toor:x:0:0::/root:/bin/sh\n\
                      daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
                      broken\n\
                      bad:x:notanumber:1::/:/bin/false\n";
        let n = names_by_id(passwd);
        assert_eq!(n.get(&0).map(String::as_str), Some("root"));
        assert_eq!(n.get(&1).map(String::as_str), Some("daemon"));
        assert_eq!(n.len(), 2);
        let g = names_by_id("root:x:0:\nshadow:x:42:\n");
        assert_eq!(g.get(&42).map(String::as_str), Some("shadow"));
    }

    #[test]
    fn modes_are_four_octal_digits() {
        assert_eq!(octal_mode(0o100644), "0644");
        assert_eq!(octal_mode(0o104755), "4755");
        assert_eq!(octal_mode(0o41777), "1777");
        assert_eq!(octal_mode(0o100000), "0000");
    }

    #[test]
    fn ownership_reports_the_real_mode_and_resolves_ids() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc/ssh")).unwrap();
        let shadow = dir.path().join("etc/shadow");
        fs::write(&shadow, "root:*:19000:0:99999:7:::\n").unwrap();
        chmod(&shadow, 0o640);
        let md = fs::metadata(&shadow).unwrap();
        let ctx = CollectContext::for_test(dir.path());
        let mut users = HashMap::new();
        users.insert(md.uid(), "alice".to_string());
        let got = ownership(&ctx, "/etc/shadow", &users, &HashMap::new()).unwrap();
        assert_eq!(
            got,
            json!({"mode": "0640", "owner": "alice", "group": md.gid().to_string()})
        );
        chmod(&shadow, 0o4600);
        assert_eq!(mode_of(&shadow), "4600");
        assert_eq!(
            ownership(&ctx, "/etc/ssh/sshd_config", &users, &HashMap::new()).unwrap_err(),
            "not found: /etc/ssh/sshd_config"
        );
    }

    #[test]
    fn world_writable_scan_with_real_modes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let p = |rel: &str| root.join(rel);
        fs::create_dir_all(p("etc/app")).unwrap();
        fs::create_dir_all(p("usr/local/tmp/inner")).unwrap();
        fs::create_dir_all(p("usr/local/share/uploads")).unwrap();
        fs::write(p("etc/passwd"), "").unwrap();
        fs::write(p("etc/app/config.ini"), "").unwrap();
        fs::write(p("usr/local/tmp/inner/open.txt"), "").unwrap();
        fs::write(p("usr/local/run.sh"), "").unwrap();
        chmod(&p("etc/app/config.ini"), 0o666);
        chmod(&p("usr/local/run.sh"), 0o777);
        chmod(&p("usr/local/tmp"), 0o1777); // sticky: not reported, but scanned
        chmod(&p("usr/local/tmp/inner/open.txt"), 0o646);
        chmod(&p("usr/local/share/uploads"), 0o777);
        std::os::unix::fs::symlink("/etc/passwd", p("etc/link")).unwrap();
        chmod(&p("etc/passwd"), 0o644);
        // Links to a world-writable file and directory: neither reported nor followed.
        std::os::unix::fs::symlink("run.sh", p("usr/local/run-link")).unwrap();
        std::os::unix::fs::symlink("share/uploads", p("usr/local/uploads-link")).unwrap();
        let ctx = CollectContext::for_test(root);
        let paths = [
            PathBuf::from("/etc"),
            PathBuf::from("/usr/local/"),
            PathBuf::from("/absent"),
        ];
        let scan = scan_world_writable(&ctx, &paths, 1000).unwrap();
        assert_eq!(
            scan,
            WorldWritable {
                found: vec![
                    "/etc/app/config.ini".into(),
                    "/usr/local/run.sh".into(),
                    "/usr/local/share/uploads".into(),
                    "/usr/local/tmp/inner/open.txt".into(),
                ],
                truncated: false,
            }
        );
        // /etc holds 4 entries (app, link, passwd, app/config.ini): /usr/local's are beyond.
        let cut = scan_world_writable(&ctx, &paths, 4).unwrap();
        assert_eq!(cut.found, ["/etc/app/config.ini"]);
        assert!(cut.truncated);
        let exact = scan_world_writable(&ctx, &paths[..1], 4).unwrap();
        assert!(!exact.truncated);
        // A configured path that is a symlink is followed, and named as configured.
        std::os::unix::fs::symlink("usr/local/share", p("share")).unwrap();
        let linked = scan_world_writable(&ctx, &[PathBuf::from("/share")], 100).unwrap();
        assert_eq!(linked.found, ["/share/uploads"]);
    }

    #[test]
    fn switches_ignore_ipv6_only_when_the_kernel_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = CollectContext::for_test(dir.path());
        let set = |abs: &str, v: &str| super::super::storage::put(&ctx, abs, v);
        set("/proc/sys/net/ipv4/conf/all/accept_redirects", "0\n");
        set("/proc/sys/net/ipv4/conf/default/accept_redirects", "0\n");
        let files = SWITCH_SYSCTLS[0].1;
        assert_eq!(any_on(&ctx, files), Ok(false));
        fs::create_dir_all(ctx.path("/proc/sys/net/ipv6/conf")).unwrap();
        assert_eq!(
            any_on(&ctx, files),
            Err("not found: /proc/sys/net/ipv6/conf/all/accept_redirects".into())
        );
        set("/proc/sys/net/ipv6/conf/all/accept_redirects", "1\n");
        set("/proc/sys/net/ipv6/conf/default/accept_redirects", "0\n");
        assert_eq!(any_on(&ctx, files), Ok(true));
        set("/proc/sys/kernel/randomize_va_space", "two\n");
        assert_eq!(
            sysctl(&ctx, "/proc/sys/kernel/randomize_va_space"),
            Err("/proc/sys/kernel/randomize_va_space is not a number: \"two\"".into())
        );
    }
}
