//! Logging, monitoring and time: auditd, its rules and the events they record, journald
//! persistence, forwarding of logs to a remote collector, and clock synchronisation.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use vouch_evidence::Source as ItemSource;

use super::procs::Processes;
use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, describe_io, fact,
    file,
};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.audit.auditd_running",
        value_type: ValueType::Bool,
        meaning: "The Linux audit daemon (auditd) is running, so the kernel's audit events are \
                  written to disk.",
        source: "/proc/<pid>/stat",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.audit.rule_count",
        value_type: ValueType::Integer,
        meaning: "Audit rules (`-a`, `-A` and `-w` lines) loaded at boot: from \
                  /etc/audit/rules.d/*.rules, which augenrules compiles, else \
                  /etc/audit/audit.rules. Comments and control lines (-D, -b, -f, -e…) do not \
                  count. The files are usually root's alone: unavailable with the reason without \
                  read access.",
        source: "/etc/audit/rules.d/*.rules, else /etc/audit/audit.rules",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.audit.immutable",
        value_type: ValueType::Bool,
        meaning: "The audit rules end by locking the audit configuration until reboot (`-e 2`).",
        source: "/etc/audit/rules.d/*.rules, else /etc/audit/audit.rules",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.audit.event_coverage",
        value_type: ValueType::Object,
        meaning: "Which event families auditors expect the boot-time audit rules record \
                  (`{\"identity\": true, …}`), each true when: `identity`, /etc/passwd, group, \
                  shadow and gshadow are watched for writes (`-w … -p wa`, or `-F path=` with \
                  `perm=`); `sudoers`, /etc/sudoers and /etc/sudoers.d; `logins`, a record of \
                  logins (/var/log/lastlog or wtmp) and one of failed logins (/var/log/faillog, \
                  /var/run/faillock, /var/log/btmp or tallylog); `time_change`, the system calls \
                  adjtimex, settimeofday and clock_settime, and /etc/localtime; \
                  `kernel_modules`, the system calls init_module, finit_module and \
                  delete_module (watching insmod or modprobe alone misses a program that calls \
                  them directly); `permission_changes`, chmod, fchmod, fchmodat, chown, fchown, \
                  fchownat, lchown and the set/remove xattr calls (plain, l and f); `mounts`, \
                  mount. System calls count in `-a always,exit` rules (`-S all` covers every \
                  one); CIS Linux benchmarks, section 'Configure auditd rules', list the same.",
        source: "/etc/audit/rules.d/*.rules, else /etc/audit/audit.rules",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.audit.events_missing",
        value_type: ValueType::StringList,
        meaning: "The families of host.audit.event_coverage the rules do not record, in its \
                  order; empty when all are.",
        source: "/etc/audit/rules.d/*.rules, else /etc/audit/audit.rules",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.logging.journald_persistent",
        value_type: ValueType::Bool,
        meaning: "The systemd journal is kept on disk across reboots: systemd-journald runs and \
                  its Storage= is `persistent`, or `auto` (the default) with /var/log/journal \
                  present; `volatile` and `none` are not. Unavailable when journald does not run.",
        source: "/proc/<pid>/stat, /etc/systemd/journald.conf and journald.conf.d/*.conf \
                 (/usr/lib, /run, /etc), /var/log/journal",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.logging.remote_forwarding",
        value_type: ValueType::Bool,
        meaning: "A running log daemon forwards logs to another host: rsyslog (a `@host`/`@@host` \
                  action or `action(type=\"omfwd\"|\"omrelp\")`), syslog-ng (a network, tcp, udp \
                  or syslog destination used in a log path) or systemd-journal-upload (URL=).",
        source: "/proc/<pid>/stat, /etc/rsyslog.conf, /etc/rsyslog.d/*.conf, \
                 /etc/syslog-ng/syslog-ng.conf, /etc/syslog-ng/conf.d/*.conf, \
                 /etc/systemd/journal-upload.conf",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.logging.remote_targets",
        value_type: ValueType::StringList,
        meaning: "Where the running log daemons forward to, as host:port ([v6]:port), sorted.",
        source: "as host.logging.remote_forwarding",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.time.sync_daemon",
        value_type: ValueType::String,
        meaning: "The time synchronisation daemon running: `chrony`, `ntpd`, \
                  `systemd-timesyncd` (the first running, in that order), or `none`.",
        source: "/proc/<pid>/stat",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.time.synchronized",
        value_type: ValueType::Bool,
        meaning: "The running daemon reports the clock synchronised: chrony's leap status is not \
                  `Not synchronised`, ntpd's leap indicator is not 11, systemd-timesyncd has \
                  synchronised since boot. Unavailable when no daemon runs or it cannot be asked.",
        source: "chronyc -n tracking, ntpq -c rv, /run/systemd/timesync/synchronized",
        context_only: None,
    },
];

