//! The SSH server: sshd's effective settings for a connection that matches no `Match` block,
//! the weak algorithms it would offer, and the authorized keys of each account (counts and key
//! types only, never a key, comment or fingerprint).
//!
//! The settings come from `sshd -T` when the server is installed and that works (it needs root:
//! sshd reads its host keys first). Otherwise, and always for the `Match` count, sshd_config is
//! parsed the way sshd parses it: keywords case-insensitive, the first value of a keyword wins,
//! `Include` (globs relative to /etc/ssh, files in lexical order, read at the point of
//! inclusion) and `Match` blocks (which apply only to matching connections, so the global value
//! is the first one outside any block), then OpenSSH's built-in defaults. The algorithm lists
//! are assembled from OpenSSH's defaults with the `+`, `-` and `^` forms as sshd does. Both ways
//! give the same values for the same host (a test checks it on the fixture hosts), so an agent
//! running as root and one running unprivileged report the same facts.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Value, json};
use vouch_evidence::Source as ItemSource;

use super::accounts::{Account, dir_names, read_passwd};
use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, describe_io, exists,
    fact, file,
};

mod keys;
mod sshd_config;
use keys::*;
use sshd_config::*;

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.ssh.server_installed",
        value_type: ValueType::Bool,
        meaning: "The OpenSSH server (sshd) is installed. When it is not, the other host.ssh \
                  settings are unavailable with the reason `not installed`.",
        source: "/usr/sbin/sshd",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.permit_root_login",
        value_type: ValueType::String,
        meaning: "Whether root may log in over SSH (`PermitRootLogin`): `no`, \
                  `prohibit-password` (keys only; `without-password` is reported under this \
                  name), `forced-commands-only` or `yes`. OpenSSH's default is \
                  `prohibit-password`.",
        source: "sshd -T, else /etc/ssh/sshd_config with its Include files and OpenSSH defaults",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.password_authentication",
        value_type: ValueType::Bool,
        meaning: "Passwords are accepted over SSH (`PasswordAuthentication`, default yes).",
        source: "sshd -T, else /etc/ssh/sshd_config with its Include files and OpenSSH defaults",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.pubkey_authentication",
        value_type: ValueType::Bool,
        meaning: "Public keys are accepted over SSH (`PubkeyAuthentication`, default yes).",
        source: "sshd -T, else /etc/ssh/sshd_config with its Include files and OpenSSH defaults",
        context_only: Some(
            "key login on or off is a choice; the policies judge the risky methods (passwords, empty passwords, root).",
        ),
    },
    EvidenceSpec {
        id: "host.ssh.permit_empty_passwords",
        value_type: ValueType::Bool,
        meaning: "Accounts with an empty password may log in over SSH with password \
                  authentication (`PermitEmptyPasswords`, default no).",
        source: "sshd -T, else /etc/ssh/sshd_config with its Include files and OpenSSH defaults",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.kbd_interactive_authentication",
        value_type: ValueType::Bool,
        meaning: "Keyboard-interactive authentication is offered \
                  (`KbdInteractiveAuthentication`, formerly `ChallengeResponseAuthentication`; \
                  OpenSSH default yes, Debian's stock sshd_config sets no). With PAM it can ask \
                  for a password even when password authentication is off.",
        source: "sshd -T, else /etc/ssh/sshd_config with its Include files and OpenSSH defaults",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.max_auth_tries",
        value_type: ValueType::Integer,
        meaning: "Authentication attempts allowed per connection (`MaxAuthTries`, default 6).",
        source: "sshd -T, else /etc/ssh/sshd_config with its Include files and OpenSSH defaults",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.x11_forwarding",
        value_type: ValueType::Bool,
        meaning: "X11 forwarding is permitted (`X11Forwarding`; OpenSSH default no, Debian's \
                  and RHEL's stock configurations set yes).",
        source: "sshd -T, else /etc/ssh/sshd_config with its Include files and OpenSSH defaults",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.weak_ciphers",
        value_type: ValueType::StringList,
        meaning: "Enabled ciphers that are weak (CBC modes, 3DES, arcfour, blowfish, cast128, \
                  none), in sshd's order; empty when none. Unconfigured, OpenSSH 9's defaults \
                  apply, which have none.",
        source: "sshd -T (ciphers), else Ciphers in /etc/ssh/sshd_config and its Include files \
                 (on RHEL the crypto-policies file it includes) applied to OpenSSH 9's defaults",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.weak_macs",
        value_type: ValueType::StringList,
        meaning: "Enabled MACs that are weak: MD5, SHA-1 or RIPEMD-160 based, 96-bit truncated, \
                  or with a 64-bit tag (umac-64); in sshd's order. Encrypt-and-MAC forms of \
                  SHA-2 and umac-128 are not counted. OpenSSH 9's defaults include umac-64 and \
                  hmac-sha1 (both forms).",
        source: "sshd -T (macs), else MACs in /etc/ssh/sshd_config and its Include files applied \
                 to OpenSSH 9's defaults",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.weak_kex",
        value_type: ValueType::StringList,
        meaning: "Enabled key exchange algorithms that are weak (SHA-1 based: \
                  diffie-hellman-group1-sha1, diffie-hellman-group14-sha1, \
                  diffie-hellman-group-exchange-sha1), in sshd's order. OpenSSH 9's defaults \
                  have none.",
        source: "sshd -T (kexalgorithms), else KexAlgorithms in /etc/ssh/sshd_config and its \
                 Include files applied to OpenSSH 9's defaults",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.match_blocks",
        value_type: ValueType::Integer,
        meaning: "`Match` blocks in the configuration (`Match all` lines, which end a block, \
                  not counted). The host.ssh settings are those of a connection matching none; \
                  matching connections may get others.",
        source: "/etc/ssh/sshd_config and its Include files",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.ssh.authorized_keys",
        value_type: ValueType::Object,
        meaning: "Accounts with SSH keys authorized to log in: `{account: {count, types: \
                  {\"ssh-ed25519\": 1, \"ssh-rsa\": 2}}}`, from the AuthorizedKeysFile files \
                  in each account's home (default .ssh/authorized_keys and \
                  .ssh/authorized_keys2); accounts without keys left out. Counts and key types \
                  only. Unavailable as a whole when any account's file cannot be read.",
        source: "AuthorizedKeysFile (sshd -T or sshd_config) below each home in /etc/passwd",
        context_only: None,
    },
];

