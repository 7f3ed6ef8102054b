//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! The canonical form of a JSON value has no insignificant whitespace, object members sorted by
//! the UTF-16 code units of their names, strings with the minimal escaping RFC 8785 §3.2.2.2
//! prescribes, and numbers written as ECMAScript's `Number.prototype.toString` writes IEEE 754
//! doubles. Two parties that hold the same data therefore produce the same bytes, and the same
//! SHA-256 digest, whatever JSON library wrote the data first.
//!
//! Integers beyond ±2^53 are canonical only when ECMAScript writes the nearest double with the
//! integer's own digits (2^53, 10^17); rather than silently round or rewrite any other (which
//! would change the evidence), encoding fails with [`CanonicalError::UnsafeInteger`]. The
//! encoder and the one-pass checker apply that one rule, so encoding is idempotent.

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::limits::{Limit, MAX_CONTAINER_ITEMS, MAX_DEPTH, MAX_STRING_BYTES, MAX_VALUES};

/// The largest integer magnitude a double represents exactly (2^53 − 1), per I-JSON.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// An object key that JSON libraries reserve: serde_json (with its `raw_value` feature, which
/// Vouch uses) reads an object whose first key is this as a raw-value marker and fails on
/// anything else, so a document holding it is valid JSON that cannot be read back. Refused in
/// every object, by the encoder and the checker alike (found by fuzzing).
pub const RESERVED_KEY: &str = "$serde_json::private::RawValue";

/// Why a value has no canonical form.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalError {
    /// The value could not be turned into JSON at all.
    #[error("value is not representable as JSON: {0}")]
    Serialize(#[from] serde_json::Error),
    /// An integer outside ±(2^53 − 1) that ECMAScript would not write with its own digits.
    #[error(
        "integer {0} is beyond ±(2^53 - 1) and is not how ECMAScript writes the nearest double"
    )]
    UnsafeInteger(String),
    /// An object key JSON libraries reserve ([`RESERVED_KEY`]).
    #[error("object key {RESERVED_KEY:?} is reserved: JSON parsers read it as a raw-value marker")]
    ReservedKey,
}

/// The canonical bytes of any serialisable value.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let value = serde_json::to_value(value)?;
    value_to_vec(&value)
}

/// The canonical bytes of a JSON value.
pub fn value_to_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(1024);
    write_value(&mut out, value)?;
    Ok(out)
}

/// Whether `bytes` are exactly the canonical encoding of the JSON they contain, within the
/// structural [`limits`](crate::limits).
pub fn is_canonical(bytes: &[u8]) -> bool {
    check(bytes).is_ok()
}

/// Why bytes failed [`check`]: where, and the rule or the limit broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {problem}")]
pub struct CheckError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub problem: Problem,
}

/// What [`check`] found wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A rule of RFC 8785 (or of JSON) is broken: the bytes are not canonical.
    Rule(&'static str),
    /// A structural limit is exceeded: the bytes may be canonical, but are refused.
    Limit(Limit),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Rule(rule) => f.write_str(rule),
            Problem::Limit(limit) => write!(f, "{limit}"),
        }
    }
}

/// Checks in one pass, without building a document, that `bytes` are one JSON value in
/// canonical form: no whitespace, members sorted by UTF-16 code units without duplicates,
/// minimal string escapes, numbers as ECMAScript writes them (integers beyond ±(2^53 − 1) only
/// where a double holds them exactly and ECMAScript writes them so, as `9007199254740992` or
/// `100000000000000000`), and within the structural [`limits`](crate::limits) (depth, string
/// length, members per container, values). The error gives the byte offset and what is broken.
pub fn check(bytes: &[u8]) -> Result<(), CheckError> {
    std::str::from_utf8(bytes).map_err(|e| rule_at(e.valid_up_to(), "not UTF-8"))?;
    let mut s = Scanner {
        b: bytes,
        i: 0,
        values: 0,
    };
    s.value(1)?;
    if s.i != bytes.len() {
        return s.err("trailing bytes after the value");
    }
    Ok(())
}

