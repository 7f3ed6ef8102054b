//! Weak algorithms, and the authorized keys of each account (key types and counts only).

use super::*;

/// Whether a cipher is weak.
pub(super) fn weak_cipher(name: &str) -> bool {
    name.contains("-cbc")
        || name == "none"
        || ["3des", "des", "arcfour", "blowfish", "cast128", "rijndael"]
            .iter()
            .any(|p| name.starts_with(p))
}

/// Whether a MAC is weak.
pub(super) fn weak_mac(name: &str) -> bool {
    ["md5", "sha1", "ripemd", "-96"]
        .iter()
        .any(|p| name.contains(p))
        || name.starts_with("umac-64")
}

/// Whether a key exchange algorithm is weak.
pub(super) fn weak_kex(name: &str) -> bool {
    name.ends_with("-sha1") || name.contains("-sha1@") || name.contains("group1-")
}

/// The key type of one authorized_keys line, if it holds a key: options (with quoted values
/// that may hold spaces) may come first; comments, blank lines and lines sshd would not
/// accept give `None`.
pub(super) fn key_type(line: &str) -> Option<&'static str> {
    /// The first whitespace-separated token, double quotes grouping, and the rest.
    fn token(s: &str) -> (&str, &str) {
        let s = s.trim_start();
        let mut quoted = false;
        let mut escaped = false;
        for (i, c) in s.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                c if c.is_whitespace() && !quoted => return (&s[..i], &s[i..]),
                _ => {}
            }
        }
        (s, "")
    }
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let known = |t: &str| KEY_TYPES.iter().find(|k| **k == t).copied();
    let blob = |rest: &str| {
        let b = token(rest).0;
        !b.is_empty()
            && b.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
    };
    let (first, rest) = token(line);
    if let Some(t) = known(first) {
        return blob(rest).then_some(t);
    }
    let (second, rest) = token(rest);
    known(second).filter(|_| blob(rest))
}

/// Counts by key type of one authorized_keys file's text.
pub(super) fn key_types(text: &str) -> BTreeMap<&'static str, u64> {
    let mut types = BTreeMap::new();
    for t in text.lines().filter_map(key_type) {
        *types.entry(t).or_insert(0) += 1;
    }
    types
}

/// The path of an AuthorizedKeysFile entry for `account`: `%h`, `%u`, `%U` and `%%` expanded,
/// relative paths below the home directory.
pub(super) fn keys_path(pattern: &str, account: &Account) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(&account.home),
            Some('u') => out.push_str(&account.name),
            Some('U') => out.push_str(&account.uid.to_string()),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    if out.starts_with('/') {
        out
    } else {
        format!("{}/{out}", account.home.trim_end_matches('/'))
    }
}

/// The authorized keys of every account: `{account: {count, types}}` for accounts with keys.
/// Any file that exists but cannot be read makes the whole fact unavailable.
pub(super) fn authorized_keys(
    ctx: &CollectContext,
    accounts: &[Account],
    files: &[String],
) -> Result<Value, String> {
    let mut out = serde_json::Map::new();
    if files.iter().any(|f| f.eq_ignore_ascii_case("none")) {
        return Ok(Value::Object(out));
    }
    for account in accounts {
        if account.home.is_empty() || out.contains_key(&account.name) {
            continue;
        }
        let mut types: BTreeMap<&'static str, u64> = BTreeMap::new();
        for pattern in files {
            let path = keys_path(pattern, account);
            let text = match std::fs::read(ctx.path(&path)) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => continue,
                Err(e) => return Err(describe_io(&path, &e)),
            };
            for (t, n) in key_types(&text) {
                *types.entry(t).or_insert(0) += n;
            }
        }
        let count: u64 = types.values().sum();
        if count > 0 {
            out.insert(
                account.name.clone(),
                json!({"count": count, "types": types}),
            );
        }
    }
    Ok(Value::Object(out))
}
