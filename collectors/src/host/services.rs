//! Services: the systemd units running and failed, and legacy clear-text services (telnet,
//! r-commands, FTP, TFTP, …) enabled or running, whatever starts them.

use std::collections::BTreeSet;

use async_trait::async_trait;
use vouch_evidence::Source as ItemSource;

use super::procs::Processes;
use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, command_line,
    describe_io, fact, file,
};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.services.running",
        value_type: ValueType::StringList,
        meaning: "Service units systemd runs (active, sub-state running), sorted. Unavailable \
                  where systemd is not the init system.",
        source: "`systemctl list-units --all --no-legend --plain --no-pager`",
        context_only: Some(
            "inventory of running services; legacy clear-text and failed ones are judged.",
        ),
    },
    EvidenceSpec {
        id: "host.services.failed",
        value_type: ValueType::StringList,
        meaning: "Units of every type (services, mounts, timers, sockets…) in the failed state, \
                  sorted; empty when none failed. Unavailable where systemd is not the init \
                  system.",
        source: "`systemctl list-units --all --no-legend --plain --no-pager`",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.services.enabled_insecure",
        value_type: ValueType::StringList,
        meaning: "Legacy clear-text services (telnet, rsh/rlogin/rexec, FTP, TFTP, talk, \
                  finger, NIS, the inetd and xinetd super-servers) enabled or running, sorted: \
                  a systemd unit enabled in /etc/systemd/system/*.wants or active \
                  (`telnet.socket`), `inetd:<service>` for an active /etc/inetd.conf line, \
                  `xinetd:<service>` for an /etc/xinetd.d service not disabled, \
                  `process:<name>` for a running program. Empty: none.",
        source: "/etc/systemd/system/*.wants, systemctl list-units, /etc/inetd.conf, \
                 /etc/xinetd.d, /proc/<pid>/stat",
        context_only: None,
    },
];

/// The collector.
pub struct Services;

const SYSTEMCTL: &str = "/usr/bin/systemctl";
const LIST_UNITS: &[&str] = &[
    "list-units",
    "--all",
    "--no-legend",
    "--plain",
    "--no-pager",
];
const SYSTEMD_RUNNING: &str = "/run/systemd/system";
const SYSTEMD_ETC: &str = "/etc/systemd/system";
const INETD_CONF: &str = "/etc/inetd.conf";
const XINETD_DIR: &str = "/etc/xinetd.d";

/// Unit names (before `@` or the type suffix) of legacy clear-text services.
const INSECURE_UNITS: &[&str] = &[
    "telnet",
    "telnetd",
    "inetutils-telnetd",
    "rsh",
    "rlogin",
    "rexec",
    "vsftpd",
    "proftpd",
    "pure-ftpd",
    "inetutils-ftpd",
    "tftp",
    "tftpd-hpa",
    "atftpd",
    "talk",
    "ntalk",
    "finger",
    "ypserv",
    "ypbind",
    "xinetd",
    "inetd",
    "openbsd-inetd",
    "inetutils-inetd",
];

/// Service names (as in /etc/services) that inetd or xinetd would serve in clear text.
const INSECURE_INET_SERVICES: &[&str] = &[
    "telnet", "shell", "login", "exec", "rsh", "rlogin", "rexec", "ftp", "tftp", "talk", "ntalk",
    "finger",
];

/// Program names of legacy clear-text servers.
const INSECURE_PROGRAMS: &[&str] = &[
    "in.telnetd",
    "telnetd",
    "in.rshd",
    "in.rlogind",
    "in.rexecd",
    "vsftpd",
    "proftpd",
    "pure-ftpd",
    "in.ftpd",
    "in.tftpd",
    "atftpd",
    "in.talkd",
    "in.ntalkd",
    "in.fingerd",
    "ypserv",
    "ypbind",
    "xinetd",
    "inetd",
];

/// The values of systemd's ACTIVE column.
const ACTIVE_STATES: &[&str] = &[
    "active",
    "reloading",
    "inactive",
    "failed",
    "activating",
    "deactivating",
    "maintenance",
    "refreshing",
];

/// One line of `systemctl list-units`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    /// `UNIT`.
    pub name: String,
    /// `ACTIVE`: active, inactive, failed, activating…
    pub active: String,
    /// `SUB`: running, exited, dead, listening…
    pub sub: String,
}

/// Parses `systemctl list-units --no-legend --plain` output (a failed unit may be marked
/// with a leading `●` or `*`).
pub fn parse_units(out: &str) -> Result<Vec<Unit>, String> {
    let mut units = Vec::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let mut f = line
            .split_whitespace()
            .skip_while(|w| *w == "●" || *w == "*");
        let (Some(name), Some(_load), Some(active), Some(sub)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            return Err(format!("unexpected line in the systemctl output: {line:?}"));
        };
        if !ACTIVE_STATES.contains(&active) {
            return Err(format!("unexpected line in the systemctl output: {line:?}"));
        }
        units.push(Unit {
            name: name.to_string(),
            active: active.to_string(),
            sub: sub.to_string(),
        });
    }
    Ok(units)
}

