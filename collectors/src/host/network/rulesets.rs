//! Firewall rulesets as the kernel holds them: `nft list ruleset` and `iptables-save` parsed into
//! chains with their policies and unconditional verdicts.

/// The unconditional outcome of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every packet reaching the rule is accepted.
    Accept,
    /// Every packet reaching the rule is dropped or rejected.
    Deny,
}

/// One chain of a ruleset, with what matters for inbound filtering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// `ip`, `ip6`, `inet`, `arp`, `bridge` or `netdev`.
    pub family: String,
    /// The table's name.
    pub table: String,
    /// The chain's name.
    pub name: String,
    /// The hook of a base chain (`input`, `forward`…); none for a regular chain.
    pub hook: Option<String>,
    /// Its policy is drop.
    pub policy_drop: bool,
    /// How many rules it has.
    pub rules: usize,
    /// The verdict of its first rule that applies to every packet, if any.
    pub first_verdict: Option<Verdict>,
    /// An iptables chain (from iptables-save, or an iptables-nft table).
    pub iptables: bool,
}

impl Chain {
    fn add_rule(&mut self, verdict: Option<Verdict>) {
        self.rules += 1;
        if self.first_verdict.is_none() {
            self.first_verdict = verdict;
        }
    }

    fn is_input(&self) -> bool {
        self.hook.as_deref() == Some("input")
            && matches!(self.family.as_str(), "ip" | "ip6" | "inet")
    }

    fn filters(&self) -> bool {
        self.rules > 0 || self.policy_drop
    }

    /// A packet no rule accepts is dropped.
    fn denies(&self) -> bool {
        match self.first_verdict {
            Some(v) => v == Verdict::Deny,
            None => self.policy_drop,
        }
    }
}

/// The chains of a ruleset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ruleset {
    /// Every chain.
    pub chains: Vec<Chain>,
}

impl Ruleset {
    fn input(&self) -> impl Iterator<Item = &Chain> {
        self.chains.iter().filter(|c| c.is_input())
    }

    /// Some input base chain filters.
    pub fn active(&self) -> bool {
        self.input().any(Chain::filters)
    }

    /// Unaccepted inbound packets are dropped for IPv4 and, when `ipv6`, IPv6: every base
    /// chain must pass a packet, so one denying chain per family is enough.
    pub fn default_deny(&self, ipv6: bool) -> bool {
        let covered = |family: &str| {
            self.input()
                .any(|c| c.denies() && (c.family == family || c.family == "inet"))
        };
        covered("ip") && (!ipv6 || covered("ip6"))
    }

    /// `iptables`, `nftables` or `none`: what the filtering input chains belong to.
    pub fn kind(&self) -> &'static str {
        let mut filtering = self.input().filter(|c| c.filters()).peekable();
        if filtering.peek().is_none() {
            "none"
        } else if filtering.all(|c| c.iptables) {
            "iptables"
        } else {
            "nftables"
        }
    }
}

