//! sshd's configuration as sshd reads it: keywords, `Include`, `Match` blocks, OpenSSH's defaults
//! and the algorithm lists' `+`/`-`/`^` forms; or the dump of `sshd -T`.

use super::*;

pub(super) const SSHD: &str = "/usr/sbin/sshd";
pub(super) const SSHD_CONFIG: &str = "/etc/ssh/sshd_config";
pub(super) const SSH_DIR: &str = "/etc/ssh";
/// sshd's own limit on nested Include files.
pub(super) const MAX_INCLUDE_DEPTH: usize = 16;

/// The server's default ciphers (OpenSSH 9.2 `KEX_SERVER_ENCRYPT`).
pub(super) const DEFAULT_CIPHERS: &[&str] = &[
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
];
/// The server's default MACs (OpenSSH 9.2 `KEX_SERVER_MAC`).
pub(super) const DEFAULT_MACS: &[&str] = &[
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
];
/// The server's default key exchange algorithms (OpenSSH 9.2 `KEX_SERVER_KEX`).
pub(super) const DEFAULT_KEX: &[&str] = &[
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
];

/// Key types an authorized_keys line may name (OpenSSH 9's key implementations).
pub(super) const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ssh-rsa",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-dss",
    "ssh-dss-cert-v01@openssh.com",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
];

/// The keywords this area reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Key {
    PermitRootLogin,
    PasswordAuthentication,
    PubkeyAuthentication,
    PermitEmptyPasswords,
    KbdInteractiveAuthentication,
    MaxAuthTries,
    X11Forwarding,
    Ciphers,
    Macs,
    KexAlgorithms,
    AuthorizedKeysFile,
}

impl Key {
    /// The key for a lower-case keyword (aliases included).
    fn of(keyword: &str) -> Option<Key> {
        Some(match keyword {
            "permitrootlogin" => Key::PermitRootLogin,
            "passwordauthentication" => Key::PasswordAuthentication,
            "pubkeyauthentication" => Key::PubkeyAuthentication,
            "permitemptypasswords" => Key::PermitEmptyPasswords,
            "kbdinteractiveauthentication" | "challengeresponseauthentication" => {
                Key::KbdInteractiveAuthentication
            }
            "maxauthtries" => Key::MaxAuthTries,
            "x11forwarding" => Key::X11Forwarding,
            "ciphers" => Key::Ciphers,
            "macs" => Key::Macs,
            "kexalgorithms" => Key::KexAlgorithms,
            "authorizedkeysfile" => Key::AuthorizedKeysFile,
            _ => return None,
        })
    }

    /// Its name as sshd_config(5) spells it.
    fn name(self) -> &'static str {
        match self {
            Key::PermitRootLogin => "PermitRootLogin",
            Key::PasswordAuthentication => "PasswordAuthentication",
            Key::PubkeyAuthentication => "PubkeyAuthentication",
            Key::PermitEmptyPasswords => "PermitEmptyPasswords",
            Key::KbdInteractiveAuthentication => "KbdInteractiveAuthentication",
            Key::MaxAuthTries => "MaxAuthTries",
            Key::X11Forwarding => "X11Forwarding",
            Key::Ciphers => "Ciphers",
            Key::Macs => "MACs",
            Key::KexAlgorithms => "KexAlgorithms",
            Key::AuthorizedKeysFile => "AuthorizedKeysFile",
        }
    }
}

/// A keyword's arguments and where they were read (`file line n`, or `sshd -T`).
#[derive(Clone, Debug)]
pub(super) struct Setting {
    pub(super) args: Vec<String>,
    pub(super) origin: String,
}

/// The first value of each keyword that applies globally.
pub(super) type Raw = BTreeMap<Key, Setting>;

/// Where the settings came from, which decides how values are completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    /// sshd_config: missing keywords take OpenSSH's defaults, lists are assembled.
    Config,
    /// `sshd -T`: every keyword is printed, lists are final.
    Dump,
}

