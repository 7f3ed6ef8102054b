//! Alerts: when a control turns from pass to fail, a JSON message goes to every configured
//! webhook URL. The message is Slack-compatible (a `text` field; Slack, Mattermost and Teams
//! workflows show it) and carries the structured facts under `vouch` for other receivers. Each
//! delivery is retried with exponential backoff until the receiver answers 2xx or the attempts
//! run out; every outcome is logged and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vouch_evidence::Timestamp;

/// `[alerts]` in the server's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// Webhook URLs that receive a message when a control turns from pass to fail.
    pub webhooks: Vec<String>,
    /// Webhook URLs that receive, when a control turns from pass to fail, its failing results
    /// as OCSF 1.8.0 Compliance Findings (a JSON array, as `GET /v1/findings` makes them):
    /// for a SIEM's or data lake's HTTP collector rather than a chat.
    pub ocsf_webhooks: Vec<String>,
    /// Attempts per message and URL before it is given up (and logged as lost).
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds; it doubles after each failure.
    pub initial_backoff_ms: u64,
    /// The dashboard's public URL, for links in messages (e.g. `https://vouch.example.com`).
    pub dashboard_url: Option<String>,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            webhooks: Vec::new(),
            ocsf_webhooks: Vec::new(),
            max_attempts: 6,
            initial_backoff_ms: 1000,
            dashboard_url: None,
        }
    }
}

impl AlertConfig {
    /// Every problem, as (key below `alerts`, problem).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (key, urls) in [
            ("webhooks", &self.webhooks),
            ("ocsf_webhooks", &self.ocsf_webhooks),
        ] {
            for (i, url) in urls.iter().enumerate() {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    out.push((
                        format!("{key}[{i}]"),
                        format!("{url:?} is not an http:// or https:// URL"),
                    ));
                }
            }
        }
        if !(1..=20).contains(&self.max_attempts) {
            out.push((
                "max_attempts".into(),
                format!("{} is outside 1..=20", self.max_attempts),
            ));
        }
        out
    }
}

/// A control whose status changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ControlChange {
    /// The control, with its framework (`iso27001-2022:A.8.24`).
    pub control: String,
    /// Its title.
    pub title: String,
    /// The status before.
    pub from: String,
    /// The status now.
    pub to: String,
    /// When the change was found.
    pub at: Timestamp,
    /// What fails, one line each (`host web-1: root login over SSH is allowed`).
    pub failing: Vec<String>,
    /// The failing results as OCSF Compliance Findings, for `ocsf_webhooks`.
    #[serde(skip)]
    pub findings: Vec<Value>,
}

/// The message for `change`: Slack's `text`, and the facts under `vouch`.
pub fn message(change: &ControlChange, dashboard_url: Option<&str>) -> Value {
    let mut text = format!(
        ":red_circle: {} {} turned from {} to {} at {}",
        change.control, change.title, change.from, change.to, change.at
    );
    for line in change.failing.iter().take(10) {
        text.push_str("\n• ");
        text.push_str(line);
    }
    if change.failing.len() > 10 {
        text.push_str(&format!("\n… and {} more", change.failing.len() - 10));
    }
    let link = dashboard_url.map(|u| {
        format!(
            "{}/controls/{}",
            u.trim_end_matches('/'),
            change.control.replace(':', "/")
        )
    });
    if let Some(l) = &link {
        text.push_str(&format!("\n<{l}|Open in Vouch>"));
    }
    json!({"text": text, "vouch": {"change": change, "link": link}})
}

/// Counters of deliveries.
#[derive(Debug, Default)]
pub struct AlertCounts {
    /// Messages a receiver accepted.
    pub delivered: AtomicU64,
    /// Failed attempts that were retried.
    pub retried: AtomicU64,
    /// Messages given up after the last attempt.
    pub lost: AtomicU64,
}

