//! Identity and access: accounts (/etc/passwd), password storage (counts and hash algorithms
//! from /etc/shadow, never a hash), per-account password ageing (shadow's ageing fields only),
//! sudo rules that need no password, password ageing for new accounts (/etc/login.defs),
//! password quality and lockout (PAM).

use std::collections::BTreeMap;

use async_trait::async_trait;
use vouch_evidence::Source as ItemSource;

use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, describe_io, exists,
    fact, file,
};

mod pam;
mod sudoers;
use pam::*;
pub(crate) use sudoers::dir_names;
use sudoers::*;

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.accounts.uid0",
        value_type: ValueType::StringList,
        meaning: "Accounts with user id 0 (root's privileges), in /etc/passwd order; anything \
                  but `[\"root\"]` deserves a look.",
        source: "/etc/passwd",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.accounts.interactive",
        value_type: ValueType::StringList,
        meaning: "Accounts whose shell is a login shell, in /etc/passwd order: any shell but \
                  nologin, false, true, sync, shutdown and halt (an empty shell field means \
                  /bin/sh and counts).",
        source: "/etc/passwd",
        context_only: Some(
            "the accounts that can log in, for the access review; no list is right or wrong without the organisation's joiner and leaver records.",
        ),
    },
    EvidenceSpec {
        id: "host.accounts.empty_password_count",
        value_type: ValueType::Integer,
        meaning: "Accounts whose password field is empty: where PAM allows it (`nullok`), they \
                  log in without a password. A count only.",
        source: "/etc/shadow (needs root)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.accounts.no_password_count",
        value_type: ValueType::Integer,
        meaning: "Accounts with no usable password: locked or never set (`!`, `!!`, `*`, a \
                  hash behind `!`, or anything that is not a password hash). A count only.",
        source: "/etc/shadow (needs root)",
        context_only: Some(
            "locked and key-only accounts, the context of host.accounts.password_hash_algorithms; having them is no fault.",
        ),
    },
    EvidenceSpec {
        id: "host.accounts.password_hash_algorithms",
        value_type: ValueType::Object,
        meaning: "Usable password hashes counted by algorithm, from the hash prefix only: \
                  `{\"yescrypt\": 3, \"sha512\": 1, \"md5\": 1}` (also sha256, bcrypt, scrypt, \
                  gost-yescrypt, sun-md5, sha1, nthash, bsdi-des, des, unknown). Never a hash.",
        source: "/etc/shadow (needs root)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.accounts.password_ageing",
        value_type: ValueType::ObjectList,
        meaning: "Per account with a usable password (a hash not locked with `!` or `*`), in \
                  /etc/shadow order, its ageing fields (3 to 8) only: `{account, last_changed \
                  (date; 1970-01-01 means the password must change at the next login), \
                  min_days, max_days, warn_days, inactive_days, expires (date)}`, each null \
                  when the field is empty (no limit; max_days 99999 also means none). The \
                  password field is looked at only to tell whether it holds a usable hash, and \
                  never kept.",
        source: "/etc/shadow (needs root)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sudo.nopasswd_rules",
        value_type: ValueType::StringList,
        meaning: "sudo rules that run commands without asking for a password: rules with a \
                  NOPASSWD tag, and Defaults entries that turn authentication off \
                  (`!authenticate`), as `<file>:<line>: <rule>`, in the order sudo reads them \
                  (includes followed where they stand). Empty when sudo is not installed. \
                  Rules kept in LDAP or SSSD are not seen.",
        source: "/etc/sudoers with its @include/#include and @includedir/#includedir files \
                 (needs root)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.sudo.nopasswd_count",
        value_type: ValueType::Integer,
        meaning: "Number of host.sudo.nopasswd_rules.",
        source: "/etc/sudoers and the files it includes (needs root)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.password.max_days",
        value_type: ValueType::Integer,
        meaning: "Maximum days a password may be used before it must be changed, for new \
                  accounts (`PASS_MAX_DAYS`; 99999 means never).",
        source: "/etc/login.defs",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.password.min_days",
        value_type: ValueType::Integer,
        meaning: "Minimum days between password changes, for new accounts (`PASS_MIN_DAYS`).",
        source: "/etc/login.defs",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.password.warn_age",
        value_type: ValueType::Integer,
        meaning: "Days of warning before a password expires, for new accounts \
                  (`PASS_WARN_AGE`).",
        source: "/etc/login.defs",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.password.encrypt_method",
        value_type: ValueType::String,
        meaning: "Hash method the shadow tools (chpasswd, newusers) use for new passwords \
                  (`ENCRYPT_METHOD`, as written: SHA512, YESCRYPT, MD5…); passwd(1) follows \
                  the PAM pam_unix arguments instead.",
        source: "/etc/login.defs",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.password.quality_enforced",
        value_type: ValueType::Bool,
        meaning: "New passwords must pass a quality check: pam_pwquality or pam_cracklib is in \
                  the PAM password stack as required or requisite (and pwquality's `enforcing` \
                  is not 0), in every stack file (RHEL: system-auth and password-auth).",
        source: "/etc/pam.d/common-password (Debian) or /etc/pam.d/system-auth and \
                 password-auth (RHEL), /etc/security/pwquality.conf and pwquality.conf.d",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.password.min_length",
        value_type: ValueType::Integer,
        meaning: "Minimum password length the quality module asks for (`minlen`): the module's \
                  argument, else pwquality.conf (read after pwquality.conf.d/*.conf, so it \
                  wins), else the module's default (pwquality 8, at least 6; cracklib 9); the \
                  smallest over the stack files. Unavailable when no quality module is in the \
                  stack.",
        source: "/etc/pam.d/common-password or system-auth and password-auth, \
                 /etc/security/pwquality.conf and pwquality.conf.d/*.conf",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.password.lockout_enforced",
        value_type: ValueType::Bool,
        meaning: "Accounts are locked after repeated failed logins: pam_faillock or pam_tally2 \
                  is in the PAM auth stack (required, requisite or [default=die]) with a \
                  `deny` above 0, in every stack file (RHEL: system-auth and password-auth).",
        source: "/etc/pam.d/common-auth (Debian) or /etc/pam.d/system-auth and password-auth \
                 (RHEL), /etc/security/faillock.conf",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.password.lockout_attempts",
        value_type: ValueType::Integer,
        meaning: "Failed logins that lock an account (`deny`: pam_faillock's argument, else \
                  faillock.conf, else 3; pam_tally2's argument); the largest over the stack \
                  files. Unavailable when some stack does not lock accounts.",
        source: "/etc/pam.d/common-auth or system-auth and password-auth, \
                 /etc/security/faillock.conf",
        context_only: None,
    },
];