/// sshd's effective settings for a connection that matches no `Match` block, as reported
/// (of the algorithm lists, only their weak members).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Effective {
    pub(super) permit_root_login: String,
    pub(super) password_authentication: bool,
    pub(super) pubkey_authentication: bool,
    pub(super) permit_empty_passwords: bool,
    pub(super) kbd_interactive_authentication: bool,
    pub(super) max_auth_tries: i64,
    pub(super) x11_forwarding: bool,
    pub(super) weak_ciphers: Vec<String>,
    pub(super) weak_macs: Vec<String>,
    pub(super) weak_kex: Vec<String>,
    pub(super) authorized_keys_files: Vec<String>,
}

impl Effective {
    /// Completes the raw values: validates them as sshd would, normalises names, applies
    /// defaults (configuration) or requires every keyword (`sshd -T`).
    fn from_raw(raw: &Raw, origin: Origin) -> Result<Effective, String> {
        let get = |key: Key| -> Result<Option<&Setting>, String> {
            match (raw.get(&key), origin) {
                (Some(s), _) => Ok(Some(s)),
                (None, Origin::Config) => Ok(None),
                (None, Origin::Dump) => Err(format!(
                    "`sshd -T` printed no {}",
                    key.name().to_ascii_lowercase()
                )),
            }
        };
        let first = |s: &Setting, key: Key| -> Result<String, String> {
            s.args
                .first()
                .cloned()
                .ok_or_else(|| format!("{}: {} has no value", s.origin, key.name()))
        };
        let flag = |key: Key, default: bool| -> Result<bool, String> {
            let Some(s) = get(key)? else {
                return Ok(default);
            };
            let v = first(s, key)?;
            match v.to_ascii_lowercase().as_str() {
                "yes" => Ok(true),
                "no" => Ok(false),
                _ => Err(refused(s, key, &v)),
            }
        };
        let permit_root_login = match get(Key::PermitRootLogin)? {
            None => "prohibit-password".to_string(),
            Some(s) => {
                let v = first(s, Key::PermitRootLogin)?;
                match v.to_ascii_lowercase().as_str() {
                    "without-password" | "prohibit-password" => "prohibit-password".to_string(),
                    other @ ("forced-commands-only" | "yes" | "no") => other.to_string(),
                    _ => return Err(refused(s, Key::PermitRootLogin, &v)),
                }
            }
        };
        let max_auth_tries = match get(Key::MaxAuthTries)? {
            None => 6,
            Some(s) => {
                let v = first(s, Key::MaxAuthTries)?;
                v.parse::<i64>()
                    .map_err(|_| refused(s, Key::MaxAuthTries, &v))?
            }
        };
        let weak =
            |key: Key, default: &[&str], pick: fn(&str) -> bool| -> Result<Vec<String>, String> {
                let list = match get(key)? {
                    None => default.iter().map(|a| a.to_string()).collect(),
                    Some(s) => {
                        let v = first(s, key)?;
                        match origin {
                            Origin::Dump => split_list(&v),
                            Origin::Config => {
                                assemble(&v, default).ok_or_else(|| refused(s, key, &v))?
                            }
                        }
                    }
                };
                Ok(list.into_iter().filter(|n| pick(n)).collect())
            };
        let authorized_keys_files = match get(Key::AuthorizedKeysFile)? {
            None => vec![
                ".ssh/authorized_keys".to_string(),
                ".ssh/authorized_keys2".to_string(),
            ],
            Some(s) if s.args.is_empty() => {
                return Err(format!("{}: AuthorizedKeysFile has no value", s.origin));
            }
            Some(s) => s.args.clone(),
        };
        Ok(Effective {
            permit_root_login,
            password_authentication: flag(Key::PasswordAuthentication, true)?,
            pubkey_authentication: flag(Key::PubkeyAuthentication, true)?,
            permit_empty_passwords: flag(Key::PermitEmptyPasswords, false)?,
            kbd_interactive_authentication: flag(Key::KbdInteractiveAuthentication, true)?,
            max_auth_tries,
            x11_forwarding: flag(Key::X11Forwarding, false)?,
            weak_ciphers: weak(Key::Ciphers, DEFAULT_CIPHERS, weak_cipher)?,
            weak_macs: weak(Key::Macs, DEFAULT_MACS, weak_mac)?,
            weak_kex: weak(Key::KexAlgorithms, DEFAULT_KEX, weak_kex)?,
            authorized_keys_files,
        })
    }
}

