//! The HTTPS client every Vouch program uses to reach a Vouch server (the agent delivering,
//! `vouch export` and `vouch sample`, `vouch loadgen`) or a webhook: rustls with the ring
//! provider, trusting only the CA it is given (or the system bundle), with a connect timeout.
//! It links no server or agent code, so both can use it without depending on each other.

use std::sync::Arc;
use std::time::Duration;

/// Why a client could not be set up (the CA file, its certificates, TLS or HTTP settings).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub String);

/// An HTTPS client (rustls with the ring provider) trusting the CA in `ca_pem`, or the
/// system's bundle when `None`.
pub fn build_http_client(
    ca_pem: Option<&[u8]>,
    timeout: Duration,
    user_agent: &str,
) -> Result<reqwest::Client, ClientError> {
    http_client_builder(ca_pem, timeout, user_agent)?
        .build()
        .map_err(|e| ClientError(e.to_string()))
}

/// The builder behind [`build_http_client`], for callers that set more (the server's webhook
/// client follows no redirect).
pub fn http_client_builder(
    ca_pem: Option<&[u8]>,
    timeout: Duration,
    user_agent: &str,
) -> Result<reqwest::ClientBuilder, ClientError> {
    let bundle;
    let pem: &[u8] = match ca_pem {
        Some(p) => p,
        None => {
            bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt")
                .map_err(|e| ClientError(format!("no CA given and no system bundle: {e}")))?;
            &bundle
        }
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        let cert = cert.map_err(|e| ClientError(format!("CA file: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| ClientError(format!("CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(ClientError("the CA file holds no certificate".into()));
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ClientError(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(user_agent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_a_certificate_is_refused_and_a_real_one_is_trusted() {
        let timeout = Duration::from_secs(5);
        let e = build_http_client(Some(b"not a certificate"), timeout, "t").unwrap_err();
        assert!(e.0.contains("no certificate"), "{e}");
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        assert!(build_http_client(Some(cert.cert.pem().as_bytes()), timeout, "t").is_ok());
    }
}