const PASSWD: &str = "/etc/passwd";
const SHADOW: &str = "/etc/shadow";
const SUDOERS: &str = "/etc/sudoers";
const SUDO: &str = "/usr/bin/sudo";
const LOGIN_DEFS: &str = "/etc/login.defs";
const PWQUALITY: &str = "/etc/security/pwquality.conf";
const FAILLOCK: &str = "/etc/security/faillock.conf";
/// How deep sudoers and PAM includes may nest before we call it a loop.
const MAX_INCLUDE_DEPTH: usize = 16;

/// One account of /etc/passwd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Account {
    /// Login name.
    pub(crate) name: String,
    /// User id.
    pub(crate) uid: u32,
    /// Home directory.
    pub(crate) home: String,
    /// Login shell (empty: /bin/sh).
    pub(crate) shell: String,
}

/// The accounts of /etc/passwd (malformed lines and NIS `+`/`-` entries skipped).
pub(crate) fn parse_passwd(text: &str) -> Vec<Account> {
    text.lines()
        .filter(|l| !l.starts_with(['+', '-', '#']))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() != 7 || f[0].is_empty() {
                return None;
            }
            Some(Account {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                home: f[5].to_string(),
                shell: f[6].trim_end().to_string(),
            })
        })
        .collect()
}

