//! Properties of the RFC 8785 canonical encoding over arbitrary JSON values (issue 15).
//!
//! Values are generated recursively (null, booleans, integers, finite doubles, strings with
//! Unicode and control characters, arrays and objects, nested up to six levels). For each:
//! the canonical bytes parse back to an equal value (numbers compared as the doubles RFC 8785
//! reads them as), encoding them again gives the same bytes, the one-pass checker accepts
//! them, and no other serialisation of the value passes the checker.
//!
//! Integers beyond 2^53 get their own properties at the end: fuzzing (`fuzz/`, target
//! `canonical_json`) found that their encoding was not idempotent.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};
use vouch_evidence::canonical::{self, CanonicalError, MAX_SAFE_INTEGER};

const MAX_SAFE: i64 = MAX_SAFE_INTEGER as i64;

fn config() -> Config {
    Config {
        cases: 512,
        // Failures are reported with their minimal input; no regression files in the tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Strings mixing ASCII, control characters, characters with short escapes, quotes,
/// backslashes, DEL, and characters outside the Basic Multilingual Plane.
fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('\u{0}', '\u{1f}'),
        2 => proptest::sample::select(vec![
            '"', '\\', '/', '\u{7f}', '\u{80}', '\u{e9}', '\u{2028}', '\u{20ac}', '\u{fb33}',
            '\u{fffd}', '\u{ffff}', '\u{10000}', '\u{1f600}', '\u{10ffff}',
        ]),
        2 => any::<char>(),
    ];
    proptest::collection::vec(ch, 0..12).prop_map(|chars| chars.into_iter().collect())
}

/// Finite doubles: any bit pattern, RFC 8785 Appendix B values, and everyday magnitudes.
fn finite_f64() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    let appendix_b = [
        0x0000000000000001u64,
        0x8000000000000001,
        0x7fefffffffffffff,
        0xffefffffffffffff,
        0x4340000000000000,
        0x44b52d02c7e14af5,
        0x44b52d02c7e14af6,
        0x44b52d02c7e14af7,
        0x444b1ae4d6e2ef50,
        0x3eb0c6f7a0b5ed8c,
        0x3eb0c6f7a0b5ed8d,
        0x41b3de4355555553,
        0x41b3de4355555557,
        0xbecbf647612f3696,
        0x43143ff3c1cb0959,
    ]
    .map(f64::from_bits)
    .to_vec();
    prop_oneof![
        3 => POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO,
        1 => proptest::sample::select(appendix_b),
        2 => -1e6..1e6f64,
    ]
    .prop_filter("finite", |f| f.is_finite())
}

