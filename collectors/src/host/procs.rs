//! The running processes, shared by the network, logging and malware areas: pid → name from
//! `/proc/<pid>/stat`, a name matched the way the kernel truncates it, and socket inode → the
//! process holding it from the `/proc/<pid>/fd` links.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use crate::{CollectContext, describe_io};

/// The longest process name the kernel keeps (`TASK_COMM_LEN` 16, less the terminating NUL).
pub const COMM_MAX: usize = 15;

/// Why the process table cannot be trusted when PID 1 is not listed.
const HIDDEN: &str = "permission denied: other users' processes are hidden \
                      (/proc is mounted with hidepid), so the process list would be partial";

/// One live process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// Its process id.
    pub pid: u32,
    /// Its name as the kernel keeps it (`comm`): the program's file name, cut to 15 bytes.
    pub comm: String,
}

/// The user-space processes alive when read (kernel threads and zombies left out), by pid.
#[derive(Clone, Debug)]
pub struct Processes(Vec<Process>);

/// How a process name compares with a wanted program name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameMatch {
    /// The names are equal.
    Exact,
    /// The wanted name is longer than the kernel keeps and starts with the process name: the
    /// command line has to tell.
    Truncated,
    /// A different program.
    No,
}

/// Compares a process name (`comm`) with a program name, minding the kernel's truncation.
pub fn comm_matches(comm: &str, name: &str) -> NameMatch {
    if comm == name {
        NameMatch::Exact
    } else if name.len() > COMM_MAX
        && comm.len() == COMM_MAX
        && name.as_bytes()[..COMM_MAX] == *comm.as_bytes()
    {
        NameMatch::Truncated
    } else {
        NameMatch::No
    }
}

/// Whether the program file of a command line (`/proc/<pid>/cmdline`, NUL-separated) is
/// `name`: the base name of its first word, or of its second when the first is an interpreter
/// running a script.
pub fn cmdline_names(cmdline: &[u8], name: &str) -> bool {
    cmdline
        .split(|b| *b == 0)
        .take(2)
        .any(|arg| arg.rsplit(|b| *b == b'/').next() == Some(name.as_bytes()))
}

/// (name, state, flags) of a `/proc/<pid>/stat` line: the name sits between the first `(` and
/// the last `)`, as it may itself hold spaces and parentheses.
pub fn parse_stat(line: &str) -> Option<(&str, char, u64)> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let name = line.get(open + 1..close)?;
    let mut rest = line.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let flags = rest.nth(5)?.parse().ok()?;
    Some((name, state, flags))
}

/// `PF_KTHREAD`: the process is a kernel thread.
const PF_KTHREAD: u64 = 0x0020_0000;

impl Processes {
    /// Reads every process's `/proc/<pid>/stat`. A process that ends meanwhile is left out;
    /// a process list that would be partial (another user's process unreadable or hidden) is
    /// an error naming why.
    pub fn read(ctx: &CollectContext) -> Result<Self, String> {
        let dir = std::fs::read_dir(ctx.path("/proc")).map_err(|e| describe_io("/proc", &e))?;
        let mut pids: Vec<u32> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        if pids.first() != Some(&1) {
            return Err(HIDDEN.to_string());
        }
        let mut list = Vec::with_capacity(pids.len());
        for pid in pids {
            let abs = format!("/proc/{pid}/stat");
            let line = match std::fs::read_to_string(ctx.path(&abs)) {
                Ok(line) => line,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(describe_io(&abs, &e)),
            };
            let (comm, state, flags) =
                parse_stat(&line).ok_or_else(|| format!("{abs} is not a process status line"))?;
            if flags & PF_KTHREAD == 0 && !matches!(state, 'Z' | 'X') {
                list.push(Process {
                    pid,
                    comm: comm.to_string(),
                });
            }
        }
        Ok(Processes(list))
    }

    /// The lowest-numbered process running the program `name` (`chronyd`,
    /// `systemd-journal-upload`): names the kernel truncated are confirmed from the command
    /// line, so `systemd-journald` does not count as `systemd-journal-upload`.
    pub fn find(&self, ctx: &CollectContext, name: &str) -> Option<&Process> {
        self.0.iter().find(|p| match comm_matches(&p.comm, name) {
            NameMatch::Exact => true,
            NameMatch::No => false,
            // Unreadable or empty (the process ended): the name is all there is.
            NameMatch::Truncated => std::fs::read(ctx.path(&format!("/proc/{}/cmdline", p.pid)))
                .ok()
                .filter(|c| !c.is_empty())
                .is_none_or(|c| cmdline_names(&c, name)),
        })
    }

