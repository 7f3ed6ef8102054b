//! The API sources through the agent's own binary: `vouch-agent collect` against each replay
//! server (Okta, Microsoft Entra ID, Google Workspace, GitHub: recorded answers with their
//! pagination, on loopback HTTPS) and over the scanners' committed reports (the import source)
//! prints the evidence of the right asset; `vouch-agent
//! push-once` signs one snapshot per source, which the server verifies, stores and judges; and
//! the dashboard lists the new kinds with their controls. The time of each collection against
//! its replay server is printed (`--nocapture`), for the README and closing notes.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use vouch_collectors::testing::ReplayServer;
use vouch_evidence::AssetKind;
use vouch_tests::process::binary;
use vouch_tests::server::{TestServer, https_client, https_client_builder};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn secret(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// One source's `[collectors.<name>]` table against its replay server, with its secret in a
/// 0600 file under `dir`.
struct Source {
    name: &'static str,
    kind: AssetKind,
    asset_id: &'static str,
    table: String,
    /// The replay server it reads (none for the import source).
    _replay: Option<ReplayServer>,
}

async fn sources(dir: &Path) -> Vec<Source> {
    let mut out = Vec::new();
    let replay = |sub: &str| fixtures().join(sub);
    let ca = |name: &str, r: &ReplayServer| {
        let path = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&path, r.ca_pem()).unwrap();
        path
    };

    let r = ReplayServer::start(replay("okta/acme")).await.unwrap();
    let token = dir.join("okta-token");
    secret(&token, "00aFixtureOktaToken-0123456789abcdefABCDEF\n");
    out.push(Source {
        name: "okta",
        kind: AssetKind::OktaOrg,
        asset_id: "127.0.0.1",
        table: format!(
            "[collectors.okta]\nenabled = true\norg_url = {:?}\ntoken_file = {:?}\nca_cert = {:?}\npage_size = 4\ntimeout_secs = 60\n",
            r.origin(),
            token,
            ca("okta", &r)
        ),
        _replay: Some(r),
    });

    let r = ReplayServer::start(replay("entra/acme")).await.unwrap();
    let file = dir.join("entra-secret");
    secret(&file, "Xq58Q~fixture.Entra_Client-Secret0123456789abcd\n");
    out.push(Source {
        name: "entra",
        kind: AssetKind::EntraTenant,
        asset_id: "0b1e2d3c-4a5f-4e6d-8c7b-9a0f1e2d3c4b",
        table: format!(
            "[collectors.entra]\nenabled = true\ntenant_id = \"0b1e2d3c-4a5f-4e6d-8c7b-9a0f1e2d3c4b\"\nclient_id = \"3f0c9a4e-1b2d-4c5e-8f6a-7b8c9d0e1f2a\"\nclient_secret_file = {:?}\nlogin_url = {:?}\ngraph_url = {:?}\nca_cert = {:?}\npage_size = 4\nname = \"acmecorp.onmicrosoft.com\"\ntimeout_secs = 60\n",
            file,
            r.origin(),
            r.origin(),
            ca("entra", &r)
        ),
        _replay: Some(r),
    });

    let r = ReplayServer::start(replay("google_workspace/acme"))
        .await
        .unwrap();
    let key = dir.join("google-key.json");
    secret(
        &key,
        &std::fs::read_to_string(fixtures().join("google_workspace/test-service-account.json"))
            .unwrap(),
    );
    out.push(Source {
        name: "google_workspace",
        kind: AssetKind::GoogleWorkspace,
        asset_id: "C03az79cb",
        table: format!(
            "[collectors.google_workspace]\nenabled = true\ncustomer_id = \"C03az79cb\"\nadmin_email = \"vouch-reader@acme.example\"\npolicy_admin_email = \"vouch-policies@acme.example\"\ncredentials_file = {:?}\ntoken_url = \"{}/token\"\napi_url = {:?}\npolicy_api_url = {:?}\nca_cert = {:?}\npage_size = 4\nname = \"acme.example\"\ntimeout_secs = 60\n",
            key,
            r.origin(),
            r.origin(),
            r.origin(),
            ca("google", &r)
        ),
        _replay: Some(r),
    });

    let r = ReplayServer::start(replay("github/acme-corp"))
        .await
        .unwrap();
    let token = dir.join("github-token");
    secret(&token, "ghp_fixtureToken0123456789abcdefABCDEF01\n");
    out.push(Source {
        name: "github",
        kind: AssetKind::GithubOrg,
        asset_id: "acme-corp",
        table: format!(
            "[collectors.github]\nenabled = true\norg = \"acme-corp\"\ntoken_file = {:?}\nca_cert = {:?}\nbase_url = {:?}\nexclude = [\"sandbox-*\"]\ntimeout_secs = 60\n",
            token,
            ca("github", &r),
            r.origin()
        ),
        _replay: Some(r),
    });
    // The import source over every committed fixture (real tool output: SARIF, CycloneDX SBOM
    // and VEX, Trivy, Grype, Prowler OCSF), read in place.
    let reports = fixtures().join("import");
    out.push(Source {
        name: "import",
        kind: AssetKind::Import,
        asset_id: "ci-scans",
        table: format!(
            "[collectors.import]\nenabled = true\nname = \"ci-scans\"\npaths = [{:?}, {:?}]\n",
            reports.join("*.json"),
            reports.join("*.sarif")
        ),
        _replay: None,
    });
    out
}

