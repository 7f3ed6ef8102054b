//! Reading bucket policies: does one grant public access, does one require TLS.

use serde_json::Value;

/// The condition keys that, fixed to values, keep a statement for `*` from being public
/// (AWS's "meaning of public"), lower-cased.
const RESTRICTING_KEYS: &[&str] = &[
    "aws:sourceip",
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:userid",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
];

/// Condition operators that only match the listed values.
const FIXING_OPERATORS: &[&str] = &[
    "stringequals",
    "stringequalsignorecase",
    "stringlike",
    "arnequals",
    "arnlike",
    "ipaddress",
];

/// A JSON value that may be one item or a list of them, as items.
fn items(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The statements of a policy document.
fn statements(doc: &Value) -> Vec<&Value> {
    items(&doc["Statement"])
}

/// Whether a Principal element names anyone (`*`, or a value with a wildcard).
fn principal_is_anyone(p: &Value) -> bool {
    match p {
        Value::String(s) => s.contains('*'),
        Value::Object(m) => m
            .values()
            .flat_map(items)
            .any(|v| v.as_str().is_some_and(|s| s.contains('*'))),
        _ => false,
    }
}

/// Whether `cidr` is no wider than /8 (IPv4) or /32 (IPv6).
fn narrow_cidr(cidr: &str) -> bool {
    let Some((addr, len)) = cidr.split_once('/') else {
        return !cidr.is_empty(); // a single address
    };
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    if addr.contains(':') {
        len >= 32
    } else {
        len >= 8
    }
}

/// Whether a value in a condition is fixed: no wildcard, no policy variable.
fn fixed(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.contains('*') && !s.contains('?') && !s.contains("${"),
        Value::Bool(_) | Value::Number(_) => true,
        _ => false,
    }
}

/// Whether a Condition element limits the statement to fixed callers or sources.
fn restricts(condition: &Value) -> bool {
    let Some(ops) = condition.as_object() else {
        return false;
    };
    ops.iter().any(|(op, keys)| {
        let op = op.to_ascii_lowercase();
        let op = op.strip_prefix("foranyvalue:").unwrap_or(&op);
        if !FIXING_OPERATORS.contains(&op) {
            return false;
        }
        keys.as_object().is_some_and(|keys| {
            keys.iter().any(|(key, values)| {
                let key = key.to_ascii_lowercase();
                let values = items(values);
                RESTRICTING_KEYS.contains(&key.as_str())
                    && !values.is_empty()
                    && values.iter().all(|v| fixed(v))
                    && (op != "ipaddress"
                        || values.iter().all(|v| v.as_str().is_some_and(narrow_cidr)))
            })
        })
    })
}

/// Whether `effect` is the statement's Effect.
fn effect_is(st: &Value, effect: &str) -> bool {
    st["Effect"].as_str() == Some(effect)
}

/// Whether the policy has an Allow statement for anyone that no fixed condition limits.
pub fn grants_public_access(doc: &Value) -> bool {
    statements(doc).into_iter().any(|st| {
        effect_is(st, "Allow")
            && (principal_is_anyone(&st["Principal"]) || !st["NotPrincipal"].is_null())
            && !restricts(&st["Condition"])
    })
}

