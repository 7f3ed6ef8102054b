//! The shared harness of the handler tests: the real router over a real SQLite store in a
//! temporary directory, called with `oneshot`, and test agents that enrol and sign chains.

#![allow(dead_code)] // each test file uses a different part

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vouch_evidence::api::{EnrollRequest, EnrollResponse};
use vouch_evidence::{
    AssetKind, Digest, EvidenceItem, PublicKey, SigningKey, Snapshot, Source, Timestamp,
};
use vouch_server::auth::Role;
use vouch_server::state::{AppState, Limits};
use vouch_server::store::sqlite::SqliteStore;

pub struct Harness {
    pub state: AppState,
    pub admin: String,
    pub _dir: tempfile::TempDir,
}

/// The ingest limits of [`harness`]: a small body limit, five minutes of skew.
pub const TEST_LIMITS: Limits = Limits {
    max_body_bytes: 64 * 1024,
    clock_skew_secs: 300,
};

pub async fn harness() -> Harness {
    harness_with(TEST_LIMITS).await
}

/// [`harness`] with other ingest limits.
pub async fn harness_with(limits: Limits) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vouch.db")).unwrap();
    let state = AppState::new(Arc::new(store), SigningKey::from_seed(&[99; 32]), limits)
        .await
        .unwrap();
    let admin = state.create_api_token(Role::Admin, "test").await.unwrap();
    Harness {
        state,
        admin,
        _dir: dir,
    }
}

pub async fn call(h: &Harness, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = vouch_server::app(h.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

pub fn post(path: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
}

pub fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

pub struct TestAgent {
    pub key: SigningKey,
    pub id: String,
    /// The host it writes (declared at enrolment): `m-h<seed>`.
    pub host: String,
    pub server_key: PublicKey,
    pub head: Option<(u64, Digest)>,
}

/// A one-time enrolment token with `scope`.
pub async fn enroll_token(h: &Harness, scope: &[&str]) -> String {
    let scope = vouch_server::scope::Scope::parse(scope).unwrap();
    h.state
        .create_enroll_token(3600, &scope, "test", "test")
        .await
        .unwrap()
}

/// When the test agents enrol: before every collection instant the fixtures use (the server
/// refuses a snapshot collected before its agent enrolled).
pub const ENROLLED_AT: &str = "2026-01-01T00:00:00Z";

/// Runs `enrol` with the server's clock at [`ENROLLED_AT`], then puts the clock back.
pub async fn enrolled_early<F: std::future::Future>(
    h: &Harness,
    enrol: impl FnOnce() -> F,
) -> F::Output {
    let clock = h.state.clock();
    h.state
        .set_clock(vouch_evidence::Clock::Fixed(ENROLLED_AT.parse().unwrap()));
    let out = enrol().await;
    h.state.set_clock(clock);
    out
}

/// Enrols an agent with key seed `seed` for host `m-h<seed>`, at [`ENROLLED_AT`].
pub async fn enroll(h: &Harness, seed: u8) -> TestAgent {
    let token = enroll_token(h, &["host"]).await;
    let key = SigningKey::from_seed(&[seed; 32]);
    let host = format!("m-h{seed}");
    let req = EnrollRequest {
        token,
        public_key: key.public().to_base64(),
        name: format!("host-{seed}"),
        assets: vec![vouch_evidence::api::AssetRef {
            kind: AssetKind::Host,
            id: host.clone(),
        }],
    };
    let (status, body) = enrolled_early(h, || {
        call(h, post("/v1/enroll", serde_json::to_vec(&req).unwrap()))
    })
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let resp: EnrollResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(resp.keyid, key.id().to_string());
    TestAgent {
        key,
        id: resp.agent_id,
        host,
        server_key: PublicKey::from_base64(&resp.server_key).unwrap(),
        head: None,
    }
}

/// Snapshot `sequence` of the agent's chain, collected `sequence` hours after 2026-11-20.
pub fn snapshot(agent: &TestAgent, sequence: u64, previous: Option<Digest>) -> Snapshot {
    let base: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
    let at =
        Timestamp::from_unix_micros(base.unix_micros() + sequence as i64 * 3_600_000_000).unwrap();
    let mut evidence = BTreeMap::new();
    evidence.insert(
        "host.kernel.release".to_string(),
        EvidenceItem::ok(
            format!("6.1.{sequence}"),
            Source::File("/proc/sys/kernel/osrelease".into()),
        ),
    );
    vouch_evidence::testing::host_snapshot(&agent.id, &agent.host, at, sequence, previous, evidence)
}

impl TestAgent {
    /// The next snapshot of the chain, signed; advances the local head.
    pub fn next(&mut self) -> (Vec<u8>, Digest) {
        let (seq, prev) = self.head.map_or((1, None), |(s, d)| (s + 1, Some(d)));
        let (env, digest) = snapshot(self, seq, prev).sign(&self.key).unwrap();
        self.head = Some((seq, digest));
        (env.to_vec(), digest)
    }
}

pub async fn stored(h: &Harness) -> u64 {
    h.state.store().snapshot_count().await.unwrap()
}

// Dashboard sessions.

/// The sign-in post a browser makes from the sign-in page: the token, and the page's CSRF
/// token both in the form and in the `__Host-` cookie the page set.
pub fn login_request(token: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, "__Host-vouch_csrf=0123456789abcdef")
        .body(Body::from(format!("token={token}&csrf=0123456789abcdef")))
        .unwrap()
}

pub fn page(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// Signs in with a new token of `role`; the `Cookie` header value to send back.
pub async fn sign_in(h: &Harness, role: Role) -> String {
    let token = h.state.create_api_token(role, "web").await.unwrap();
    let resp = vouch_server::app(h.state.clone())
        .oneshot_login(login_request(&token))
        .await;
    assert_eq!(resp.0, StatusCode::SEE_OTHER);
    let set_cookie = resp.1.expect("a session cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    set_cookie.split(';').next().unwrap().to_string()
}

pub trait LoginExt {
    async fn oneshot_login(self, req: Request<Body>) -> (StatusCode, Option<String>);
}

impl LoginExt for axum::Router {
    async fn oneshot_login(self, req: Request<Body>) -> (StatusCode, Option<String>) {
        use tower::ServiceExt;
        let resp = self.oneshot(req).await.unwrap();
        (
            resp.status(),
            resp.headers()
                .get(header::SET_COOKIE)
                .map(|v| v.to_str().unwrap().to_string()),
        )
    }
}

/// Policies with `settings` (the built-in catalogs), put in charge of `h`'s server.
pub async fn judge_with(
    h: &Harness,
    settings: vouch_server::config::PolicySettings,
) -> Arc<vouch_server::controls::Policies> {
    let p = vouch_server::controls::Policies::start(
        h.state.store().clone(),
        settings,
        vouch_policies::Catalogs::builtin(),
    )
    .await
    .unwrap();
    h.state.set_policies(p.clone());
    p
}