fn agent(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(binary("vouch-agent", "vouch-agent"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("vouch-agent runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_binary_collects_signs_and_delivers_every_api_source() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server")).await;
    let ca = dir.path().join("server-ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let head = format!(
        "[server]\nurl = {:?}\nca_cert = {:?}\n\n[agent]\nstate_dir = {:?}\n\n[collectors.host]\nenabled = false\n\n",
        server.url,
        ca,
        dir.path().join("agent")
    );
    let sources = sources(dir.path()).await;

    // `collect`: each source alone, its evidence printed as JSON, timed (the binary built
    // first, if it must be, so as not to time the build).
    binary("vouch-agent", "vouch-agent");
    for s in &sources {
        let config = dir.path().join(format!("{}.toml", s.name));
        std::fs::write(&config, format!("{head}{}", s.table)).unwrap();
        let started = Instant::now();
        // As of the instant the recorded answers were made (the Google usage report is asked
        // for by a date counted back from it).
        let out = agent(
            &config,
            &[
                "collect",
                "--format",
                "json",
                "--at",
                "2025-11-24T08:00:00Z",
            ],
        );
        let took = started.elapsed();
        assert!(
            out.status.success(),
            "{}: {}",
            s.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let printed: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: not one JSON document: {e}", s.name));
        assert_eq!(printed["asset"]["kind"], s.kind.as_str(), "{}", s.name);
        assert_eq!(printed["asset"]["id"], s.asset_id, "{}", s.name);
        let evidence = printed["evidence"].as_object().expect("evidence by id");
        let ok = evidence
            .values()
            .filter(|item| item["status"] == "ok")
            .count();
        let missing: Vec<&String> = evidence
            .iter()
            .filter(|(_, item)| item["status"] != "ok")
            .map(|(id, _)| id)
            .collect();
        assert!(
            missing.is_empty(),
            "{}: every fact is collected from the recorded answers with every permission, not {missing:?}",
            s.name
        );
        eprintln!(
            "{}: vouch-agent collect (against its replay server, or over the reports): {:.3} s ({} evidence ids, {ok} ok)",
            s.name,
            took.as_secs_f64(),
            evidence.len()
        );
    }

    // `push-once`: every source, signed, chained and delivered.
    let all = dir.path().join("agent.toml");
    let tables: String = sources.iter().map(|s| s.table.as_str()).collect();
    std::fs::write(&all, format!("{head}{tables}")).unwrap();
    // Cloud-style assets are named by the source, so the enrolment names them.
    let scope: Vec<String> = sources
        .iter()
        .map(|s| format!("{}:{}", s.kind.as_str(), s.asset_id))
        .collect();
    let enroll = server
        .running()
        .state()
        .create_enroll_token(
            3600,
            &vouch_server::scope::Scope::parse(&scope).unwrap(),
            "api sources",
            "tests",
        )
        .await
        .unwrap();
    let out = agent(&all, &["enroll", "--token", &enroll]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = agent(&all, &["push-once"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("delivered {}", sources.len())),
        "{said}"
    );

    // The server verified and stored one signed snapshot per source.
    let client = https_client(&server.ca_pem);
    let assets: serde_json::Value = client
        .get(format!("{}/v1/assets", server.url))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = assets.to_string();
    for s in &sources {
        assert!(
            listed.contains(s.kind.as_str()) && listed.contains(s.asset_id),
            "{} {} not stored: {listed}",
            s.kind,
            s.asset_id
        );
        let store = server.running().state().store().clone();
        let chain = store.snapshots(s.kind, s.asset_id, 0, 10).await.unwrap();
        assert_eq!(chain.len(), 1, "{}: one snapshot", s.name);
        let bytes = store.envelope(chain[0].digest).await.unwrap().unwrap();
        let envelope = vouch_evidence::dsse::Envelope::from_slice(&bytes).unwrap();
        let snapshot: serde_json::Value =
            serde_json::from_slice(&envelope.payload_bytes().unwrap()).unwrap();
        assert_eq!(snapshot["asset"]["kind"], s.kind.as_str(), "{}", s.name);
        assert!(
            snapshot["evidence"]
                .as_object()
                .unwrap()
                .values()
                .any(|i| i["status"] == "ok"),
            "{}",
            s.name
        );
    }

    // The dashboard lists the new kinds, and judges them under their controls.
    let policies = server.running().state().policies().cloned().unwrap();
    let mut judged = policies.evaluator().judged();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        judged.wait_for(|n| *n > 0),
    )
    .await
    .expect("the evaluator judged the snapshots")
    .unwrap();
    policies.note_changes().await.unwrap();
    let client = https_client_builder(&server.ca_pem)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = dashboard_session(&client, &server).await;
    let page = |path: String| {
        let (client, cookie) = (client.clone(), cookie.clone());
        async move {
            let resp = client
                .get(path)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            resp.text().await.unwrap()
        }
    };
    let assets = page(format!("{}/assets", server.url)).await;
    for s in &sources {
        assert!(
            assets.contains(&format!("/assets/{}/", s.kind.as_str())),
            "the asset list shows no {}",
            s.kind
        );
    }
    let control = page(format!("{}/controls/iso27001-2022/A.8.5", server.url)).await;
    for kind in [
        AssetKind::OktaOrg,
        AssetKind::EntraTenant,
        AssetKind::GoogleWorkspace,
    ] {
        assert!(
            control.contains(&format!("/assets/{}/", kind.as_str())),
            "A.8.5 (secure authentication) shows no result of {kind}"
        );
    }
}

/// A dashboard session of the server's admin token, signed in as a browser would: the sign-in
/// form's CSRF cookie and field, then the session cookie.
async fn dashboard_session(client: &reqwest::Client, server: &TestServer) -> String {
    let form = client
        .get(format!("{}/login", server.url))
        .send()
        .await
        .unwrap();
    let csrf_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-vouch_csrf="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let csrf = csrf_cookie.split_once('=').unwrap().1.to_string();
    let signed_in = client
        .post(format!("{}/login", server.url))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("token", server.admin_token.as_str()),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("vouch_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string()
}
