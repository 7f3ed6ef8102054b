//! Logging, monitoring and time: auditd, its rules and the events they record, journald
//! persistence, forwarding of logs to a remote collector, and clock synchronisation.

use std::collections::BTreeMap;

use async_trait::async_trait;
use vouch_evidence::Source as ItemSource;

use super::procs::Processes;
use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, describe_io, fact,
    file,
};

mod audit;
mod forwarding;
pub use audit::*;
pub use forwarding::*;

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
    use std::collections::BTreeSet;

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
