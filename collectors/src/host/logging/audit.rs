//! Audit: the boot-time audit rules, how many, whether immutable, and the event families they
//! record.

use std::collections::{BTreeMap, BTreeSet};

use super::{AUDIT_RULES, AUDIT_RULES_D, conf_files};
use crate::CollectContext;

/// Audit rules of one file: (rules, last `-e` value).
pub fn audit_rules(text: &str) -> (u64, Option<u8>) {
    let mut rules = 0;
    let mut enabled = None;
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match w.next() {
            Some("-a" | "-A" | "-w") => rules += 1,
            Some("-e") => enabled = w.next().and_then(|v| v.parse().ok()),
            _ => {}
        }
    }
    (rules, enabled)
}

/// The event families of host.audit.event_coverage, in their order.
pub const AUDIT_FAMILIES: [&str; 7] = [
    "identity",
    "sudoers",
    "logins",
    "time_change",
    "kernel_modules",
    "permission_changes",
    "mounts",
];

/// What audit rules record: paths watched for writes and system calls audited on exit.
#[derive(Debug, Default)]
pub struct AuditEvents {
    /// Paths watched for writes or attribute changes (`w` or `a`), without a trailing `/`.
    written: BTreeSet<String>,
    /// System calls of `always,exit` rules.
    syscalls: BTreeSet<String>,
    /// A rule audits every system call (`-S all`).
    all_syscalls: bool,
}

impl AuditEvents {
    /// Adds the rules of one file.
    pub fn read(&mut self, text: &str) {
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.first() {
                Some(&"-w") => {
                    let perms = option(&words, "-p").unwrap_or("rwxa");
                    if let Some(path) = words.get(1)
                        && (perms.contains('w') || perms.contains('a'))
                    {
                        self.written.insert(path.trim_end_matches('/').to_string());
                    }
                }
                Some(&("-a" | "-A")) => self.rule(&words),
                _ => {}
            }
        }
    }

    /// An `-a`/`-A` rule: counted only with the `always` action on the `exit` list.
    fn rule(&mut self, words: &[&str]) {
        let Some(pair) = words.get(1) else { return };
        let mut parts = pair.split(',');
        let (a, b) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if !matches!((a, b), ("always", "exit") | ("exit", "always")) {
            return;
        }
        let mut fields = BTreeMap::new();
        let mut syscalls = Vec::new();
        let mut i = 2;
        while i + 1 < words.len() {
            match words[i] {
                "-S" => syscalls.extend(words[i + 1].split(',')),
                "-F" => {
                    if let Some((k, v)) = words[i + 1].split_once('=')
                        && !k.ends_with(['!', '<', '>'])
                    {
                        fields.insert(k, v);
                    }
                }
                _ => {}
            }
            i += 2;
        }
        let path = fields.get("path").or_else(|| fields.get("dir"));
        if let Some(path) = path {
            let perm = fields.get("perm").copied().unwrap_or("rwxa");
            if perm.contains('w') || perm.contains('a') {
                self.written.insert(path.trim_end_matches('/').to_string());
            }
            return;
        }
        for call in syscalls {
            if call == "all" {
                self.all_syscalls = true;
            }
            self.syscalls.insert(call.to_string());
        }
    }

    fn watched(&self, paths: &[&str]) -> bool {
        paths.iter().all(|p| self.written.contains(*p))
    }

    fn any_watched(&self, paths: &[&str]) -> bool {
        paths.iter().any(|p| self.written.contains(*p))
    }

    fn audited(&self, calls: &[&str]) -> bool {
        self.all_syscalls || calls.iter().all(|c| self.syscalls.contains(*c))
    }

    /// Whether each of [`AUDIT_FAMILIES`] is recorded, in that order.
    pub fn coverage(&self) -> Vec<(&'static str, bool)> {
        let covered = [
            self.watched(&["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"]),
            self.watched(&["/etc/sudoers", "/etc/sudoers.d"]),
            self.any_watched(&["/var/log/lastlog", "/var/log/wtmp"])
                && self.any_watched(&[
                    "/var/log/faillog",
                    "/var/run/faillock",
                    "/run/faillock",
                    "/var/log/btmp",
                    "/var/log/tallylog",
                ]),
            self.audited(&["adjtimex", "settimeofday", "clock_settime"])
                && self.watched(&["/etc/localtime"]),
            self.audited(&["init_module", "finit_module", "delete_module"]),
            self.audited(&[
                "chmod",
                "fchmod",
                "fchmodat",
                "chown",
                "fchown",
                "fchownat",
                "lchown",
                "setxattr",
                "lsetxattr",
                "fsetxattr",
                "removexattr",
                "lremovexattr",
                "fremovexattr",
            ]),
            self.audited(&["mount"]),
        ];
        AUDIT_FAMILIES.into_iter().zip(covered).collect()
    }
}

/// The value after `flag` among a rule's words.
fn option<'a>(words: &[&'a str], flag: &str) -> Option<&'a str> {
    words
        .iter()
        .position(|w| *w == flag)
        .and_then(|i| words.get(i + 1).copied())
}

/// The boot-time audit rules, summed up.
pub(super) struct AuditSummary {
    pub(super) count: u64,
    pub(super) immutable: bool,
    pub(super) events: AuditEvents,
}

/// (source, summary) of the boot-time audit rules.
pub(super) fn audit(ctx: &CollectContext) -> (&'static str, Result<AuditSummary, String>) {
    let (source, files) = match conf_files(ctx, AUDIT_RULES_D, ".rules") {
        Ok(Some(files)) => (AUDIT_RULES_D, Ok(files)),
        Ok(None) if ctx.path(AUDIT_RULES).exists() => {
            (AUDIT_RULES, Ok(vec![AUDIT_RULES.to_string()]))
        }
        Ok(None) => (
            AUDIT_RULES_D,
            Err(format!("not found: {AUDIT_RULES_D}, {AUDIT_RULES}")),
        ),
        Err(e) => (AUDIT_RULES_D, Err(e)),
    };
    let counted = files.and_then(|files| {
        let mut total = 0;
        let mut enabled = None;
        let mut events = AuditEvents::default();
        for f in files {
            let text = ctx.read(&f)?;
            let (n, e) = audit_rules(&text);
            events.read(&text);
            total += n;
            enabled = e.or(enabled);
        }
        Ok(AuditSummary {
            count: total,
            immutable: enabled == Some(2),
            events,
        })
    });
    (source, counted)
}