/// The HTTP client webhooks are posted with: the system's CA bundle, `timeout` per request, and
/// no redirect followed (a webhook that answers 3xx is a failed delivery, so an alert never goes
/// where the configuration did not send it).
pub fn webhook_client(timeout: Duration) -> Result<reqwest::Client, String> {
    vouch_client::http_client_builder(None, timeout, crate::USER_AGENT)
        .map_err(|e| e.to_string())?
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

/// A webhook URL as it may be logged: scheme, host and port only. The path and query of a
/// webhook (Slack's `/services/T…/B…/secret`) are its secret.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}/…", u.scheme()),
            (Some(host), None) => format!("{}://{host}/…", u.scheme()),
            (None, _) => format!("{}:…", u.scheme()),
        },
        Err(_) => "(not a URL)".into(),
    }
}

/// Sends alerts in the background.
#[derive(Clone)]
pub struct Alerter {
    config: Arc<AlertConfig>,
    client: reqwest::Client,
    counts: Arc<AlertCounts>,
}

impl Alerter {
    /// An alerter posting with `client` (which carries the TLS roots to trust).
    pub fn new(config: AlertConfig, client: reqwest::Client) -> Self {
        Alerter {
            config: Arc::new(config),
            client,
            counts: Arc::default(),
        }
    }

    /// The delivery counters.
    pub fn counts(&self) -> &AlertCounts {
        &self.counts
    }

    /// Posts `change` to every webhook (the message) and every OCSF webhook (its findings),
    /// each in its own task with its own retries; returns the tasks so callers (tests,
    /// shutdown) may wait for them.
    pub fn notify(&self, change: &ControlChange) -> Vec<tokio::task::JoinHandle<bool>> {
        let chat = message(change, self.config.dashboard_url.as_deref());
        let ocsf = Value::Array(change.findings.clone());
        let to_chat = self.config.webhooks.iter().map(|url| (url, &chat));
        let to_ocsf = self.config.ocsf_webhooks.iter().map(|url| (url, &ocsf));
        to_chat
            .chain(to_ocsf)
            .map(|(url, body)| {
                let (this, url, body) = (self.clone(), url.clone(), body.clone());
                tokio::spawn(async move { this.deliver(&url, &body).await })
            })
            .collect()
    }

    async fn deliver(&self, url: &str, body: &Value) -> bool {
        let mut delay = Duration::from_millis(self.config.initial_backoff_ms);
        let webhook = shown_url(url);
        for attempt in 1..=self.config.max_attempts {
            let outcome = self.client.post(url).json(body).send().await;
            let problem = match outcome {
                Ok(r) if r.status().is_success() => {
                    self.counts.delivered.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(webhook, attempt, "alert delivered");
                    return true;
                }
                Ok(r) => format!("answered {}", r.status()),
                // reqwest's message names the whole URL, secret path included.
                Err(e) => e.without_url().to_string(),
            };
            if attempt == self.config.max_attempts {
                self.counts.lost.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    webhook,
                    attempt,
                    problem,
                    "alert lost after the last attempt"
                );
                return false;
            }
            self.counts.retried.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                webhook,
                attempt,
                problem,
                retry_in_ms = delay.as_millis() as u64,
                "alert not delivered; retrying"
            );
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use axum::Router;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::post;

    fn change() -> ControlChange {
        ControlChange {
            control: "iso27001-2022:A.8.5".into(),
            title: "Secure authentication".into(),
            from: "pass".into(),
            to: "fail".into(),
            at: "2026-11-24T08:00:00Z".parse().unwrap(),
            failing: vec!["host web-1: root login over SSH is allowed".into()],
            findings: vec![json!({"class_uid": 2003})],
        }
    }

