//! apt's configuration language (apt.conf(5)): `A::B "v";`, nested `A { B "v"; };`, list
//! items `A { "x"; "y"; };`, `//`, `#` and `/* */` comments, `#clear` and `#include`.
//! Names are case-insensitive; a later assignment overrides an earlier one.

use std::collections::BTreeMap;

/// The settings read so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AptConfig {
    values: BTreeMap<String, String>,
    lists: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    End,
    Open,
    Close,
    Clear(String),
    Include(String),
}

/// The tokens of one file, comments dropped.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => i = line_end(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(b.len(), |k| i + 2 + k + 2);
            }
            b'#' => {
                let end = line_end(b, i);
                let line = &text[i..end];
                let directive = |name: &str| {
                    line.strip_prefix(name)
                        .filter(|r| r.starts_with(char::is_whitespace))
                        .map(|r| {
                            r.trim()
                                .trim_end_matches(';')
                                .trim()
                                .trim_matches('"')
                                .to_string()
                        })
                };
                if let Some(arg) = directive("#clear") {
                    tokens.push(Token::Clear(arg));
                } else if let Some(arg) = directive("#include") {
                    tokens.push(Token::Include(arg));
                }
                i = end;
            }
            b'"' => {
                let end = text[i + 1..].find('"').map_or(b.len(), |k| i + 1 + k);
                tokens.push(Token::Quoted(text[i + 1..end].to_string()));
                i = end + 1;
            }
            b';' => {
                tokens.push(Token::End);
                i += 1;
            }
            b'{' => {
                tokens.push(Token::Open);
                i += 1;
            }
            b'}' => {
                tokens.push(Token::Close);
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                let end = b[i..]
                    .iter()
                    .position(|&c| c.is_ascii_whitespace() || b";{}\"#".contains(&c))
                    .map_or(b.len(), |k| i + k);
                // `//` begins a comment even right after a word.
                let end = text[i..end].find("//").map_or(end, |k| i + k);
                if end == i {
                    i = line_end(b, i);
                    continue;
                }
                tokens.push(Token::Word(text[i..end].to_string()));
                i = end;
            }
        }
    }
    tokens
}

fn line_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |k| from + k)
}

fn join(scope: &[String], name: &str) -> String {
    let mut key = scope.join("::");
    if !key.is_empty() && !name.is_empty() {
        key.push_str("::");
    }
    key.push_str(name);
    key.to_ascii_lowercase()
}

/// Most `#include` levels followed.
const MAX_INCLUDE_DEPTH: usize = 8;

impl AptConfig {
    /// Applies one file's settings over the ones read before. `include` reads the file an
    /// `#include` names (`None`: not readable, skipped as apt would fail instead).
    pub fn apply(&mut self, text: &str, include: &dyn Fn(&str) -> Option<String>) {
        self.apply_at(text, include, 0);
    }

    fn apply_at(&mut self, text: &str, include: &dyn Fn(&str) -> Option<String>, depth: usize) {
        let mut scope: Vec<String> = Vec::new();
        let mut words: Vec<Token> = Vec::new();
        for token in tokenize(text) {
            match token {
                Token::Word(_) | Token::Quoted(_) => words.push(token),
                Token::End => self.statement(&scope, std::mem::take(&mut words)),
                Token::Open => {
                    let name = match words.first() {
                        Some(Token::Word(w) | Token::Quoted(w)) => w.clone(),
                        _ => String::new(),
                    };
                    if words.len() > 1 {
                        self.statement(&scope, std::mem::take(&mut words));
                    }
                    words.clear();
                    scope.push(name);
                }
                Token::Close => {
                    self.statement(&scope, std::mem::take(&mut words));
                    scope.pop();
                }
                Token::Clear(name) => {
                    let key = name.to_ascii_lowercase();
                    let prefix = format!("{key}::");
                    self.values
                        .retain(|k, _| *k != key && !k.starts_with(&prefix));
                    self.lists
                        .retain(|k, _| *k != key && !k.starts_with(&prefix));
                }
                Token::Include(path) => {
                    if depth < MAX_INCLUDE_DEPTH
                        && let Some(text) = include(&path)
                    {
                        self.apply_at(&text, include, depth + 1);
                    }
                }
            }
        }
    }

    fn statement(&mut self, scope: &[String], words: Vec<Token>) {
        let mut it = words.into_iter();
        match (it.next(), it.next()) {
            (None, _) => {}
            (Some(Token::Quoted(item)), None) => {
                self.lists.entry(join(scope, "")).or_default().push(item);
            }
            (Some(Token::Word(name) | Token::Quoted(name)), value) => {
                let mut v = String::new();
                for t in value.into_iter().chain(it) {
                    if let Token::Word(s) | Token::Quoted(s) = t {
                        v.push_str(&s);
                    }
                }
                self.values.insert(join(scope, &name), v);
            }
            _ => {}
        }
    }

