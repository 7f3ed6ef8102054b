//! TLS for the server: rustls with the ring provider, and a local certificate authority for
//! pilots and tests (`vouch up`), made with rcgen and reused across runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime};

use crate::files::write_private;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A PEM file holds no usable certificate or key.
    #[error("{0}: no PEM certificate or private key found")]
    EmptyPem(PathBuf),
    /// Certificate generation failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate or key.
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A local CA and a server certificate it signed, as files in one directory:
/// `ca.pem` (give this to agents), `ca.key`, `server.pem`, `server.key` (keys mode 0600).
#[derive(Debug, Clone)]
pub struct LocalCa {
    /// The directory.
    pub dir: PathBuf,
}

impl LocalCa {
    /// Loads the CA in `dir`, or creates it when absent, with a server certificate for
    /// `localhost`, `127.0.0.1`, `::1` and `extra_names` (DNS names or IP addresses). The CA is
    /// made once and kept (agents trust it); the server certificate is issued again, by the same
    /// CA, only when the names asked for change.
    pub fn load_or_create(dir: &Path, extra_names: &[String]) -> Result<Self, TlsError> {
        let ca = LocalCa {
            dir: dir.to_path_buf(),
        };
        let mut names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        for n in extra_names {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        let names_path = dir.join("server.names");
        let io = |path: PathBuf| move |source| TlsError::Io { path, source };
        let have_ca = ca.ca_cert_path().exists() && ca.ca_key_path().exists();
        if have_ca && ca.cert_path().exists() && ca.key_path().exists() {
            // A directory from before `server.names` existed holds the default names.
            let issued = std::fs::read_to_string(&names_path)
                .unwrap_or_else(|_| "localhost\n127.0.0.1\n::1\n".into());
            if issued.lines().eq(names.iter().map(String::as_str)) {
                return Ok(ca);
            }
        }
        std::fs::create_dir_all(dir).map_err(io(dir.into()))?;
        let now = OffsetDateTime::now_utc();

        let (ca_key, ca_cert) = if have_ca {
            let pem = std::fs::read_to_string(ca.ca_key_path()).map_err(io(ca.ca_key_path()))?;
            let key = KeyPair::from_pem(&pem)?;
            // Same subject and key as the stored CA certificate: what it signs chains to it.
            let cert = ca_params(now)?.self_signed(&key)?;
            (key, cert)
        } else {
            let key = KeyPair::generate()?;
            let cert = ca_params(now)?.self_signed(&key)?;
            write_private(&ca.ca_key_path(), key.serialize_pem().as_bytes())
                .map_err(io(ca.ca_key_path()))?;
            std::fs::write(ca.ca_cert_path(), cert.pem()).map_err(io(ca.ca_cert_path()))?;
            (key, cert)
        };

        let server_key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.clone())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "Vouch server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(825);
        let server_cert = params.signed_by(&server_key, &ca_cert, &ca_key)?;
        write_private(&ca.key_path(), server_key.serialize_pem().as_bytes())
            .map_err(io(ca.key_path()))?;
        std::fs::write(ca.cert_path(), server_cert.pem()).map_err(io(ca.cert_path()))?;
        let mut listed = names.join("\n");
        listed.push('\n');
        std::fs::write(&names_path, listed).map_err(io(names_path.clone()))?;
        Ok(ca)
    }

    /// The CA's private key (mode 0600).
    pub fn ca_key_path(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    /// The CA certificate agents trust.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The server certificate.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    /// The server's private key.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join("server.key")
    }
}

/// The local CA's certificate parameters: fixed, so the CA can sign again from its key alone.
fn ca_params(now: OffsetDateTime) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "Vouch local CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Vouch");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    Ok(params)
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3, ALPN h2 and http/1.1)
/// from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| TlsError::Io {
            path: p.into(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::Io {
            path: cert.into(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::EmptyPem(cert.into()));
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|source| TlsError::Io {
            path: key.into(),
            source,
        })?
        .ok_or_else(|| TlsError::EmptyPem(key.into()))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier as _;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_once_then_reuses_with_private_keys() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path(), &[]).unwrap();
        let first = std::fs::read(ca.ca_cert_path()).unwrap();
        let again = LocalCa::load_or_create(dir.path(), &[]).unwrap();
        assert_eq!(std::fs::read(again.ca_cert_path()).unwrap(), first);
        for key in ["ca.key", "server.key"] {
            let mode = std::fs::metadata(dir.path().join(key))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
        server_config(&ca.cert_path(), &ca.key_path()).unwrap();
    }

    /// New names get a new server certificate from the same CA; the CA itself never changes.
    #[test]
    fn new_names_reissue_the_server_certificate_from_the_same_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path(), &[]).unwrap();
        let ca_pem = std::fs::read(ca.ca_cert_path()).unwrap();
        let first = std::fs::read(ca.cert_path()).unwrap();
        let names = ["vouch.example.org".to_string(), "10.0.0.7".to_string()];
        let ca = LocalCa::load_or_create(dir.path(), &names).unwrap();
        let second = std::fs::read(ca.cert_path()).unwrap();
        assert_ne!(first, second);
        assert_eq!(std::fs::read(ca.ca_cert_path()).unwrap(), ca_pem);
        LocalCa::load_or_create(dir.path(), &names).unwrap();
        assert_eq!(std::fs::read(ca.cert_path()).unwrap(), second, "reused");

        // The new certificate chains to the CA agents already trust, for the new name.
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pemfile::certs(&mut ca_pem.as_slice()) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        let leaf = rustls_pemfile::certs(&mut second.as_slice())
            .next()
            .unwrap()
            .unwrap();
        for name in ["vouch.example.org", "10.0.0.7", "localhost"] {
            verifier
                .verify_server_cert(
                    &leaf,
                    &[],
                    &rustls_pki_types::ServerName::try_from(name).unwrap(),
                    &[],
                    rustls_pki_types::UnixTime::now(),
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn empty_pem_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let err = server_config(&empty, &empty).unwrap_err();
        assert!(err.to_string().contains("empty.pem"), "{err}");
    }
}
