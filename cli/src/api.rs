//! Reaching a server's API from the command line (`vouch sample`, `vouch export`, and the
//! commands that call the API): the server, its CA, the token, and the sampling query.

use super::*;

/// How to reach the server's API.
#[derive(clap::Args)]
pub(crate) struct ApiArgs {
    /// The server, e.g. https://vouch.example.com:8443.
    #[arg(long, env = "VOUCH_SERVER")]
    pub(crate) server: String,
    /// A file holding an API token (auditor, security-lead or admin); or set VOUCH_TOKEN.
    #[arg(long)]
    pub(crate) token_file: Option<PathBuf>,
    /// CA certificate of the server (PEM); default: the system's CA bundle.
    #[arg(long)]
    pub(crate) ca: Option<PathBuf>,
}

/// The population and the draw.
#[derive(clap::Args)]
pub(crate) struct QueryArgs {
    /// Snapshots collected at or after this instant (RFC 3339, UTC).
    #[arg(long)]
    pub(crate) from: String,
    /// …and before this one.
    #[arg(long)]
    pub(crate) to: String,
    /// Asset kinds, comma-separated (default: all).
    #[arg(long, default_value = "")]
    pub(crate) kinds: String,
    /// Only the snapshots evidencing this framework (iso27001-2022) or control
    /// (iso27001-2022:A.8.24): the server narrows the kinds to those its policies cover.
    #[arg(long, default_value = "")]
    pub(crate) control: String,
    /// The population as the server held it at this instant (RFC 3339, or a date): pins it
    /// against snapshots delivered late; default everything received.
    #[arg(long)]
    pub(crate) as_of: Option<String>,
    /// Sample size.
    #[arg(long)]
    pub(crate) size: u32,
    /// The auditor's seed; the same seed draws the same sample.
    #[arg(long)]
    pub(crate) seed: String,
}

impl ApiArgs {
    /// GET `path_and_query` with the token; the body, or the server's error message.
    pub(crate) async fn get(&self, path_and_query: &str) -> anyhow::Result<Vec<u8>> {
        self.request(reqwest::Method::GET, path_and_query, None)
            .await
    }

    /// GETs `path_and_query` with the token into the file `output`, chunk by chunk as it
    /// arrives (memory stays flat however large the answer): written beside it first and
    /// renamed when complete, so a broken transfer leaves no file that looks whole. Answers
    /// the bytes written.
    pub(crate) async fn download(
        &self,
        path_and_query: &str,
        output: &std::path::Path,
    ) -> anyhow::Result<u64> {
        use std::io::Write as _;
        let (token, ca) = (self.token()?, self.ca_pem()?);
        let client = vouch_client::build_http_client(
            ca.as_deref(),
            std::time::Duration::from_secs(3600),
            vouch_server::USER_AGENT,
        )?;
        let url = format!("{}{path_and_query}", self.server.trim_end_matches('/'));
        let mut resp = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().await?;
            let message = serde_json::from_slice::<vouch_evidence::api::ErrorBody>(&body)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            bail!("{url}: {status}: {message}");
        }
        let partial = output.with_extension("partial");
        let mut file = std::fs::File::create(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        let mut written = 0u64;
        let copied: anyhow::Result<()> = async {
            while let Some(chunk) = resp.chunk().await.with_context(|| format!("GET {url}"))? {
                file.write_all(&chunk)?;
                written += chunk.len() as u64;
            }
            file.sync_all()?;
            Ok(())
        }
        .await;
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context(format!("the transfer broke after {written} bytes")));
        }
        std::fs::rename(&partial, output)
            .with_context(|| format!("writing {}", output.display()))?;
        Ok(written)
    }

    /// Sends a request with the token (and a JSON body); the body, or the server's error message.
    /// The API token: from `--token-file`, else `VOUCH_TOKEN`.
    pub(crate) fn token(&self) -> anyhow::Result<String> {
        match (&self.token_file, std::env::var("VOUCH_TOKEN")) {
            (Some(f), _) => Ok(std::fs::read_to_string(f)
                .with_context(|| format!("reading {}", f.display()))?
                .trim()
                .to_string()),
            (None, Ok(t)) => Ok(t),
            (None, Err(_)) => bail!("an API token is needed: --token-file FILE or VOUCH_TOKEN"),
        }
    }

    /// The CA certificate given with `--ca`, if any.
    pub(crate) fn ca_pem(&self) -> anyhow::Result<Option<Vec<u8>>> {
        self.ca
            .as_ref()
            .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
            .transpose()
    }

    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        json: Option<serde_json::Value>,
    ) -> anyhow::Result<Vec<u8>> {
        let (token, ca) = (self.token()?, self.ca_pem()?);
        let client = vouch_client::build_http_client(
            ca.as_deref(),
            std::time::Duration::from_secs(300),
            vouch_server::USER_AGENT,
        )?;
        let url = format!("{}{path_and_query}", self.server.trim_end_matches('/'));
        let mut req = client.request(method.clone(), &url).bearer_auth(token);
        if let Some(body) = json {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = resp.status();
        let body = resp.bytes().await?.to_vec();
        if !status.is_success() {
            let message = serde_json::from_slice::<vouch_evidence::api::ErrorBody>(&body)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            bail!("{url}: {status}: {message}");
        }
        Ok(body)
    }
}

impl QueryArgs {
    pub(crate) fn to_query_string(&self) -> String {
        format!(
            "from={}&to={}&kinds={}&control={}&size={}&seed={}{}",
            percent(&self.from),
            percent(&self.to),
            percent(&self.kinds),
            percent(&self.control),
            self.size,
            percent(&self.seed),
            self.as_of
                .as_deref()
                .map(|t| format!("&as_of={}", percent(&expand_date(t))))
                .unwrap_or_default()
        )
    }
}

pub(crate) async fn sample_or_export(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Sample { api, query, json } => {
            let body = api
                .get(&format!("/v1/sample?{}", query.to_query_string()))
                .await?;
            let answer: vouch_evidence::api::SampleResponse = serde_json::from_slice(&body)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "population: {} snapshot(s) collected in [{}, {}), fingerprint {}",
                answer.population_count,
                answer.query.from,
                answer.query.to,
                answer.population_fingerprint
            );
            println!(
                "sample of {} drawn with seed {:?} ({}):",
                answer.sample.len(),
                answer.query.seed,
                answer.algorithm
            );
            for (i, m) in answer.sample.iter().enumerate() {
                println!(
                    "{:>4}  {}  {} {}  seq {:<6} {}",
                    i + 1,
                    m.digest,
                    m.asset_kind,
                    m.asset_id,
                    m.sequence,
                    m.collected_at
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { api, query, output } => {
            let written = api
                .download(&format!("/v1/export?{}", query.to_query_string()), &output)
                .await?;
            println!(
                "wrote {} ({written} bytes); check it with: vouch verify {} --keys KEYS",
                output.display(),
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        _ => unreachable!("only sample and export"),
    }
}