/// Whether `pattern` (IAM wildcards `*` and `?`) matches `s`.
fn glob(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether the only condition is aws:SecureTransport false.
fn only_insecure_transport(condition: &Value) -> bool {
    let Some(ops) = condition.as_object() else {
        return false;
    };
    ops.len() == 1
        && ops.iter().all(|(op, keys)| {
            matches!(op.to_ascii_lowercase().as_str(), "bool" | "boolifexists")
                && keys.as_object().is_some_and(|keys| {
                    keys.len() == 1
                        && keys.iter().all(|(k, v)| {
                            k.eq_ignore_ascii_case("aws:SecureTransport")
                                && !items(v).is_empty()
                                && items(v).iter().all(|v| {
                                    *v == &Value::Bool(false)
                                        || v.as_str()
                                            .is_some_and(|s| s.eq_ignore_ascii_case("false"))
                                })
                        })
                })
        })
}

/// Whether the policy denies every S3 action on `bucket` and its objects to everyone
/// over plain HTTP.
pub fn requires_tls(doc: &Value, bucket: &str) -> bool {
    let targets = [
        format!("arn:aws:s3:::{bucket}"),
        format!("arn:aws:s3:::{bucket}/*"),
    ];
    statements(doc).into_iter().any(|st| {
        let principal = &st["Principal"];
        let anyone = principal.as_str() == Some("*")
            || items(&principal["AWS"])
                .iter()
                .any(|p| p.as_str() == Some("*"));
        let resources = items(&st["Resource"]);
        effect_is(st, "Deny")
            && anyone
            && items(&st["Action"])
                .iter()
                .any(|a| matches!(a.as_str(), Some("*") | Some("s3:*")))
            && targets.iter().all(|t| {
                resources
                    .iter()
                    .any(|r| r.as_str().is_some_and(|r| glob(r, t)))
            })
            && only_insecure_transport(&st["Condition"])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allow(principal: Value, condition: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": principal, "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*", "Condition": condition}]})
    }

    #[test]
    fn anyone_without_condition_is_public() {
        assert!(grants_public_access(&allow(json!("*"), Value::Null)));
        assert!(grants_public_access(&allow(
            json!({"AWS": "*"}),
            Value::Null
        )));
        assert!(grants_public_access(&allow(
            json!({"AWS": ["arn:aws:iam::111122223333:root", "*"]}),
            Value::Null
        )));
        assert!(grants_public_access(&allow(
            json!({"AWS": "arn:aws:iam::*:root"}),
            Value::Null
        )));
        // A single statement object rather than a list.
        let single = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}});
        assert!(grants_public_access(&single));
        let not_principal = json!({"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:GetObject", "Resource": "*"}]});
        assert!(grants_public_access(&not_principal));
    }

    #[test]
    fn fixed_principals_and_denies_are_not_public() {
        assert!(!grants_public_access(&allow(
            json!({"AWS": "arn:aws:iam::111122223333:root"}),
            Value::Null
        )));
        assert!(!grants_public_access(&allow(
            json!({"Service": "logging.s3.amazonaws.com"}),
            Value::Null
        )));
        let deny = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]});
        assert!(!grants_public_access(&deny));
        assert!(!grants_public_access(&json!({})));
    }

    #[test]
    fn fixed_conditions_restrict_and_loose_ones_do_not() {
        let vpce = json!({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}});
        assert!(!grants_public_access(&allow(json!("*"), vpce)));
        let account = json!({"StringEquals": {"AWS:SourceAccount": ["111122223333"]}});
        assert!(!grants_public_access(&allow(json!("*"), account)));
        let ip = json!({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/48"]}});
        assert!(!grants_public_access(&allow(json!("*"), ip)));

        let all_ips = json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}});
        assert!(grants_public_access(&allow(json!("*"), all_ips)));
        let half = json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}});
        assert!(grants_public_access(&allow(json!("*"), half)));
        let wildcard = json!({"StringLike": {"aws:SourceVpce": "vpce-*"}});
        assert!(grants_public_access(&allow(json!("*"), wildcard)));
        let variable = json!({"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}});
        assert!(grants_public_access(&allow(json!("*"), variable)));
        let negated = json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}});
        assert!(grants_public_access(&allow(json!("*"), negated)));
        let if_exists = json!({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}});
        assert!(grants_public_access(&allow(json!("*"), if_exists)));
        let unrelated = json!({"Bool": {"aws:SecureTransport": "true"}});
        assert!(grants_public_access(&allow(json!("*"), unrelated)));
        let for_all = json!({"ForAllValues:StringEquals": {"aws:SourceVpce": "vpce-1"}});
        assert!(grants_public_access(&allow(json!("*"), for_all)));
    }

    #[test]
    fn tls_only_needs_a_deny_of_everything_over_http() {
        let insecure = json!({"Bool": {"aws:SecureTransport": "false"}});
        let both = json!(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]);
        let narrowed = json!({"Bool": {"aws:SecureTransport": "false"},
                              "StringEquals": {"aws:SourceVpce": "vpce-1"}});
        // (why, principal, action, resource, condition, TLS only for bucket b)
        let cases = [
            (
                "the usual statement",
                json!("*"),
                json!("s3:*"),
                both.clone(),
                insecure.clone(),
                true,
            ),
            (
                "AWS *, a list, a JSON false",
                json!({"AWS": "*"}),
                json!(["s3:*"]),
                json!("*"),
                json!({"Bool": {"aws:securetransport": false}}),
                true,
            ),
            (
                "a wildcard resource",
                json!("*"),
                json!("*"),
                json!("arn:aws:s3:::b*"),
                insecure.clone(),
                true,
            ),
            (
                "objects only",
                json!("*"),
                json!("s3:*"),
                json!("arn:aws:s3:::b/*"),
                insecure.clone(),
                false,
            ),
            (
                "another bucket",
                json!("*"),
                json!("s3:*"),
                json!(["arn:aws:s3:::c", "arn:aws:s3:::c/*"]),
                insecure.clone(),
                false,
            ),
            (
                "some actions",
                json!("*"),
                json!("s3:GetObject"),
                both.clone(),
                insecure.clone(),
                false,
            ),
            (
                "some principals",
                json!({"AWS": "arn:aws:iam::1:root"}),
                json!("s3:*"),
                both.clone(),
                insecure.clone(),
                false,
            ),
            (
                "denies HTTPS",
                json!("*"),
                json!("s3:*"),
                both.clone(),
                json!({"Bool": {"aws:SecureTransport": "true"}}),
                false,
            ),
            (
                "narrowed by another condition",
                json!("*"),
                json!("s3:*"),
                both.clone(),
                narrowed,
                false,
            ),
        ];
        for (why, principal, action, resource, condition, expected) in cases {
            let doc = json!({"Statement": [{"Effect": "Deny", "Principal": principal,
                "Action": action, "Resource": resource, "Condition": condition}]});
            assert_eq!(requires_tls(&doc, "b"), expected, "{why}");
        }
        // An Allow is no denial.
        let allow = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
            "Resource": "*", "Condition": insecure}]});
        assert!(!requires_tls(&allow, "b"));
    }

    #[test]
    fn globs() {
        assert!(glob("arn:aws:s3:::b*", "arn:aws:s3:::b/*"));
        assert!(glob("*", "anything"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(!glob("arn:aws:s3:::b", "arn:aws:s3:::b/*"));
    }
}