/// Any JSON value within the limits, nested at most six levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(Value::from),
        (-MAX_SAFE..=MAX_SAFE).prop_map(Value::from),
        finite_f64().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 128, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((text(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Equal as JSON data, numbers compared as doubles (`1.0` is written `1` and read back as an
/// integer; `-0` is written `0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

fn encode(v: &Value) -> Vec<u8> {
    canonical::value_to_vec(v).expect("every generated value has a canonical form")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn canonical_bytes_parse_back_to_an_equal_value(v in json()) {
        let bytes = encode(&v);
        let back: Value = serde_json::from_slice(&bytes).expect("canonical bytes are JSON");
        prop_assert!(same(&v, &back), "{v} came back as {back}");
    }

    #[test]
    fn encoding_is_idempotent(v in json()) {
        let bytes = encode(&v);
        let back: Value = serde_json::from_slice(&bytes).unwrap();
        let again = canonical::value_to_vec(&back);
        prop_assert!(again.is_ok(), "re-encoding {} failed: {:?}", String::from_utf8_lossy(&bytes), again);
        prop_assert_eq!(String::from_utf8(again.unwrap()).unwrap(), String::from_utf8(bytes).unwrap());
    }

    #[test]
    fn the_checker_accepts_the_encoders_output(v in json()) {
        let bytes = encode(&v);
        prop_assert_eq!(canonical::check(&bytes), Ok(()), "{}", String::from_utf8_lossy(&bytes));
        prop_assert!(canonical::is_canonical(&bytes));
    }

    /// serde_json's own compact and pretty forms pass the checker only where they are the
    /// canonical bytes themselves.
    #[test]
    fn the_checker_refuses_every_other_serialisation(v in json()) {
        let bytes = encode(&v);
        for other in [serde_json::to_vec(&v).unwrap(), serde_json::to_vec_pretty(&v).unwrap()] {
            if other != bytes {
                prop_assert!(
                    canonical::check(&other).is_err(),
                    "accepted {} although the canonical form is {}",
                    String::from_utf8_lossy(&other),
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }

    /// An integer is written with its own digits or refused, never rounded or rewritten, and
    /// the checker agrees with the encoder on its digits either way.
    #[test]
    fn integers_are_written_as_themselves_or_refused(i in any::<i64>(), u in any::<u64>()) {
        for n in [Value::from(i), Value::from(u)] {
            let digits = n.to_string();
            match canonical::value_to_vec(&n) {
                Ok(bytes) => {
                    prop_assert_eq!(String::from_utf8(bytes).unwrap(), digits.clone());
                    prop_assert_eq!(canonical::check(digits.as_bytes()), Ok(()));
                }
                Err(CanonicalError::UnsafeInteger(shown)) => {
                    prop_assert_eq!(&shown, &digits);
                    prop_assert!(canonical::check(digits.as_bytes()).is_err(), "checker accepts refused {}", digits);
                }
                Err(e) => prop_assert!(false, "{} refused for {:?}", digits, e),
            }
        }
    }

    /// Within ±(2^53 − 1) every integer is accepted.
    #[test]
    fn safe_integers_are_accepted(i in -MAX_SAFE..=MAX_SAFE) {
        prop_assert!(canonical::value_to_vec(&Value::from(i)).is_ok());
    }
}

/// An integer above 2^53 that a double holds exactly: `mantissa · 2^shift`, either sign, as an
/// integer or as a double.
fn big_exact_integer() -> impl Strategy<Value = Value> {
    (
        1u64 << 52..1u64 << 53,
        1u32..=10,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(mantissa, shift, negative, as_double)| {
            let u = mantissa << shift;
            match (negative, as_double) {
                (false, false) => Value::from(u),
                (true, false) => Value::from(-(u as i64)),
                (false, true) => Value::from(u as f64),
                (true, true) => Value::from(-(u as f64)),
            }
        })
}

proptest! {
    #![proptest_config(config())]

    /// Defect found by fuzzing (issue 15): 19007199254740992 was written as ECMAScript writes
    /// the double, `19007199254740990`; read back, that text is another integer, which the
    /// encoder then refused although the checker accepted the bytes. Now a big integer is
    /// encoded only if those bytes are its own digits, and whatever is encoded re-encodes to
    /// the same bytes.
    #[test]
    fn big_exact_integers_encode_idempotently(v in big_exact_integer()) {
        match canonical::value_to_vec(&v) {
            Ok(bytes) => {
                prop_assert_eq!(canonical::check(&bytes), Ok(()));
                let back: Value = serde_json::from_slice(&bytes).unwrap();
                prop_assert!(same(&v, &back));
                let again = canonical::value_to_vec(&back);
                prop_assert!(again.is_ok(), "re-encoding {} failed: {:?}", String::from_utf8_lossy(&bytes), again);
                prop_assert_eq!(again.unwrap(), bytes);
            }
            Err(CanonicalError::UnsafeInteger(digits)) => {
                prop_assert!(v.is_i64() || v.is_u64(), "a double is never refused: {}", v);
                prop_assert!(canonical::check(digits.as_bytes()).is_err());
            }
            Err(e) => prop_assert!(false, "{} refused for {:?}", v, e),
        }
    }
}

/// The minimal cases of the defect above, as the fuzzer reported them.
#[test]
fn big_integer_fuzzing_cases() {
    // The double is written as ECMAScript writes it; those bytes re-encode to themselves.
    let v = Value::from(19007199254740992.0_f64);
    assert_eq!(encode(&v), b"19007199254740990");
    let back: Value = serde_json::from_slice(b"19007199254740990").unwrap();
    assert_eq!(encode(&back), b"19007199254740990", "not idempotent");
    assert_eq!(canonical::check(b"19007199254740990"), Ok(()));
    // The integer 19007199254740992 is not written as 19007199254740990 (another integer):
    // it is refused, and the checker refuses its digits too.
    let v: Value = serde_json::from_str("19007199254740992").unwrap();
    assert!(matches!(
        canonical::value_to_vec(&v),
        Err(CanonicalError::UnsafeInteger(d)) if d == "19007199254740992"
    ));
    assert!(canonical::check(b"19007199254740992").is_err());
    // 2^53 and 10^17 are written as themselves (issue 15, defect 9).
    for n in [
        "9007199254740992",
        "100000000000000000",
        "-9007199254740992",
    ] {
        let v: Value = serde_json::from_str(n).unwrap();
        assert_eq!(encode(&v), n.as_bytes());
    }
}