/// A broken rule at `offset`.
fn rule_at(offset: usize, why: &'static str) -> CheckError {
    CheckError {
        offset,
        problem: Problem::Rule(why),
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    /// Values seen so far.
    values: usize,
}

type Scan<T> = Result<T, CheckError>;

impl<'a> Scanner<'a> {
    fn err<T>(&self, why: &'static str) -> Scan<T> {
        Err(rule_at(self.i, why))
    }

    fn limit<T>(&self, limit: Limit) -> Scan<T> {
        Err(CheckError {
            offset: self.i,
            problem: Problem::Limit(limit),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn literal(&mut self, lit: &[u8]) -> Scan<()> {
        if self.b[self.i..].starts_with(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            self.err("invalid literal")
        }
    }

    /// One value at nesting `depth` (the root is at 1).
    fn value(&mut self, depth: usize) -> Scan<()> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return self.limit(Limit::Values);
        }
        match self.peek() {
            Some(b'{' | b'[') if depth > MAX_DEPTH => self.limit(Limit::Depth),
            Some(b'{') => self.object(depth),
            Some(b'[') => {
                self.i += 1;
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                let mut items = 0;
                loop {
                    items += 1;
                    if items > MAX_CONTAINER_ITEMS {
                        return self.limit(Limit::ContainerItems);
                    }
                    self.value(depth + 1)?;
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return self.err("expected , or ] without whitespace"),
                    }
                }
            }
            Some(b'"') => self.string().map(drop),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.err("expected a value without whitespace"),
        }
    }

    fn object(&mut self, depth: usize) -> Scan<()> {
        self.i += 1;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        let mut previous: Option<std::borrow::Cow<'a, str>> = None;
        let mut members = 0;
        loop {
            members += 1;
            if members > MAX_CONTAINER_ITEMS {
                return self.limit(Limit::ContainerItems);
            }
            let at = self.i;
            let key = self.string()?;
            if key == RESERVED_KEY {
                return Err(rule_at(
                    at,
                    "object key $serde_json::private::RawValue is reserved (parsers read it as a raw-value marker)",
                ));
            }
            if let Some(prev) = &previous {
                let ordered = if prev.is_ascii() && key.is_ascii() {
                    prev.as_bytes() < key.as_bytes()
                } else {
                    prev.encode_utf16().lt(key.encode_utf16())
                };
                if !ordered {
                    return Err(rule_at(
                        at,
                        "object members not sorted by UTF-16 code units, or repeated",
                    ));
                }
            }
            previous = Some(key);
            if self.peek() != Some(b':') {
                return self.err("expected : without whitespace");
            }
            self.i += 1;
            self.value(depth + 1)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return self.err("expected , or } without whitespace"),
            }
        }
    }

    /// Scans a string, returning its decoded text (borrowed when it has no escapes). The input
    /// is known to be UTF-8, so bytes outside quotes, backslashes and controls are skipped in a
    /// tight loop; escapes always sit at ASCII boundaries.
    fn string(&mut self) -> Scan<std::borrow::Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return self.err("expected a string");
        }
        let start = self.i;
        self.i += 1;
        let b = self.b;
        let text =
            |from: usize, to: usize| std::str::from_utf8(&b[from..to]).expect("checked UTF-8");
        let mut segment = self.i;
        let mut decoded: Option<String> = None;
        loop {
            let mut j = self.i;
            while j < b.len() && !matches!(b[j], b'"' | b'\\' | 0x00..=0x1f) {
                j += 1;
            }
            self.i = j;
            match b.get(j) {
                None => return self.err("unterminated string"),
                Some(b'"') => {
                    if j - start - 1 > MAX_STRING_BYTES {
                        self.i = start;
                        return self.limit(Limit::StringBytes);
                    }
                    self.i += 1;
                    return Ok(match decoded {
                        Some(mut d) => {
                            d.push_str(text(segment, j));
                            std::borrow::Cow::Owned(d)
                        }
                        None => std::borrow::Cow::Borrowed(text(segment, j)),
                    });
                }
                Some(b'\\') => {
                    let d = decoded.get_or_insert_with(String::new);
                    d.push_str(text(segment, j));
                    let (ch, len) = match b.get(j + 1) {
                        Some(b'"') => ('"', 2),
                        Some(b'\\') => ('\\', 2),
                        Some(b'b') => ('\u{8}', 2),
                        Some(b'f') => ('\u{c}', 2),
                        Some(b'n') => ('\n', 2),
                        Some(b'r') => ('\r', 2),
                        Some(b't') => ('\t', 2),
                        Some(b'u') => {
                            let v = match b.get(j + 2..j + 6) {
                                Some(
                                    [
                                        b'0',
                                        b'0',
                                        h @ (b'0' | b'1'),
                                        l @ (b'0'..=b'9' | b'a'..=b'f'),
                                    ],
                                ) => {
                                    let l = if l.is_ascii_digit() {
                                        l - b'0'
                                    } else {
                                        l - b'a' + 10
                                    };
                                    (h - b'0') * 16 + l
                                }
                                _ => return self.err("non-canonical \\u escape"),
                            };
                            if matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return self.err("non-canonical \\u escape (has a short form)");
                            }
                            (char::from(v), 6)
                        }
                        _ => return self.err("non-canonical escape"),
                    };
                    d.push(ch);
                    self.i = j + len;
                    segment = self.i;
                }
                Some(_) => return self.err("raw control character in a string"),
            }
        }
    }

    fn number(&mut self) -> Scan<()> {
        let start = self.i;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        let token = std::str::from_utf8(&self.b[start..self.i]).expect("ASCII");
        let integer = token
            .bytes()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == b'-'));
        if integer {
            // Canonical integers: no leading zero, no "-0", magnitude within 2^53 - 1. Larger
            // ones fall through to the double check: ECMAScript writes a double below 1e21
            // without an exponent, so 9007199254740992 (2^53) and 100000000000000000 are
            // canonical, while 9007199254740993, which no double holds, is not.
            let digits = token.strip_prefix('-').unwrap_or(token);
            let safe = !digits.is_empty()
                && (digits == "0" || !digits.starts_with('0'))
                && token != "-0"
                && digits.len() <= 16
                && digits.parse::<u64>().is_ok_and(|v| v <= MAX_SAFE_INTEGER);
            if safe {
                return Ok(());
            }
        }
        match token.parse::<f64>() {
            Ok(f) if f.is_finite() => {
                let mut buf = ryu_js::Buffer::new();
                if buf.format_finite(f) == token {
                    Ok(())
                } else if integer {
                    Err(rule_at(
                        start,
                        "integer not in canonical form or not exactly representable",
                    ))
                } else {
                    Err(rule_at(start, "number not in ECMAScript canonical form"))
                }
            }
            _ => Err(rule_at(start, "invalid number")),
        }
    }
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(out, map)?,
    }
    Ok(())
}

fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>) -> Result<(), CanonicalError> {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    // serde_json's map is ordered by UTF-8 bytes, which differs from UTF-16 code unit order
    // only for characters above U+FFFF against U+E000..U+FFFF. Sort explicitly to be exact.
    if members.iter().any(|(k, _)| !k.is_ascii()) {
        members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    } else {
        members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    }
    out.push(b'{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if key == RESERVED_KEY {
            return Err(CanonicalError::ReservedKey);
        }
        if i > 0 {
            out.push(b',');
        }
        write_string(out, key);
        out.push(b':');
        write_value(out, value)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), CanonicalError> {
    // An integer beyond ±(2^53 − 1) has a canonical form only when ECMAScript writes the
    // double nearest to it with exactly the integer's own digits (2^53, 10^17,
    // 19007199254740990): those bytes read back as the same integer and the same double, and
    // the checker accepts them by the same rule. Any other (9007199254740993, which no double
    // holds; 19007199254740992, which a double holds but ECMAScript writes as
    // 19007199254740990) is refused, never rounded or rewritten.
    let (safe, nearest) = if let Some(u) = n.as_u64() {
        (u <= MAX_SAFE_INTEGER, u as f64)
    } else if let Some(i) = n.as_i64() {
        (i.unsigned_abs() <= MAX_SAFE_INTEGER, i as f64)
    } else {
        let f = n.as_f64().expect("a JSON number is u64, i64 or f64");
        // serde_json never holds NaN or infinities, so ryu-js formats every value we can see.
        out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes());
        return Ok(());
    };
    let own = n.to_string();
    if !safe && ryu_js::Buffer::new().format_finite(nearest) != own {
        return Err(CanonicalError::UnsafeInteger(own));
    }
    out.extend_from_slice(own.as_bytes());
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(json: &str) -> String {
        let v: Value = serde_json::from_str(json).unwrap();
        String::from_utf8(value_to_vec(&v).unwrap()).unwrap()
    }

    /// RFC 8785 §3.2.3: the sorting example, with keys that need UTF-16 ordering.
    #[test]
    fn rfc8785_sorting_example() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        assert_eq!(
            canon(input),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
             \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    /// RFC 8785 §3.2.2 example (numbers, literals and string escapes).
    #[test]
    fn rfc8785_serialization_example() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            canon(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn numbers_follow_ecmascript() {
        assert_eq!(
            canon("[0, -0, 1.0, 100, 1e21, 1e-7, 123456789012345680000]"),
            "[0,0,1,100,1e+21,1e-7,123456789012345680000]"
        );
        assert_eq!(
            canon("[-9007199254740991, 9007199254740991]"),
            "[-9007199254740991,9007199254740991]"
        );
    }

    /// RFC 8785 Appendix B: IEEE 754 doubles and the text each must be written as. The
    /// encoder writes each so, and the one-pass checker accepts exactly that text.
    #[test]
    fn rfc8785_appendix_b_numbers() {
        let cases: [(u64, &str); 24] = [
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, text) in cases {
            let f = f64::from_bits(bits);
            let written = value_to_vec(&serde_json::json!(f)).unwrap();
            assert_eq!(std::str::from_utf8(&written).unwrap(), text, "{bits:#x}");
            assert_eq!(check(text.as_bytes()), Ok(()), "{text}");
            // Parsed back (as u64/i64 where it is an integer), it is written the same.
            let parsed: Value = serde_json::from_str(text).unwrap();
            assert_eq!(value_to_vec(&parsed).unwrap(), text.as_bytes(), "{text}");
        }
    }

    /// Regression (issue 15, defect 9): 9007199254740992 and 100000000000000000 were refused
    /// as not canonical although ECMAScript (and the agent's own encoder) writes them so; the
    /// checker's reason now reaches the error. 9007199254740993, which no double holds, is
    /// still refused, and so are the non-canonical spellings of big numbers.
    #[test]
    fn big_integers_written_as_ecmascript_writes_them_are_canonical() {
        for ok in [
            "9007199254740992",
            "100000000000000000",
            "-9007199254740992",
            "[1e+21]",
        ] {
            assert_eq!(check(ok.as_bytes()), Ok(()), "{ok}");
        }
        let f: Value = serde_json::json!(1e17);
        assert_eq!(value_to_vec(&f).unwrap(), b"100000000000000000");
        for (bad, why) in [
            (
                "9007199254740993",
                "integer not in canonical form or not exactly representable",
            ),
            ("1e17", "number not in ECMAScript canonical form"),
            (
                "100000000000000000.0",
                "number not in ECMAScript canonical form",
            ),
            (
                "01",
                "integer not in canonical form or not exactly representable",
            ),
        ] {
            let e = check(bad.as_bytes()).unwrap_err();
            assert_eq!(e.problem, Problem::Rule(why), "{bad}");
            assert_eq!(e.to_string(), format!("at byte 0: {why}"));
        }
    }

    /// Each structural limit is named by the checker, at the byte where it was exceeded.
    #[test]
    fn the_checker_names_each_structural_limit() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(check(ok.as_bytes()), Ok(()));
        let e = check(deep.as_bytes()).unwrap_err();
        assert_eq!(
            (e.offset, e.problem),
            (MAX_DEPTH, Problem::Limit(Limit::Depth))
        );
        let long = format!("\"{}\"", "a".repeat(MAX_STRING_BYTES + 1));
        assert_eq!(
            check(long.as_bytes()).unwrap_err().problem,
            Problem::Limit(Limit::StringBytes)
        );
        let just = format!("\"{}\"", "a".repeat(MAX_STRING_BYTES));
        assert_eq!(check(just.as_bytes()), Ok(()));
        let wide = format!("[{}0]", "0,".repeat(MAX_CONTAINER_ITEMS));
        assert_eq!(
            check(wide.as_bytes()).unwrap_err().problem,
            Problem::Limit(Limit::ContainerItems)
        );
    }

    #[test]
    fn the_raw_value_marker_key_is_refused_by_checker_and_encoder() {
        // Found by fuzzing: valid, canonical-looking JSON that serde_json cannot read back.
        let bytes = br#"{"$serde_json::private::RawValue":99999001}"#;
        assert!(serde_json::from_slice::<Value>(bytes).is_err());
        let e = check(bytes).unwrap_err();
        assert!(e.to_string().contains("reserved"), "{e}");
        let nested = br#"{"a":[{"$serde_json::private::RawValue":"x","b":1}]}"#;
        assert!(check(nested).unwrap_err().to_string().contains("reserved"));
        let mut map = Map::new();
        map.insert(RESERVED_KEY.into(), Value::from(1));
        assert!(matches!(
            value_to_vec(&Value::Object(map)),
            Err(CanonicalError::ReservedKey)
        ));
    }

    #[test]
    fn unsafe_integers_are_refused_not_rounded() {
        let v: Value = serde_json::from_str("[9007199254740993]").unwrap();
        assert!(matches!(
            value_to_vec(&v),
            Err(CanonicalError::UnsafeInteger(_))
        ));
        let v: Value = serde_json::from_str("[-9007199254740993]").unwrap();
        assert!(matches!(
            value_to_vec(&v),
            Err(CanonicalError::UnsafeInteger(_))
        ));
    }

    #[test]
    fn control_characters_use_lowercase_unicode_escapes() {
        assert_eq!(canon(r#""\u0001\u001f\u007f""#), "\"\\u0001\\u001f\u{7f}\"");
    }

    /// The one-pass check agrees with re-encoding on every case we can think of.
    #[test]
    fn check_agrees_with_reencoding() {
        let cases = [
            r#"{"a":1,"b":[true,false,null]}"#,
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":1}"#,
            r#"{"a": 1}"#,
            "[1.0]",
            "[1]",
            "[1e21]",
            "[1e+21]",
            "[0.002]",
            "[2e-3]",
            "[-0]",
            "[0]",
            "[01]",
            "[9007199254740991]",
            "[9007199254740992]",
            r#""\u0041""#,
            r#""A""#,
            r#""\/""#,
            r#""\n""#,
            r#""\u000a""#,
            r#""\u001f""#,
            r#""\u001F""#,
            r#""\u007f""#,
            "\"\u{7f}\"",
            r#""€""#,
            r#""\u20ac""#,
            r#"{"\r":1,"1":2}"#,
            r#"{"1":2,"\r":1}"#,
            "{\"\u{fb33}\":1,\"\u{1f600}\":2}",
            "{\"\u{1f600}\":2,\"\u{fb33}\":1}",
            "[]",
            "{}",
            "[1,]",
            "",
            " 1",
            "1 ",
            "[333333333.3333333]",
            "[1e-7]",
            "[0.0000001]",
            "[1.5e300]",
        ];
        for case in cases {
            let reencoded = serde_json::from_str::<Value>(case)
                .ok()
                .and_then(|v| value_to_vec(&v).ok())
                .is_some_and(|c| c == case.as_bytes());
            assert_eq!(
                check(case.as_bytes()).is_ok(),
                reencoded,
                "case {case:?}: {:?}",
                check(case.as_bytes())
            );
        }
    }

    #[test]
    fn is_canonical_detects_whitespace_and_order() {
        assert!(is_canonical(br#"{"a":1,"b":[true]}"#));
        assert!(!is_canonical(br#"{"b":[true],"a":1}"#));
        assert!(!is_canonical(br#"{"a": 1}"#));
        assert!(!is_canonical(b"not json"));
    }
}
