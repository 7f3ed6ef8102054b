//! The RFC 8785 one-pass checker against the encoder, on arbitrary bytes.
//!
//! - `canonical::check` never panics, and `is_canonical` agrees with it;
//! - what the checker accepts parses, and re-encodes to exactly the same bytes;
//! - whenever the bytes parse as a `serde_json::Value` that has a canonical form, encoding is
//!   idempotent (`encode(parse(encode(v))) == encode(v)`), the encoding parses back to a value
//!   equal to `v` (numbers compared as doubles), and the checker accepts the encoding unless it
//!   breaks a structural limit (never a rule);
//! - bytes that are their own encoding are refused by the checker only for a limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vouch_evidence::canonical::{self, CanonicalError, Problem};

/// Equal as JSON data, numbers compared as the doubles RFC 8785 reads them as.
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

fuzz_target!(|data: &[u8]| {
    let checked = canonical::check(data);
    assert_eq!(canonical::is_canonical(data), checked.is_ok());
    if let Err(e) = &checked {
        assert!(
            e.offset <= data.len(),
            "offset {} beyond the input",
            e.offset
        );
    }

    let parsed: Option<Value> = serde_json::from_slice(data).ok();
    if checked.is_ok() {
        let v = parsed
            .as_ref()
            .expect("the checker accepted bytes serde_json cannot parse");
        let encoded =
            canonical::value_to_vec(v).expect("the checker accepted a value the encoder refuses");
        assert_eq!(
            encoded, data,
            "the checker accepted bytes that are not their own encoding"
        );
    }

    let Some(v) = parsed else { return };
    let encoded = match canonical::value_to_vec(&v) {
        Ok(bytes) => bytes,
        Err(CanonicalError::UnsafeInteger(_)) => return,
        // Refused in every object by design: sorted first, it makes the encoding a document
        // serde_json cannot read back (a key after another parses, so the encoder meets it).
        Err(CanonicalError::ReservedKey) => {
            assert!(
                v.to_string().contains(canonical::RESERVED_KEY),
                "a reserved-key refusal of a value without the key"
            );
            return;
        }
        Err(e) => panic!("a parsed Value failed to encode: {e}"),
    };
    let reparsed: Value =
        serde_json::from_slice(&encoded).expect("the encoder wrote bytes serde_json cannot parse");
    assert!(
        same(&v, &reparsed),
        "the encoding does not parse back to the value"
    );
    let again = canonical::value_to_vec(&reparsed).expect("re-encoding failed");
    assert_eq!(again, encoded, "canonical encoding is not idempotent");
    match canonical::check(&encoded) {
        Ok(()) => {}
        Err(e) => assert!(
            matches!(e.problem, Problem::Limit(_)),
            "the checker refused the encoder's output: {e}"
        ),
    }
    if encoded == data
        && let Err(e) = checked
    {
        assert!(
            matches!(e.problem, Problem::Limit(_)),
            "the checker refused canonical bytes: {e}"
        );
    }
});
