//! Single sign-on with OpenID Connect (`[oidc]`): the authorization-code flow with PKCE, `state`
//! and `nonce` against any provider found by discovery, and the ID token checked (signature
//! with the provider's published keys, issuer, audience, expiry against the server's clock,
//! nonce, the access token's hash) by the `openidconnect` crate, never by hand. The person's
//! groups (a configurable claim) map to a Vouch role; a person in no mapped group gets none.
//!
//! This module only speaks to the provider; the pages and cookies of the flow are the
//! dashboard's ([`crate::web`]), and the session it starts is [`crate::session`]'s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenClaims, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use vouch_evidence::Timestamp;

use crate::auth::{Person, Role};

/// The environment variable that may hold the client secret instead of `client_secret_file`.
pub const CLIENT_SECRET_ENV: &str = "VOUCH_OIDC_CLIENT_SECRET";
/// How long the provider's discovery document and keys are used before they are read again
/// (a key the provider rotated in is found at the latest after this).
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long a call to the provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// The most groups read from the claim (a person in more is judged on the first ones).
pub const MAX_GROUPS: usize = 256;
/// The longest absolute session lifetime that may be configured: a week.
const MAX_SESSION_SECS: u64 = 7 * 86_400;

/// `[oidc]`: signing people in through the company's OpenID provider. Without `issuer`, only
/// API-token sign-in exists.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsoConfig {
    /// The provider's issuer URL (`https://login.example.com/realms/acme`), `https://` only;
    /// its discovery document is read from `<issuer>/.well-known/openid-configuration`.
    pub issuer: Option<String>,
    /// The client id Vouch is registered under at the provider.
    pub client_id: String,
    /// A file (mode 0600) holding the client secret; absent, the secret is read from the
    /// environment variable `VOUCH_OIDC_CLIENT_SECRET`.
    pub client_secret_file: Option<PathBuf>,
    /// The redirect URL registered at the provider: this server's public address followed by
    /// `/oidc/callback` (`https://vouch.example.com/oidc/callback`).
    pub redirect_url: String,
    /// A PEM CA for a provider whose certificate is not from a public CA.
    pub ca_file: Option<PathBuf>,
    /// Scopes asked for besides `openid` (the groups often need one of their own).
    pub scopes: Vec<String>,
    /// The ID-token claim listing the person's groups.
    pub groups_claim: String,
    /// Which group gives which role (`"vouch-auditors" = "auditor"`; roles `auditor`,
    /// `security-lead`, `admin`). A person in several gets the highest; in none, no access.
    pub groups: BTreeMap<String, String>,
    /// The provider's name on the sign-in button.
    pub display_name: String,
    /// A session unused for this long ends (seconds).
    pub idle_secs: u64,
    /// A session ends this long after sign-in whatever happens (seconds, at most a week).
    pub absolute_secs: u64,
    /// How often a session goes back to the provider (without a prompt when the person's
    /// session there lives) to read their groups again: someone removed from a group loses
    /// access at the latest this long after (seconds).
    pub recheck_secs: u64,
}

impl Default for SsoConfig {
    fn default() -> Self {
        SsoConfig {
            issuer: None,
            client_id: String::new(),
            client_secret_file: None,
            redirect_url: String::new(),
            ca_file: None,
            scopes: vec!["email".into(), "profile".into(), "groups".into()],
            groups_claim: "groups".into(),
            groups: BTreeMap::new(),
            display_name: "single sign-on".into(),
            idle_secs: 1800,
            absolute_secs: 8 * 3600,
            recheck_secs: 900,
        }
    }
}

impl SsoConfig {
    /// Whether single sign-on is configured.
    pub fn enabled(&self) -> bool {
        self.issuer.is_some()
    }

