//! A load generator: N simulated agents with real Ed25519 keys and real chains push signed
//! snapshots to a server over HTTPS, and the run reports what the server accepted per second,
//! the latency percentiles and every rejection by reason (`vouch loadgen`).
//!
//! It provisions its agents the way a fleet is provisioned: an admin token asks the server for
//! one-time enrolment tokens (`POST /v1/enroll-tokens`), each agent enrols its own key. Every
//! chain is signed before the clock starts, so the figures are the server's, not the signer's;
//! during the run each agent sends its chain in order (a chain cannot be extended out of turn)
//! and the agents run `concurrency` at a time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use vouch_evidence::api::{EnrollRequest, EnrollResponse, ErrorBody};
use vouch_evidence::{
    Asset, AssetKind, Digest, EvidenceItem, SCHEMA_VERSION, SigningKey, Snapshot, Source, Timestamp,
};

/// What to simulate.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The server's base URL (`https://vouch.example.com:8443`).
    pub url: String,
    /// The CA certificate (PEM) the server's certificate chains to; `None`: the system roots.
    pub ca_pem: Option<Vec<u8>>,
    /// An admin token, to issue the enrolment tokens.
    pub admin_token: String,
    /// How many agents.
    pub agents: usize,
    /// Snapshots each agent sends.
    pub snapshots_per_agent: u64,
    /// Agents sending at the same time.
    pub concurrency: usize,
    /// Evidence items per snapshot (about 60 bytes each once encoded).
    pub evidence_items: usize,
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
    /// Provisioning (enrolment tokens or enrolment) failed.
    #[error("provisioning: {0}")]
    Provision(String),
    /// The configuration asks for nothing, or too much.
    #[error("{0}")]
    Config(String),
}

/// What a run measured.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// Agents that sent.
    pub agents: usize,
    /// Snapshots sent.
    pub sent: u64,
    /// Accepted and stored (`201`).
    pub accepted: u64,
    /// Answered as already stored (`200`).
    pub duplicates: u64,
    /// Refused, by the server's reason code (or `transport` when no answer came).
    pub rejected: BTreeMap<String, u64>,
    /// Wall time of the sending phase, in seconds.
    pub seconds: f64,
    /// Accepted snapshots per second.
    pub accepted_per_sec: f64,
    /// Request latency percentiles in milliseconds: p50, p90, p99, max.
    pub latency_ms: [f64; 4],
    /// Mean envelope size in bytes.
    pub envelope_bytes: usize,
    /// Time spent enrolling and signing before the clock started, in seconds.
    pub setup_seconds: f64,
}

impl LoadReport {
    /// The report as lines for people.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} agents sent {} snapshots ({} B envelopes) in {:.2} s\n\
             accepted {} ({:.0} /s), duplicates {}, rejected {}\n\
             latency ms: p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}\n",
            self.agents,
            self.sent,
            self.envelope_bytes,
            self.seconds,
            self.accepted,
            self.accepted_per_sec,
            self.duplicates,
            self.rejected.values().sum::<u64>(),
            self.latency_ms[0],
            self.latency_ms[1],
            self.latency_ms[2],
            self.latency_ms[3],
        );
        for (reason, n) in &self.rejected {
            out.push_str(&format!("  rejected {reason}: {n}\n"));
        }
        out
    }
}

/// One simulated agent: its key, id and signed chain.
struct SimAgent {
    agent_id: String,
    envelopes: Vec<Vec<u8>>,
}

/// The evidence of snapshot `sequence` of agent `n`: `items` small facts, a few changing.
fn evidence(n: usize, sequence: u64, items: usize) -> BTreeMap<String, EvidenceItem> {
    (0..items)
        .map(|i| {
            let value = if i % 10 == 0 {
                serde_json::json!(sequence + i as u64)
            } else {
                serde_json::json!(format!("setting-{n}-{i}"))
            };
            (
                format!("host.load.fact_{i:04}"),
                EvidenceItem::ok(value, Source::File(format!("/etc/load/{i}"))),
            )
        })
        .collect()
}

