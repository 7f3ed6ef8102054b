//! The service account's signed assertion: a JWT (RS256) naming the service account as issuer,
//! the administrator it acts as as subject, the read-only scopes and the token endpoint as
//! audience, valid one hour from the collection's clock, signed with the service account's RSA
//! key (PKCS#1 v1.5, SHA-256, by ring). Google's token endpoint exchanges it for an access
//! token (RFC 7523, domain-wide delegation).
//!
//! The key comes from the service account's JSON key file; neither it nor an assertion is
//! logged, shown in a reason or put in evidence (an assertion is a credential for its hour).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

use super::model::ServiceAccountKey;

/// How long an assertion is valid: Google accepts at most an hour.
pub(crate) const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A service account's signing key and identity, read from its key file.
pub(crate) struct Signer {
    /// The service account's address: the assertion's issuer.
    pub client_email: String,
    /// The key's id, the assertion's `kid` when the file names it.
    key_id: Option<String>,
    /// The RSA key pair; never printed.
    key: RsaKeyPair,
}

/// What the assertion claims.
pub(crate) struct Claims<'a> {
    /// The administrator the service account acts as (`sub`).
    pub subject: &'a str,
    /// The scopes asked for, space-separated (`scope`).
    pub scope: &'a str,
    /// The token endpoint's URL (`aud`).
    pub audience: &'a str,
    /// When it is issued, in Unix seconds (`iat`), by the collection's clock.
    pub issued_at: i64,
}

impl Signer {
    /// The signer of a key file's text. The error is a reason sentence that holds nothing of the
    /// file's content.
    pub(crate) fn from_key_file(text: &str) -> Result<Signer, String> {
        let file: ServiceAccountKey = serde_json::from_str(text).map_err(|e| {
            format!(
                "not a service account key file (JSON with type, client_email and private_key; \
                 line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        if file.kind != "service_account" {
            return Err(format!(
                "a key file of type {:?}, not service_account",
                vouch_evidence::limits::truncate_echo(&file.kind)
            ));
        }
        let email = file.client_email.trim();
        if email.is_empty() || !email.contains('@') || email.chars().any(char::is_whitespace) {
            return Err("the key file's client_email is not an address".into());
        }
        let der = rustls_pemfile::private_key(&mut file.private_key.as_bytes())
            .ok()
            .flatten()
            .ok_or("the key file's private_key is not a PEM private key")?;
        let key = match &der {
            rustls::pki_types::PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            rustls::pki_types::PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => return Err("the key file's private_key is not an RSA key".into()),
        }
        .map_err(|e| format!("the key file's private_key is not a usable RSA key ({e})"))?;
        Ok(Signer {
            client_email: email.to_string(),
            key_id: file
                .private_key_id
                .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())),
            key,
        })
    }

    /// The signed assertion (`header.claims.signature`, base64url without padding). The error
    /// is a reason sentence.
    pub(crate) fn assertion(&self, claims: &Claims<'_>) -> Result<String, String> {
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = kid.clone().into();
        }
        let body = serde_json::json!({
            "iss": self.client_email,
            "sub": claims.subject,
            "scope": claims.scope,
            "aud": claims.audience,
            "iat": claims.issued_at,
            "exp": claims.issued_at + ASSERTION_LIFETIME_SECS,
        });
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(body.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signed.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "the assertion could not be signed with the service account's key")?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_key() -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/google_workspace/test-service-account.json"),
        )
        .unwrap()
    }

    #[test]
    fn assertions_carry_the_claims_and_verify_with_the_public_key() {
        let signer = Signer::from_key_file(&fixture_key()).unwrap();
        let jwt = signer
            .assertion(&Claims {
                subject: "vouch-reader@acme.example",
                scope: "a b",
                audience: "https://oauth2.googleapis.com/token",
                issued_at: 1_763_971_200,
            })
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "5f3c1e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({
                "iss": "vouch-reader@acme-vouch-test.iam.gserviceaccount.com",
                "sub": "vouch-reader@acme.example",
                "scope": "a b",
                "aud": "https://oauth2.googleapis.com/token",
                "iat": 1_763_971_200,
                "exp": 1_763_974_800,
            })
        );
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            signer.key.public().as_ref(),
        );
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
    }

    #[test]
    fn bad_key_files_are_refused_without_their_content() {
        for (text, want) in [
            ("{\"type\": 5}", "not a service account key file"),
            (
                r#"{"type":"authorized_user","client_email":"a@b","private_key":"x"}"#,
                "of type \"authorized_user\"",
            ),
            (
                r#"{"type":"service_account","client_email":"nobody","private_key":"x"}"#,
                "client_email is not an address",
            ),
            (
                r#"{"type":"service_account","client_email":"a@b","private_key":"SECRETSTUFF"}"#,
                "private_key is not a PEM private key",
            ),
        ] {
            let e = Signer::from_key_file(text).err().unwrap();
            assert!(e.contains(want), "{text}: {e}");
            assert!(!e.contains("SECRETSTUFF") && !e.contains("integer"), "{e}");
        }
    }
}