/// The accounts of the host's /etc/passwd.
pub(crate) fn read_passwd(ctx: &CollectContext) -> Result<Vec<Account>, String> {
    ctx.read(PASSWD).map(|t| parse_passwd(&t))
}

/// Whether a login shell lets the account log in interactively.
fn interactive(shell: &str) -> bool {
    let name = shell.rsplit('/').next().unwrap_or(shell);
    !["nologin", "false", "true", "sync", "shutdown", "halt"].contains(&name)
}

/// What /etc/shadow says, in counts: nothing else is kept.
#[derive(Debug, Default, PartialEq, Eq)]
struct ShadowCounts {
    empty: u64,
    unusable: u64,
    algorithms: BTreeMap<&'static str, u64>,
}

/// The algorithm of a crypt(3) hash, from its prefix; `None` when it is no password hash.
fn hash_algorithm(hash: &str) -> Option<&'static str> {
    const PREFIXES: &[(&str, &str)] = &[
        ("$y$", "yescrypt"),
        ("$gy$", "gost-yescrypt"),
        ("$7$", "scrypt"),
        ("$6$", "sha512"),
        ("$5$", "sha256"),
        ("$2a$", "bcrypt"),
        ("$2b$", "bcrypt"),
        ("$2x$", "bcrypt"),
        ("$2y$", "bcrypt"),
        ("$sha1$", "sha1"),
        ("$md5", "sun-md5"),
        ("$3$", "nthash"),
        ("$1$", "md5"),
    ];
    let des_char = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'/';
    if let Some((_, name)) = PREFIXES.iter().find(|(p, _)| hash.starts_with(p)) {
        Some(name)
    } else if hash.starts_with('$') {
        Some("unknown")
    } else if hash.len() == 13 && hash.bytes().all(des_char) {
        Some("des")
    } else if hash.len() == 20 && hash.starts_with('_') && hash.bytes().skip(1).all(des_char) {
        Some("bsdi-des")
    } else {
        None
    }
}

/// Counts the password fields of /etc/shadow; the text is not kept.
fn count_shadow(text: &str) -> ShadowCounts {
    let mut counts = ShadowCounts::default();
    for line in text.lines().filter(|l| !l.starts_with(['+', '-', '#'])) {
        let mut fields = line.split(':');
        let (Some(name), Some(hash)) = (fields.next(), fields.next()) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        if hash.is_empty() {
            counts.empty += 1;
        } else if let Some(alg) = hash_algorithm(hash).filter(|_| !hash.starts_with(['!', '*'])) {
            *counts.algorithms.entry(alg).or_insert(0) += 1;
        } else {
            counts.unusable += 1;
        }
    }
    counts
}

/// The ageing fields (3 to 8) of each /etc/shadow account with a usable password, as evidence
/// objects. The password field is only classified (usable hash or not), never kept.
fn shadow_ageing(text: &str) -> Vec<serde_json::Value> {
    let days = |f: Option<&str>| f.and_then(|v| v.trim().parse::<i64>().ok());
    let date = |f: Option<&str>| {
        days(f).and_then(|d| {
            vouch_evidence::Timestamp::from_unix_micros(d.checked_mul(86_400_000_000)?).map(|t| t.to_string()[..10].to_string())
        })
    };
    text.lines()
        .filter(|l| !l.starts_with(['+', '-', '#']))
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next().filter(|n| !n.is_empty())?;
            let usable = fields
                .next()
                .is_some_and(|pw| !pw.starts_with(['!', '*']) && hash_algorithm(pw).is_some());
            if !usable {
                return None;
            }
            let ageing: Vec<&str> = fields.take(6).collect();
            let at = |i: usize| ageing.get(i).copied();
            Some(serde_json::json!({
                "account": name,
                "last_changed": date(at(0)),
                "min_days": days(at(1)),
                "max_days": days(at(2)),
                "warn_days": days(at(3)),
                "inactive_days": days(at(4)),
                "expires": date(at(5)),
            }))
        })
        .collect()
}

