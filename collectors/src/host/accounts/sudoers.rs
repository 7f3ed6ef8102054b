//! sudo rules that need no password: sudoers and its `@includedir`/`@include` files, as sudo reads
//! them.

use super::*;

/// What one sudoers line means here.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum SudoLine {
    /// `@include` / `#include`: a file.
    Include(String),
    /// `@includedir` / `#includedir`: a directory.
    IncludeDir(String),
    /// A rule (or Defaults entry) that runs commands without a password.
    NoPasswd(String),
    /// Anything else.
    Other,
}

/// The logical lines of a sudoers file: (first line number, text with continuations joined,
/// comments removed, whitespace collapsed). `#include`, `#includedir` and `#<uid>` are not
/// comments.
pub(super) fn sudoers_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        let directive =
            is_include(trimmed) || trimmed.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
        if pending.is_none() && trimmed.starts_with('#') && !directive {
            continue;
        }
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        let (body, continued) = match raw.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (raw, false),
        };
        joined.push(' ');
        joined.push_str(body);
        if continued {
            pending = Some((start, joined));
            continue;
        }
        let text = strip_sudo_comment(&joined);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            out.push((start, text));
        }
    }
    if let Some((start, joined)) = pending {
        let text = strip_sudo_comment(&joined);
        out.push((start, text.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    out
}

/// Whether a sudoers line is an include directive (`@include`, `#includedir`…).
pub(super) fn is_include(line: &str) -> bool {
    ["@includedir", "#includedir", "@include", "#include"]
        .iter()
        .any(|p| {
            line.strip_prefix(p)
                .is_some_and(|r| r.starts_with(char::is_whitespace))
        })
}

/// A sudoers line without its trailing comment: a `#` starting a word, outside double quotes,
/// not followed by a digit (`#1000` is a user id) and not an include directive.
pub(super) fn strip_sudo_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut quoted = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'#' if !quoted && (i == 0 || bytes[i - 1].is_ascii_whitespace()) => {
                if is_include(&line[i..]) && line[..i].trim().is_empty() {
                    continue;
                }
                if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    return &line[..i];
                }
            }
            _ => {}
        }
    }
    line
}

/// Classifies one logical sudoers line.
pub(super) fn sudo_line(line: &str) -> SudoLine {
    let unquote = |s: &str| s.trim().trim_matches('"').to_string();
    for (prefix, dir) in [
        ("@includedir", true),
        ("#includedir", true),
        ("@include", false),
        ("#include", false),
    ] {
        if let Some(rest) = line.strip_prefix(prefix)
            && rest.starts_with(char::is_whitespace)
        {
            return if dir {
                SudoLine::IncludeDir(unquote(rest))
            } else {
                SudoLine::Include(unquote(rest))
            };
        }
    }
    let first = line.split_whitespace().next().unwrap_or("");
    if first.starts_with("Defaults") {
        let off = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .any(|w| w == "!authenticate");
        return if off {
            SudoLine::NoPasswd(line.to_string())
        } else {
            SudoLine::Other
        };
    }
    if [
        "User_Alias",
        "Runas_Alias",
        "Host_Alias",
        "Cmnd_Alias",
        "Cmd_Alias",
    ]
    .contains(&first)
    {
        return SudoLine::Other;
    }
    let tagged = line.match_indices("NOPASSWD").any(|(i, _)| {
        let before_ok = i == 0 || !line.as_bytes()[i - 1].is_ascii_alphanumeric();
        before_ok && line[i + "NOPASSWD".len()..].trim_start().starts_with(':')
    });
    if tagged {
        SudoLine::NoPasswd(line.to_string())
    } else {
        SudoLine::Other
    }
}

/// The names in directory `abs` below the root, sorted; a missing directory (or a file where
/// it should be) has none, any other failure is the reason.
pub(crate) fn dir_names(ctx: &CollectContext, abs: &str) -> Result<Vec<String>, String> {
    match crate::host::storage::sorted_names(&ctx.path(abs)) {
        Ok(names) => Ok(names),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(Vec::new())
        }
        Err(e) => Err(describe_io(abs, &e)),
    }
}

/// The files of an include directory, as sudo reads them: names ending in `~` or holding a
/// `.` skipped, subdirectories skipped, lexical order. A missing directory holds nothing.
pub(super) fn sudoers_dir(ctx: &CollectContext, dir: &str) -> Result<Vec<String>, String> {
    let dir = dir.trim_end_matches('/');
    Ok(dir_names(ctx, dir)?
        .into_iter()
        .filter(|n| !n.ends_with('~') && !n.contains('.'))
        .map(|n| format!("{dir}/{n}"))
        .filter(|f| !ctx.path(f).is_dir())
        .collect())
}

/// An include path: absolute, or relative to the including file's directory.
pub(super) fn resolve(including: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let dir = including.rsplit_once('/').map_or("", |(d, _)| d);
    format!("{dir}/{path}")
}

/// Appends the no-password rules of sudoers file `abs` (and what it includes) to `rules`.
pub(super) fn sudo_rules(
    ctx: &CollectContext,
    abs: &str,
    depth: usize,
    rules: &mut Vec<String>,
) -> Result<(), String> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(format!(
            "{abs}: sudoers includes nested more than {MAX_INCLUDE_DEPTH} deep"
        ));
    }
    let text = match ctx.read(abs) {
        // A missing include grants nothing (sudo reports it and goes on, or refuses all).
        Err(e) if depth > 0 && e.starts_with("not found") => return Ok(()),
        other => other?,
    };
    for (n, line) in sudoers_lines(&text) {
        match sudo_line(&line) {
            SudoLine::Include(p) => sudo_rules(ctx, &resolve(abs, &p), depth + 1, rules)?,
            SudoLine::IncludeDir(p) => {
                for f in sudoers_dir(ctx, &resolve(abs, &p))? {
                    sudo_rules(ctx, &f, depth + 1, rules)?;
                }
            }
            SudoLine::NoPasswd(rule) => rules.push(format!("{abs}:{n}: {rule}")),
            SudoLine::Other => {}
        }
    }
    Ok(())
}

/// Every no-password sudo rule; none when sudo is not installed.
pub(super) fn nopasswd_rules(ctx: &CollectContext) -> Result<Vec<String>, String> {
    let mut rules = Vec::new();
    match sudo_rules(ctx, SUDOERS, 0, &mut rules) {
        Err(e) if e == format!("not found: {SUDOERS}") && !exists(ctx, SUDO) => Ok(rules),
        Err(e) => Err(e),
        Ok(()) => Ok(rules),
    }
}
