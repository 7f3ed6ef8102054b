//! Forwarding: the remote collectors that rsyslog, syslog-ng and systemd-journal-upload send
//! logs to, read from their configuration.

use std::collections::{BTreeMap, BTreeSet};

use super::{conf_files, setting, systemd_conf};
use crate::CollectContext;
use crate::host::procs::Processes;

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
pub(super) type TargetParser = fn(&str, &mut BTreeSet<String>);

/// The forwarding targets (host:port) of the running log forwarders, sorted.
pub(super) fn forwarding(ctx: &CollectContext, procs: &Processes) -> Result<Vec<String>, String> {
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