/// The reason for a value sshd would not accept.
pub(super) fn refused(s: &Setting, key: Key, value: &str) -> String {
    format!(
        "{}: {} {value:?} is not a value sshd accepts (sshd would refuse to start)",
        s.origin,
        key.name()
    )
}

/// A comma-separated name list.
pub(super) fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// An algorithm list as sshd assembles it (`kex_assemble_names`): `+names` appended to the
/// defaults, `-patterns` removed from them (`*` and `?` wildcards), `^names` placed before
/// them, or the list itself. `None` when sshd would refuse it: patterns outside a `-` list, or
/// nothing left. Names are not checked against the algorithms sshd supports (a newer sshd
/// knows more); sshd refuses unknown ones.
pub(super) fn assemble(v: &str, default: &[&str]) -> Option<Vec<String>> {
    let defaults = || default.iter().map(|d| d.to_string());
    let names: Vec<String> = if let Some(rest) = v.strip_prefix('-') {
        let patterns = split_list(rest);
        defaults()
            .filter(|d| !patterns.iter().any(|p| wildcard(p, d, false)))
            .collect()
    } else {
        let listed = if let Some(rest) = v.strip_prefix('+') {
            defaults().chain(split_list(rest)).collect()
        } else if let Some(rest) = v.strip_prefix('^') {
            split_list(rest).into_iter().chain(defaults()).collect()
        } else {
            split_list(v)
        };
        if listed.iter().any(|n| n.contains(['*', '?', '!'])) {
            return None;
        }
        let mut unique: Vec<String> = Vec::new();
        for name in listed {
            if !unique.contains(&name) {
                unique.push(name);
            }
        }
        unique
    };
    (!names.is_empty()).then_some(names)
}

/// Whether `name` matches the shell-style `pattern` (`*`, `?`, and `[...]` classes when
/// `classes`, as in glob(3); sshd's algorithm patterns know only `*` and `?`).
pub(super) fn wildcard(pattern: &str, name: &str, classes: bool) -> bool {
    fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
        // p starts after '['; returns (matched, bytes consumed including ']').
        let mut i = 0;
        let negate = matches!(p.first(), Some(b'!' | b'^'));
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < p.len() {
            if p[i] == b']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
                matched |= (p[i]..=p[i + 2]).contains(&c);
                i += 3;
            } else {
                matched |= p[i] == c;
                i += 1;
            }
        }
        None
    }
    fn go(p: &[u8], n: &[u8], classes: bool) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some(b'*') => (0..=n.len()).any(|k| go(&p[1..], &n[k..], classes)),
            Some(b'?') => !n.is_empty() && go(&p[1..], &n[1..], classes),
            Some(b'[') if classes && !n.is_empty() => match class(&p[1..], n[0]) {
                Some((true, used)) => go(&p[1 + used..], &n[1..], classes),
                Some((false, _)) => false,
                None => n[0] == b'[' && go(&p[1..], &n[1..], classes),
            },
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..], classes),
        }
    }
    go(pattern.as_bytes(), name.as_bytes(), classes)
}

/// A configuration line's keyword and the rest, as sshd splits them (whitespace, or one `=`
/// with optional whitespace around it). `None` for blank lines and comments.
pub(super) fn split_keyword(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    Some((keyword, rest))
}

/// A line's arguments as sshd splits them (`argv_split`): whitespace-separated, single or
/// double quotes group, a backslash escapes a quote, a backslash or (unquoted) a space, and an
/// unquoted `#` starting an argument ends the line.
pub(super) fn split_args(s: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(args),
            Some(_) => {}
        }
        let mut arg = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&n)
                        if n == '\'' || n == '"' || n == '\\' || (quote.is_none() && n == ' ') =>
                    {
                        arg.push(n);
                        chars.next();
                    }
                    _ => arg.push(c),
                },
                ' ' | '\t' if quote.is_none() => break,
                '"' | '\'' if quote.is_none() => quote = Some(c),
                c if Some(c) == quote => quote = None,
                c => arg.push(c),
            }
        }
        if quote.is_some() {
            return Err("unterminated quote".to_string());
        }
        args.push(arg);
    }
}