    /// The value of `key` (`APT::Periodic::Enable`), any case.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The items of the list `key` (`Unattended-Upgrade::Origins-Pattern`), any case.
    pub fn list(&self, key: &str) -> &[String] {
        self.lists
            .get(&key.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }
}

/// Whether apt reads a file of `/etc/apt/apt.conf.d` with this name: letters, digits, `_`,
/// `-` and `.` only, and no extension other than `.conf`.
pub fn is_config_part(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        && name.rsplit_once('.').is_none_or(|(_, ext)| ext == "conf")
}

/// Whether an APT::Periodic interval turns the job on: a day count above 0, or `always`.
pub fn periodic_on(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        v.eq_ignore_ascii_case("always") || v.parse::<u64>().is_ok_and(|n| n > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn flat_nested_and_overridden() {
        let mut c = AptConfig::default();
        c.apply(
            "// 20auto-upgrades\nAPT::Periodic::Update-Package-Lists \"1\";\n\
             APT::Periodic::Unattended-Upgrade \"1\";\n",
            &none,
        );
        assert_eq!(c.get("apt::periodic::unattended-upgrade"), Some("1"));
        c.apply(
            "APT {\n  Periodic {\n    Unattended-Upgrade \"0\"; // off again\n  };\n};\n",
            &none,
        );
        assert_eq!(c.get("APT::Periodic::Unattended-Upgrade"), Some("0"));
        assert_eq!(c.get("APT::Periodic::Update-Package-Lists"), Some("1"));
        c.apply("APT::Periodic::Unattended-Upgrade 2;", &none);
        assert_eq!(c.get("APT::Periodic::Unattended-Upgrade"), Some("2"));
        assert_eq!(c.get("APT::Periodic::Enable"), None);
    }

    #[test]
    fn comments_of_every_kind() {
        let mut c = AptConfig::default();
        c.apply(
            "# APT::Periodic::Unattended-Upgrade \"1\";\n\
             /* APT::Periodic::Enable \"0\";\n   still a comment \"x\"; */\n\
             //APT::Periodic::Update-Package-Lists \"1\";\n\
             Acquire::http::Proxy \"http://proxy:3128/\"; # trailing\n\
             APT::Periodic::AutocleanInterval \"7\";// no space\n",
            &none,
        );
        assert_eq!(c.get("APT::Periodic::Unattended-Upgrade"), None);
        assert_eq!(c.get("APT::Periodic::Enable"), None);
        assert_eq!(c.get("APT::Periodic::Update-Package-Lists"), None);
        assert_eq!(c.get("Acquire::http::Proxy"), Some("http://proxy:3128/"));
        assert_eq!(c.get("APT::Periodic::AutocleanInterval"), Some("7"));
    }

    #[test]
    fn lists_clear_and_include() {
        let mut c = AptConfig::default();
        c.apply(
            "Unattended-Upgrade::Origins-Pattern {\n  \"origin=Debian,codename=${distro_codename},label=Debian\";\n\
               \"origin=Debian,codename=${distro_codename}-security,label=Debian-Security\";\n};\n",
            &none,
        );
        assert_eq!(c.list("unattended-upgrade::origins-pattern").len(), 2);
        c.apply("#clear Unattended-Upgrade::Origins-Pattern;\n", &none);
        assert!(c.list("Unattended-Upgrade::Origins-Pattern").is_empty());
        let include = |p: &str| {
            (p == "/etc/apt/extra.conf").then(|| "APT::Periodic::Enable \"0\";".to_string())
        };
        c.apply(
            "#include \"/etc/apt/extra.conf\";\n#include /missing;\n",
            &include,
        );
        assert_eq!(c.get("APT::Periodic::Enable"), Some("0"));
    }

    #[test]
    fn which_files_apt_reads_and_which_intervals_are_on() {
        for ok in [
            "20auto-upgrades",
            "50unattended-upgrades",
            "99local.conf",
            "a_b-c",
        ] {
            assert!(is_config_part(ok), "{ok}");
        }
        for skipped in [
            "50unattended-upgrades.dpkg-old",
            "20auto-upgrades.ucf-dist",
            "x~",
            "local.conf.bak",
            "has space",
            "",
        ] {
            assert!(!is_config_part(skipped), "{skipped}");
        }
        assert!(periodic_on(Some("1")) && periodic_on(Some("always")));
        assert!(!periodic_on(Some("0")) && !periodic_on(None) && !periodic_on(Some("yes")));
    }
}