/// The host id of simulated agent `n` with `key`: declared at enrolment, so known before it.
fn host_id(n: usize, key: &SigningKey) -> String {
    format!("load-{n:06}-{}", &key.public().id().to_string()[..16])
}

/// Signs `count` snapshots of a chain for `agent_id` with `key`, collected a microsecond apart
/// from now (just after the agent enrolled): the server refuses a snapshot collected before
/// its agent's enrolment, and warns of one collected ahead of its clock.
fn sign_chain(
    key: &SigningKey,
    agent_id: &str,
    n: usize,
    count: u64,
    items: usize,
) -> Result<Vec<Vec<u8>>, LoadError> {
    let now = crate::clock::now().unix_micros();
    let mut previous: Option<Digest> = None;
    let mut out = Vec::with_capacity(count as usize);
    for sequence in 1..=count {
        let at = Timestamp::from_unix_micros(now + sequence as i64 - 1)
            .ok_or_else(|| LoadError::Config("collection instant out of range".into()))?;
        let snapshot = Snapshot {
            schema_version: SCHEMA_VERSION,
            agent_id: agent_id.to_string(),
            asset: Asset {
                kind: AssetKind::Host,
                id: host_id(n, key),
                name: format!("load-{n:06}"),
            },
            collected_at: at,
            sequence,
            previous_digest: previous,
            collectors: vec![],
            evidence: evidence(n, sequence, items),
        };
        let (envelope, digest) = snapshot
            .sign(key)
            .map_err(|e| LoadError::Config(format!("signing: {e}")))?;
        out.push(envelope.to_vec());
        previous = Some(digest);
    }
    Ok(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Sends a provisioning request and reads its JSON answer; a refusal names the request, the
/// status and the server's message.
async fn provision<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<T, LoadError> {
    let resp = request
        .send()
        .await
        .map_err(|e| LoadError::Provision(format!("{what}: {e}")))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        return Err(LoadError::Provision(format!("{what}: {status}: {body}")));
    }
    resp.json()
        .await
        .map_err(|e| LoadError::Provision(format!("{what}: {e}")))
}

/// Enrols the agents, signs their chains, then sends them and measures. See the module docs.
pub async fn run(config: &LoadConfig) -> Result<LoadReport, LoadError> {
    if config.agents == 0 || config.snapshots_per_agent == 0 || config.concurrency == 0 {
        return Err(LoadError::Config(
            "agents, snapshots per agent and concurrency must each be at least 1".into(),
        ));
    }
    let client = vouch_client::build_http_client(
        config.ca_pem.as_deref(),
        Duration::from_secs(60),
        crate::USER_AGENT,
    )
    .map_err(|e| LoadError::Client(e.to_string()))?;
    let base = config.url.trim_end_matches('/').to_string();
    let setup = Instant::now();

    // One-time enrolment tokens, as a provisioning system asks for them.
    let mut tokens: Vec<String> = Vec::with_capacity(config.agents);
    while tokens.len() < config.agents {
        let count = (config.agents - tokens.len()).min(crate::http::MAX_ENROLL_TOKENS as usize);
        let request = client
            .post(format!("{base}/v1/enroll-tokens"))
            .bearer_auth(&config.admin_token)
            .json(&serde_json::json!({ "count": count, "ttl_secs": 3600, "scope": ["host"], "label": "loadgen" }));
        let answer: serde_json::Value = provision(request, "POST /v1/enroll-tokens").await?;
        let issued = answer["tokens"].as_array().cloned().unwrap_or_default();
        if issued.is_empty() {
            return Err(LoadError::Provision("the server issued no token".into()));
        }
        tokens.extend(issued.iter().filter_map(|t| t.as_str().map(str::to_string)));
    }

    // Each agent enrols its own fresh key, then its chain is signed off the async threads.
    let mut agents: Vec<SimAgent> = Vec::with_capacity(config.agents);
    let mut signing = tokio::task::JoinSet::new();
    for (n, token) in tokens.into_iter().enumerate() {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| LoadError::Config(e.to_string()))?;
        let key = SigningKey::from_seed(&seed);
        let request = client
            .post(format!("{base}/v1/enroll"))
            .json(&EnrollRequest {
                token,
                public_key: key.public().to_base64(),
                name: format!("load-{n:06}"),
                assets: vec![vouch_evidence::api::AssetRef {
                    kind: AssetKind::Host,
                    id: host_id(n, &key),
                }],
            });
        let enrolled: EnrollResponse = provision(request, "POST /v1/enroll").await?;
        let (count, items) = (config.snapshots_per_agent, config.evidence_items);
        signing.spawn_blocking(move || {
            sign_chain(&key, &enrolled.agent_id, n, count, items).map(|envelopes| SimAgent {
                agent_id: enrolled.agent_id,
                envelopes,
            })
        });
    }
    while let Some(done) = signing.join_next().await {
        agents.push(done.map_err(|e| LoadError::Config(e.to_string()))??);
    }
    agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
    let setup_seconds = setup.elapsed().as_secs_f64();
    let sent: u64 = agents.iter().map(|a| a.envelopes.len() as u64).sum();
    let envelope_bytes = agents
        .iter()
        .flat_map(|a| a.envelopes.iter().map(Vec::len))
        .sum::<usize>()
        / sent.max(1) as usize;

    // The run: `concurrency` workers, each taking the next agent and sending its chain in order.
    let agents = Arc::new(agents);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..config.concurrency.min(agents.len()) {
        let (agents, next, client, url) = (
            agents.clone(),
            next.clone(),
            client.clone(),
            format!("{base}/v1/snapshots"),
        );
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(agent) = agents.get(i) else { break };
                for envelope in &agent.envelopes {
                    let t = Instant::now();
                    let outcome = match client
                        .post(&url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(envelope.clone())
                        .send()
                        .await
                    {
                        Ok(resp) => {
                            let status = resp.status().as_u16();
                            match status {
                                201 => "accepted".to_string(),
                                200 => "duplicate".to_string(),
                                _ => resp
                                    .json::<ErrorBody>()
                                    .await
                                    .map_or_else(|_| format!("http-{status}"), |e| e.error),
                            }
                        }
                        Err(_) => "transport".to_string(),
                    };
                    latencies.push(t.elapsed().as_secs_f64() * 1e3);
                    *outcomes.entry(outcome).or_default() += 1;
                }
            }
            (latencies, outcomes)
        });
    }
    let mut latencies = Vec::new();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(done) = workers.join_next().await {
        let (l, o) = done.map_err(|e| LoadError::Config(e.to_string()))?;
        latencies.extend(l);
        for (k, v) in o {
            *outcomes.entry(k).or_default() += v;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let accepted = outcomes.remove("accepted").unwrap_or(0);
    let duplicates = outcomes.remove("duplicate").unwrap_or(0);
    Ok(LoadReport {
        agents: agents.len(),
        sent,
        accepted,
        duplicates,
        rejected: outcomes,
        seconds,
        accepted_per_sec: accepted as f64 / seconds.max(1e-9),
        latency_ms: [
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.90),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(0.0),
        ],
        envelope_bytes,
        setup_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated chain links: each snapshot names its predecessor's digest, in order.
    #[test]
    fn a_signed_chain_links_in_order() {
        let key = SigningKey::from_seed(&[3; 32]);
        let chain = sign_chain(&key, "agt_x", 0, 3, 5).unwrap();
        let mut previous = None;
        for (i, bytes) in chain.iter().enumerate() {
            let env = vouch_evidence::dsse::Envelope::from_slice(bytes).unwrap();
            let payload = env.payload_bytes().unwrap();
            let snapshot = Snapshot::from_payload(&payload).unwrap();
            assert_eq!(snapshot.sequence, i as u64 + 1);
            assert_eq!(snapshot.previous_digest, previous);
            assert_eq!(snapshot.evidence.len(), 5);
            previous = Some(Digest::of(&payload));
        }
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 3.0);
    }
}