/// The collector.
pub struct Accounts;

#[async_trait]
impl Collector for Accounts {
    fn name(&self) -> &'static str {
        "host.accounts"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let accounts = read_passwd(ctx);
        let names = |keep: fn(&Account) -> bool| -> Result<Vec<String>, String> {
            let accounts = accounts.as_ref().map_err(Clone::clone)?;
            Ok(accounts
                .iter()
                .filter(|a| keep(a))
                .map(|a| a.name.clone())
                .collect())
        };
        let shadow_text = ctx.read(SHADOW);
        let shadow = shadow_text.as_deref().map(count_shadow).map_err(Clone::clone);
        let ageing = shadow_text.as_deref().map(shadow_ageing).map_err(Clone::clone);
        drop(shadow_text);
        let shadow_fact = |id: &'static str, f: fn(&ShadowCounts) -> serde_json::Value| {
            fact(
                id,
                file(SHADOW),
                shadow.as_ref().map(f).map_err(Clone::clone),
            )
        };
        let rules = nopasswd_rules(ctx);
        let defs_text = ctx.read(LOGIN_DEFS);
        let defs = defs_text.as_deref().map(login_defs).map_err(Clone::clone);
        let def = |key: &str| -> Result<&str, String> {
            let defs = defs.as_ref().map_err(Clone::clone)?;
            defs.get(key)
                .copied()
                .ok_or_else(|| format!("{LOGIN_DEFS} does not set {key}"))
        };
        let def_number = |key: &str| -> Result<i64, String> {
            let v = def(key)?;
            v.parse::<i64>()
                .map_err(|_| format!("{key} in {LOGIN_DEFS} is not a number: {v:?}"))
        };
        let layout = pam_layout(ctx);
        let pam = layout.clone().and_then(|l| pam_policy(ctx, l));
        let pam_source = |pick: fn(PamLayout) -> &'static [&'static str]| -> ItemSource {
            match &layout {
                Ok(l) => ItemSource::File(pick(*l).join(", ")),
                Err(_) => file("/etc/pam.d"),
            }
        };
        let (pw, auth) = (pam_source(|l| l.password), pam_source(|l| l.auth));
        let (quality, min_length, lockout, attempts) = match &pam {
            Ok(p) => {
                let (q_all, q_min) = across(&p.quality, i64::min);
                let (l_all, l_max) = across(&p.lockout, i64::max);
                (Ok(q_all), q_min, Ok(l_all), l_max)
            }
            Err(e) => (
                Err(e.clone()),
                Err(e.clone()),
                Err(e.clone()),
                Err(e.clone()),
            ),
        };
        Ok(vec![
            fact("host.accounts.uid0", file(PASSWD), names(|a| a.uid == 0)),
            fact(
                "host.accounts.interactive",
                file(PASSWD),
                names(|a| interactive(&a.shell)),
            ),
            shadow_fact("host.accounts.empty_password_count", |s| s.empty.into()),
            shadow_fact("host.accounts.no_password_count", |s| s.unusable.into()),
            shadow_fact("host.accounts.password_hash_algorithms", |s| {
                serde_json::json!(s.algorithms)
            }),
            fact("host.accounts.password_ageing", file(SHADOW), ageing),
            fact(
                "host.sudo.nopasswd_count",
                file(SUDOERS),
                rules.as_ref().map(|r| r.len() as u64).map_err(Clone::clone),
            ),
            fact("host.sudo.nopasswd_rules", file(SUDOERS), rules),
            fact(
                "host.password.max_days",
                file(LOGIN_DEFS),
                def_number("PASS_MAX_DAYS"),
            ),
            fact(
                "host.password.min_days",
                file(LOGIN_DEFS),
                def_number("PASS_MIN_DAYS"),
            ),
            fact(
                "host.password.warn_age",
                file(LOGIN_DEFS),
                def_number("PASS_WARN_AGE"),
            ),
            fact(
                "host.password.encrypt_method",
                file(LOGIN_DEFS),
                def("ENCRYPT_METHOD").map(str::to_string),
            ),
            fact("host.password.quality_enforced", pw.clone(), quality),
            fact("host.password.min_length", pw, min_length),
            fact("host.password.lockout_enforced", auth.clone(), lockout),
            fact("host.password.lockout_attempts", auth, attempts),
        ])
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tree with `files` (path below the root, contents), and a context reading below it.
    pub(crate) fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, CollectContext) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let ctx = CollectContext::for_test(dir.path());
        (dir, ctx)
    }

    #[test]
    fn passwd_lines_and_login_shells() {
        let accounts = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n+nisuser::::::\nbad line\n\
             svc:x:1003:1003::/srv:\nsync:x:4:65534:sync:/bin:/bin/sync\n\
             toor:x:0:0::/root:/usr/bin/zsh\nnouid:x:abc:1::/:/bin/sh\n",
        );
        let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["root", "svc", "sync", "toor"]);
        assert_eq!(accounts[1].home, "/srv");
        assert!(interactive(&accounts[1].shell), "an empty shell is /bin/sh");
        assert!(!interactive("/bin/sync"));
        assert!(!interactive("/usr/sbin/nologin"));
        assert!(!interactive("/bin/false"));
        assert!(interactive("/usr/bin/zsh"));
    }

    #[test]
    fn shadow_gives_counts_and_algorithms_only() {
        let counts = count_shadow(
            "root:$y$j9T$salt$hash:19000:0:99999:7:::\n\
             a:$6$rounds=5000$salt$hash:1::::::\nb:$1$salt$hash:1::::::\n\
             c::1::::::\nd:!:1::::::\ne:*:1::::::\nf:!!:1::::::\n\
             g:!$6$salt$hash:1::::::\nh:abJnggxhB/yWI:1::::::\ni:$2b$10$salthash:1::::::\n\
             j:x:1::::::\nk:$9$new$algo:1::::::\n\n",
        );
        assert_eq!(counts.empty, 1);
        assert_eq!(counts.unusable, 5, "!, *, !!, a locked hash, and x");
        let want: BTreeMap<&str, u64> = [
            ("bcrypt", 1),
            ("des", 1),
            ("md5", 1),
            ("sha512", 1),
            ("unknown", 1),
            ("yescrypt", 1),
        ]
        .into();
        assert_eq!(counts.algorithms, want);
        assert_eq!(hash_algorithm("$gy$j9T$s$h"), Some("gost-yescrypt"));
        assert_eq!(hash_algorithm("_J9..salthashhashhas"), Some("bsdi-des"));
        assert_eq!(hash_algorithm("NP"), None);
    }

    /// Only the ageing fields of accounts with a usable password come out: nothing of the
    /// password field, locked and empty ones left out.
    #[test]
    fn shadow_ageing_keeps_fields_three_to_eight_of_usable_passwords() {
        let secret = "$y$j9T$K8kHc9mEo1d7mC3qW5F2r/$Yl3PjpqA3b3hJ1o8mV6Wn2cB4yQ7tD0sX9eR5uZ1aG.";
        let text = format!(
            "root:{secret}:20044:0:99999:7:::\nalice:{secret}:20402:1:90:14:30:20800:\n\
             locked:!{secret}:20044:0:99999:7:::\nnologin:*:20044:0:99999:7:::\n\
             empty::20044::::::\nfresh:{secret}:0::::::\n"
        );
        let ageing = shadow_ageing(&text);
        assert_eq!(
            serde_json::Value::Array(ageing.clone()),
            serde_json::json!([
                {"account": "root", "last_changed": "2024-11-17", "min_days": 0, "max_days": 99999,
                 "warn_days": 7, "inactive_days": null, "expires": null},
                {"account": "alice", "last_changed": "2025-11-10", "min_days": 1, "max_days": 90,
                 "warn_days": 14, "inactive_days": 30, "expires": "2026-12-13"},
                {"account": "fresh", "last_changed": "1970-01-01", "min_days": null,
                 "max_days": null, "warn_days": null, "inactive_days": null, "expires": null}
            ])
        );
        let shown = serde_json::to_string(&ageing).unwrap();
        assert!(!shown.contains("$y$") && !shown.contains("K8kHc9"), "{shown}");
    }

    #[test]
    fn sudoers_lines_join_continuations_and_drop_comments() {
        let lines = sudoers_lines(
            "# comment\n\nDefaults\tenv_reset\n%dba ALL=(postgres) NOPASSWD: /usr/bin/psql, \\\n\
             \t/usr/bin/pg_dump  # nightly\n#includedir /etc/sudoers.d\n\
             #1000 ALL=(ALL) NOPASSWD: ALL\n#   %wheel ALL=(ALL) NOPASSWD: ALL\n",
        );
        assert_eq!(
            lines,
            [
                (3, "Defaults env_reset".to_string()),
                (
                    4,
                    "%dba ALL=(postgres) NOPASSWD: /usr/bin/psql, /usr/bin/pg_dump".to_string()
                ),
                (6, "#includedir /etc/sudoers.d".to_string()),
                (7, "#1000 ALL=(ALL) NOPASSWD: ALL".to_string()),
            ]
        );
    }

    #[test]
    fn sudoers_lines_are_classified() {
        assert_eq!(
            sudo_line("@includedir /etc/sudoers.d"),
            SudoLine::IncludeDir("/etc/sudoers.d".into())
        );
        assert_eq!(
            sudo_line("#include \"sudoers local\""),
            SudoLine::Include("sudoers local".into())
        );
        assert_eq!(
            sudo_line("#includes are described in sudoers(5)"),
            SudoLine::Other
        );
        for rule in [
            "alice ALL=(ALL) NOPASSWD: ALL",
            "bob ALL=(ALL) NOPASSWD:ALL",
            "carol ALL = (root) /bin/ls, NOPASSWD : /bin/cat",
            "Defaults:backup !authenticate",
            "Defaults>root env_reset, !authenticate",
        ] {
            assert_eq!(sudo_line(rule), SudoLine::NoPasswd(rule.into()), "{rule}");
        }
        for other in [
            "%sudo ALL=(ALL:ALL) ALL",
            "dave ALL=(ALL) PASSWD: ALL",
            "erin ALL=(ALL) /usr/bin/echo XNOPASSWD: hi",
            "Defaults authenticate",
            "Cmnd_Alias NOPASSWD_CMDS = /bin/true",
        ] {
            assert_eq!(sudo_line(other), SudoLine::Other, "{other}");
        }
    }

    #[test]
    fn sudo_includes_are_followed_where_they_stand() {
        let (_dir, ctx) = tree(&[
            (
                SUDOERS,
                "a ALL=(ALL) NOPASSWD: /bin/a\n@include extra\n\
                 @includedir /etc/sudoers.d\nz ALL=(ALL) NOPASSWD: /bin/z\n",
            ),
            (
                "/etc/extra",
                "b ALL=(ALL) NOPASSWD: /bin/b\n@include /etc/missing\n",
            ),
            ("/etc/sudoers.d/20-d", "d ALL=(ALL) NOPASSWD: /bin/d\n"),
            ("/etc/sudoers.d/10-c", "c ALL=(ALL) NOPASSWD: /bin/c\n"),
            ("/etc/sudoers.d/10-c~", "x ALL=(ALL) NOPASSWD: /bin/x\n"),
            (
                "/etc/sudoers.d/10-c.rpmsave",
                "x ALL=(ALL) NOPASSWD: /bin/x\n",
            ),
        ]);
        assert_eq!(
            nopasswd_rules(&ctx).unwrap(),
            [
                "/etc/sudoers:1: a ALL=(ALL) NOPASSWD: /bin/a",
                "/etc/extra:1: b ALL=(ALL) NOPASSWD: /bin/b",
                "/etc/sudoers.d/10-c:1: c ALL=(ALL) NOPASSWD: /bin/c",
                "/etc/sudoers.d/20-d:1: d ALL=(ALL) NOPASSWD: /bin/d",
                "/etc/sudoers:4: z ALL=(ALL) NOPASSWD: /bin/z",
            ]
        );
        let (_dir, ctx) = tree(&[(SUDOERS, "@include /etc/sudoers\n")]);
        assert!(
            nopasswd_rules(&ctx)
                .unwrap_err()
                .contains("nested more than")
        );
    }

    #[test]
    fn without_sudo_there_are_no_rules_but_a_missing_sudoers_is_said() {
        let (_dir, ctx) = tree(&[]);
        assert_eq!(nopasswd_rules(&ctx).unwrap(), Vec::<String>::new());
        let (_dir, ctx) = tree(&[(SUDO, "")]);
        assert_eq!(nopasswd_rules(&ctx).unwrap_err(), "not found: /etc/sudoers");
    }

    #[test]
    fn login_defs_last_value_wins() {
        let defs = login_defs(
            "# PASS_MAX_DAYS 1\nPASS_MAX_DAYS\t99999\nPASS_MAX_DAYS 60\n\
             ENCRYPT_METHOD \"SHA512\"\nLONELY\n",
        );
        assert_eq!(defs.get("PASS_MAX_DAYS"), Some(&"60"));
        assert_eq!(defs.get("ENCRYPT_METHOD"), Some(&"SHA512"));
        assert_eq!(defs.get("LONELY"), None);
    }

    #[test]
    fn pam_lines_are_parsed_with_bracket_controls_and_includes() {
        let (_dir, ctx) = tree(&[
            (
                "/etc/pam.d/common-auth",
                "# comment\nauth [success=1 default=ignore]  pam_unix.so nullok\n\
                 -auth  optional  /usr/lib/security/pam_extra.so\n\
                 account required pam_faillock.so\n@include other-auth\n\
                 auth include more-auth\n",
            ),
            (
                "/etc/pam.d/other-auth",
                "auth [default=die] pam_faillock.so authfail deny=4\n",
            ),
            (
                "/etc/pam.d/more-auth",
                "auth required pam_tally2.so \\\n  deny=2\n",
            ),
        ]);
        let stack = pam_stack(&ctx, "/etc/pam.d/common-auth", "auth", 0).unwrap();
        let modules: Vec<(&str, &str)> = stack
            .iter()
            .map(|e| (e.control.as_str(), e.module.as_str()))
            .collect();
        assert_eq!(
            modules,
            [
                ("[success=1 default=ignore]", "pam_unix"),
                ("optional", "pam_extra"),
                ("[default=die]", "pam_faillock"),
                ("required", "pam_tally2"),
            ]
        );
        assert_eq!(stack[2].arg("deny"), Some("4"));
        assert_eq!(stack[3].arg("deny"), Some("2"));
        assert!(!stack[0].enforces() && !stack[1].enforces());
        assert!(stack[2].enforces() && stack[3].enforces());
    }

    fn entry(control: &str, module: &str, args: &[&str]) -> PamEntry {
        PamEntry {
            control: control.into(),
            module: module.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn password_quality_from_arguments_then_configuration_then_defaults() {
        let conf = |pairs: &[(&str, &str)]| {
            let m: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move || Ok::<_, String>(m.clone())
        };
        let pwq = |args: &[&str]| vec![entry("requisite", "pam_pwquality", args)];
        let q = |entries: &[PamEntry], pairs: &[(&str, &str)]| {
            quality(entries, &mut conf(pairs), "/etc/pam.d/common-password").unwrap()
        };
        assert_eq!(q(&pwq(&["retry=3"]), &[]), Ok(8));
        assert_eq!(q(&pwq(&["retry=3"]), &[("minlen", "14")]), Ok(14));
        assert_eq!(q(&pwq(&["minlen=10"]), &[("minlen", "14")]), Ok(10));
        assert_eq!(q(&pwq(&["minlen=4"]), &[]), Ok(6), "pwquality's floor");
        assert!(
            q(&pwq(&[]), &[("enforcing", "0")])
                .unwrap_err()
                .contains("only warns")
        );
        assert_eq!(q(&[entry("required", "pam_cracklib", &[])], &[]), Ok(9));
        assert!(
            q(&[entry("optional", "pam_pwquality", &[])], &[])
                .unwrap_err()
                .contains("does not stop")
        );
        assert_eq!(
            q(&[entry("required", "pam_unix", &["obscure"])], &[]),
            Err("no pam_pwquality or pam_cracklib in the password stack of \
                 /etc/pam.d/common-password"
                .to_string())
        );
    }

    #[test]
    fn pwquality_conf_is_read_after_its_directory() {
        let (_dir, ctx) = tree(&[
            (PWQUALITY, "# minlen = 8\nminlen = 12\n"),
            (
                "/etc/security/pwquality.conf.d/50-b.conf",
                "minlen = 14\nminclass=3\n",
            ),
            (
                "/etc/security/pwquality.conf.d/40-a.conf",
                "minclass = 4\ndcredit = -1\n",
            ),
            (
                "/etc/security/pwquality.conf.d/60-c.conf.bak",
                "dcredit = 0\n",
            ),
        ]);
        let s = pwquality_settings(&ctx).unwrap();
        assert_eq!(s["minlen"], "12");
        assert_eq!(s["minclass"], "3");
        assert_eq!(s["dcredit"], "-1");
    }

    #[test]
    fn lockout_from_arguments_then_faillock_conf_then_defaults() {
        let (_dir, ctx) = tree(&[(FAILLOCK, "deny = 5\n"), ("/etc/alt.conf", "deny=7\n")]);
        let (_none, bare) = tree(&[]);
        let f = "/etc/pam.d/common-auth";
        let faillock = |args: &[&str]| vec![entry("required", "pam_faillock", args)];
        assert_eq!(lockout(&ctx, &faillock(&["preauth"]), f).unwrap(), Ok(5));
        assert_eq!(lockout(&bare, &faillock(&["preauth"]), f).unwrap(), Ok(3));
        assert_eq!(
            lockout(&ctx, &faillock(&["preauth", "deny=4"]), f).unwrap(),
            Ok(4)
        );
        assert_eq!(
            lockout(&ctx, &faillock(&["conf=/etc/alt.conf"]), f).unwrap(),
            Ok(7)
        );
        assert!(
            lockout(&ctx, &faillock(&["deny=0"]), f)
                .unwrap()
                .unwrap_err()
                .contains("never")
        );
        assert!(
            lockout(&ctx, &[entry("required", "pam_tally2", &[])], f)
                .unwrap()
                .is_err(),
            "pam_tally2 locks nobody without deny="
        );
        assert!(
            lockout(&ctx, &[entry("optional", "pam_faillock", &[])], f)
                .unwrap()
                .is_err()
        );
        assert_eq!(
            lockout(&ctx, &[], f).unwrap(),
            Err("no pam_faillock or pam_tally2 in the auth stack of /etc/pam.d/common-auth".into())
        );
    }

    #[test]
    fn every_stack_file_must_enforce() {
        assert_eq!(across(&[Ok(12), Ok(10)], i64::min), (true, Ok(10)));
        assert_eq!(across(&[Ok(3), Ok(5)], i64::max), (true, Ok(5)));
        assert_eq!(
            across(
                &[Ok(12), Err("no module in password-auth".into())],
                i64::min
            ),
            (false, Err("no module in password-auth".to_string()))
        );
    }
}