/// Splits a statement into words, a double-quoted string being one word.
pub(super) fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match (c, start) {
            ('"', _) => {
                quoted = !quoted;
                start.get_or_insert(i);
            }
            (c, Some(st)) if c.is_whitespace() && !quoted => {
                out.push(&s[st..i]);
                start = None;
            }
            (c, None) if !c.is_whitespace() => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

/// The unconditional verdict of an nft rule: only counters and log statements may come
/// before `accept`, `drop` or `reject`.
pub fn nft_verdict(rule: &str) -> Option<Verdict> {
    let w = words(rule);
    let mut i = 0;
    while i < w.len() {
        match w[i] {
            "counter" | "log" => i += 1,
            "packets" | "bytes" | "prefix" | "level" | "flags" | "group" | "snaplen" => i += 2,
            "accept" => return Some(Verdict::Accept),
            "drop" | "reject" => return Some(Verdict::Deny),
            _ => return None,
        }
    }
    None
}

/// The unconditional verdict of an iptables rule's matches and target (after `-A CHAIN`):
/// only a comment may come before `-j ACCEPT|DROP|REJECT`.
pub fn iptables_verdict(rest: &str) -> Option<Verdict> {
    let w = words(rest);
    let w = match w.as_slice() {
        ["-m", "comment", "--comment", _, tail @ ..] => tail,
        all => all,
    };
    match w {
        ["-j", "ACCEPT", ..] => Some(Verdict::Accept),
        ["-j", "DROP" | "REJECT", ..] => Some(Verdict::Deny),
        _ => None,
    }
}

/// What a brace opens in nft syntax.
pub(super) enum Block {
    Table { family: String, name: String },
    Chain(usize),
    Other,
}

/// Parses nft syntax: `nft list ruleset` output or a configuration file (one-line chains,
/// `;`-separated statements, `#` comments, inline sets `{ 22, 80 }`). Returns the chains and
/// the `include` paths met, for the caller to follow.
pub fn parse_nft(text: &str) -> (Ruleset, Vec<String>) {
    let mut rs = Ruleset::default();
    let mut includes = Vec::new();
    let mut stack: Vec<Block> = Vec::new();
    let mut stmt = String::new();
    let mut inline = 0usize;
    let mut quoted = false;
    let mut comment = false;
    for c in text.chars() {
        if comment {
            if c != '\n' {
                continue;
            }
            comment = false;
        }
        if quoted {
            stmt.push(c);
            quoted = c != '"';
            continue;
        }
        // Inside a chain or a set, braces are inline sets; at the top and in a table they
        // open blocks.
        let in_body = matches!(stack.last(), Some(Block::Chain(_) | Block::Other));
        match c {
            '"' => {
                quoted = true;
                stmt.push(c);
            }
            '#' => comment = true,
            '{' if inline > 0 || in_body => {
                inline += 1;
                stmt.push(c);
            }
            '{' => {
                let w = words(&stmt);
                let block = match (stack.last(), w.as_slice()) {
                    (None, ["table", family, name]) => Block::Table {
                        family: family.to_string(),
                        name: name.to_string(),
                    },
                    (None, ["table", name]) => Block::Table {
                        family: "ip".into(),
                        name: name.to_string(),
                    },
                    (Some(Block::Table { family, name }), ["chain", chain, ..]) => {
                        rs.chains.push(Chain {
                            iptables: matches!(family.as_str(), "ip" | "ip6")
                                && name == "filter"
                                && matches!(*chain, "INPUT" | "FORWARD" | "OUTPUT"),
                            family: family.clone(),
                            table: name.clone(),
                            name: chain.to_string(),
                            ..Chain::default()
                        });
                        Block::Chain(rs.chains.len() - 1)
                    }
                    _ => Block::Other,
                };
                stack.push(block);
                stmt.clear();
            }
            '}' if inline > 0 => {
                inline -= 1;
                stmt.push(c);
            }
            '}' => {
                nft_statement(&mut rs, &mut includes, stack.last(), &stmt);
                stmt.clear();
                stack.pop();
            }
            ';' | '\n' if inline == 0 => {
                nft_statement(&mut rs, &mut includes, stack.last(), &stmt);
                stmt.clear();
            }
            '\n' => stmt.push(' '),
            _ => stmt.push(c),
        }
    }
    nft_statement(&mut rs, &mut includes, stack.last(), &stmt);
    (rs, includes)
}

/// One statement inside `block`.
pub(super) fn nft_statement(
    rs: &mut Ruleset,
    includes: &mut Vec<String>,
    block: Option<&Block>,
    stmt: &str,
) {
    let w = words(stmt);
    match (block, w.as_slice()) {
        (_, []) => {}
        (None, ["include", path]) => includes.push(path.trim_matches('"').to_string()),
        (Some(Block::Chain(i)), ["type", rest @ ..]) => {
            if let Some(pos) = rest.iter().position(|x| *x == "hook") {
                rs.chains[*i].hook = rest.get(pos + 1).map(|h| h.to_string());
            }
        }
        (Some(Block::Chain(i)), ["policy", policy]) => {
            rs.chains[*i].policy_drop = *policy == "drop"
        }
        (Some(Block::Chain(_)), ["comment" | "devices", ..]) => {}
        (Some(Block::Chain(i)), _) => rs.chains[*i].add_rule(nft_verdict(stmt)),
        _ => {}
    }
}

/// Parses `iptables-save` (or `ip6tables-save`) output into the filter table's chains.
pub fn parse_iptables_save(text: &str, family: &str) -> Vec<Chain> {
    let mut chains: Vec<Chain> = Vec::new();
    let mut table = "";
    for line in text.lines().map(str::trim) {
        if let Some(t) = line.strip_prefix('*') {
            table = t;
        } else if table != "filter" {
            continue;
        } else if let Some(decl) = line.strip_prefix(':') {
            let mut w = decl.split_whitespace();
            let (Some(name), Some(policy)) = (w.next(), w.next()) else {
                continue;
            };
            let hook = match name {
                "INPUT" | "FORWARD" | "OUTPUT" => Some(name.to_ascii_lowercase()),
                _ => None,
            };
            chains.push(Chain {
                family: family.to_string(),
                table: "filter".into(),
                name: name.to_string(),
                hook,
                policy_drop: policy == "DROP",
                iptables: true,
                ..Chain::default()
            });
        } else if let Some(rule) = line.strip_prefix("-A ") {
            let (name, rest) = rule.split_once(' ').unwrap_or((rule, ""));
            if let Some(c) = chains.iter_mut().find(|c| c.name == name) {
                c.add_rule(iptables_verdict(rest));
            }
        }
    }
    chains
}

/// A command's failure, saying when it is for want of privileges.
pub(super) fn ruleset_error(e: String) -> String {
    let lower = e.to_ascii_lowercase();
    if lower.contains("permission denied")
        || lower.contains("not permitted")
        || lower.contains("must be root")
    {
        format!("needs root (CAP_NET_ADMIN) to read the ruleset: {e}")
    } else {
        e
    }
}