    /// Whether a process runs the program `name` (see [`Processes::find`]).
    pub fn running(&self, ctx: &CollectContext, name: &str) -> bool {
        self.find(ctx, name).is_some()
    }

    /// The name of the process holding each socket of `inodes` (the lowest pid when several
    /// share one), from the `socket:[inode]` links in `/proc/<pid>/fd`. Another user's open
    /// files are readable only with root's ptrace rights: meeting one before every socket is
    /// placed is an error, never a partial answer. A socket no process holds (the kernel's own)
    /// has no entry.
    pub fn socket_owners(
        &self,
        ctx: &CollectContext,
        inodes: &BTreeSet<u64>,
    ) -> Result<BTreeMap<u64, String>, String> {
        let mut owners = BTreeMap::new();
        for p in &self.0 {
            if owners.len() == inodes.len() {
                break;
            }
            let dir_abs = format!("/proc/{}/fd", p.pid);
            let entries = match std::fs::read_dir(ctx.path(&dir_abs)) {
                Ok(entries) => entries,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(fd_error(&dir_abs, &e)),
            };
            for entry in entries {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(e) if gone(&e) => continue,
                    Err(e) => return Err(fd_error(&dir_abs, &e)),
                };
                let target = match std::fs::read_link(entry.path()) {
                    Ok(target) => target,
                    Err(e) if gone(&e) => continue,
                    Err(e) => return Err(fd_error(&dir_abs, &e)),
                };
                if let Some(inode) = socket_inode(target.to_str().unwrap_or_default())
                    && inodes.contains(&inode)
                {
                    owners.entry(inode).or_insert_with(|| p.comm.clone());
                }
            }
        }
        Ok(owners)
    }
}

/// The inode of a `socket:[12345]` link target.
pub fn socket_inode(target: &str) -> Option<u64> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The process (or its file) went away between listing and reading.
fn gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(3)
}

/// The reason for an unreadable `/proc/<pid>/fd`.
fn fd_error(abs: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => format!(
            "permission denied reading {abs}: another process's open files need ptrace rights \
             over it (root), so not every socket's process can be named"
        ),
        _ => describe_io(abs, e),
    }
}