    /// Every problem, by key (below `oidc.`).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let Some(issuer) = &self.issuer else {
            return out;
        };
        let https = |key: &'static str, url: &str, out: &mut Vec<(&'static str, String)>| {
            match reqwest::Url::parse(url) {
                Ok(u) if u.scheme() == "https" => {}
                Ok(_) => out.push((key, format!("{url:?} must be an https:// URL"))),
                Err(e) => out.push((key, format!("{url:?}: {e}"))),
            }
        };
        https("issuer", issuer, &mut out);
        if self.client_id.trim().is_empty() {
            out.push(("client_id", "required with issuer".into()));
        }
        if self.redirect_url.is_empty() {
            out.push((
                "redirect_url",
                "required with issuer: https://<this server>/oidc/callback, as registered at the provider".into(),
            ));
        } else {
            https("redirect_url", &self.redirect_url, &mut out);
            if !self.redirect_url.ends_with("/oidc/callback") {
                out.push(("redirect_url", "must end with /oidc/callback".into()));
            }
        }
        if let Err(e) = self.client_secret() {
            out.push(("client_secret_file", e));
        }
        if self.groups_claim.trim().is_empty() {
            out.push(("groups_claim", "must name a claim".into()));
        }
        if self.groups.is_empty() {
            out.push((
                "groups",
                "map at least one group to a role, or nobody can sign in".into(),
            ));
        }
        for (group, role) in &self.groups {
            if !matches!(
                Role::parse(role),
                Some(Role::Auditor | Role::SecurityLead | Role::Admin)
            ) {
                out.push((
                    "groups",
                    format!("group {group:?}: {role:?} is not auditor, security-lead or admin"),
                ));
            }
        }
        if !(60..=MAX_SESSION_SECS).contains(&self.absolute_secs) {
            out.push((
                "absolute_secs",
                format!("{} is outside 60..={MAX_SESSION_SECS}", self.absolute_secs),
            ));
        }
        for (key, value) in [
            ("idle_secs", self.idle_secs),
            ("recheck_secs", self.recheck_secs),
        ] {
            if value < 60 || value > self.absolute_secs {
                out.push((
                    key,
                    format!("{value} must be at least 60 and at most absolute_secs"),
                ));
            }
        }
        out
    }

    /// The client secret, from `client_secret_file` (mode checked like every secret's) or
    /// the environment. The error is a sentence naming where it looked.
    pub fn client_secret(&self) -> Result<String, String> {
        let secret = match &self.client_secret_file {
            Some(path) => {
                let shown = path.display();
                if let Some(mode) =
                    vouch_config::secret_file_mode(path).map_err(|e| format!("{shown}: {e}"))?
                {
                    return Err(format!(
                        "{shown} is readable by group or others (mode {mode:04o}): chmod 600 {shown}"
                    ));
                }
                std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?
            }
            None => std::env::var(CLIENT_SECRET_ENV).map_err(|_| {
                format!("absent, and {CLIENT_SECRET_ENV} is not set: one of them holds the client secret")
            })?,
        };
        let secret = secret.trim();
        if secret.is_empty() {
            return Err("the client secret is empty".into());
        }
        Ok(secret.to_string())
    }

    /// The role a person in `groups` gets: the highest any of them maps to.
    pub fn role_for(&self, groups: &[String]) -> Option<Role> {
        let rank = |r: &Role| match r {
            Role::Admin => 3,
            Role::SecurityLead => 2,
            Role::Auditor => 1,
            Role::Agent => 0,
        };
        groups
            .iter()
            .filter_map(|g| self.groups.get(g))
            .filter_map(|r| Role::parse(r))
            .filter(|r| *r != Role::Agent)
            .max_by_key(rank)
    }
}

/// Why signing in through the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The configuration could not be used (a CA file, the client secret).
    #[error("single sign-on is misconfigured: {0}")]
    Config(String),
    /// The provider's discovery document or keys could not be read.
    #[error("the identity provider's discovery failed: {0}")]
    Discovery(String),
    /// The code could not be exchanged for tokens.
    #[error("the identity provider refused the code exchange: {0}")]
    Exchange(String),
    /// The provider answered no ID token.
    #[error("the identity provider answered no ID token")]
    NoIdToken,
    /// The ID token failed a check (signature, issuer, audience, expiry, nonce).
    #[error("the ID token is refused: {0}")]
    IdToken(String),
}

/// The provider's client, as discovery set it up.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The claims of an ID token beyond the standard ones, among them the groups.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type GroupsIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// What a sign-in started: kept by the browser (in a signed cookie) until the provider sends
/// the person back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// The `state` sent, which the callback must carry back.
    pub state: String,
    /// The `nonce` the ID token must hold.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent.
    pub pkce_verifier: String,
}