    #[test]
    fn the_message_is_slack_text_with_the_facts_beside_it() {
        let m = message(&change(), Some("https://vouch.example.com/"));
        let text = m["text"].as_str().unwrap();
        assert!(
            text.contains("iso27001-2022:A.8.5 Secure authentication turned from pass to fail")
        );
        assert!(text.contains("• host web-1: root login over SSH is allowed"));
        assert!(
            text.contains("<https://vouch.example.com/controls/iso27001-2022/A.8.5|Open in Vouch>")
        );
        assert_eq!(m["vouch"]["change"]["to"], "fail");
        let many = ControlChange {
            failing: (0..15).map(|i| format!("host h{i}")).collect(),
            ..change()
        };
        assert!(
            message(&many, None)["text"]
                .as_str()
                .unwrap()
                .contains("… and 5 more")
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = AlertConfig {
            webhooks: vec!["hooks.slack.com/x".into()],
            ocsf_webhooks: vec!["https://siem.example/ok".into(), "siem.example".into()],
            max_attempts: 0,
            ..AlertConfig::default()
        };
        let keys: Vec<String> = bad.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["webhooks[0]", "ocsf_webhooks[1]", "max_attempts"]);
        assert!(AlertConfig::default().problems().is_empty());
    }

    /// A receiver that fails twice, then accepts: the alert arrives once, after two retries.
    #[tokio::test]
    async fn a_failing_receiver_gets_the_alert_after_retries() {
        type Seen = Arc<Mutex<Vec<Value>>>;
        let seen: Seen = Arc::default();
        async fn hook(State(seen): State<Seen>, body: String) -> StatusCode {
            let mut s = seen.lock().unwrap();
            s.push(serde_json::from_str(&body).unwrap());
            if s.len() <= 2 {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            }
        }
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let config = AlertConfig {
            webhooks: vec![
                format!("http://{addr}/hook"),
                "http://127.0.0.1:9/closed".into(),
            ],
            max_attempts: 3,
            initial_backoff_ms: 10,
            ..AlertConfig::default()
        };
        let alerter = Alerter::new(config, webhook_client(Duration::from_secs(5)).unwrap());
        let results: Vec<bool> = futures_join(alerter.notify(&change())).await;
        assert_eq!(results, [true, false]);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert!(
            seen.iter()
                .all(|m| m["vouch"]["change"]["control"] == "iso27001-2022:A.8.5")
        );
        assert_eq!(alerter.counts().delivered.load(Ordering::Relaxed), 1);
        assert_eq!(alerter.counts().lost.load(Ordering::Relaxed), 1);
        assert_eq!(alerter.counts().retried.load(Ordering::Relaxed), 4);
    }

    /// Regression (issue 15, defect 9): webhooks followed redirects. A receiver answering
    /// `302` to another address does not get the alert forwarded there: the delivery fails
    /// (and is retried, then lost); the redirect's target is never called. Logged URLs keep only
    /// scheme, host and port.
    #[tokio::test]
    async fn a_webhook_redirect_is_not_followed_and_the_url_secret_is_not_shown() {
        type Hits = Arc<Mutex<Vec<&'static str>>>;
        let hits: Hits = Arc::default();
        async fn hook(State(hits): State<Hits>) -> (StatusCode, [(&'static str, &'static str); 1]) {
            hits.lock().unwrap().push("hook");
            (StatusCode::FOUND, [("location", "/elsewhere")])
        }
        async fn elsewhere(State(hits): State<Hits>) -> StatusCode {
            hits.lock().unwrap().push("elsewhere");
            StatusCode::OK
        }
        let app = Router::new()
            .route("/hook", post(hook))
            .route("/elsewhere", post(elsewhere).get(elsewhere))
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let config = AlertConfig {
            webhooks: vec![format!("http://{addr}/hook")],
            max_attempts: 2,
            initial_backoff_ms: 10,
            ..AlertConfig::default()
        };
        let alerter = Alerter::new(config, webhook_client(Duration::from_secs(5)).unwrap());
        assert_eq!(futures_join(alerter.notify(&change())).await, [false]);
        assert_eq!(*hits.lock().unwrap(), ["hook", "hook"]);
        assert_eq!(alerter.counts().lost.load(Ordering::Relaxed), 1);
        assert_eq!(
            shown_url("https://hooks.slack.com/services/T0/B0/s3cr3t?x=1"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            shown_url("http://127.0.0.1:8080/h/secret"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(shown_url("not a url secret"), "(not a URL)");
    }

    async fn futures_join(handles: Vec<tokio::task::JoinHandle<bool>>) -> Vec<bool> {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