/// Whether a unit name (`telnet@0-10.0.0.1:23-10.0.0.2:5555.service`, `vsftpd.service`)
/// is one of [`INSECURE_UNITS`].
pub fn insecure_unit(unit: &str) -> bool {
    let stem = unit.rsplit_once('.').map_or(unit, |(s, _)| s);
    let stem = stem.split_once('@').map_or(stem, |(s, _)| s);
    INSECURE_UNITS.contains(&stem)
}

/// The services of /etc/inetd.conf lines that are not commented out (`#<off>#` included).
pub fn inetd_services(conf: &str) -> Vec<&str> {
    conf.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        // `address:service` binds the service to one address.
        .map(|s| s.rsplit_once(':').map_or(s, |(_, svc)| svc))
        .collect()
}

/// The services of an xinetd file whose block does not say `disable = yes`.
pub fn xinetd_services(conf: &str) -> Vec<&str> {
    let mut enabled = Vec::new();
    let mut current: Option<(&str, bool)> = None;
    for line in conf.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("service") {
            current = Some((name.trim(), false));
        } else if line.starts_with('}') {
            if let Some((name, false)) = current.take() {
                enabled.push(name);
            }
        } else if let Some((key, value)) = line.split_once('=')
            && key.trim() == "disable"
            && let Some((_, disabled)) = current.as_mut()
        {
            *disabled = value.trim() == "yes";
        }
    }
    enabled
}

/// Units enabled through the `.wants` and `.requires` links of /etc/systemd/system.
fn enabled_units(ctx: &CollectContext) -> Result<Vec<String>, String> {
    let top = match std::fs::read_dir(ctx.path(SYSTEMD_ETC)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(describe_io(SYSTEMD_ETC, &e)),
    };
    let mut units = Vec::new();
    for entry in top.flatten() {
        let dir = entry.file_name().to_string_lossy().into_owned();
        if !(dir.ends_with(".wants") || dir.ends_with(".requires")) {
            continue;
        }
        let abs = format!("{SYSTEMD_ETC}/{dir}");
        let links = std::fs::read_dir(ctx.path(&abs)).map_err(|e| describe_io(&abs, &e))?;
        units.extend(
            links
                .flatten()
                .map(|l| l.file_name().to_string_lossy().into_owned()),
        );
    }
    Ok(units)
}

/// `Ok(None)` when the file does not exist.
fn read_optional(ctx: &CollectContext, abs: &str) -> Result<Option<String>, String> {
    match ctx.read(abs) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.starts_with("not found") => Ok(None),
        Err(e) => Err(e),
    }
}