/// A person the provider vouched for, with their groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    /// Who.
    pub person: Person,
    /// Their groups, as the configured claim lists them (at most [`MAX_GROUPS`]).
    pub groups: Vec<String>,
}

/// Single sign-on at run time: the configuration, an HTTP client that follows no redirect,
/// and the provider's discovered client, read again every hour.
pub struct Sso {
    config: SsoConfig,
    secret: String,
    http: reqwest::Client,
    client: tokio::sync::Mutex<Option<(Instant, Arc<Client>)>>,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("issuer", &self.config.issuer)
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

impl Sso {
    /// Single sign-on for a validated `config`; `None` when it has no issuer.
    pub fn new(config: &SsoConfig, user_agent: &str) -> Result<Option<Sso>, SsoError> {
        if !config.enabled() {
            return Ok(None);
        }
        let secret = config.client_secret().map_err(SsoError::Config)?;
        let ca = match &config.ca_file {
            Some(p) => Some(
                std::fs::read(p).map_err(|e| SsoError::Config(format!("{}: {e}", p.display())))?,
            ),
            None => None,
        };
        let http = vouch_client::http_client_builder(ca.as_deref(), PROVIDER_TIMEOUT, user_agent)
            .map_err(|e| SsoError::Config(e.to_string()))?
            // Following redirects would let a provider's answer send the server elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            // Calls are rare (discovery hourly, one code exchange per sign-in) and providers
            // close idle connections early (Node.js after 5 s): a pooled one would be reset.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| SsoError::Config(e.to_string()))?;
        Ok(Some(Sso {
            config: config.clone(),
            secret,
            http,
            client: tokio::sync::Mutex::new(None),
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &SsoConfig {
        &self.config
    }

    async fn client(&self) -> Result<Arc<Client>, SsoError> {
        let mut cached = self.client.lock().await;
        if let Some((at, client)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(client.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone().unwrap_or_default())
            .map_err(|e| SsoError::Config(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| SsoError::Discovery(error_chain(&e)))?;
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| SsoError::Config(e.to_string()))?;
        let client = Arc::new(
            CoreClient::from_provider_metadata(
                metadata,
                ClientId::new(self.config.client_id.clone()),
                Some(ClientSecret::new(self.secret.clone())),
            )
            .set_redirect_uri(redirect),
        );
        *cached = Some((Instant::now(), client.clone()));
        Ok(client)
    }

    /// Starts a sign-in: the provider's URL to send the browser to, and what the callback
    /// needs. `silent` asks the provider not to prompt (`prompt=none`): a session's periodic
    /// recheck.
    pub async fn begin(&self, silent: bool) -> Result<(String, Flow), SsoError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if silent {
            request = request.add_prompt(CoreAuthPrompt::None);
        }
        let (url, state, nonce) = request.url();
        Ok((
            url.to_string(),
            Flow {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        ))
    }

    /// Finishes a sign-in: exchanges `code` (with the flow's PKCE verifier) and checks the ID
    /// token at `now`.
    pub async fn finish(
        &self,
        code: &str,
        flow: &Flow,
        now: Timestamp,
    ) -> Result<SignedIn, SsoError> {
        let client = self.client().await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| SsoError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| SsoError::Exchange(error_chain(&e)))?;
        let raw = response.id_token().ok_or(SsoError::NoIdToken)?.to_string();
        let token: GroupsIdToken = raw
            .parse()
            .map_err(|e: serde_json::Error| SsoError::IdToken(e.to_string()))?;
        let verifier = client.id_token_verifier().set_time_fn(clock(now));
        let claims = token
            .claims(&verifier, &Nonce::new(flow.nonce.clone()))
            .map_err(|e| SsoError::IdToken(e.to_string()))?;
        // The access token must be the one the ID token was issued with.
        if let Some(expected) = claims.access_token_hash() {
            let alg = token
                .signing_alg()
                .map_err(|e| SsoError::IdToken(e.to_string()))?;
            let key = token
                .signing_key(&verifier)
                .map_err(|e| SsoError::IdToken(e.to_string()))?;
            let actual = AccessTokenHash::from_token(response.access_token(), alg, key)
                .map_err(|e| SsoError::IdToken(e.to_string()))?;
            if actual != *expected {
                return Err(SsoError::IdToken(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        Ok(signed_in(claims, &self.config.groups_claim))
    }
}

/// The clock the ID token's expiry is checked against: the server's, so that a test moves it.
fn clock(now: Timestamp) -> impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync {
    move || chrono::DateTime::from_timestamp_micros(now.unix_micros()).unwrap_or_default()
}

#[cfg(test)]
/// Checks `token` with `verifier` at `now` against `nonce` (signature, issuer, audience,
/// expiry, nonce), and reads the person and the groups claim `groups_claim` from it.
fn check_id_token(
    verifier: &openidconnect::core::CoreIdTokenVerifier<'_>,
    token: &GroupsIdToken,
    nonce: &str,
    now: Timestamp,
    groups_claim: &str,
) -> Result<SignedIn, SsoError> {
    let verifier = verifier.clone().set_time_fn(clock(now));
    let claims = token
        .claims(&verifier, &Nonce::new(nonce.to_string()))
        .map_err(|e| SsoError::IdToken(e.to_string()))?;
    Ok(signed_in(claims, groups_claim))
}

/// The person and the groups claim `groups_claim` of checked `claims`, each string cut to
/// what an echoed string may hold.
fn signed_in(claims: &IdTokenClaims<OtherClaims, CoreGenderClaim>, groups_claim: &str) -> SignedIn {
    let cut = |s: &str| vouch_evidence::limits::truncate_echo(s);
    let person = Person {
        subject: cut(claims.subject().as_str()),
        email: claims.email().map(|e| cut(e.as_str())),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| cut(n.as_str())),
    };
    let groups = match claims.additional_claims().claims.get(groups_claim) {
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|g| g.as_str())
            .take(MAX_GROUPS)
            .map(cut)
            .collect(),
        Some(serde_json::Value::String(one)) => vec![cut(one)],
        _ => Vec::new(),
    };
    SignedIn { person, groups }
}

/// An error with its sources, for the log and the page.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use openidconnect::core::{CoreEdDsaPrivateSigningKey, CoreIdTokenVerifier, CoreJsonWebKeySet};
    use openidconnect::{
        Audience, JsonWebKeyId, PrivateSigningKey, StandardClaims, SubjectIdentifier,
    };

    use super::*;

    const ISSUER: &str = "https://login.example.com/";
    const CLIENT: &str = "vouch";
    const NONCE: &str = "n-0S6_WzA2Mj";
    /// 2026-12-07T00:00:00Z.
    const NOW: i64 = 1_796_601_600;

    /// An Ed25519 key from a fixed seed, as PKCS#8 PEM.
    fn key(seed: u8, kid: &str) -> CoreEdDsaPrivateSigningKey {
        let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
        der.extend([seed; 32]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
        CoreEdDsaPrivateSigningKey::from_ed25519_pem(&pem, Some(JsonWebKeyId::new(kid.into())))
            .unwrap()
    }

    fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// An ID token as a provider would sign it with `signer`, changed by `edit`.
    fn token(
        signer: &CoreEdDsaPrivateSigningKey,
        edit: impl FnOnce(&mut (String, String, i64, String)),
    ) -> GroupsIdToken {
        // (issuer, audience, expiry, nonce)
        let mut t = (
            ISSUER.to_string(),
            CLIENT.to_string(),
            NOW + 300,
            NONCE.to_string(),
        );
        edit(&mut t);
        let mut other = serde_json::Map::new();
        other.insert("groups".into(), serde_json::json!(["staff", "vouch-leads"]));
        let claims = IdTokenClaims::new(
            IssuerUrl::new(t.0).unwrap(),
            vec![Audience::new(t.1)],
            at(t.2),
            at(NOW - 10),
            StandardClaims::new(SubjectIdentifier::new("248289761001".into())).set_email(Some(
                openidconnect::EndUserEmail::new("alice@example.com".into()),
            )),
            OtherClaims { claims: other },
        )
        .set_nonce(Some(Nonce::new(t.3)));
        GroupsIdToken::new(claims, signer, CoreJwsSigningAlgorithm::EdDsa, None, None).unwrap()
    }

    fn verifier() -> CoreIdTokenVerifier<'static> {
        let provider = key(7, "k1");
        CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(CLIENT.into()),
            ClientSecret::new("s3cret".into()),
            IssuerUrl::new(ISSUER.into()).unwrap(),
            CoreJsonWebKeySet::new(vec![provider.as_verification_key()]),
        )
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EdDsa])
    }

    fn check(t: &GroupsIdToken) -> Result<SignedIn, SsoError> {
        let now = Timestamp::from_unix_micros(NOW * 1_000_000).unwrap();
        check_id_token(&verifier(), t, NONCE, now, "groups")
    }

    #[test]
    fn a_good_id_token_names_the_person_and_their_groups() {
        let ok = check(&token(&key(7, "k1"), |_| {})).unwrap();
        assert_eq!(ok.person.subject, "248289761001");
        assert_eq!(ok.person.email.as_deref(), Some("alice@example.com"));
        assert_eq!(ok.groups, ["staff", "vouch-leads"]);
    }

    #[test]
    fn forged_expired_foreign_and_replayed_id_tokens_are_refused() {
        let refused = |what: &str, t: GroupsIdToken, needle: &str| {
            let err = check(&t).expect_err(what).to_string();
            assert!(err.to_lowercase().contains(needle), "{what}: {err}");
        };
        // Signed with another key under the provider's key id: a forgery.
        refused("forged", token(&key(8, "k1"), |_| {}), "signature");
        refused("expired", token(&key(7, "k1"), |t| t.2 = NOW - 1), "expire");
        refused(
            "wrong audience",
            token(&key(7, "k1"), |t| t.1 = "another-app".into()),
            "aud",
        );
        refused(
            "wrong issuer",
            token(&key(7, "k1"), |t| t.0 = "https://evil.example.com/".into()),
            "iss",
        );
        refused(
            "another sign-in's nonce",
            token(&key(7, "k1"), |t| t.3 = "replayed".into()),
            "nonce",
        );
        // The same token passes a minute before its expiry and fails at it: the clock is the
        // server's, not the machine's.
        assert!(check(&token(&key(7, "k1"), |t| t.2 = NOW + 60)).is_ok());
    }

    #[test]
    fn an_unsigned_id_token_is_refused() {
        let good = token(&key(7, "k1"), |_| {}).to_string();
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        parts[0] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        parts[2] = String::new();
        match parts.join(".").parse::<GroupsIdToken>() {
            Err(_) => {}
            Ok(t) => assert!(check(&t).is_err(), "alg none accepted"),
        }
    }

    #[test]
    fn groups_map_to_the_highest_role_and_unknown_groups_to_none() {
        let config = SsoConfig {
            groups: [
                ("auditors".to_string(), "auditor".to_string()),
                ("vouch-leads".to_string(), "security-lead".to_string()),
                ("ops".to_string(), "admin".to_string()),
            ]
            .into(),
            ..SsoConfig::default()
        };
        let g = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(config.role_for(&g(&["auditors"])), Some(Role::Auditor));
        assert_eq!(
            config.role_for(&g(&["auditors", "vouch-leads"])),
            Some(Role::SecurityLead)
        );
        assert_eq!(config.role_for(&g(&["ops", "auditors"])), Some(Role::Admin));
        assert_eq!(config.role_for(&g(&["staff"])), None);
        assert_eq!(config.role_for(&[]), None);
    }

    #[test]
    fn the_oidc_section_names_every_mistake() {
        let config = SsoConfig {
            issuer: Some("http://login.example.com/".into()),
            redirect_url: "https://vouch.example.com/callback".into(),
            client_secret_file: Some("/nonexistent/secret".into()),
            groups: [("g".to_string(), "agent".to_string())].into(),
            idle_secs: 10,
            ..SsoConfig::default()
        };
        let keys: Vec<&str> = config.problems().iter().map(|(k, _)| *k).collect();
        for key in [
            "issuer",
            "client_id",
            "redirect_url",
            "client_secret_file",
            "groups",
            "idle_secs",
        ] {
            assert!(keys.contains(&key), "{key} not named in {keys:?}");
        }
        assert!(SsoConfig::default().problems().is_empty());
    }
}