/// Writes `text` to `rel` below `root`, creating directories (for tests of the areas).
#[cfg(test)]
pub fn write_test_file(root: &std::path::Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Writes the `/proc/<pid>/stat` line `line` below `root`, its pid read from its start (for
/// tests of the areas).
#[cfg(test)]
pub fn write_test_stat(root: &std::path::Path, line: &str) {
    let pid = line.split(' ').next().unwrap();
    write_test_file(root, &format!("proc/{pid}/stat"), line);
}

#[cfg(test)]
mod tests {
    use super::*;
    use write_test_file as write;
    use write_test_stat as stat;

    #[test]
    fn stat_lines_give_name_state_and_flags() {
        let sshd = "488 (sshd) S 1 488 488 0 -1 4194560 1224 0 0 0 3 1 0 0 20 0 1 0 1203 \
                    15073280 2263 18446744073709551615";
        assert_eq!(parse_stat(sshd), Some(("sshd", 'S', 4_194_560)));
        // A name with a space and a parenthesis, as a process may set.
        let odd = "77 (tmux: server (x)) R 1 77 77 0 -1 4194304 10 0 0 0";
        assert_eq!(parse_stat(odd), Some(("tmux: server (x)", 'R', 4_194_304)));
        let kthread = "30 (kauditd) S 2 0 0 0 -1 2129984 0 0 0 0 0 0";
        let (_, _, flags) = parse_stat(kthread).unwrap();
        assert_ne!(flags & PF_KTHREAD, 0);
        assert_eq!(parse_stat("12 (cut"), None);
        assert_eq!(parse_stat("12 (x) S 1 2"), None);
    }

    #[test]
    fn names_match_as_the_kernel_truncates_them() {
        assert_eq!(comm_matches("clamd", "clamd"), NameMatch::Exact);
        assert_eq!(comm_matches("clamd", "clam"), NameMatch::No);
        assert_eq!(comm_matches("freshclam", "clamd"), NameMatch::No);
        // 15 bytes exactly: kept whole, so equality only.
        assert_eq!(
            comm_matches("falcon-sensor12", "falcon-sensor12"),
            NameMatch::Exact
        );
        // sentinelone-agent (17) is kept as its first 15 bytes.
        assert_eq!(
            comm_matches("sentinelone-age", "sentinelone-agent"),
            NameMatch::Truncated
        );
        assert_eq!(
            comm_matches("sentinelone", "sentinelone-agent"),
            NameMatch::No
        );
        assert_eq!(
            comm_matches("systemd-journal", "systemd-journal-upload"),
            NameMatch::Truncated
        );
        assert_eq!(
            comm_matches("systemd-journal", "systemd-journal"),
            NameMatch::Exact
        );
    }

    #[test]
    fn command_lines_confirm_truncated_names() {
        let journald = b"/lib/systemd/systemd-journald\0";
        let upload = b"/lib/systemd/systemd-journal-upload\0--save-state\0";
        assert!(!cmdline_names(journald, "systemd-journal-upload"));
        assert!(cmdline_names(upload, "systemd-journal-upload"));
        let script = b"/usr/bin/python3\0/usr/sbin/firewalld\0--nofork\0--nopid\0";
        assert!(cmdline_names(script, "firewalld"));
        assert!(!cmdline_names(script, "nofork"));
    }

    #[test]
    fn socket_links_give_inodes() {
        assert_eq!(socket_inode("socket:[21001]"), Some(21_001));
        assert_eq!(socket_inode("pipe:[21001]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }

    #[test]
    fn process_table_skips_kernel_threads_and_zombies_and_finds_owners() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        stat(root, "1 (systemd) S 0 1 1 0 -1 4194560 1 0 0 0");
        stat(root, "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0");
        stat(root, "40 (clamd) Z 1 40 40 0 -1 4194564 0 0 0 0");
        stat(root, "600 (nginx) S 1 600 600 0 -1 4194624 0 0 0 0");
        stat(root, "601 (nginx-w) S 600 600 600 0 -1 4194624 0 0 0 0");
        stat(
            root,
            "700 (systemd-journal) S 1 700 700 0 -1 4194560 0 0 0 0",
        );
        write(root, "proc/700/cmdline", "/lib/systemd/systemd-journald\0");
        write(root, "proc/net", "not a process");
        std::fs::create_dir_all(root.join("proc/600/fd")).unwrap();
        std::fs::create_dir_all(root.join("proc/601/fd")).unwrap();
        std::os::unix::fs::symlink("socket:[9]", root.join("proc/600/fd/6")).unwrap();
        std::os::unix::fs::symlink("/dev/null", root.join("proc/600/fd/0")).unwrap();
        std::os::unix::fs::symlink("socket:[9]", root.join("proc/601/fd/6")).unwrap();
        std::os::unix::fs::symlink("socket:[10]", root.join("proc/601/fd/7")).unwrap();
        let ctx = CollectContext::for_test(root);
        let procs = Processes::read(&ctx).unwrap();
        let names: Vec<&str> = procs.0.iter().map(|p| p.comm.as_str()).collect();
        assert_eq!(names, ["systemd", "nginx", "nginx-w", "systemd-journal"]);
        assert!(!procs.running(&ctx, "clamd"), "a zombie is not running");
        assert!(!procs.running(&ctx, "kthreadd"));
        assert!(!procs.running(&ctx, "systemd-journal-upload"));
        assert_eq!(procs.find(&ctx, "nginx").map(|p| p.pid), Some(600));
        let owners = procs
            .socket_owners(&ctx, &BTreeSet::from([9, 10, 11]))
            .unwrap();
        assert_eq!(
            owners,
            BTreeMap::from([(9, "nginx".to_string()), (10, "nginx-w".to_string())])
        );
    }

    #[test]
    fn a_table_without_pid_1_is_refused_as_partial() {
        let dir = tempfile::tempdir().unwrap();
        stat(dir.path(), "4242 (sh) S 1 1 1 0 -1 4194304 0 0 0 0");
        let err = Processes::read(&CollectContext::for_test(dir.path())).unwrap_err();
        assert!(err.starts_with("permission denied"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            Processes::read(&CollectContext::for_test(empty.path())).unwrap_err(),
            "not found: /proc"
        );
    }
}
