//! The dashboard in real headless Chromium against the real server on loopback HTTPS: sign in
//! with a token, find an asset and its evidence, draw a sample, download its bundle and verify
//! it offline. A failing step leaves a screenshot in `ci-artifacts/browser/`.

use std::path::{Path, PathBuf};

use vouch_agent::Agent;
use vouch_agent::config::{AgentConfig, AgentSection, CollectorsSection, ServerSection};
use vouch_collectors::host::HostConfig;
use vouch_server::auth::Role;
use vouch_tests::browser::Browser;
use vouch_tests::server::{TestServer, https_client};

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci-artifacts/browser")
}

/// Runs one step; on failure saves a screenshot named after it, then fails the test.
async fn step<T>(browser: &Browser, name: &str, result: Result<T, String>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => {
            let shot = browser.screenshot(name).await;
            panic!("step {name} failed: {e} (screenshot: {shot:?})");
        }
    }
}

fn expect(page: &str, needle: &str) -> Result<(), String> {
    if page.contains(needle) {
        Ok(())
    } else {
        Err(format!("the page does not show {needle:?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_follow_an_asset_sample_and_download_a_verifiable_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server")).await;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let config = AgentConfig {
        server: ServerSection {
            url: server.url.clone(),
            ca_cert: Some(ca.clone()),
        },
        agent: AgentSection {
            state_dir: dir.path().join("agent"),
            ..AgentSection::default()
        },
        collectors: CollectorsSection {
            host: HostConfig {
                root: vouch_collectors::fixtures::fixture_host("debian12-weak"),
                ..HostConfig::default()
            },
            ..CollectorsSection::default()
        },
    };
    vouch_agent::enroll(&config, &server.enroll_token().await, false)
        .await
        .unwrap();
    let agent = Agent::open(config).unwrap();
    for _ in 0..3 {
        agent.collect_and_spool().await.unwrap();
    }
    assert_eq!(agent.deliver_pending().await.unwrap().delivered, 3);
    // The server judges the snapshots in the background; wait until it has.
    for _ in 0..200 {
        let judged = server
            .running()
            .state()
            .store()
            .latest_evaluations(None)
            .await
            .unwrap();
        if !judged.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let token = server
        .running()
        .state()
        .create_api_token(Role::Auditor, "browser")
        .await
        .unwrap();

    let browser = Browser::start(&artifacts())
        .await
        .expect("headless Chromium");
    let b = &browser;
    step(b, "open", b.goto(&format!("{}/", server.url)).await).await;
    let url = step(b, "redirect", b.url().await).await;
    assert!(url.ends_with("/login"), "{url}");
    step(b, "token", b.type_into("input[name=token]", &token).await).await;
    step(b, "submit", b.click("button[type=submit]").await).await;
    let page = step(b, "overview", b.wait_for("<h1>Overview</h1>").await).await;
    step(b, "overview", expect(&page, "auditor")).await;

    step(b, "assets", b.click_link("Assets").await).await;
    step(b, "assets", b.wait_for("1 of 1 assets").await).await;
    step(b, "asset", b.click_link("db-legacy").await).await;
    let page = step(b, "asset", b.wait_for("Chain health").await).await;
    step(b, "asset", expect(&page, "no gap")).await;
    step(b, "asset", expect(&page, "host.os.name")).await;
    step(b, "asset", expect(&page, "Debian GNU/Linux 12 (bookworm)")).await;

    step(b, "sample", b.click_link("Sample").await).await;
    step(b, "sample", b.wait_for("Audit sample").await).await;
    step(
        b,
        "sample",
        b.type_into("input[name=from]", "2020-01-01T00:00:00Z")
            .await,
    )
    .await;
    step(
        b,
        "sample",
        b.type_into("input[name=to]", "2100-01-01T00:00:00Z").await,
    )
    .await;
    step(b, "sample", b.type_into("input[name=size]", "2").await).await;
    step(
        b,
        "sample",
        b.type_into("input[name=seed]", "browser audit").await,
    )
    .await;
    step(
        b,
        "sample",
        b.click("form[action=\"/sample\"] button").await,
    )
    .await;
    step(
        b,
        "drawn",
        b.wait_for("Population: <strong>3</strong>").await,
    )
    .await;
    let href = step(
        b,
        "bundle",
        b.link_href("Download the evidence bundle").await,
    )
    .await;
    // Controls of the weak host: A.8.2 fails, with the reason and the remediation.
    step(b, "controls", b.click_link("Controls").await).await;
    let page = step(b, "controls", b.wait_for("Controls — iso27001-2022").await).await;
    step(b, "controls", expect(&page, "1 asset with judged evidence")).await;
    step(b, "controls", expect(&page, "class=\"badge fail\"")).await;
    let _ = b.screenshot("controls").await;
    step(b, "control", b.click_link("A.8.2").await).await;
    let page = step(b, "control", b.wait_for("Privileged access rights").await).await;
    step(b, "control", expect(&page, "Remediation:")).await;
    step(b, "control", expect(&page, "db-legacy")).await;
    let _ = b.screenshot("control").await;
    step(b, "soa", b.click_link("SoA").await).await;
    let page = step(b, "soa", b.wait_for("Statement of Applicability").await).await;
    step(b, "soa", expect(&page, "93 of 93 controls applicable")).await;
    let _ = b.screenshot("soa").await;
    let cookie = step(b, "cookie", b.cookie("vouch_session").await).await;
    let cookie = cookie.expect("the session cookie is set");
    browser.quit().await;

    // The download the link gives, with the browser's session, verifies offline.
    let bundle = https_client(&server.ca_pem)
        .get(&href)
        .header("Cookie", format!("vouch_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
    let bytes = bundle.bytes().await.unwrap();
    let report = vouch_server::bundle::verify(&bytes, None, 1);
    assert!(report.ok(), "{:#?}", report.failures);
    assert!(
        report
            .summary
            .contains("sample of 2 from a population of 3"),
        "{}",
        report.summary
    );
}