/// The existing paths matching `pattern` (absolute, below the root) as glob(3) lists them:
/// sorted, wildcards not matching a leading dot. A directory that cannot be listed for want of
/// permission is an error (sshd, as root, would have read it).
pub(super) fn glob(ctx: &CollectContext, pattern: &str) -> Result<Vec<String>, String> {
    let mut paths = vec![String::new()];
    for component in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &paths {
            if !component.contains(['*', '?', '[']) {
                next.push(format!("{base}/{component}"));
                continue;
            }
            let dir = if base.is_empty() { "/" } else { base.as_str() };
            let names = dir_names(ctx, dir)?.into_iter().filter(|n| {
                (!n.starts_with('.') || component.starts_with('.')) && wildcard(component, n, true)
            });
            next.extend(names.into_iter().map(|n| format!("{base}/{n}")));
        }
        paths = next;
    }
    let mut found = Vec::new();
    for p in paths {
        match std::fs::metadata(ctx.path(&p)) {
            Ok(_) => found.push(p),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(describe_io(&p, &e));
            }
            Err(_) => {}
        }
    }
    Ok(found)
}

/// sshd_config read the way sshd reads it.
#[derive(Debug)]
pub(super) struct ConfigWalk<'a> {
    pub(super) ctx: &'a CollectContext,
    pub(super) raw: Raw,
    pub(super) match_blocks: u64,
}

impl ConfigWalk<'_> {
    /// Reads `abs`; `active`: whether lines apply globally here (false inside a `Match`);
    /// `never`: inside a file included from a `Match` block, where nothing applies globally.
    fn file(
        &mut self,
        abs: &str,
        active: &mut bool,
        never: bool,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_INCLUDE_DEPTH {
            return Err(format!(
                "{abs}: Include nested more than {MAX_INCLUDE_DEPTH} deep"
            ));
        }
        let text = self.ctx.read(abs)?;
        for (n, line) in text.lines().enumerate() {
            let Some((keyword, rest)) = split_keyword(line) else {
                continue;
            };
            let origin = format!("{abs} line {}", n + 1);
            let args = split_args(rest).map_err(|e| format!("{origin}: {e}"))?;
            let keyword = keyword.to_ascii_lowercase();
            match keyword.as_str() {
                "include" => {
                    let outer = *active;
                    for pattern in &args {
                        let full = if pattern.starts_with('/') {
                            pattern.clone()
                        } else {
                            format!("{SSH_DIR}/{pattern}")
                        };
                        for path in glob(self.ctx, &full)? {
                            self.file(&path, active, never || !outer, depth + 1)?;
                            *active = outer;
                        }
                    }
                }
                "match" => {
                    let all = args.first().is_some_and(|a| a.eq_ignore_ascii_case("all"));
                    if !all {
                        self.match_blocks += 1;
                    }
                    *active = all && !never;
                }
                _ if *active => {
                    if let Some(key) = Key::of(&keyword) {
                        self.raw.entry(key).or_insert(Setting { args, origin });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// sshd_config parsed: the effective global settings and the number of `Match` blocks.
pub(super) fn parse_config(
    ctx: &CollectContext,
) -> Result<(Result<Effective, String>, u64), String> {
    let mut walk = ConfigWalk {
        ctx,
        raw: Raw::new(),
        match_blocks: 0,
    };
    walk.file(SSHD_CONFIG, &mut true, false, 0)?;
    Ok((
        Effective::from_raw(&walk.raw, Origin::Config),
        walk.match_blocks,
    ))
}

/// The settings printed by `sshd -T` (lower-case keyword, then its value).
pub(super) fn parse_dump(out: &str) -> Result<Effective, String> {
    let mut raw = Raw::new();
    for line in out.lines() {
        let mut words = line.split_whitespace();
        let Some(key) = words.next().and_then(Key::of) else {
            continue;
        };
        raw.entry(key).or_insert(Setting {
            args: words.map(str::to_string).collect(),
            origin: "sshd -T".to_string(),
        });
    }
    Effective::from_raw(&raw, Origin::Dump)
}