/// The collector.
pub struct Ssh;

#[async_trait]
impl Collector for Ssh {
    fn name(&self) -> &'static str {
        "host.ssh"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let installed = exists(ctx, SSHD);
        let not_installed = || format!("not installed: {SSHD}");
        let parsed = if installed {
            parse_config(ctx)
        } else {
            Err(not_installed())
        };
        let (config, match_blocks) = match parsed {
            Ok((config, blocks)) => (config, Ok(blocks)),
            Err(e) => (Err(e.clone()), Err(e)),
        };
        let dump = if installed {
            ctx.command(SSHD, &["-T"])
                .await
                .and_then(|out| parse_dump(&out))
        } else {
            Err(not_installed())
        };
        let (settings, source) = match dump {
            Ok(dumped) => {
                if let Ok(parsed) = &config
                    && parsed != &dumped
                {
                    tracing::warn!(
                        parsed = ?parsed,
                        dumped = ?dumped,
                        "sshd_config parsed differs from `sshd -T`; reporting `sshd -T`"
                    );
                }
                (Ok(dumped), ItemSource::Command("sshd -T".to_string()))
            }
            Err(why) => {
                if installed {
                    tracing::debug!(%why, "`sshd -T` unusable; parsing {SSHD_CONFIG}");
                }
                (config, file(SSHD_CONFIG))
            }
        };
        let keys_files = match &settings {
            Ok(s) => Ok(s.authorized_keys_files.clone()),
            Err(e) if !installed && e == &not_installed() => Ok(vec![
                ".ssh/authorized_keys".to_string(),
                ".ssh/authorized_keys2".to_string(),
            ]),
            Err(e) => Err(e.clone()),
        };
        let keys = keys_files.clone().and_then(|files| {
            let accounts = read_passwd(ctx)?;
            authorized_keys(ctx, &accounts, &files)
        });
        let keys_source = ItemSource::File(format!(
            "{} below each home in /etc/passwd",
            keys_files
                .map(|f| f.join(" "))
                .unwrap_or_else(|_| "AuthorizedKeysFile".to_string())
        ));
        let setting = |id: &'static str, f: fn(&Effective) -> Value| {
            fact(
                id,
                source.clone(),
                settings.as_ref().map(f).map_err(Clone::clone),
            )
        };
        Ok(vec![
            fact(
                "host.ssh.server_installed",
                file(SSHD),
                Ok::<_, String>(installed),
            ),
            setting("host.ssh.permit_root_login", |s| {
                s.permit_root_login.clone().into()
            }),
            setting("host.ssh.password_authentication", |s| {
                s.password_authentication.into()
            }),
            setting("host.ssh.pubkey_authentication", |s| {
                s.pubkey_authentication.into()
            }),
            setting("host.ssh.permit_empty_passwords", |s| {
                s.permit_empty_passwords.into()
            }),
            setting("host.ssh.kbd_interactive_authentication", |s| {
                s.kbd_interactive_authentication.into()
            }),
            setting("host.ssh.max_auth_tries", |s| s.max_auth_tries.into()),
            setting("host.ssh.x11_forwarding", |s| s.x11_forwarding.into()),
            setting("host.ssh.weak_ciphers", |s| s.weak_ciphers.clone().into()),
            setting("host.ssh.weak_macs", |s| s.weak_macs.clone().into()),
            setting("host.ssh.weak_kex", |s| s.weak_kex.clone().into()),
            fact("host.ssh.match_blocks", file(SSHD_CONFIG), match_blocks),
            fact("host.ssh.authorized_keys", keys_source, keys),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::accounts::tests::tree;
    use std::path::PathBuf;

    fn owned(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    fn fixture(name: &str) -> CollectContext {
        CollectContext::for_test(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/hosts")
                .join(name),
        )
    }

    fn parsed(files: &[(&str, &str)]) -> (Effective, u64) {
        let (_dir, ctx) = tree(files);
        let (e, blocks) = parse_config(&ctx).unwrap();
        (e.unwrap(), blocks)
    }

    #[test]
    fn keywords_split_like_sshd() {
        assert_eq!(
            split_keyword("  PermitRootLogin   no  "),
            Some(("PermitRootLogin", "no"))
        );
        assert_eq!(split_keyword("MaxAuthTries=3"), Some(("MaxAuthTries", "3")));
        assert_eq!(
            split_keyword("MaxAuthTries = 3"),
            Some(("MaxAuthTries", "3"))
        );
        assert_eq!(split_keyword("   # PermitRootLogin yes"), None);
        assert_eq!(split_keyword("\t"), None);
        assert_eq!(
            split_args(r#"a "b c" 'd e'  f\ g # comment"#).unwrap(),
            ["a", "b c", "d e", "f g"]
        );
        assert_eq!(split_args(r#"x\"y"#).unwrap(), ["x\"y"]);
        assert!(split_args("\"open").is_err());
        assert!(split_args("# only a comment").unwrap().is_empty());
    }

    #[test]
    fn first_value_wins_and_keywords_ignore_case() {
        let (e, blocks) = parsed(&[(
            SSHD_CONFIG,
            "permitrootlogin NO\nPermitRootLogin yes\nPASSWORDAUTHENTICATION No\n\
             ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\n",
        )]);
        assert_eq!(e.permit_root_login, "no");
        assert!(!e.password_authentication);
        assert!(!e.kbd_interactive_authentication, "the alias came first");
        assert_eq!(blocks, 0);
    }

    #[test]
    fn defaults_are_openssh_9s() {
        let (e, _) = parsed(&[(SSHD_CONFIG, "# all commented\n#PermitRootLogin yes\n")]);
        assert_eq!(e.permit_root_login, "prohibit-password");
        assert!(e.password_authentication);
        assert!(e.pubkey_authentication);
        assert!(!e.permit_empty_passwords);
        assert!(e.kbd_interactive_authentication);
        assert_eq!(e.max_auth_tries, 6);
        assert!(!e.x11_forwarding);
        assert!(e.weak_ciphers.is_empty());
        assert!(e.weak_kex.is_empty());
        assert_eq!(
            e.weak_macs,
            [
                "umac-64-etm@openssh.com",
                "hmac-sha1-etm@openssh.com",
                "umac-64@openssh.com",
                "hmac-sha1"
            ]
        );
        assert_eq!(
            e.authorized_keys_files,
            [".ssh/authorized_keys", ".ssh/authorized_keys2"]
        );
    }

    #[test]
    fn match_blocks_apply_only_to_matching_connections() {
        let (e, blocks) = parsed(&[(
            SSHD_CONFIG,
            "X11Forwarding no\nMatch User backup\n  PasswordAuthentication no\n  \
             MaxAuthTries 2\nMatch all\nMaxAuthTries 4\nMatch Address 10.0.0.0/8\n\
             PermitRootLogin yes\n",
        )]);
        assert!(e.password_authentication, "set only inside a Match block");
        assert_eq!(e.max_auth_tries, 4, "after `Match all` lines apply again");
        assert_eq!(e.permit_root_login, "prohibit-password");
        assert_eq!(blocks, 2);
    }

    #[test]
    fn includes_are_read_in_place_in_lexical_order() {
        let (e, blocks) = parsed(&[
            (
                SSHD_CONFIG,
                "PermitRootLogin no\nInclude sshd_config.d/*.conf\nMaxAuthTries 5\n\
                 X11Forwarding yes\n",
            ),
            // Read after PermitRootLogin no (first wins), before the main file's MaxAuthTries.
            (
                "/etc/ssh/sshd_config.d/20-b.conf",
                "PermitRootLogin yes\nMaxAuthTries 3\n",
            ),
            ("/etc/ssh/sshd_config.d/10-a.conf", "MaxAuthTries 2\n"),
            (
                "/etc/ssh/sshd_config.d/30-match.conf",
                "Match Group admins\nX11Forwarding no\n",
            ),
            (
                "/etc/ssh/sshd_config.d/.hidden.conf",
                "PubkeyAuthentication no\n",
            ),
            (
                "/etc/ssh/sshd_config.d/40-other.txt",
                "PubkeyAuthentication no\n",
            ),
        ]);
        assert_eq!(e.permit_root_login, "no");
        assert_eq!(e.max_auth_tries, 2, "10-a.conf is read before 20-b.conf");
        assert!(
            e.x11_forwarding,
            "a Match block in an included file ends with that file"
        );
        assert!(
            e.pubkey_authentication,
            "hidden and non-matching files are not read"
        );
        assert_eq!(blocks, 1);
    }

    #[test]
    fn an_include_inside_a_match_block_never_applies_globally() {
        let (e, blocks) = parsed(&[
            (
                SSHD_CONFIG,
                "Match User deploy\nInclude /etc/ssh/deploy.conf\n",
            ),
            (
                "/etc/ssh/deploy.conf",
                "Match all\nPasswordAuthentication no\n",
            ),
        ]);
        assert!(e.password_authentication);
        assert_eq!(blocks, 1);
    }

    #[test]
    fn unreadable_or_invalid_configurations_say_why() {
        let (_dir, ctx) = tree(&[]);
        assert_eq!(
            parse_config(&ctx).unwrap_err(),
            "not found: /etc/ssh/sshd_config"
        );
        let (_dir, ctx) = tree(&[(SSHD_CONFIG, "PasswordAuthentication maybe\n")]);
        let err = parse_config(&ctx).unwrap().0.unwrap_err();
        assert!(
            err.starts_with("/etc/ssh/sshd_config line 1: PasswordAuthentication \"maybe\""),
            "{err}"
        );
        let (_dir, ctx) = tree(&[
            (SSHD_CONFIG, "Include loop.conf\n"),
            ("/etc/ssh/loop.conf", "Include loop.conf\n"),
        ]);
        assert!(
            parse_config(&ctx)
                .unwrap_err()
                .contains("nested more than 16")
        );
    }

    #[test]
    fn algorithm_lists_are_assembled_like_sshd() {
        let def = &["a-ctr", "b-gcm", "c-cbc"];
        assert_eq!(
            assemble("+d-cbc,a-ctr", def).unwrap(),
            ["a-ctr", "b-gcm", "c-cbc", "d-cbc"]
        );
        assert_eq!(assemble("-*-cbc", def).unwrap(), ["a-ctr", "b-gcm"]);
        assert_eq!(assemble("-c-cbc,a?ctr", def).unwrap(), ["b-gcm"]);
        assert_eq!(
            assemble("^d-cbc,a-ctr", def).unwrap(),
            ["d-cbc", "a-ctr", "b-gcm", "c-cbc"]
        );
        assert_eq!(assemble("x-cbc,b-gcm", def).unwrap(), ["x-cbc", "b-gcm"]);
        assert_eq!(assemble("-a-ctr,b-gcm,c-cbc", def), None, "nothing left");
        assert_eq!(assemble("*-cbc", def), None, "patterns only in a - list");
        assert_eq!(assemble("+aes*", def), None);
        assert_eq!(assemble("!a-ctr", def), None);
    }

    /// The names of `list` that `pick` picks, in order.
    fn weak(list: &[&str], pick: fn(&str) -> bool) -> Vec<String> {
        owned(list).into_iter().filter(|n| pick(n)).collect()
    }

    #[test]
    fn weak_algorithms_are_recognised() {
        let ciphers = &[
            "aes128-ctr",
            "aes256-cbc",
            "3des-cbc",
            "chacha20-poly1305@openssh.com",
            "arcfour256",
        ];
        assert_eq!(
            weak(ciphers, weak_cipher),
            ["aes256-cbc", "3des-cbc", "arcfour256"]
        );
        let macs = &[
            "hmac-sha2-256-etm@openssh.com",
            "hmac-sha2-512",
            "hmac-md5-96",
            "umac-128@openssh.com",
            "hmac-sha1-96-etm@openssh.com",
            "hmac-ripemd160",
        ];
        assert_eq!(
            weak(macs, weak_mac),
            [
                "hmac-md5-96",
                "hmac-sha1-96-etm@openssh.com",
                "hmac-ripemd160"
            ]
        );
        let kex = &[
            "curve25519-sha256",
            "diffie-hellman-group14-sha256",
            "diffie-hellman-group14-sha1",
            "diffie-hellman-group1-sha1",
            "diffie-hellman-group-exchange-sha1",
        ];
        assert_eq!(
            weak(kex, weak_kex),
            [
                "diffie-hellman-group14-sha1",
                "diffie-hellman-group1-sha1",
                "diffie-hellman-group-exchange-sha1"
            ]
        );
    }

    #[test]
    fn glob_classes_and_wildcards() {
        assert!(wildcard("*.conf", "50-redhat.conf", true));
        assert!(!wildcard("*.conf", "50-redhat.conf.bak", true));
        assert!(wildcard("[0-4]?-*", "40-site.conf", true));
        assert!(!wildcard("[!0-4]?-*", "40-site.conf", true));
        assert!(wildcard("ecdh-sha2-*", "ecdh-sha2-nistp256", false));
        assert!(!wildcard("ecdh-sha2-*", "curve25519-sha256", false));
    }

    #[test]
    fn sshd_t_output_is_normalised() {
        let dump = "permitrootlogin without-password\npasswordauthentication no\n\
                    pubkeyauthentication yes\npermitemptypasswords no\n\
                    challengeresponseauthentication no\nmaxauthtries 4\nx11forwarding yes\n\
                    ciphers aes128-ctr,aes128-cbc\nmacs hmac-sha2-256\n\
                    kexalgorithms curve25519-sha256,diffie-hellman-group14-sha1\n\
                    authorizedkeysfile .ssh/authorized_keys /etc/ssh/keys/%u\n";
        let e = parse_dump(dump).unwrap();
        assert_eq!(e.permit_root_login, "prohibit-password");
        assert!(!e.kbd_interactive_authentication);
        assert_eq!(e.max_auth_tries, 4);
        assert_eq!(e.weak_ciphers, ["aes128-cbc"]);
        assert!(e.weak_macs.is_empty());
        assert_eq!(e.weak_kex, ["diffie-hellman-group14-sha1"]);
        assert_eq!(
            e.authorized_keys_files,
            [".ssh/authorized_keys", "/etc/ssh/keys/%u"]
        );
        let incomplete = parse_dump("permitrootlogin no\n").unwrap_err();
        assert!(
            incomplete.starts_with("`sshd -T` printed no "),
            "{incomplete}"
        );
    }

    /// The root path (`sshd -T`, recorded from OpenSSH 9.2 on Debian 12 for the fixture's own
    /// configuration) and the unprivileged path (parsing sshd_config) agree on every fixture
    /// that has a recording.
    #[test]
    fn sshd_t_and_the_parsed_configuration_agree() {
        for host in ["debian12-hardened", "debian12-weak"] {
            let ctx = fixture(host);
            let dump = std::fs::read_to_string(ctx.root.join(".vouch-commands/sshd -T")).unwrap();
            let dumped = parse_dump(&dump).unwrap();
            let (config, _) = parse_config(&ctx).unwrap();
            assert_eq!(config.unwrap(), dumped, "{host}");
        }
    }

    #[test]
    fn authorized_keys_lines_give_their_key_type() {
        assert_eq!(
            key_type("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA+x/ alice@laptop"),
            Some("ssh-ed25519")
        );
        assert_eq!(
            key_type(r#"from="10.0.0.0/8",command="echo \"a b\"",no-pty ssh-rsa AAAAB3Nza== ops"#),
            Some("ssh-rsa")
        );
        assert_eq!(
            key_type(r#"command="/bin/deploy --env prod" sk-ssh-ed25519@openssh.com AAAAGnNr"#),
            Some("sk-ssh-ed25519@openssh.com")
        );
        assert_eq!(key_type("  # ssh-rsa AAAA commented out"), None);
        assert_eq!(key_type(""), None);
        assert_eq!(key_type("ssh-rsa"), None, "no key");
        assert_eq!(key_type("ssh-rsa not*base64"), None);
        assert_eq!(key_type("this line is not a key"), None);
        let counts = key_types("ssh-rsa AAAA\n\nno-pty ssh-rsa AAAB\necdsa-sha2-nistp256 AAAE x\n");
        assert_eq!(counts.get("ssh-rsa"), Some(&2));
        assert_eq!(counts.get("ecdsa-sha2-nistp256"), Some(&1));
    }

    #[test]
    fn authorized_keys_files_expand_per_account() {
        let a = Account {
            name: "alice".into(),
            uid: 1000,
            home: "/home/alice/".into(),
            shell: "/bin/bash".into(),
        };
        assert_eq!(
            keys_path(".ssh/authorized_keys", &a),
            "/home/alice/.ssh/authorized_keys"
        );
        assert_eq!(
            keys_path("/etc/ssh/keys/%u.%U", &a),
            "/etc/ssh/keys/alice.1000"
        );
        assert_eq!(keys_path("%h/.ssh/k%%", &a), "/home/alice//.ssh/k%");
    }

    #[test]
    fn an_unreadable_keys_file_makes_the_fact_unavailable() {
        let (dir, ctx) = tree(&[("/home/bob/.ssh/authorized_keys", "ssh-ed25519 AAAA\n")]);
        let bob = Account {
            name: "bob".into(),
            uid: 1001,
            home: "/home/bob".into(),
            shell: "/bin/sh".into(),
        };
        let files = owned(&[".ssh/authorized_keys", ".ssh/authorized_keys2"]);
        assert_eq!(
            authorized_keys(&ctx, std::slice::from_ref(&bob), &files).unwrap(),
            json!({"bob": {"count": 1, "types": {"ssh-ed25519": 1}}})
        );
        assert_eq!(
            authorized_keys(&ctx, std::slice::from_ref(&bob), &owned(&["none"])).unwrap(),
            json!({})
        );
        // A directory where the file should be cannot be read: not a silent zero.
        std::fs::create_dir_all(dir.path().join("home/bob/.ssh/authorized_keys2")).unwrap();
        let err = authorized_keys(&ctx, &[bob], &files).unwrap_err();
        assert!(
            err.starts_with("cannot read /home/bob/.ssh/authorized_keys2"),
            "{err}"
        );
    }

    /// Configurations whose `sshd -T` output was recorded from OpenSSH 9.2 (Debian 12): the
    /// parse must give the same values.
    #[test]
    fn the_parse_agrees_with_real_sshd_on_tricky_configurations() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[
                    (
                        SSHD_CONFIG,
                        "Include conf.d/*.conf\nPermitRootLogin yes\n\
                         X11Forwarding=yes # trailing comment\n\
                         KexAlgorithms ^diffie-hellman-group14-sha1,curve25519-sha256\n\
                         MACs +hmac-md5,umac-64@openssh.com\nMatch User bob\n\
                         \x20 PasswordAuthentication no\n  Include /etc/ssh/inmatch.conf\n\
                         Match all\nMaxAuthTries \"4\"\n",
                    ),
                    (
                        "/etc/ssh/conf.d/a.conf",
                        "CHALLENGERESPONSEAUTHENTICATION no\nKbdInteractiveAuthentication yes\n\
                         Ciphers aes256-ctr,chacha20-poly1305@openssh.com,aes128-cbc\n",
                    ),
                    (
                        "/etc/ssh/conf.d/b.conf",
                        "passwordauthentication NO\nMatch Group x\nPermitRootLogin no\n",
                    ),
                    (
                        "/etc/ssh/inmatch.conf",
                        "Match all\nPubkeyAuthentication no\n",
                    ),
                ],
                C1_DUMP,
            ),
            (
                &[(
                    SSHD_CONFIG,
                    "Ciphers -*-gcm@openssh.com\n\
                     KexAlgorithms +diffie-hellman-group14-sha1,diffie-hellman-group1-sha1\n\
                     MACs ^hmac-sha1-96\nPermitRootLogin without-password\n\
                     AuthorizedKeysFile %h/.ssh/authorized_keys /etc/ssh/keys/%u\n\
                     PermitEmptyPasswords yes\nMatch Address 10.0.0.0/8\nX11Forwarding yes\n",
                )],
                C2_DUMP,
            ),
            (
                &[(
                    SSHD_CONFIG,
                    "Ciphers +aes128-cbc\nMACs -umac-64*,hmac-sha1*\n\
                     PermitRootLogin forced-commands-only\nAuthorizedKeysFile none\n\
                     MaxAuthTries 2\n",
                )],
                C3_DUMP,
            ),
        ];
        for (i, (files, dump)) in cases.iter().enumerate() {
            let (_dir, ctx) = tree(files);
            let (config, _) = parse_config(&ctx).unwrap();
            assert_eq!(config.unwrap(), parse_dump(dump).unwrap(), "case {}", i + 1);
        }
    }

    /// `sshd -T` lines recorded for the cases above.
    const C1_DUMP: &str = r#"maxauthtries 4
permitrootlogin yes
pubkeyauthentication yes
passwordauthentication no
kbdinteractiveauthentication no
x11forwarding yes
permitemptypasswords no
ciphers aes256-ctr,chacha20-poly1305@openssh.com,aes128-cbc
macs umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1,hmac-md5
kexalgorithms diffie-hellman-group14-sha1,curve25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2
"#;
    const C2_DUMP: &str = r#"maxauthtries 6
permitrootlogin without-password
pubkeyauthentication yes
passwordauthentication yes
kbdinteractiveauthentication yes
x11forwarding no
permitemptypasswords yes
ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr
macs hmac-sha1-96,umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1
kexalgorithms sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,diffie-hellman-group1-sha1
authorizedkeysfile %h/.ssh/authorized_keys /etc/ssh/keys/%u
"#;
    const C3_DUMP: &str = r#"maxauthtries 2
permitrootlogin forced-commands-only
pubkeyauthentication yes
passwordauthentication yes
kbdinteractiveauthentication yes
x11forwarding no
permitemptypasswords no
ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-cbc
macs umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512
kexalgorithms sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
authorizedkeysfile none
"#;
}
