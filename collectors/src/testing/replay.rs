//! A local HTTPS server replaying recorded API answers.
//!
//! [`ReplayServer::start`] loads every `*.json` file of a fixture directory (in name order);
//! each holds one recorded exchange, or a list of them:
//!
//! ```json
//! {
//!   "request": "GET /orgs/acme/repos?type=all&per_page=100",
//!   "request_headers": {"accept": "application/vnd.github+json"},
//!   "status": 200,
//!   "headers": {"link": "<{origin}/orgs/acme/repos?type=all&per_page=100&page=2>; rel=\"next\""},
//!   "body": [{"name": "api"}]
//! }
//! ```
//!
//! A request matches an exchange by method, path and query (the query's pairs in any order,
//! percent-decoded); `request_headers`, when given, must each be contained in the request's
//! header of that name. Exchanges recorded for the same request are answered in turn, the last
//! one again and again (a `429` then a `200`, for example). `status` defaults to 200; `body` is
//! any JSON, `body_text` raw text. In header values and bodies, `{origin}` becomes the server's
//! `https://127.0.0.1:<port>`, and in header values `{now+N}` the Unix time N seconds from now
//! (for `x-ratelimit-reset`). A request no exchange matches is answered `404` with a message
//! naming it, and listed by [`ReplayServer::unmatched`], so a test can insist that the client
//! asked only for what was recorded.
//!
//! The server's certificate is issued for `127.0.0.1` and `localhost` by a throwaway CA
//! ([`ReplayServer::ca_pem`]) that the client under test is configured to trust, exactly as a
//! private CA would be in production.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Why the replay server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A fixture file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A fixture file is not a recorded exchange.
    #[error("{file}: {problem}")]
    Fixture {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// The certificate or the TLS configuration could not be made.
    #[error("TLS setup: {0}")]
    Tls(String),
}

/// One exchange as written in a fixture file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Recorded {
    /// `METHOD /path?query`.
    request: String,
    #[serde(default)]
    request_headers: BTreeMap<String, String>,
    #[serde(default = "ok")]
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    body_text: Option<String>,
    /// Free text for the reader of the fixture.
    #[serde(default)]
    #[allow(dead_code)]
    comment: Option<String>,
}

fn ok() -> u16 {
    200
}

/// A loaded exchange.
#[derive(Debug)]
struct Exchange {
    file: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    request_headers: Vec<(String, String)>,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// A request the server answered.
#[derive(Clone, Debug)]
pub struct Served {
    /// The method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query (empty when none).
    pub query: String,
    /// The request's headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The request's body as text (empty for a `GET`).
    pub body: String,
    /// The status answered.
    pub status: u16,
    /// The fixture file whose exchange answered it; `None` when nothing matched.
    pub file: Option<String>,
    /// When it was answered.
    pub at: Instant,
}

impl Served {
    /// The request's header `name` (lower case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD /path?query`.
    pub fn line(&self) -> String {
        if self.query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.query)
        }
    }
}

#[derive(Default)]
struct State {
    exchanges: Vec<Exchange>,
    answered: Vec<usize>,
    log: Vec<Served>,
}

/// The server; it stops when dropped.
pub struct ReplayServer {
    origin: String,
    ca_pem: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplayServer {
    /// Loads the exchanges recorded in `dir` and starts serving them on a free loopback port.
    pub async fn start(dir: impl AsRef<Path>) -> Result<Self, ReplayError> {
        let dir = dir.as_ref();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReplayError::Io { path, source }
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io(dir))?;
        let port = listener.local_addr().map_err(io(dir))?.port();
        let origin = format!("https://127.0.0.1:{port}");
        let mut state = State::default();
        for path in &files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(path).map_err(io(path))?;
            let fixture = |problem: String| ReplayError::Fixture {
                file: name.clone(),
                problem,
            };
            let value: Value = serde_json::from_str(&text).map_err(|e| fixture(e.to_string()))?;
            let list = match value {
                Value::Array(items) => items,
                one => vec![one],
            };
            for item in list {
                let recorded: Recorded =
                    serde_json::from_value(item).map_err(|e| fixture(e.to_string()))?;
                state
                    .exchanges
                    .push(load(&name, recorded, &origin).map_err(fixture)?);
            }
        }
        state.answered = vec![0; state.exchanges.len()];
        let (ca_pem, tls) = tls_config()?;
        let state = Arc::new(Mutex::new(state));
        let task = tokio::spawn(serve(
            listener,
            TlsAcceptor::from(Arc::new(tls)),
            state.clone(),
        ));
        Ok(ReplayServer {
            origin,
            ca_pem,
            state,
            task,
        })
    }

    /// `https://127.0.0.1:<port>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The PEM certificate of the CA that issued the server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<Served> {
        self.state.lock().expect("replay state").log.clone()
    }

    /// The requests no recorded exchange matched, as `METHOD /path?query`.
    pub fn unmatched(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|s| s.file.is_none())
            .map(Served::line)
            .collect()
    }

    /// The recorded exchanges never asked for, as `file: METHOD /path`.
    pub fn unused(&self) -> Vec<String> {
        let state = self.state.lock().expect("replay state");
        state
            .exchanges
            .iter()
            .zip(&state.answered)
            .filter(|(_, n)| **n == 0)
            .map(|(e, _)| format!("{}: {} {}", e.file, e.method, e.path))
            .collect()
    }
}