fn xinetd_enabled(ctx: &CollectContext) -> Result<Vec<String>, String> {
    let entries = match std::fs::read_dir(ctx.path(XINETD_DIR)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(describe_io(XINETD_DIR, &e)),
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut services = Vec::new();
    for name in names {
        let text = ctx.read(&format!("{XINETD_DIR}/{name}"))?;
        services.extend(xinetd_services(&text).into_iter().map(str::to_string));
    }
    Ok(services)
}

/// Everything insecure enabled or running; `active` is systemd's unit list when it runs.
fn insecure(ctx: &CollectContext, active: Option<&[Unit]>) -> Result<Vec<String>, String> {
    let mut found = BTreeSet::new();
    for unit in enabled_units(ctx)? {
        if insecure_unit(&unit) {
            found.insert(unit);
        }
    }
    for unit in active.unwrap_or_default() {
        if matches!(unit.active.as_str(), "active" | "activating" | "reloading")
            && insecure_unit(&unit.name)
        {
            found.insert(unit.name.clone());
        }
    }
    let inet = |s: &str| INSECURE_INET_SERVICES.contains(&s);
    if let Some(conf) = read_optional(ctx, INETD_CONF)? {
        for s in inetd_services(&conf).into_iter().filter(|s| inet(s)) {
            found.insert(format!("inetd:{s}"));
        }
    }
    for s in xinetd_enabled(ctx)?.into_iter().filter(|s| inet(s)) {
        found.insert(format!("xinetd:{s}"));
    }
    let processes = Processes::read(ctx)?;
    for program in INSECURE_PROGRAMS {
        if processes.running(ctx, program) {
            found.insert(format!("process:{program}"));
        }
    }
    Ok(found.into_iter().collect())
}

#[async_trait]
impl Collector for Services {
    fn name(&self) -> &'static str {
        "host.services"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let source = ItemSource::Command(command_line(SYSTEMCTL, LIST_UNITS));
        let systemd = ctx.path(SYSTEMD_RUNNING).is_dir();
        let units = if systemd {
            ctx.command(SYSTEMCTL, LIST_UNITS)
                .await
                .and_then(|out| parse_units(&out))
        } else {
            Err(format!("systemd is not running (no {SYSTEMD_RUNNING})"))
        };
        let pick = |keep: fn(&Unit) -> bool| {
            units.as_ref().map_err(Clone::clone).map(|u| {
                let mut names: Vec<String> = u
                    .iter()
                    .filter(|u| keep(u))
                    .map(|u| u.name.clone())
                    .collect();
                names.sort();
                names.dedup();
                names
            })
        };
        let running =
            pick(|u| u.name.ends_with(".service") && u.active == "active" && u.sub == "running");
        let failed = pick(|u| u.active == "failed");
        let insecure = match &units {
            Ok(u) => insecure(ctx, Some(u)),
            Err(_) if !systemd => insecure(ctx, None),
            Err(e) => Err(e.clone()),
        };
        Ok(vec![
            fact("host.services.running", source.clone(), running),
            fact("host.services.failed", source, failed),
            fact(
                "host.services.enabled_insecure",
                file(SYSTEMD_ETC),
                insecure,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_lines() {
        let out = "\
  cron.service                 loaded    active   running Regular background program processing daemon
● logrotate.service            loaded    failed   failed  Rotate log files
* mnt-backup.mount             loaded    failed   failed  /mnt/backup
  ssh.socket                   loaded    active   listening OpenBSD Secure Shell server socket
  systemd-fsck-root.service    loaded    inactive dead    File System Check on Root Device
  nfs-server.service           not-found inactive dead    nfs-server.service
";
        let units = parse_units(out).unwrap();
        assert_eq!(units.len(), 6);
        assert_eq!(
            units[1],
            Unit {
                name: "logrotate.service".into(),
                active: "failed".into(),
                sub: "failed".into()
            }
        );
        assert_eq!(units[2].name, "mnt-backup.mount");
        assert_eq!(units[5].active, "inactive");
        assert!(parse_units("0 loaded units listed.\n").is_err());
        assert_eq!(parse_units("\n").unwrap(), []);
    }

    #[test]
    fn insecure_unit_names() {
        for unit in [
            "telnet.socket",
            "telnet@0-10.0.0.5:23-10.0.0.9:51234.service",
            "vsftpd.service",
            "tftp.socket",
            "rlogin.socket",
            "xinetd.service",
            "openbsd-inetd.service",
        ] {
            assert!(insecure_unit(unit), "{unit}");
        }
        for unit in [
            "ssh.service",
            "sshd.socket",
            "telnetlike.service",
            "ftp-proxy.service",
        ] {
            assert!(!insecure_unit(unit), "{unit}");
        }
    }

    #[test]
    fn inetd_and_xinetd_configuration() {
        let inetd = "# /etc/inetd.conf\n#:STANDARD: These are standard services.\n\
                     telnet\tstream\ttcp\tnowait\ttelnetd\t/usr/sbin/tcpd\t/usr/sbin/in.telnetd\n\
                     #<off># ftp\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/in.ftpd\n\
                     127.0.0.1:tftp dgram udp wait nobody /usr/sbin/tcpd /usr/sbin/in.tftpd\n\
                     ident stream tcp wait identd /usr/sbin/identd identd\n";
        assert_eq!(inetd_services(inetd), ["telnet", "tftp", "ident"]);
        let xinetd = "# default: off\nservice telnet\n{\n\tflags = REUSE\n\tdisable = no\n}\n\
                      service tftp\n{\n\tsocket_type = dgram\n\tdisable\t= yes\n}\n\
                      service finger\n{\n\tserver = /usr/sbin/in.fingerd\n}\n";
        assert_eq!(xinetd_services(xinetd), ["telnet", "finger"]);
    }

    #[tokio::test]
    async fn without_systemctl_under_systemd_nothing_is_guessed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("run/systemd/system")).unwrap();
        std::fs::create_dir_all(dir.path().join("proc/1")).unwrap();
        std::fs::write(
            dir.path().join("proc/1/stat"),
            "1 (systemd) S 0 1 1 0 -1 4194560 1893 0 2 0 14 9 0 0 20 0 1 0 3\n",
        )
        .unwrap();
        let facts = Services
            .collect(&CollectContext::for_test(dir.path()))
            .await
            .unwrap();
        for (id, item) in facts {
            assert_eq!(
                item.reason.as_deref(),
                Some("not installed: /usr/bin/systemctl"),
                "{id}"
            );
        }
    }
}
