//! `vouch up`: a complete local installation in one command, on embedded defaults.
//!
//! It starts the server on SQLite under the data directory (making a local CA and a server
//! certificate on the first run), keeps an admin token, enrolls a local agent whose state and
//! configuration live under `<data_dir>/agent`, and pushes a first signed snapshot of this host.
//! Run again, it reuses everything: same CA, same keys, the agent's chain continues.

use std::path::{Path, PathBuf};

use vouch_agent::config::{AgentConfig, AgentSection, CollectorsSection, ServerSection};
use vouch_agent::{Agent, DeliveryReport};
use vouch_evidence::Digest;

use vouch_server::auth::Role;
use vouch_server::files::write_private;
use vouch_server::serve::RunningServer;
use vouch_server::{ServerConfig, start};

/// Why `vouch up` failed.
#[derive(Debug, thiserror::Error)]
pub enum UpError {
    /// The server did not start.
    #[error("server: {0}")]
    Serve(#[from] vouch_server::serve::ServeError),
    /// A file under the data directory.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Storage.
    #[error(transparent)]
    Store(#[from] vouch_server::store::StoreError),
    /// The local agent.
    #[error("local agent: {0}")]
    Agent(#[from] vouch_agent::AgentError),
}

/// What `vouch up` set up.
pub struct Up {
    /// The running server.
    pub server: RunningServer,
    /// Its URL.
    pub url: String,
    /// The admin API token (kept in `<data_dir>/admin.token`, mode 0600).
    pub admin_token: String,
    /// The CA certificate agents trust.
    pub ca_cert: PathBuf,
    /// The local agent.
    pub agent: Agent,
    /// The local agent's configuration file.
    pub agent_config: PathBuf,
    /// Digests of the snapshots pushed now.
    pub pushed: Vec<Digest>,
    /// The delivery of those snapshots.
    pub delivery: DeliveryReport,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UpError + '_ {
    move |source| UpError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Starts everything; see the module documentation.
pub async fn up(data_dir: &Path, listen: &str) -> Result<Up, UpError> {
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let data_dir = data_dir.canonicalize().map_err(io(data_dir))?;
    let config = ServerConfig {
        listen: listen.to_string(),
        data_dir: data_dir.clone(),
        ..ServerConfig::default()
    };
    let server = start(&config).await?;
    let url = format!("https://localhost:{}", server.local_addr.port());
    let ca_cert = server
        .ca_cert
        .clone()
        .unwrap_or_else(|| data_dir.join("tls/ca.pem"));

    let token_path = data_dir.join("admin.token");
    let admin_token = match std::fs::read_to_string(&token_path) {
        Ok(t) => t.trim().to_string(),
        Err(_) => {
            let t = server
                .state()
                .issue_api_token(
                    Role::Admin,
                    "vouch up",
                    vouch_server::state::DEFAULT_API_TOKEN_TTL_SECS,
                    "vouch up",
                )
                .await?;
            write_private(&token_path, format!("{t}\n").as_bytes()).map_err(io(&token_path))?;
            t
        }
    };

    let agent_dir = data_dir.join("agent");
    let agent_config = AgentConfig {
        server: ServerSection {
            url: url.clone(),
            ca_cert: Some(ca_cert.clone()),
        },
        agent: AgentSection {
            state_dir: agent_dir.clone(),
            ..AgentSection::default()
        },
        collectors: CollectorsSection::default(),
    };
    let config_path = data_dir.join("agent.toml");
    let toml_text = format!(
        "# Written by `vouch up`: the local agent. Try: vouch-agent --config {} collect\n\
         [server]\nurl = \"{url}\"\nca_cert = \"{}\"\n\n[agent]\nstate_dir = \"{}\"\n\n\
         [collectors.host]\nenabled = true\nschedule = \"0 */15 * * * *\"\nroot = \"/\"\n",
        config_path.display(),
        ca_cert.display(),
        agent_dir.display()
    );
    std::fs::write(&config_path, toml_text).map_err(io(&config_path))?;
    if !agent_dir.join("enrollment.json").exists() {
        // The local agent writes the assets only it can name (this host, and whatever else of
        // that kind its configuration enables).
        let parts: Vec<&str> = agent_config
            .collectors
            .enabled()
            .into_iter()
            .filter(|r| r.kind.named_by_agent())
            .map(|r| r.kind.as_str())
            .collect();
        let scope = vouch_server::scope::Scope::parse(&parts).map_err(|e| {
            vouch_server::store::StoreError::Backend(format!("scope of the local agent: {e}"))
        })?;
        let token = server
            .state()
            .create_enroll_token(600, &scope, "vouch up", "vouch up")
            .await?;
        vouch_agent::enroll(&agent_config, &token, true).await?;
    }
    let agent = Agent::open(agent_config)?;
    let pushed = agent.collect_and_spool().await?;
    let delivery = agent.deliver_pending().await?;
    Ok(Up {
        server,
        url,
        admin_token,
        ca_cert,
        agent,
        agent_config: config_path,
        pushed,
        delivery,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `vouch up` on a fresh directory, then again on the same one: the second run reuses the
    /// token, the CA and the agent, whose chain continues.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn up_then_up_again_reuses_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let first = up(dir.path(), "127.0.0.1:0").await.unwrap();
        assert_eq!(first.delivery.delivered, 1, "{:?}", first.delivery);
        let ca = std::fs::read(&first.ca_cert).unwrap();
        let token = first.admin_token.clone();
        let agent_id = first.agent.agent_id().to_string();
        first.server.shutdown().await;

        let second = up(dir.path(), "127.0.0.1:0").await.unwrap();
        assert_eq!(second.delivery.delivered, 1);
        assert_eq!(second.admin_token, token);
        assert_eq!(std::fs::read(&second.ca_cert).unwrap(), ca);
        assert_eq!(second.agent.agent_id(), agent_id);
        let assets = second.server.state().store().assets().await.unwrap();
        assert_eq!(assets.len(), 1);
        assert_eq!(
            assets[0].last_sequence, 2,
            "the chain continues across runs"
        );
        second.server.shutdown().await;
    }
}