fn load(file: &str, r: Recorded, origin: &str) -> Result<Exchange, String> {
    let (method, target) = r
        .request
        .split_once(' ')
        .ok_or_else(|| format!("request {:?} is not `METHOD /path`", r.request))?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if !path.starts_with('/') {
        return Err(format!("request path {path:?} does not start with /"));
    }
    let body = match (r.body, r.body_text) {
        (Some(_), Some(_)) => return Err("both body and body_text".into()),
        (Some(v), None) => v.to_string(),
        (None, Some(t)) => t,
        (None, None) => String::new(),
    };
    let mut headers: Vec<(String, String)> = r
        .headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.replace("{origin}", origin)))
        .collect();
    if !body.is_empty() && !headers.iter().any(|(k, _)| k == "content-type") {
        headers.push(("content-type".into(), "application/json".into()));
    }
    Ok(Exchange {
        file: file.to_string(),
        method: method.to_ascii_uppercase(),
        path: path.to_string(),
        query: query_pairs(query),
        request_headers: r
            .request_headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        status: r.status,
        headers,
        body: body.replace("{origin}", origin),
    })
}

/// The query's pairs, percent-decoded and sorted.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    pairs.sort();
    pairs
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces `{now+N}` by the Unix time N seconds from now.
fn expand_now(value: &str) -> String {
    let Some(start) = value.find("{now+") else {
        return value.to_string();
    };
    let rest = &value[start + 5..];
    let Some(end) = rest.find('}') else {
        return value.to_string();
    };
    let Ok(secs) = rest[..end].parse::<u64>() else {
        return value.to_string();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{}{}{}", &value[..start], now + secs, &rest[end + 1..])
}

fn tls_config() -> Result<(String, rustls::ServerConfig), ReplayError> {
    let tls = |e: &dyn std::fmt::Display| ReplayError::Tls(e.to_string());
    let ca_key = KeyPair::generate().map_err(|e| tls(&e))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| tls(&e))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Vouch replay CA");
    let ca = ca_params.self_signed(&ca_key).map_err(|e| tls(&e))?;
    let key = KeyPair::generate().map_err(|e| tls(&e))?;
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
        .map_err(|e| tls(&e))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "replay server");
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(|e| tls(&e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls(&e))?
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .map_err(|e| tls(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((ca.pem(), config))
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, state: Arc<Mutex<State>>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let state = state.clone();
                async move {
                    use http_body_util::BodyExt as _;
                    let (parts, body) = req.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
                        .unwrap_or_default();
                    Ok::<_, Infallible>(answer(&state, &Request::from_parts(parts, ()), body))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(state: &Mutex<State>, req: &Request<()>, body: String) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let pairs = query_pairs(&query);
    let mut state = state.lock().expect("replay state");
    let candidates: Vec<usize> = (0..state.exchanges.len())
        .filter(|&i| {
            let e = &state.exchanges[i];
            e.method == method
                && e.path == path
                && e.query == pairs
                && e.request_headers.iter().all(|(name, want)| {
                    headers
                        .iter()
                        .any(|(n, v)| n == name && v.contains(want.as_str()))
                })
        })
        .collect();
    let chosen = candidates
        .iter()
        .copied()
        .find(|&i| state.answered[i] == 0)
        .or(candidates.last().copied());
    let (status, file, response) = match chosen {
        Some(i) => {
            state.answered[i] += 1;
            let e = &state.exchanges[i];
            let mut b = Response::builder().status(e.status);
            for (k, v) in &e.headers {
                b = b.header(k.as_str(), expand_now(v));
            }
            let response = b
                .body(Full::new(Bytes::from(e.body.clone())))
                .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
            (e.status, Some(e.file.clone()), response)
        }
        None => {
            let body = serde_json::json!({
                "message": format!("no recorded answer for {method} {path}?{query}"),
            });
            let response = Response::builder()
                .status(404)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
            (404, None, response)
        }
    };
    state.log.push(Served {
        method,
        path,
        query,
        headers,
        body,
        status,
        file,
        at: Instant::now(),
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_match_in_any_order_and_decoded() {
        assert_eq!(
            query_pairs("limit=500&fieldSelector=type%3DOpaque"),
            query_pairs("fieldSelector=type=Opaque&limit=500")
        );
        assert_eq!(percent_decode("a%2Fb+c%zz%4"), "a/b c%zz%4");
        assert!(query_pairs("").is_empty());
    }

    #[test]
    fn now_placeholders_become_unix_times() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let v: u64 = expand_now("{now+60}").parse().unwrap();
        assert!((now + 60..=now + 62).contains(&v), "{v}");
        assert_eq!(expand_now("60"), "60");
        assert_eq!(expand_now("x{now+y}"), "x{now+y}");
    }

    #[test]
    fn bad_requests_are_named() {
        let r: Recorded = serde_json::from_str(r#"{"request": "GET orgs"}"#).unwrap();
        assert!(
            load("f.json", r, "o")
                .unwrap_err()
                .contains("does not start with /")
        );
    }
}