/// The collector.
pub struct Logging;

const AUDIT_RULES_D: &str = "/etc/audit/rules.d";
const AUDIT_RULES: &str = "/etc/audit/audit.rules";
const CHRONYC: &str = "/usr/bin/chronyc";
const NTPQ: &str = "/usr/bin/ntpq";
const TIMESYNCD_FLAG: &str = "/run/systemd/timesync/synchronized";
const JOURNALD: &str = "/usr/lib/systemd/systemd-journald";

// ---------------------------------------------------------------------------------------------
// Configuration files

/// The value of the last `key=value` line for `key` (spaces around `=` allowed, quotes
/// removed, `#` and `;` comment lines skipped).
pub fn setting<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, v)| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v)
        })
        .next_back()
}

/// The files of directory `dir` whose names end with `suffix`, as sorted absolute paths;
/// `None` when the directory does not exist.
pub fn conf_files(
    ctx: &CollectContext,
    dir: &str,
    suffix: &str,
) -> Result<Option<Vec<String>>, String> {
    let entries = match std::fs::read_dir(ctx.path(dir)) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(describe_io(dir, &e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(suffix) && !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(Some(
        names
            .into_iter()
            .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
            .collect(),
    ))
}

/// A systemd configuration `name` (`journald.conf`): the main file (the first of /etc, /run,
/// /usr/lib) then the drop-ins of the three `name.d` directories by file name (a name in /etc
/// hiding the same in /run and /usr/lib). Returns the files' texts, in the order they apply.
fn systemd_conf(ctx: &CollectContext, name: &str) -> Result<Vec<(String, String)>, String> {
    let dirs = ["/usr/lib/systemd", "/run/systemd", "/etc/systemd"];
    let mut out = Vec::new();
    for dir in dirs.iter().rev() {
        let abs = format!("{dir}/{name}");
        if let Some(text) = read_optional(ctx, &abs)? {
            out.push((abs, text));
            break;
        }
    }
    let mut dropins = BTreeMap::new();
    for dir in dirs {
        for path in conf_files(ctx, &format!("{dir}/{name}.d"), ".conf")?.unwrap_or_default() {
            let file_name = path.rsplit('/').next().unwrap_or_default().to_string();
            dropins.insert(file_name, path);
        }
    }
    for path in dropins.into_values() {
        let text = ctx.read(&path)?;
        out.push((path, text));
    }
    Ok(out)
}

/// The text of a file that may be absent (`None`), or the reason it cannot be read.
pub fn read_optional(ctx: &CollectContext, abs: &str) -> Result<Option<String>, String> {
    match ctx.read(abs) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.starts_with("not found") => Ok(None),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Audit

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
struct AuditSummary {
    count: u64,
    immutable: bool,
    events: AuditEvents,
}

/// (source, summary) of the boot-time audit rules.
fn audit(ctx: &CollectContext) -> (&'static str, Result<AuditSummary, String>) {
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

// ---------------------------------------------------------------------------------------------
// Journald

/// Whether the journal is persistent; a journald that does not run keeps no journal at all.
fn journald_persistent(ctx: &CollectContext, procs: &Processes) -> Result<bool, String> {
    if !procs.running(ctx, "systemd-journald") {
        return Err(if ctx.path(JOURNALD).exists() {
            "systemd-journald is not running: no journal is kept".into()
        } else {
            format!("not installed: {JOURNALD}")
        });
    }
    let files = systemd_conf(ctx, "journald.conf")?;
    let storage = files
        .iter()
        .filter_map(|(path, text)| setting(text, "Storage").map(|v| (path, v)))
        .next_back();
    match storage.map_or("auto", |(_, v)| v) {
        "persistent" => Ok(true),
        "volatile" | "none" => Ok(false),
        "auto" => Ok(ctx.path("/var/log/journal").is_dir()),
        other => Err(format!(
            "Storage={other} in {} is not a journald storage mode",
            storage.map_or("", |(p, _)| p.as_str())
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Forwarding

/// Cuts `#` comments (outside double quotes) from every line.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut quoted = false;
        let end = line
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == '#' && !quoted
            })
            .map_or(line.len(), |(i, _)| i);
        out.push_str(&line[..end]);
        out.push('\n');
    }
    out
}

/// `host:port`, `[v6]:port` or `host` (with `default` port) as `host:port` / `[v6]:port`.
pub fn host_port(s: &str, default: u16) -> Option<String> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (h, rest) = v6.split_once(']')?;
        (h, rest.strip_prefix(':'))
    } else if s.matches(':').count() > 1 {
        (s, None)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok()?,
        None => default,
    };
    Some(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// The text inside the brackets opened just before `s` (quote-aware, nested), and what follows.
fn enclosed(s: &str, open: char, close: char) -> Option<(&str, &str)> {
    let mut depth = 1;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Some((&s[..i], &s[i + c.len_utf8()..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// Byte offsets of `word` in `text` as a whole word (not inside a longer name).
fn word_at(text: &str, word: &str) -> Vec<usize> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '/';
    text.match_indices(word)
        .map(|(i, _)| i)
        .filter(|&i| {
            !text[..i].chars().next_back().is_some_and(ident)
                && !text[i + word.len()..].chars().next().is_some_and(ident)
        })
        .collect()
}

/// `key="value"` (or unquoted) parameters, keys in lower case.
fn parameters(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or_default();
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            q.split_once('"').unwrap_or((q, ""))
        } else {
            after.split_once(char::is_whitespace).unwrap_or((after, ""))
        };
        out.insert(key.to_ascii_lowercase(), value.to_string());
        rest = tail;
    }
    out
}

/// Forwarding targets of an rsyslog configuration file: legacy `@host` (UDP) and `@@host`
/// (TCP) actions, and RainerScript `action(type="omfwd"|"omrelp" target=… port=…)`.
pub fn rsyslog_targets(text: &str, out: &mut BTreeSet<String>) {
    let text = strip_comments(text);
    for line in text.lines() {
        if let Some(action) = line
            .split_whitespace()
            .skip(1)
            .find_map(|w| w.strip_prefix('@'))
        {
            let action = action.trim_start_matches('@');
            let action = match action.strip_prefix('(') {
                Some(opts) => opts.split_once(')').map_or("", |(_, a)| a),
                None => action,
            };
            let addr = action.split(';').next().unwrap_or_default();
            out.extend(host_port(addr, 514));
        }
    }
    for i in word_at(&text, "action") {
        let Some(args) = text[i + "action".len()..].trim_start().strip_prefix('(') else {
            continue;
        };
        let Some((inside, _)) = enclosed(args, '(', ')') else {
            continue;
        };
        let p = parameters(inside);
        let forwards = p
            .get("type")
            .is_some_and(|t| t.eq_ignore_ascii_case("omfwd") || t.eq_ignore_ascii_case("omrelp"));
        if let (true, Some(target)) = (forwards, p.get("target")) {
            let port = p.get("port").map_or(Some(514), |p| p.parse().ok());
            if let Some(port) = port {
                out.extend(host_port(&format!("{}:{port}", bracket(target)), port));
            }
        }
    }
}

/// An IPv6 literal in brackets, for joining with a port.
fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Forwarding targets of a syslog-ng configuration: network(), tcp(), udp(), tcp6(), udp6()
/// and syslog() drivers of destinations that some log path uses.
pub fn syslog_ng_targets(text: &str, out: &mut BTreeSet<String>) {
    let text = strip_comments(text);
    let mut defined: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut used = BTreeSet::new();
    for i in word_at(&text, "destination") {
        let after = text[i + "destination".len()..].trim_start();
        if let Some(arg) = after.strip_prefix('(') {
            if let Some((name, _)) = arg.split_once(')') {
                used.insert(name.trim());
            }
            continue;
        }
        let Some((name, body)) = after.split_once('{') else {
            continue;
        };
        let Some((body, _)) = enclosed(body, '{', '}') else {
            continue;
        };
        let targets = defined.entry(name.trim()).or_default();
        for (driver, default) in [
            ("network", 514),
            ("tcp", 514),
            ("udp", 514),
            ("tcp6", 514),
            ("udp6", 514),
            ("syslog", 601),
        ] {
            for j in word_at(body, driver) {
                let Some(args) = body[j + driver.len()..].trim_start().strip_prefix('(') else {
                    continue;
                };
                let Some((args, _)) = enclosed(args, '(', ')') else {
                    continue;
                };
                let host = args
                    .trim_start()
                    .split(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .unwrap_or_default()
                    .trim_matches(|c| c == '"' || c == '\'');
                let default = if driver == "syslog" && args.contains("tls") {
                    6514
                } else {
                    default
                };
                let port = word_at(args, "port")
                    .first()
                    .and_then(|&k| args[k + 4..].trim_start().strip_prefix('('))
                    .and_then(|p| p.split_once(')'))
                    .and_then(|(p, _)| p.trim().parse::<u16>().ok())
                    .unwrap_or(default);
                targets.extend(host_port(&format!("{}:{port}", bracket(host)), port));
            }
        }
    }
    for name in used {
        if let Some(t) = defined.get(name) {
            out.extend(t.iter().cloned());
        }
    }
}

/// The collector of systemd-journal-upload's `URL=` (`https://host:19532/…`, `host`).
pub fn upload_target(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    host_port(authority, 19532)
}

/// A parser adding the forwarding targets of one configuration file.
type TargetParser = fn(&str, &mut BTreeSet<String>);

/// The forwarding targets (host:port) of the running log forwarders, sorted.
fn forwarding(ctx: &CollectContext, procs: &Processes) -> Result<Vec<String>, String> {
    let mut targets = BTreeSet::new();
    // (daemon, main file, directory of *.conf, parser)
    let families: [(&str, &str, &str, TargetParser); 2] = [
        (
            "rsyslogd",
            "/etc/rsyslog.conf",
            "/etc/rsyslog.d",
            rsyslog_targets,
        ),
        (
            "syslog-ng",
            "/etc/syslog-ng/syslog-ng.conf",
            "/etc/syslog-ng/conf.d",
            syslog_ng_targets,
        ),
    ];
    for (daemon, main, dir, parse) in families {
        if !procs.running(ctx, daemon) {
            continue;
        }
        parse(&ctx.read(main)?, &mut targets);
        for f in conf_files(ctx, dir, ".conf")?.unwrap_or_default() {
            parse(&ctx.read(&f)?, &mut targets);
        }
    }
    if procs.running(ctx, "systemd-journal-upload") {
        let url = systemd_conf(ctx, "journal-upload.conf")?
            .iter()
            .filter_map(|(_, text)| setting(text, "URL").map(str::to_string))
            .next_back();
        targets.extend(url.as_deref().and_then(upload_target));
    }
    Ok(targets.into_iter().collect())
}

// ---------------------------------------------------------------------------------------------
// Time

/// chrony's `Leap status` line: synchronised unless it says `Not synchronised`.
pub fn chrony_synchronized(tracking: &str) -> Result<bool, String> {
    tracking
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "Leap status").then(|| v.trim() != "Not synchronised")
        })
        .ok_or_else(|| "`chronyc -n tracking` printed no Leap status".to_string())
}

/// ntpd's leap indicator (`leap=00`): 11 means not synchronised.
pub fn ntp_synchronized(rv: &str) -> Result<bool, String> {
    rv.split([',', '\n', ' '])
        .find_map(|w| w.trim().strip_prefix("leap="))
        .map(|v| v != "11")
        .ok_or_else(|| "`ntpq -c rv` printed no leap indicator".to_string())
}

/// (daemon, source, synchronised).
async fn time_sync(
    ctx: &CollectContext,
    procs: &Processes,
) -> (&'static str, ItemSource, Result<bool, String>) {
    if procs.running(ctx, "chronyd") {
        let out = ctx.command(CHRONYC, &["-n", "tracking"]).await;
        let sync = out.and_then(|t| chrony_synchronized(&t));
        return (
            "chrony",
            ItemSource::Command("chronyc -n tracking".into()),
            sync,
        );
    }
    if procs.running(ctx, "ntpd") {
        let out = ctx.command(NTPQ, &["-c", "rv"]).await;
        let sync = out.and_then(|t| ntp_synchronized(&t));
        return ("ntpd", ItemSource::Command("ntpq -c rv".into()), sync);
    }
    if procs.running(ctx, "systemd-timesyncd") {
        return (
            "systemd-timesyncd",
            file(TIMESYNCD_FLAG),
            Ok(ctx.path(TIMESYNCD_FLAG).exists()),
        );
    }
    (
        "none",
        file("/proc/<pid>/stat"),
        Err("no time synchronisation daemon is running (chronyd, ntpd, systemd-timesyncd)".into()),
    )
}

#[async_trait]
impl Collector for Logging {
    fn name(&self) -> &'static str {
        "host.logging"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let procs = Processes::read(ctx);
        let stat = || file("/proc/<pid>/stat");
        let running = |name: &str| {
            procs
                .as_ref()
                .map(|p| p.running(ctx, name))
                .map_err(Clone::clone)
        };
        let (audit_source, audit) = audit(ctx);
        let coverage = audit
            .as_ref()
            .map(|a| a.events.coverage())
            .map_err(Clone::clone);
        let forwarded = procs
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|p| forwarding(ctx, p));
        let (daemon, sync_source, synchronized) = match &procs {
            Ok(p) => {
                let (d, s, sync) = time_sync(ctx, p).await;
                (Ok(d), s, sync)
            }
            Err(e) => (Err(e.clone()), stat(), Err(e.clone())),
        };
        let rsyslog = || file("/etc/rsyslog.conf");
        Ok(vec![
            fact("host.audit.auditd_running", stat(), running("auditd")),
            fact(
                "host.audit.rule_count",
                file(audit_source),
                audit.as_ref().map(|a| a.count).map_err(Clone::clone),
            ),
            fact(
                "host.audit.immutable",
                file(audit_source),
                audit.as_ref().map(|a| a.immutable).map_err(Clone::clone),
            ),
            fact(
                "host.audit.event_coverage",
                file(audit_source),
                coverage.as_ref().map(|c| {
                    serde_json::Value::Object(
                        c.iter()
                            .map(|(f, covered)| (f.to_string(), (*covered).into()))
                            .collect(),
                    )
                }).map_err(Clone::clone),
            ),
            fact(
                "host.audit.events_missing",
                file(audit_source),
                coverage.map(|c| {
                    c.into_iter()
                        .filter(|(_, covered)| !covered)
                        .map(|(f, _)| f.to_string())
                        .collect::<Vec<_>>()
                }),
            ),
            fact(
                "host.logging.journald_persistent",
                file("/etc/systemd/journald.conf"),
                procs
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|p| journald_persistent(ctx, p)),
            ),
            fact(
                "host.logging.remote_forwarding",
                rsyslog(),
                forwarded
                    .as_ref()
                    .map(|t| !t.is_empty())
                    .map_err(Clone::clone),
            ),
            fact("host.logging.remote_targets", rsyslog(), forwarded),
            fact("host.time.sync_daemon", stat(), daemon),
            fact("host.time.synchronized", sync_source, synchronized),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::procs::write_test_file as write;
    use crate::host::procs::write_test_stat as stat;

    /// The targets `parse` finds in `conf`, sorted.
    fn targets(parse: TargetParser, conf: &str) -> Vec<String> {
        let mut out = BTreeSet::new();
        parse(conf, &mut out);
        out.into_iter().collect()
    }

    #[test]
    fn settings_take_the_last_uncommented_value() {
        let conf = "[Journal]\n#Storage=auto\nStorage = volatile\n; Storage=none\nStorage=\"persistent\"\n";
        assert_eq!(setting(conf, "Storage"), Some("persistent"));
        assert_eq!(
            setting("DEFAULT_INPUT_POLICY='DROP'\n", "DEFAULT_INPUT_POLICY"),
            Some("DROP")
        );
        assert_eq!(setting("#ENABLED=yes\n", "ENABLED"), None);
        assert_eq!(setting("ENABLED_X=yes\n", "ENABLED"), None);
    }

    #[test]
    fn audit_rules_count_only_rules() {
        let text = "## First rule - delete all\n-D\n-b 8192\n--backlog_wait_time 60000\n-f 1\n\n\
                    -w /etc/passwd -p wa -k identity\n  -a always,exit -F arch=b64 -S adjtimex -k time-change\n\
                    -A exclude,always -F msgtype=CWD\n# -w /etc/shadow -p wa\n-W /etc/group\n-e 2\n";
        assert_eq!(audit_rules(text), (3, Some(2)));
        assert_eq!(audit_rules("-e 1\n"), (0, Some(1)));
        assert_eq!(audit_rules(""), (0, None));
    }

    /// The CIS rule set (Ubuntu 22.04 benchmark, section 4.1.3) covers every family; each
    /// family is lost when its rules are, and rules that record nothing do not count.
    #[test]
    fn audit_event_families_from_cis_rules() {
        let cis = "\
-w /etc/group -p wa -k identity\n-w /etc/passwd -p wa -k identity\n\
-w /etc/gshadow -p wa -k identity\n-w /etc/shadow -p wa -k identity\n\
-w /etc/sudoers -p wa -k scope\n-w /etc/sudoers.d/ -p wa -k scope\n\
-w /var/log/lastlog -p wa -k logins\n-w /var/run/faillock -p wa -k logins\n\
-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change\n\
-w /etc/localtime -p wa -k time-change\n\
-a always,exit -F arch=b64 -S init_module,finit_module,delete_module,create_module,query_module -F auid>=1000 -F auid!=unset -k kernel_modules\n\
-a always,exit -F path=/usr/bin/kmod -F perm=x -F auid>=1000 -F auid!=unset -k kernel_modules\n\
-a always,exit -F arch=b64 -S chmod,fchmod,fchmodat -F auid>=1000 -F auid!=unset -F key=perm_mod\n\
-a always,exit -F arch=b64 -S chown,fchown,lchown,fchownat -F auid>=1000 -F auid!=unset -F key=perm_mod\n\
-a always,exit -F arch=b64 -S setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr -F auid>=1000 -F auid!=unset -F key=perm_mod\n\
-a always,exit -F arch=b64 -S mount -F auid>=1000 -F auid!=unset -k mounts\n";
        let covered = |text: &str| {
            let mut e = AuditEvents::default();
            e.read(text);
            e.coverage()
                .into_iter()
                .filter(|(_, c)| *c)
                .map(|(f, _)| f)
                .collect::<Vec<_>>()
        };
        assert_eq!(covered(cis), AUDIT_FAMILIES);
        assert_eq!(covered(""), Vec::<&str>::new());
        // A read-only watch records no change; a never rule records nothing.
        let weak = cis
            .replace("-w /etc/shadow -p wa", "-w /etc/shadow -p r")
            .replace("always,exit -F arch=b64 -S mount", "never,exit -F arch=b64 -S mount");
        assert_eq!(
            covered(&weak),
            [
                "sudoers",
                "logins",
                "time_change",
                "kernel_modules",
                "permission_changes"
            ]
        );
        // Watching the tools alone misses a program that loads a module itself.
        let tools = cis.replace("-S init_module,finit_module,delete_module", "-S create_module");
        assert!(!covered(&tools).contains(&"kernel_modules"));
        // -F path= with perm= is a watch; a watch without -p records writes too; exit,always
        // is the same as always,exit; -S all covers every call.
        let other_forms = "-a exit,always -F path=/etc/passwd -F perm=wa\n-w /etc/group\n\
                           -a always,exit -F dir=/etc/shadow -F perm=a\n-w /etc/gshadow -p w\n\
                           -A always,exit -S all\n";
        assert_eq!(
            covered(other_forms),
            ["identity", "kernel_modules", "permission_changes", "mounts"]
        );
        // Logins need a record of logins and one of failures.
        assert!(!covered("-w /var/log/lastlog -p wa\n").contains(&"logins"));
        assert!(covered("-w /var/log/wtmp -p wa\n-w /var/log/btmp -p wa\n").contains(&"logins"));
    }

    #[test]
    fn host_ports_with_defaults_and_ipv6() {
        assert_eq!(
            host_port("logs.example.net", 514).unwrap(),
            "logs.example.net:514"
        );
        assert_eq!(host_port("10.0.0.5:10514", 514).unwrap(), "10.0.0.5:10514");
        assert_eq!(
            host_port("[2001:db8::1]:6514", 514).unwrap(),
            "[2001:db8::1]:6514"
        );
        assert_eq!(host_port("2001:db8::1", 514).unwrap(), "[2001:db8::1]:514");
        assert_eq!(host_port("host:notaport", 514), None);
        assert_eq!(host_port("", 514), None);
    }

    #[test]
    fn rsyslog_legacy_and_rainerscript_forwarding() {
        let conf = r#"
# Forward everything (commented: not active)
#*.* @@remote-host:514
*.* @@(o,z9)siem.example.net:10514;RSYSLOG_SyslogProtocol23Format
authpriv.*   @10.1.2.3
:programname, isequal, "sshd" @[2001:db8::7]:5140
mail.*  -/var/log/mail.log
#action(type="omfwd" target="commented.example" port="514")
*.* action(type="omfwd"
           Target="logs.example.net" port="6514" protocol="tcp"
           StreamDriver="gtls" template="RSYSLOG_ForwardFormat")
module(load="imfile")
action(type="omfile" file="/var/log/x")
action (type="omrelp" target="relp.example.net")
"#;
        assert_eq!(
            targets(rsyslog_targets, conf),
            [
                "10.1.2.3:514",
                "[2001:db8::7]:5140",
                "logs.example.net:6514",
                "relp.example.net:514",
                "siem.example.net:10514"
            ]
        );
    }

    #[test]
    fn syslog_ng_destinations_count_when_a_log_path_uses_them() {
        let conf = r#"
@version: 3.38
source s_src { system(); internal(); };
destination d_syslog { file("/var/log/syslog"); };
destination d_remote { network("10.9.8.7" transport("tcp") port(6514)); };
destination d_legacy {
    udp("old.example.net"); # port(999) in a comment
};
destination d_unused { tcp("unused.example.net" port(1514)); };
destination d_rfc5424 { syslog("collector.example.net" transport("tls")); };
log { source(s_src); destination(d_syslog); destination(d_remote); };
log { source(s_src); destination(d_legacy); destination( d_rfc5424 ); };
"#;
        assert_eq!(
            targets(syslog_ng_targets, conf),
            [
                "10.9.8.7:6514",
                "collector.example.net:6514",
                "old.example.net:514"
            ]
        );
    }

    #[test]
    fn journal_upload_urls() {
        assert_eq!(
            upload_target("https://logs.example.com:19532").unwrap(),
            "logs.example.com:19532"
        );
        assert_eq!(
            upload_target("http://10.0.0.9/upload").unwrap(),
            "10.0.0.9:19532"
        );
        assert_eq!(
            upload_target("https://[2001:db8::2]:443/x").unwrap(),
            "[2001:db8::2]:443"
        );
        assert_eq!(upload_target("collector").unwrap(), "collector:19532");
    }

    #[test]
    fn chrony_and_ntp_sync_states() {
        let synced = "Reference ID    : C0A80101 (192.168.1.1)\nStratum         : 3\n\
                      System time     : 0.000012 seconds fast of NTP time\nLeap status     : Normal\n";
        assert_eq!(chrony_synchronized(synced), Ok(true));
        let unsynced = "Reference ID    : 00000000 ()\nStratum         : 0\nLeap status     : Not synchronised\n";
        assert_eq!(chrony_synchronized(unsynced), Ok(false));
        assert!(chrony_synchronized("506 Cannot talk to daemon\n").is_err());
        let rv = "associd=0 status=0615 leap_none, sync_ntp, 1 event, clock_sync,\n\
                  version=\"ntpd 4.2.8p15@1.3728-o\", processor=\"x86_64\",\nleap=00, stratum=2, precision=-24,";
        assert_eq!(ntp_synchronized(rv), Ok(true));
        assert_eq!(
            ntp_synchronized(
                "associd=0 status=c016 leap_alarm, sync_unspec,\nleap=11, stratum=16,"
            ),
            Ok(false)
        );
        assert!(ntp_synchronized("ntpq: read: Connection refused").is_err());
    }

    #[test]
    fn journald_persistence_needs_a_running_journald_and_follows_drop_ins() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let ctx = CollectContext::for_test(root);
        stat(root, "1 (systemd) S 0 1 1 0 -1 4194560 0 0 0 0");
        let persistent = || journald_persistent(&ctx, &Processes::read(&ctx).unwrap());
        assert_eq!(
            persistent().unwrap_err(),
            "not installed: /usr/lib/systemd/systemd-journald"
        );
        write(root, "usr/lib/systemd/systemd-journald", "");
        write(
            root,
            "etc/systemd/journald.conf",
            "[Journal]\n#Storage=auto\n",
        );
        assert_eq!(
            persistent().unwrap_err(),
            "systemd-journald is not running: no journal is kept"
        );
        stat(root, "300 (systemd-journal) S 1 300 300 0 -1 4194560 0 0");
        write(root, "proc/300/cmdline", "/lib/systemd/systemd-journald\0");
        assert_eq!(persistent(), Ok(false), "auto without /var/log/journal");
        std::fs::create_dir_all(root.join("var/log/journal")).unwrap();
        assert_eq!(persistent(), Ok(true), "auto with /var/log/journal");
        write(
            root,
            "etc/systemd/journald.conf.d/10-ram.conf",
            "Storage=volatile\n",
        );
        assert_eq!(persistent(), Ok(false));
        // Drop-ins apply by file name, whatever their directory…
        let vendor = "usr/lib/systemd/journald.conf.d/20-disk.conf";
        write(root, vendor, "[Journal]\nStorage=persistent\n");
        assert_eq!(persistent(), Ok(true));
        // …and one in /etc hides the same name elsewhere.
        write(
            root,
            "etc/systemd/journald.conf.d/20-disk.conf",
            "Storage=none\n",
        );
        assert_eq!(persistent(), Ok(false));
        write(
            root,
            "etc/systemd/journald.conf.d/30-typo.conf",
            "Storage=disk\n",
        );
        assert_eq!(
            persistent().unwrap_err(),
            "Storage=disk in /etc/systemd/journald.conf.d/30-typo.conf is not a journald storage mode"
        );
    }
}
