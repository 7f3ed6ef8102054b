//! The log's witnesses, as the log sees them (the client side of C2SP `tlog-witness`): at
//! each round, the current checkpoint goes to every configured witness that has not cosigned
//! it yet, with the consistency proof from the size that witness last cosigned. Each
//! cosignature answered is checked with the witness's key before it is kept (the store's
//! `tlog_cosignatures`, so every replica serves it); from then on the checkpoint of that size
//! is served with it, and bundles carry the latest checkpoint a quorum cosigned.
//!
//! A witness that has cosigned a larger tree than the log holds, or that finds the new
//! checkpoint inconsistent with the one it cosigned, has been shown another history of this
//! log (a rollback, a fork, or a copy of the log key used elsewhere): that is an alarm, logged
//! as an error and counted in `/metrics`, never retried into silence.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::store::{LogHead, LogStore, StoreError};
use serde::Deserialize;
use vouch_evidence::Timestamp;
use vouch_evidence::cosign::{AddCheckpoint, Witness, open_witnessed};
use vouch_evidence::tlog;

use crate::checkpoints::LogSigner;

/// `[log]`: the witnesses asked to cosign the log's checkpoints; none by default.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// The witnesses (`[[log.witnesses]]`), each asked to cosign every new checkpoint.
    pub witnesses: Vec<WitnessEndpoint>,
    /// How many of them must cosign a checkpoint for it to count as witnessed (the one
    /// bundles carry); absent: all of them.
    pub witness_quorum: Option<usize>,
    /// Seconds between rounds; a round sends the checkpoint only to witnesses that have not
    /// cosigned the log's current size.
    pub witness_interval_secs: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            witnesses: Vec::new(),
            witness_quorum: None,
            witness_interval_secs: 10,
        }
    }
}

/// One witness of the log.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessEndpoint {
    /// Its `add-checkpoint` URL, HTTPS (a Vouch server's is
    /// `https://<host>:<port>/v1/witness/add-checkpoint`).
    pub url: String,
    /// Its verifier key (`<name>+<hex id>+<base64>`; a Vouch server answers it at
    /// `GET /v1/witness/key`).
    pub key: String,
    /// A PEM file of the CA that issued its certificate, when that is not a public CA (a
    /// Vouch server's local CA is `<data_dir>/tls/ca.pem`).
    pub ca_file: Option<PathBuf>,
}

/// The longest a witness is given to answer.
const WITNESS_TIMEOUT: Duration = Duration::from_secs(10);

impl LogConfig {
    /// The quorum: as configured, else every witness.
    pub fn quorum(&self) -> usize {
        self.witness_quorum.unwrap_or(self.witnesses.len())
    }

    /// Every problem, by key.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            match reqwest::Url::parse(&w.url) {
                Ok(u) if u.scheme() == "https" => {}
                Ok(_) => out.push((format!("witnesses[{i}].url"), "must be https://".into())),
                Err(e) => out.push((format!("witnesses[{i}].url"), e.to_string())),
            }
            match Witness::parse(&w.key) {
                Ok(k) if !names.insert(k.name().to_string()) => out.push((
                    format!("witnesses[{i}].key"),
                    format!("witness {} is listed twice", k.name()),
                )),
                Ok(_) => {}
                Err(e) => out.push((format!("witnesses[{i}].key"), e.to_string())),
            }
        }
        if let Some(q) = self.witness_quorum
            && (q == 0 || q > self.witnesses.len())
        {
            out.push((
                "witness_quorum".into(),
                format!("{q} is outside 1..={}", self.witnesses.len()),
            ));
        }
        if !(1..=86_400).contains(&self.witness_interval_secs) {
            out.push((
                "witness_interval_secs".into(),
                format!("{} is outside 1..=86400", self.witness_interval_secs),
            ));
        }
        out
    }
}

