//! RFC 3161 time-stamps (issue 19) against a real TSA made with `openssl ts`: the request Vouch
//! sends is one OpenSSL answers, and the token it answers verifies with the TSA's certificate
//! alone; a token over other data, for another nonce, checked with another TSA's certificate,
//! or altered by one byte, is refused by name; a TSA that refuses the request says why.

use vouch_server::verify::timestamp::{
    TimestampError, certificate_der, request, token_of_reply, verify_token,
};
use vouch_tests::tsa::LocalTsa;

#[test]
fn tokens_of_an_openssl_tsa_verify_offline_and_forgeries_are_named() {
    for ec in [false, true] {
        let tsa = LocalTsa::new("Vouch test TSA", ec, "sha256, sha512");
        let cert = certificate_der(&tsa.cert_pem).unwrap();
        let data = b"vouch.log/0a0b0c0d\n42\nAAAA\n\n\xe2\x80\x94 vouch.log/0a0b0c0d sig\n";
        let nonce = 0x1234_5678_9abc_def0;
        let token = token_of_reply(&tsa.reply(&request(data, nonce))).unwrap();
        let stamped = verify_token(&token, data, &cert, Some(nonce)).unwrap();
        assert!(stamped.tsa.contains("Vouch test TSA"), "{}", stamped.tsa);
        assert!(!stamped.serial.is_empty());
        // The TSA's clock, which is this machine's: within a day of it.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let at = stamped.gen_time.unix_micros() / 1_000_000;
        assert!((at - now).abs() < 86_400, "{}", stamped.gen_time);
        // Without a nonce to compare, it verifies too.
        assert!(verify_token(&token, data, &cert, None).is_ok());

        assert_eq!(
            verify_token(&token, b"other data", &cert, None),
            Err(TimestampError::OtherData)
        );
        assert_eq!(
            verify_token(&token, data, &cert, Some(nonce + 1)),
            Err(TimestampError::Nonce)
        );
        let stranger = LocalTsa::new("Another TSA", ec, "sha256");
        let other = certificate_der(&stranger.cert_pem).unwrap();
        assert!(matches!(
            verify_token(&token, data, &other, None),
            Err(TimestampError::Signature(_))
        ));
        // One byte of the signature (the token's last bytes) changed.
        let mut altered = token.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(matches!(
            verify_token(&altered, data, &cert, None),
            Err(TimestampError::Signature(_))
        ));
        // Truncated: malformed, never a panic.
        assert!(matches!(
            verify_token(&token[..token.len() / 2], data, &cert, None),
            Err(TimestampError::Malformed(_))
        ));
    }
    // A TSA that does not take SHA-256 imprints refuses with its status.
    let picky = LocalTsa::new("Picky TSA", false, "sha512");
    let refused = token_of_reply(&picky.reply(&request(b"x", 1)));
    assert!(
        matches!(refused, Err(TimestampError::Refused { status: 2, .. })),
        "{refused:?}"
    );
}