/// A witness the log sends its checkpoints to.
struct Endpoint {
    url: reqwest::Url,
    witness: Witness,
    client: reqwest::Client,
    /// The size this witness last cosigned, as far as the log knows (0 at start: a 409
    /// answer tells the real one).
    old: AtomicU64,
}

/// The log's witnesses and its quorum.
pub struct Cosigners {
    endpoints: Vec<Endpoint>,
    quorum: usize,
    interval: Duration,
    /// Held for a round: rounds of this server do not overlap.
    one_round: tokio::sync::Mutex<()>,
}

/// What one witness answered in a round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// It cosigned the checkpoint (its cosignature checked and kept).
    Cosigned,
    /// It had cosigned this size already.
    Already,
    /// It could not be asked, or refused for a reason of its own (unreachable, a 403, a
    /// 404, a cosignature that does not verify): tried again next round.
    Failed(String),
    /// It was shown another history of this log: a larger tree than the log holds, or one
    /// the new checkpoint is not consistent with.
    Alarm(String),
}

/// Why [`Cosigners::new`] failed: the configuration's problem, in a sentence.
#[derive(Debug, thiserror::Error)]
#[error("[log] witnesses: {0}")]
pub struct CosignersError(String);

impl Cosigners {
    /// The witnesses of a validated `config`, each with its HTTPS client.
    pub fn new(config: &LogConfig, user_agent: &str) -> Result<Self, CosignersError> {
        let endpoints = config
            .witnesses
            .iter()
            .map(|w| {
                let ca = match &w.ca_file {
                    Some(path) => Some(
                        std::fs::read(path)
                            .map_err(|e| CosignersError(format!("{}: {e}", path.display())))?,
                    ),
                    None => None,
                };
                let client =
                    vouch_client::http_client_builder(ca.as_deref(), WITNESS_TIMEOUT, user_agent)
                        .map_err(|e| CosignersError(e.to_string()))?
                        .redirect(reqwest::redirect::Policy::none())
                        .build()
                        .map_err(|e| CosignersError(e.to_string()))?;
                Ok(Endpoint {
                    url: reqwest::Url::parse(&w.url)
                        .map_err(|e| CosignersError(format!("{}: {e}", w.url)))?,
                    witness: Witness::parse(&w.key)
                        .map_err(|e| CosignersError(format!("{}: {e}", w.key)))?,
                    client,
                    old: AtomicU64::new(0),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cosigners {
            quorum: config.quorum(),
            interval: Duration::from_secs(config.witness_interval_secs),
            one_round: tokio::sync::Mutex::new(()),
            endpoints,
        })
    }

    /// The time between rounds.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How many witnesses make a checkpoint witnessed.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// The witnesses' verifier keys, in configuration order.
    pub fn witnesses(&self) -> Vec<Witness> {
        self.endpoints.iter().map(|e| e.witness.clone()).collect()
    }

    /// One round: the log's current checkpoint to every witness that has not cosigned its
    /// size, at `now`; the cosignatures kept and handed to `signer`; the checkpoints below
    /// the newest a quorum cosigned forgotten. Answers each witness's answer, by name.
    pub async fn round(
        &self,
        store: &dyn LogStore,
        signer: &LogSigner,
        now: Timestamp,
    ) -> Result<Vec<(String, Answer)>, StoreError> {
        let _one = self.one_round.lock().await;
        let head = store.log_head().await?;
        if head.size == 0 {
            return Ok(Vec::new());
        }
        let kept = store.cosignatures(head.size).await?;
        let note = signer.signed(head);
        let asks = self.endpoints.iter().map(|e| {
            let done = kept.iter().any(|(name, _)| name == e.witness.name());
            let note = &note;
            async move {
                let answer = if done {
                    e.old.store(head.size, Ordering::Relaxed);
                    Answer::Already
                } else {
                    match self.ask(e, store, signer, head, note).await {
                        Ok(line) => {
                            store
                                .add_cosignature(head.size, e.witness.name(), &line, now)
                                .await?;
                            Answer::Cosigned
                        }
                        Err(answer) => answer,
                    }
                };
                Ok::<_, StoreError>((e.witness.name().to_string(), answer))
            }
        });
        let answers = futures::future::try_join_all(asks).await?;
        let lines: Vec<String> = store
            .cosignatures(head.size)
            .await?
            .into_iter()
            .map(|(_, line)| line)
            .collect();
        if lines.len() >= self.quorum.max(1) {
            store.prune_cosignatures(head.size).await?;
        }
        signer.set_cosignatures(head.size, lines);
        Ok(answers)
    }

    /// Asks one witness to cosign `note` (the checkpoint of `head`), once more after a 409
    /// names the size it last cosigned; answers the checked cosignature line.
    async fn ask(
        &self,
        e: &Endpoint,
        store: &dyn LogStore,
        signer: &LogSigner,
        head: LogHead,
        note: &str,
    ) -> Result<String, Answer> {
        let failed = |why: String| Answer::Failed(why);
        // A 409 names the size the witness last cosigned; it may move again meanwhile (another
        // replica of this log asking too), so a few are followed.
        let mut conflicts = 0;
        loop {
            let old = e.old.load(Ordering::Relaxed);
            if old > head.size {
                return Err(Answer::Alarm(format!(
                    "the witness has cosigned a checkpoint of {old} leaves; the log holds {}: \
                     it was shown a larger tree of this log (rolled back, or forked)",
                    head.size
                )));
            }
            let proof = if old == 0 || old == head.size {
                Vec::new()
            } else {
                let ranges = tlog::consistency_ranges(old, head.size)
                    .map_err(|e| failed(format!("consistency from {old}: {e}")))?;
                store
                    .log_proof(&ranges)
                    .await
                    .map_err(|e| failed(format!("the log's proof: {e}")))?
            };
            let body = AddCheckpoint {
                old,
                proof,
                note: note.to_string(),
            }
            .to_body();
            let response = e
                .client
                .post(e.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(body)
                .send()
                .await
                .map_err(|err| failed(format!("not reached: {err}")))?;
            let status = response.status().as_u16();
            // A witness's answer is a few lines; anything longer is not one.
            let text = read_limited(response, 64 * 1024)
                .await
                .map_err(|why| failed(format!("answer: {why}")))?;
            match status {
                200 => {
                    let line = checked_line(&e.witness, note, &text, signer)
                        .map_err(|why| failed(format!("cosignature: {why}")))?;
                    e.old.store(head.size, Ordering::Relaxed);
                    return Ok(line);
                }
                409 if conflicts < 3 => {
                    let size: u64 = text.trim().parse().map_err(|_| {
                        failed(format!(
                            "a 409 whose body is not a size: {:?}",
                            short(&text)
                        ))
                    })?;
                    e.old.store(size, Ordering::Relaxed);
                    conflicts += 1;
                }
                409 => {
                    return Err(failed(format!(
                        "a 409 again and again (it now names {:?})",
                        short(&text)
                    )));
                }
                422 => {
                    return Err(Answer::Alarm(format!(
                        "the witness finds the checkpoint of {} leaves inconsistent with the \
                         one it cosigned ({old} leaves): {}",
                        head.size,
                        short(&text)
                    )));
                }
                other => return Err(failed(format!("HTTP {other}: {}", short(&text)))),
            }
        }
    }
}

/// The newest checkpoint at least `quorum` witnesses cosigned, with their cosignatures;
/// `None` before any has.
pub async fn witnessed(
    store: &dyn LogStore,
    signer: &LogSigner,
    quorum: usize,
) -> Result<Option<(LogHead, String)>, StoreError> {
    let Some(size) = store.witnessed_size(quorum).await? else {
        return Ok(None);
    };
    let (head, mut note) = signer.signed_at(store, size).await?;
    for (_, line) in store.cosignatures(size).await? {
        note.push_str(&line);
        note.push('\n');
    }
    Ok(Some((head, note)))
}

/// The cosignature line of `witness` in a 200 answer, checked against `note` with the
/// witness's key (a line of another key, or one that does not verify, is refused).
fn checked_line(
    witness: &Witness,
    note: &str,
    answer: &str,
    signer: &LogSigner,
) -> Result<String, String> {
    let prefix = format!("\u{2014} {} ", witness.name());
    let line = answer
        .lines()
        .find(|l| l.starts_with(&prefix))
        .ok_or_else(|| format!("no line of {} in the answer", witness.name()))?;
    let cosigned = format!("{note}{line}\n");
    open_witnessed(
        &cosigned,
        &signer.verifier(),
        std::slice::from_ref(witness),
        1,
    )
    .map_err(|e| e.to_string())?;
    Ok(line.to_string())
}

/// The body of `response`, as text, refused past `limit` bytes.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<String, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err(format!("more than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "not UTF-8".to_string())
}

/// A witness's text as it may be logged: its first line, cut and cleaned like every string
/// another party chose.
fn short(text: &str) -> String {
    vouch_evidence::limits::truncate_echo(text.lines().next().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_evidence::SigningKey;
    use vouch_evidence::cosign::cosign;
    use vouch_evidence::note::Note;

    fn witness_key(seed: u8) -> (SigningKey, Witness) {
        let key = SigningKey::from_seed(&[seed; 32]);
        let w = Witness::new(&format!("w{seed}.example"), key.public().clone()).unwrap();
        (key, w)
    }

    #[test]
    fn every_problem_of_the_log_section_is_named_by_key() {
        let (_, w) = witness_key(1);
        let endpoint = |url: &str, key: &str| WitnessEndpoint {
            url: url.into(),
            key: key.into(),
            ca_file: None,
        };
        let config = LogConfig {
            witnesses: vec![
                endpoint("http://w.example/add-checkpoint", &w.to_string()),
                endpoint("https://w.example/add-checkpoint", &w.to_string()),
                endpoint("not a url", "not a key"),
            ],
            witness_quorum: Some(4),
            witness_interval_secs: 0,
        };
        let keys: Vec<String> = config.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "witnesses[0].url",
                "witnesses[1].key",
                "witnesses[2].url",
                "witnesses[2].key",
                "witness_quorum",
                "witness_interval_secs"
            ]
        );
        assert!(LogConfig::default().problems().is_empty());
        assert_eq!(
            LogConfig {
                witnesses: vec![endpoint("https://w.example/a", &w.to_string())],
                ..LogConfig::default()
            }
            .quorum(),
            1
        );
    }

    #[test]
    fn only_the_witness_s_own_valid_cosignature_is_kept() {
        let signer = LogSigner::new(SigningKey::from_seed(&[9; 32]), None);
        let head = LogHead {
            size: 3,
            root: [7; 32],
        };
        let note = signer.signed(head);
        let (key, w) = witness_key(1);
        let (other_key, _) = witness_key(2);
        let line_of = |name: &str, key: &SigningKey, text: &str| {
            let mut n = Note::parse(text).unwrap();
            cosign(&mut n, name, key, 1_780_000_000).unwrap();
            n.to_string().lines().last().unwrap().to_string()
        };
        let good = line_of(w.name(), &key, &note);
        assert_eq!(
            checked_line(&w, &note, &format!("{good}\n"), &signer).unwrap(),
            good
        );
        // Its name with another key's signature, or a signature of another checkpoint.
        let forged = line_of(w.name(), &other_key, &note);
        assert!(checked_line(&w, &note, &forged, &signer).is_err());
        let other_note = signer.signed(LogHead {
            size: 4,
            root: [8; 32],
        });
        let elsewhere = line_of(w.name(), &key, &other_note);
        assert!(checked_line(&w, &note, &elsewhere, &signer).is_err());
        assert!(
            checked_line(&w, &note, "— someone.else AAAA\n", &signer)
                .unwrap_err()
                .contains("no line of")
        );
    }
}
