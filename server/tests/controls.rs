//! Control status through the API: results stored per snapshot and pack, rolled up as of an
//! instant with exceptions, attestations and freshness; the pack reloaded (a broken one refused,
//! the last good kept); history re-judged only when asked; and who may do what.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use vouch_server::auth::Role;
use vouch_server::config::PolicySettings;
use vouch_server::controls::Policies;

/// A policy over the harness snapshots' one fact, `host.kernel.release` ("6.1.<sequence>").
fn policy(id: &str, control: &str, freshness: &str, rules: &str) -> String {
    format!(
        "# METADATA\n# title: {id}\n# description: test policy\n# custom:\n#   id: {id}\n#   severity: high\n#   controls: [{control}]\n#   asset_kinds: [host]\n#   evidence: [host.kernel.release]\n#   remediation: upgrade the kernel\n#   freshness: {freshness}\npackage vouch.policies.{id}\n\nrelease := input.evidence[\"host.kernel.release\"]\n\n{rules}\n"
    )
}

/// Writes a policy module `file` into the pack directory `dir`.
fn write_policy(
    dir: &std::path::Path,
    file: &str,
    id: &str,
    control: &str,
    freshness: &str,
    rules: &str,
) {
    std::fs::write(dir.join(file), policy(id, control, freshness, rules)).unwrap();
}

/// Rules of `kernel.patched`: it fails on kernel `bad` only.
fn patched(bad: &str) -> String {
    format!(
        "deny contains sprintf(\"kernel %s has known vulnerabilities\", [release]) if release == \"{bad}\"\nallow := \"patched\" if release != \"{bad}\""
    )
}

/// A pack directory: `kernel.patched` (A.8.17, fails on 6.1.1, fresh ten years) and
/// `kernel.reported` (A.8.9, always passes, fresh one hour). A.8.17 stands for a control the
/// policies alone decide: it is the one Annex A control classified `automated` (issue 16);
/// A.8.9 is `partly` automated.
fn pack_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_policy(
        dir.path(),
        "patched.rego",
        "kernel.patched",
        "iso27001-2022:A.8.17",
        "3650d",
        &patched("6.1.1"),
    );
    write_policy(
        dir.path(),
        "reported.rego",
        "kernel.reported",
        "iso27001-2022:A.8.9",
        "1h",
        "deny contains \"no kernel release\" if release == \"\"\nallow := \"reported\" if release != \"\"",
    );
    dir
}

/// Policies judging with the pack in `dir` only, in charge of `h`'s server.
async fn with_policies(h: &Harness, dir: &std::path::Path) -> std::sync::Arc<Policies> {
    with_settings(h, pack_settings(dir)).await
}

fn pack_settings(dir: &std::path::Path) -> PolicySettings {
    PolicySettings {
        builtin: false,
        dir: Some(dir.to_path_buf()),
        ..PolicySettings::default()
    }
}

/// Policies with `settings`, in charge of `h`'s server.
async fn with_settings(h: &Harness, settings: PolicySettings) -> std::sync::Arc<Policies> {
    judge_with(h, settings).await
}

/// A server judging with [`pack_dir`]'s pack, and the snapshot of agent `seed` on kernel 6.1.1
/// (A.8.17 fails) delivered and judged: the harness, the pack's directory, the policies and the
/// agent.
async fn judged_failing(
    seed: u8,
) -> (
    Harness,
    tempfile::TempDir,
    std::sync::Arc<Policies>,
    TestAgent,
) {
    let h = harness().await;
    let dir = pack_dir();
    let policies = with_policies(&h, dir.path()).await;
    let mut agent = enroll(&h, seed).await;
    let (env, _) = agent.next(); // 6.1.1: A.8.17 fails
    assert_eq!(
        call(&h, post("/v1/snapshots", env)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(policies.evaluator().run_once().await.unwrap(), 1);
    (h, dir, policies, agent)
}

fn send(method: &str, path: &str, token: &str, body: Option<Value>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap()
}

async fn json_of(h: &Harness, req: Request<Body>) -> (StatusCode, Value) {
    let (status, body) = call(h, req).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("{status}: {}", String::from_utf8_lossy(&body)));
    (status, value)
}

/// The status and the first outcome's reason of `control` in a `GET /v1/controls` answer.
fn control<'a>(view: &'a Value, control: &str) -> &'a Value {
    view["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["control"] == control)
        .unwrap_or_else(|| panic!("{control} not listed in {view}"))
}

async fn controls(h: &Harness, query: &str) -> Value {
    let (status, view) = json_of(h, get(&format!("/v1/controls?{query}"), Some(&h.admin))).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view
}

#[tokio::test]
async fn control_status_follows_results_exceptions_attestations_and_time() {
    let h = harness().await;
    let dir = pack_dir();
    let policies = with_policies(&h, dir.path()).await;
    let mut agent = enroll(&h, 1).await;
    let (first, first_digest) = agent.next(); // 6.1.1 at 01:00
    assert_eq!(
        call(&h, post("/v1/snapshots", first)).await.0,
        StatusCode::CREATED
    );
    let before = vouch_server::state::now();
    assert_eq!(policies.evaluator().run_once().await.unwrap(), 1);
    // The view at an instant is the history as judged by then (results are never rewritten).
    let t1 = vouch_server::state::now();

    let then = controls(&h, &format!("as_of={t1}&framework=iso27001-2022")).await;
    assert_eq!(then["assets"], 1);
    let a817 = control(&then, "iso27001-2022:A.8.17");
    assert_eq!(a817["status"], "fail", "{a817}");
    assert_eq!(
        a817["outcomes"][0]["reason"],
        "kernel 6.1.1 has known vulnerabilities"
    );
    assert_eq!(a817["outcomes"][0]["remediation"], "upgrade the kernel");
    // Collected on 2026-11-20 and fresh for an hour: stale ever since.
    assert_eq!(control(&then, "iso27001-2022:A.8.9")["status"], "stale");
    assert_eq!(control(&then, "iso27001-2022:A.5.1")["status"], "manual");
    // No policy maps to A.8.1 (user endpoint devices): it is manual, and needs its attestation.
    assert_eq!(control(&then, "iso27001-2022:A.8.1")["status"], "manual");
    assert_eq!(then["controls"].as_array().unwrap().len(), 93);
    let earlier = controls(&h, &format!("as_of={before}&framework=iso27001-2022")).await;
    assert_eq!(earlier["assets"], 0, "nothing was judged yet");

    // An exception accepts the failure from now on (not back then).
    let asset_id = agent.host.clone();
    let (status, x) = json_of(
        &h,
        send(
            "POST",
            "/v1/exceptions",
            &h.admin,
            Some(json!({
                "policy": "kernel.patched",
                "asset_kind": "host",
                "asset_id": asset_id,
                "justification": "kernel upgrade scheduled in the next maintenance window",
                "owner": "ops lead",
                "expires_at": in_days(30),
            })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{x}");
    let now = controls(&h, "framework=iso27001-2022").await;
    let a817 = control(&now, "iso27001-2022:A.8.17");
    assert_eq!(a817["status"], "accepted", "{a817}");
    assert_eq!(a817["outcomes"][0]["status"], "fail", "the verdict is kept");
    assert!(
        a817["outcomes"][0]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("exception {}", x["id"])),
        "{a817}"
    );
    let then = controls(&h, &format!("as_of={t1}")).await;
    assert_eq!(control(&then, "iso27001-2022:A.8.17")["status"], "fail");
    // Once the exception lapses, the failure counts again.
    let lapsed = controls(&h, &format!("as_of={}", in_days(31))).await;
    assert_eq!(control(&lapsed, "iso27001-2022:A.8.17")["status"], "fail");
    let failing = controls(&h, "status=fail").await;
    assert_eq!(
        failing["controls"].as_array().unwrap().len(),
        0,
        "{failing}"
    );

    // A patched kernel arrives: A.8.17 passes now, and still failed as of 01:30.
    let (second, _) = agent.next(); // 6.1.2 at 02:00
    assert_eq!(
        call(&h, post("/v1/snapshots", second)).await.0,
        StatusCode::CREATED
    );
    policies.evaluator().run_once().await.unwrap();
    let now = controls(&h, "framework=iso27001-2022").await;
    assert_eq!(control(&now, "iso27001-2022:A.8.17")["status"], "pass");
    let then = controls(&h, &format!("as_of={t1}")).await;
    assert_eq!(
        control(&then, "iso27001-2022:A.8.17")["status"],
        "fail",
        "history stays"
    );

    // An attestation in force makes a manual control pass.
    attest(
        &h,
        "iso27001-2022:A.5.1",
        "Information security policy v3 approved by the board",
        &in_days(365),
    )
    .await;
    let (status, one) = json_of(&h, get("/v1/controls/iso27001-2022:A.5.1", Some(&h.admin))).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["status"], "pass");
    assert_eq!(one["attested"]["state"], "holds");
    assert_eq!(one["attested"]["by"], "J. Doe, CISO");
    let _ = first_digest;
}

/// Records, as the admin, an attestation of `control` by the CISO, in force until `until`.
async fn attest(h: &Harness, control: &str, statement: &str, until: &str) {
    let (status, answer) = json_of(
        h,
        send(
            "POST",
            "/v1/attestations",
            &h.admin,
            Some(json!({
                "control": control,
                "statement": statement,
                "attested_by": "J. Doe, CISO",
                "valid_until": until,
            })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

/// RFC 3339 instant `days` from now.
fn in_days(days: i64) -> String {
    let t = vouch_server::state::now();
    vouch_evidence::Timestamp::from_unix_micros(t.unix_micros() + days * 86_400_000_000)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_broken_pack_is_refused_with_file_and_line_and_the_last_good_stays() {
    let h = harness().await;
    let dir = pack_dir();
    let policies = with_policies(&h, dir.path()).await;
    let (_, info) = json_of(&h, get("/v1/policies", Some(&h.admin))).await;
    let good = info["digest"].as_str().unwrap().to_string();
    assert_eq!(info["policies"].as_array().unwrap().len(), 2);

    // A syntax error, and a policy naming a control no catalog has.
    write_policy(
        dir.path(),
        "broken.rego",
        "kernel.broken",
        "iso27001-2022:A.8.17",
        "1h",
        "allow := if if",
    );
    write_policy(
        dir.path(),
        "unknown.rego",
        "kernel.unknown",
        "iso27001-2022:A.99.1",
        "1h",
        "deny contains \"x\" if false\nallow := \"x\" if true",
    );
    let (status, err) = json_of(&h, send("POST", "/v1/policies/reload", &h.admin, None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("broken.rego:"), "{message}");
    assert!(message.contains("unknown.rego:7"), "{message}");
    assert!(message.contains("A.99.1"), "{message}");
    assert!(
        message.contains(&good),
        "names the pack that stays: {message}"
    );
    let (_, info) = json_of(&h, get("/v1/policies", Some(&h.admin))).await;
    assert_eq!(info["digest"], good.as_str(), "the last good pack stays");
    assert!(
        info["last_failure"]["errors"].as_array().unwrap().len() >= 2,
        "{info}"
    );

    // Snapshots keep being judged by the good pack meanwhile.
    let mut agent = enroll(&h, 2).await;
    let (env, first) = agent.next();
    call(&h, post("/v1/snapshots", env)).await;
    policies.evaluator().run_once().await.unwrap();
    let evals = h.state.store().evaluations_of(first).await.unwrap();
    assert_eq!(evals.len(), 1);
    assert_eq!(evals[0].pack_digest, good);

    // Fixed: the new pack judges new arrivals only, until a re-evaluation is asked for.
    std::fs::remove_file(dir.path().join("broken.rego")).unwrap();
    write_policy(
        dir.path(),
        "unknown.rego",
        "kernel.known",
        "iso27001-2022:A.8.19",
        "1h",
        "deny contains \"x\" if false\nallow := \"x\" if true",
    );
    let (status, info) = json_of(&h, send("POST", "/v1/policies/reload", &h.admin, None)).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let new = info["digest"].as_str().unwrap().to_string();
    assert_ne!(new, good);
    assert!(info["last_failure"].is_null());
    assert_eq!(
        policies.evaluator().run_once().await.unwrap(),
        0,
        "nothing re-judged silently"
    );
    let (status, run) = json_of(
        &h,
        send(
            "POST",
            "/v1/evaluations",
            &h.admin,
            Some(json!({"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z", "reason": "new patch-management policy"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    assert_eq!(run["pack"], new.as_str());
    assert_eq!(policies.evaluator().run_once().await.unwrap(), 1);
    let evals = h.state.store().evaluations_of(first).await.unwrap();
    let packs: Vec<&str> = evals.iter().map(|e| e.pack_digest.as_str()).collect();
    assert_eq!(packs, [good.as_str(), new.as_str()], "the old results stay");
    let (_, runs) = json_of(&h, get("/v1/evaluations", Some(&h.admin))).await;
    assert_eq!(runs[0]["evaluated"], 1);
    assert!(
        runs[0]["requested_by"]
            .as_str()
            .unwrap()
            .starts_with("admin"),
        "{runs}"
    );
}

#[tokio::test]
async fn roles_and_bad_requests_are_refused_and_store_nothing() {
    let h = harness().await;
    let dir = pack_dir();
    with_policies(&h, dir.path()).await;
    let auditor = h
        .state
        .create_api_token(Role::Auditor, "aud")
        .await
        .unwrap();
    let agent = h.state.create_api_token(Role::Agent, "agt").await.unwrap();
    let exception = |policy: &str, expires: String| {
        json!({
            "policy": policy,
            "justification": "compensating control: network isolation of the host",
            "owner": "ops lead",
            "expires_at": expires,
        })
    };
    for (token, method, path, body, want) in [
        (
            &auditor,
            "POST",
            "/v1/exceptions",
            Some(exception("kernel.patched", in_days(30))),
            StatusCode::FORBIDDEN,
        ),
        (
            &auditor,
            "POST",
            "/v1/policies/reload",
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &auditor,
            "POST",
            "/v1/evaluations",
            Some(
                json!({"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "reason": "x"}),
            ),
            StatusCode::FORBIDDEN,
        ),
        (&agent, "GET", "/v1/controls", None, StatusCode::FORBIDDEN),
        (&agent, "GET", "/v1/exceptions", None, StatusCode::FORBIDDEN),
        (
            &h.admin,
            "POST",
            "/v1/exceptions",
            Some(exception("no.such.policy", in_days(30))),
            StatusCode::BAD_REQUEST,
        ),
        (
            &h.admin,
            "POST",
            "/v1/exceptions",
            Some(exception("kernel.patched", in_days(-1))),
            StatusCode::BAD_REQUEST,
        ),
        (
            &h.admin,
            "POST",
            "/v1/exceptions",
            Some(exception("kernel.patched", in_days(400))),
            StatusCode::BAD_REQUEST,
        ),
        (
            &h.admin,
            "POST",
            "/v1/evaluations",
            Some(
                json!({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "reason": "x"}),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            &h.admin,
            "GET",
            "/v1/controls?status=green",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            &h.admin,
            "GET",
            "/v1/controls?framework=nist-800-53",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            &h.admin,
            "GET",
            "/v1/controls/iso27001-2022:A.99.9",
            None,
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, body) = call(&h, send(method, path, token, body)).await;
        assert_eq!(
            status,
            want,
            "{method} {path}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let (status, auditor_view) = json_of(&h, get("/v1/controls", Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK, "an auditor reads controls");
    assert!(auditor_view["controls"].as_array().unwrap().len() > 93);
    assert!(h.state.store().exceptions().await.unwrap().is_empty());
    assert!(h.state.store().runs().await.unwrap().is_empty());
}

/// A control that turns from pass to fail is posted to the webhooks, naming what fails.
#[tokio::test]
async fn a_control_turning_from_pass_to_fail_is_alerted() {
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let received_ocsf: Arc<Mutex<Vec<Value>>> = Arc::default();
    let route = |sink: Arc<Mutex<Vec<Value>>>| {
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        })
    };
    let hook = axum::Router::new()
        .route("/hook", route(received.clone()))
        .route("/siem", route(received_ocsf.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let siem = format!("http://{}/siem", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });

    let h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    write_policy(
        dir.path(),
        "patched.rego",
        "kernel.patched",
        "iso27001-2022:A.8.17",
        "3650d",
        &patched("6.1.2"),
    );
    let policies = with_policies(&h, dir.path()).await;
    let alerter = vouch_server::alerts::Alerter::new(
        vouch_server::alerts::AlertConfig {
            webhooks: vec![url],
            ocsf_webhooks: vec![siem],
            initial_backoff_ms: 10,
            ..Default::default()
        },
        vouch_client::build_http_client(None, std::time::Duration::from_secs(5), "test").unwrap(),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = policies.spawn(
        Some(alerter.clone()),
        std::time::Duration::ZERO,
        stop.clone(),
    );
    let mut agent = enroll(&h, 3).await;
    let wait_for = |n: u64| {
        let alerter = alerter.clone();
        let received = received.clone();
        async move {
            for _ in 0..300 {
                if received.lock().unwrap().len() as u64 >= n
                    && alerter
                        .counts()
                        .delivered
                        .load(std::sync::atomic::Ordering::Relaxed)
                        >= n
                {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    let (pass, _) = agent.next(); // 6.1.1: passes
    call(&h, post("/v1/snapshots", pass)).await;
    // Let the worker judge it and note A.8.17 as passing.
    for _ in 0..300 {
        let view = controls(&h, "framework=iso27001-2022").await;
        if control(&view, "iso27001-2022:A.8.17")["status"] == "pass" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(received.lock().unwrap().is_empty(), "no alert for a pass");
    let (fail, _) = agent.next(); // 6.1.2: fails
    call(&h, post("/v1/snapshots", fail)).await;
    wait_for(1).await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let change = &got[0]["vouch"]["change"];
    assert_eq!(change["control"], "iso27001-2022:A.8.17");
    assert_eq!(
        (change["from"].as_str(), change["to"].as_str()),
        (Some("pass"), Some("fail"))
    );
    let failing = change["failing"][0].as_str().unwrap();
    assert!(
        failing.contains("kernel 6.1.2 has known vulnerabilities"),
        "{failing}"
    );
    // The SIEM's webhook gets the same failure as OCSF Compliance Findings towards A.8.17.
    for _ in 0..300 {
        if !received_ocsf.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let ocsf = received_ocsf.lock().unwrap().clone();
    assert_eq!(ocsf.len(), 1, "{ocsf:?}");
    let findings = ocsf[0].as_array().expect("a JSON array of findings");
    assert_eq!(findings.len(), 1, "{findings:?}");
    let f = &findings[0];
    assert_eq!(
        (&f["class_uid"], &f["type_uid"]),
        (&json!(2003), &json!(200301))
    );
    assert_eq!(f["compliance"]["control"], "kernel.patched");
    assert_eq!(
        f["compliance"]["requirements"],
        json!(["iso27001-2022:A.8.17"])
    );
    assert_eq!(f["compliance"]["status_id"], 3);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("kernel 6.1.2 has known vulnerabilities"),
        "{f:#}"
    );
    assert!(
        f["evidences"][0]["uid"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    stop.cancel();
    worker.await.unwrap();
}

/// The dashboard's control pages: the framework's controls by status, a filter, and one
/// control with the failing asset, its reason and remediation; a bad instant is named.
#[tokio::test]
async fn the_dashboard_shows_controls_and_what_fails() {
    let (h, _dir, _, agent) = judged_failing(4).await;
    let cookie = sign_in(&h, Role::Auditor).await;
    let page = |path: &str| page(path, &cookie);
    let (status, body) = call(&h, page("/controls?framework=iso27001-2022")).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Controls — iso27001-2022"), "{html}");
    assert!(
        html.contains("href=\"/controls/iso27001-2022/A.8.17\""),
        "{html}"
    );
    assert!(html.contains("class=\"badge fail\""), "{html}");
    let (_, body) = call(&h, page("/controls?framework=iso27001-2022&status=fail")).await;
    let failing = String::from_utf8(body).unwrap();
    assert!(
        failing.contains("A.8.17") && !failing.contains(">A.5.1<"),
        "{failing}"
    );
    let (status, body) = call(&h, page("/controls/iso27001-2022/A.8.17")).await;
    let one = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(
        one.contains("kernel 6.1.1 has known vulnerabilities"),
        "{one}"
    );
    assert!(one.contains("Remediation: upgrade the kernel"), "{one}");
    assert!(one.contains("host.kernel.release"), "{one}");
    // An excerpt of the evidence itself, read from the failing snapshot.
    assert!(
        one.contains("<code>host.kernel.release</code> = <code class=\"excerpt\">6.1.1</code>"),
        "{one}"
    );
    // Followed to the asset: its results, failures first, linked back to their controls.
    let asset_href = format!("/assets/host/{}", agent.host);
    assert!(one.contains(&format!("href=\"{asset_href}\"")), "{one}");
    let (_, body) = call(&h, page(&asset_href)).await;
    let asset = String::from_utf8(body).unwrap();
    let results = &asset[asset.find("<h2>Policy results</h2>").expect("results")..];
    assert!(results.contains("1 fail, 1 pass"), "{results}");
    let first = &results[results.find("<td>").unwrap()..];
    assert!(first.starts_with("<td>kernel.patched"), "{first}");
    assert!(
        results.contains("href=\"/controls/iso27001-2022/A.8.17\""),
        "{results}"
    );
    let (_, body) = call(&h, page("/controls/iso27001-2022/A.5.1")).await;
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("manual evidence needed")
    );
    let (_, body) = call(&h, page("/controls?as_of=last+tuesday")).await;
    assert!(String::from_utf8(body).unwrap().contains("is not a date"));
    let (status, _) = call(&h, page("/controls/iso27001-2022/A.99.9")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A control's page is rendered once for every reader of the view now shown (issue 20), yet
/// each reader gets their own header and forms: a reader who may not manage sees no form, a
/// manager sees forms carrying their own CSRF token, never another's. A judgement that changes
/// the view changes the page at once.
#[tokio::test]
async fn a_control_page_is_shared_by_readers_but_forms_are_each_readers_own() {
    let (h, _dir, policies, mut agent) = judged_failing(4).await;
    let lead = sign_in(&h, Role::SecurityLead).await;
    let other_lead = sign_in(&h, Role::SecurityLead).await;
    let auditor = sign_in(&h, Role::Auditor).await;
    let csrf = |cookie: &str| vouch_server::session::csrf_of(Some(cookie)).unwrap();
    let read = async |cookie: &str| {
        let (status, body) = call(&h, page("/controls/iso27001-2022/A.8.17", cookie)).await;
        assert_eq!(status, StatusCode::OK);
        String::from_utf8(body).unwrap()
    };
    let first = read(&lead).await;
    let second = read(&other_lead).await;
    let audit = read(&auditor).await;
    for html in [&first, &second, &audit] {
        assert!(
            html.contains("kernel 6.1.1 has known vulnerabilities"),
            "{html}"
        );
    }
    assert!(first.contains("Act on this control"), "{first}");
    assert!(second.contains("Act on this control"), "{second}");
    assert!(!audit.contains("Act on this control"), "{audit}");
    let forms = |html: &str, token: &str| html.matches(&format!("value=\"{token}\"")).count();
    // The sign-out form, an attestation and an exception: each with the reader's own token.
    assert!(forms(&first, &csrf(&lead)) >= 3, "{first}");
    assert_eq!(forms(&first, &csrf(&other_lead)), 0, "{first}");
    assert!(forms(&second, &csrf(&other_lead)) >= 3, "{second}");
    assert_eq!(forms(&second, &csrf(&lead)), 0, "{second}");
    assert_eq!(forms(&audit, &csrf(&auditor)), 1, "only sign-out: {audit}");
    // The same reader again: the same page.
    assert_eq!(read(&lead).await, first);
    // The kernel patched and judged, and the view of now made again (as the watcher does
    // after each judging round): the page says so on the next read.
    let (env, _) = agent.next(); // 6.1.2
    call(&h, post("/v1/snapshots", env)).await;
    policies.evaluator().run_once().await.unwrap();
    policies.note_changes().await.unwrap();
    let after = read(&auditor).await;
    assert!(!after.contains("has known vulnerabilities"), "{after}");
    assert!(
        after.contains("6.1.2") || after.contains("patched"),
        "{after}"
    );
}

/// A control's page shows the organisation's thresholds its policies judge with, at the values
/// configured; a control whose policies read none shows no such table.
/// A server started again with a new pack keeps only the pack in force; the view of now still
/// counts the results an earlier pack gave, with that pack's policies (loaded from the store
/// when the view meets them).
#[tokio::test]
async fn a_view_after_a_restart_counts_results_of_an_earlier_pack() {
    let (h, dir, _, _) = judged_failing(6).await;
    let (_, info) = json_of(&h, get("/v1/policies", Some(&h.admin))).await;
    let first = info["digest"].as_str().unwrap().to_string();

    write_policy(
        dir.path(),
        "known.rego",
        "kernel.known",
        "iso27001-2022:A.8.19",
        "1h",
        "deny contains \"x\" if false\nallow := \"x\" if true",
    );
    // The server's state keeps its first policies; the restarted ones are asked directly.
    let restarted = vouch_server::controls::Policies::start(
        h.state.store().clone(),
        pack_settings(dir.path()),
        vouch_policies::Catalogs::builtin(),
    )
    .await
    .unwrap();
    assert_eq!(restarted.evaluator().run_once().await.unwrap(), 0);
    let view = serde_json::to_value(&*restarted.controls(None).await.unwrap()).unwrap();
    assert_ne!(view["pack"], first.as_str(), "a new pack is in force");
    assert_eq!(view["assets"], 1);
    let a817 = control(&view, "iso27001-2022:A.8.17");
    assert_eq!(a817["status"], "fail", "{a817}");
    assert_eq!(
        a817["outcomes"][0]["reason"],
        "kernel 6.1.1 has known vulnerabilities"
    );
}

#[tokio::test]
async fn the_control_page_shows_the_thresholds_in_force() {
    let h = harness().await;
    let mut settings = PolicySettings::default();
    settings.organisation.parameters.rds_backup_retention_days = 14;
    let _policies = with_settings(&h, settings).await;
    let cookie = sign_in(&h, Role::Auditor).await;
    let (status, body) = call(&h, page("/controls/iso27001-2022/A.8.13", &cookie)).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    let table = &html[html.find("<h2>Thresholds</h2>").expect("thresholds")..];
    assert!(
        table.contains("<code>rds_backup_retention_days</code></td><td>14</td>"),
        "{table}"
    );
    assert!(table.contains("aws.rds.automated_backups"), "{table}");
    let (_, body) = call(&h, page("/controls/iso27001-2022/A.8.5", &cookie)).await;
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("<code>lockout_max_attempts</code></td><td>5</td>"),
        "{html}"
    );
    let (_, body) = call(&h, page("/controls/iso27001-2022/A.8.17", &cookie)).await;
    assert!(!String::from_utf8(body).unwrap().contains("Thresholds"));
}

/// The Statement of Applicability: every Annex A control, the excluded one with its
/// justification, the applicable ones with their status and links to their evidence.
#[tokio::test]
async fn the_statement_of_applicability_lists_every_control() {
    let h = harness().await;
    let dir = pack_dir();
    let settings = PolicySettings {
        exclusions: vec![vouch_server::config::Exclusion {
            control: "iso27001-2022:A.7.4".into(),
            justification: "no premises: a fully remote organisation".into(),
        }],
        ..pack_settings(dir.path())
    };
    let policies = with_settings(&h, settings).await;
    let mut agent = enroll(&h, 5).await;
    let (env, _) = agent.next(); // 6.1.1: A.8.17 fails
    call(&h, post("/v1/snapshots", env)).await;
    policies.evaluator().run_once().await.unwrap();
    let cookie = sign_in(&h, Role::Auditor).await;
    let (status, body) = call(&h, page("/reports/soa?framework=iso27001-2022", &cookie)).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("92 of 93 controls applicable"), "{html}");
    assert!(
        html.contains("no premises: a fully remote organisation"),
        "{html}"
    );
    assert_eq!(html.matches("<tr><td>A.").count(), 93, "{html}");
    let a817 = &html[html.find("<td>A.8.17<").unwrap()..];
    let a817 = &a817[..a817.find("</tr>").unwrap()];
    assert!(a817.contains("badge fail"), "{a817}");
    assert!(
        a817.contains("href=\"/controls/iso27001-2022/A.8.17\""),
        "{a817}"
    );
    let (status, _) = call(&h, page("/reports/soa?framework=nist-800-53", &cookie)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The period report: control status across the period, the exceptions in force, and the
/// agent's silence after its last snapshot.
#[tokio::test]
async fn the_period_report_shows_status_over_time_exceptions_and_silences() {
    let h = harness().await;
    let dir = pack_dir();
    let policies = with_policies(&h, dir.path()).await;
    let mut agent = enroll(&h, 6).await;
    for _ in 0..3 {
        let (env, _) = agent.next(); // 01:00, 02:00, 03:00 on 2026-11-20; 6.1.1 fails A.8.17
        assert_eq!(
            call(&h, post("/v1/snapshots", env)).await.0,
            StatusCode::CREATED
        );
    }
    policies.evaluator().run_once().await.unwrap();
    let (status, _) = json_of(
        &h,
        send(
            "POST",
            "/v1/exceptions",
            &h.admin,
            Some(json!({
                "policy": "kernel.reported",
                "justification": "legacy kernels are being retired this quarter",
                "owner": "ops lead",
                "expires_at": in_days(20),
            })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let cookie = sign_in(&h, Role::Auditor).await;
    let path = format!(
        "/reports/period?framework=iso27001-2022&from=2026-11-20&to={}",
        &in_days(1)[..10]
    );
    let (status, body) = call(&h, page(&path, &cookie)).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Period report — iso27001-2022"), "{html}");
    assert!(html.contains("3 snapshots collected"), "{html}");
    let a817 = &html[html.find("<td>A.8.17<").unwrap()..];
    let a817 = &a817[..a817.find("</tr>").unwrap()];
    // The newest snapshot (6.1.3) passes; it was judged after the period's first instants.
    assert!(
        a817.ends_with("<td><span class=\"badge pass\">pass</span></td>"),
        "{a817}"
    );
    assert!(
        a817.contains("badge no_evidence"),
        "not yet judged at its start: {a817}"
    );
    assert!(
        html.contains("Exceptions in force during the period (1)"),
        "{html}"
    );
    assert!(html.contains("legacy kernels are being retired"), "{html}");
    let silent = &html[html.find("Agents silent").unwrap()..];
    assert!(
        silent.contains(&agent.id),
        "the agent fell silent after 03:00: {silent}"
    );
    assert!(html.contains("No sequence number is missing"), "{html}");
    let (_, body) = call(&h, page("/reports/period?from=yesterday&to=today", &cookie)).await;
    assert!(String::from_utf8(body).unwrap().contains("must be dates"));
}

/// Each change of a control's status is recorded with the instant it began — the collection
/// of the snapshot that turned it, not the moment the server looked — and the overview, the
/// control page and `GET /v1/history` read it back; an unchanged status records nothing.
#[tokio::test]
async fn status_history_records_when_each_status_began() {
    let h = harness().await;
    let dir = pack_dir();
    let policies = with_policies(&h, dir.path()).await;
    let mut agent = enroll(&h, 8).await;
    let (failing, _) = agent.next(); // 6.1.1 collected 01:00: A.8.17 fails
    call(&h, post("/v1/snapshots", failing)).await;
    policies.evaluator().run_once().await.unwrap();
    assert!(policies.note_changes().await.unwrap() > 0);
    assert_eq!(policies.note_changes().await.unwrap(), 0, "nothing changed");
    let (passing, _) = agent.next(); // 6.1.2 collected 02:00: A.8.17 passes
    call(&h, post("/v1/snapshots", passing)).await;
    policies.evaluator().run_once().await.unwrap();
    assert!(policies.note_changes().await.unwrap() > 0);

    let (status, rows) = json_of(
        &h,
        get(
            "/v1/history?framework=iso27001-2022&control=A.8.17",
            Some(&h.admin),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let rows: Vec<(&str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["status"].as_str().unwrap(), r["since"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("fail", "2026-11-20T01:00:00.000000Z"),
            ("pass", "2026-11-20T02:00:00.000000Z")
        ]
    );
    let (_, one) = json_of(&h, get("/v1/controls/iso27001-2022:A.8.17", Some(&h.admin))).await;
    assert_eq!(one["since"], "2026-11-20T02:00:00.000000Z", "{one}");
    let view = controls(&h, "framework=iso27001-2022").await;
    assert_eq!(
        view["since"]["iso27001-2022:A.8.17"], "2026-11-20T02:00:00.000000Z",
        "{}",
        view["since"]
    );

    let cookie = sign_in(&h, Role::SecurityLead).await;
    let (status, body) = call(&h, page("/", &cookie)).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    for framework in ["iso27001-2022", "iso27701-2019"] {
        assert!(html.contains(&format!("id=\"{framework}\"")), "{framework}");
    }
    assert!(html.contains("<svg"), "the 90-day trend is drawn");
    assert!(html.contains("Figures per day"), "{html}");
    let (_, body) = call(&h, page("/controls/iso27001-2022/A.8.17", &cookie)).await;
    let control = String::from_utf8(body).unwrap();
    assert!(
        control.contains("pass since 2026-11-20T02:00:00.000000Z"),
        "{control}"
    );
    let history = &control[control.find("<h2>History</h2>").expect("history")..];
    assert!(
        history.contains("2026-11-20T01:00:00.000000Z") && history.contains("badge fail"),
        "{history}"
    );
}

/// Tags set by a security lead (never by an auditor or agent, and only well-formed ones on
/// stored assets) filter the asset list, as does the status "failing a policy".
#[tokio::test]
async fn assets_filter_by_tag_and_by_failing_policy() {
    let h = harness().await;
    let dir = pack_dir();
    let policies = with_policies(&h, dir.path()).await;
    let mut failing = enroll(&h, 9).await;
    let (env, _) = failing.next(); // 6.1.1 fails A.8.17
    call(&h, post("/v1/snapshots", env)).await;
    let mut passing = enroll(&h, 10).await;
    for _ in 0..2 {
        let (env, _) = passing.next(); // ends on 6.1.2, which passes
        call(&h, post("/v1/snapshots", env)).await;
    }
    policies.evaluator().run_once().await.unwrap();
    let tags = |id: &str| format!("/v1/assets/host/{id}/tags");
    let lead = h
        .state
        .create_api_token(Role::SecurityLead, "lead")
        .await
        .unwrap();
    let body = json!({"tags": {"env": "prod", "owner": "payments"}});
    let (status, answer) = json_of(
        &h,
        send("PUT", &tags(&failing.host), &lead, Some(body.clone())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    for role in [Role::Auditor, Role::Agent] {
        let token = h.state.create_api_token(role, "x").await.unwrap();
        let (status, _) = call(
            &h,
            send("PUT", &tags(&passing.host), &token, Some(body.clone())),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
    let (status, answer) = json_of(
        &h,
        send(
            "PUT",
            &tags(&passing.host),
            &lead,
            Some(json!({"tags": {"Env!": "x"}})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer.to_string().contains("tag key \\\"Env!\\\""),
        "{answer}"
    );
    let (status, _) = call(
        &h,
        send("PUT", "/v1/assets/host/nope/tags", &lead, Some(body)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = json_of(&h, get("/v1/assets", Some(&h.admin))).await;
    let tagged: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["tags"]["env"] == "prod")
        .collect();
    assert_eq!(tagged.len(), 1, "{listed}");

    let cookie = sign_in(&h, Role::Auditor).await;
    let list = |query: &str| {
        let req = page(&format!("/assets?{query}"), &cookie);
        async { String::from_utf8(call(&h, req).await.1).unwrap() }
    };
    let by_tag = list("tag=env%3Dprod").await;
    assert!(by_tag.contains("1 of 2 assets"), "{by_tag}");
    assert!(by_tag.contains(&failing.host.clone()), "{by_tag}");
    assert!(list("tag=owner").await.contains("1 of 2 assets"));
    assert!(list("tag=env%3Dstaging").await.contains("0 of 2 assets"));
    let by_status = list("status=failing").await;
    assert!(by_status.contains("1 of 2 assets"), "{by_status}");
    assert!(by_status.contains(&failing.host.clone()), "{by_status}");
    let ok = list("status=passing").await;
    assert!(
        ok.contains(&passing.host.clone()) && ok.contains("1 of 2"),
        "{ok}"
    );
}

/// A sample scoped to a control draws from the snapshots of the asset kinds the pack's
/// policies evidence it on, and says which kinds it used; a scope nothing evidences, an
/// unknown control or framework is refused by name.
#[tokio::test]
async fn a_sample_scoped_to_a_control_uses_the_kinds_its_policies_cover() {
    let h = harness().await;
    let dir = pack_dir();
    with_policies(&h, dir.path()).await;
    let mut agent = enroll(&h, 12).await;
    for _ in 0..3 {
        let (env, _) = agent.next();
        call(&h, post("/v1/snapshots", env)).await;
    }
    let sample = |scope: &str, kinds: &str| {
        let path = format!(
            "/v1/sample?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&kinds={kinds}&control={scope}&size=2&seed=s"
        );
        let req = get(&path, Some(&h.admin));
        async { json_of(&h, req).await }
    };
    let (status, answer) = sample("iso27001-2022%3AA.8.17", "").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["query"]["kinds"], "host");
    assert_eq!(answer["query"]["control"], "iso27001-2022:A.8.17");
    assert_eq!(answer["population_count"], 3);
    let (status, whole) = sample("iso27001-2022", "").await;
    assert_eq!(status, StatusCode::OK, "{whole}");
    assert_eq!(
        whole["sample"], answer["sample"],
        "same population, same draw"
    );
    for (scope, kinds, problem) in [
        (
            "iso27001-2022%3AA.8.17",
            "github-org",
            "no policy of the pack in force evidences",
        ),
        (
            "iso27001-2022%3AA.99.1",
            "",
            "is not a control of iso27001-2022",
        ),
        (
            "nist-800-53",
            "",
            "framework \\\"nist-800-53\\\" is in no loaded catalog",
        ),
    ] {
        let (status, answer) = sample(scope, kinds).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{scope}");
        assert!(answer.to_string().contains(problem), "{scope}: {answer}");
    }
}

/// A sample pinned to an instant draws from the snapshots the server held then: one
/// delivered later (an agent back online with old snapshots) joins the population only
/// without the pin, so the pinned answer stays reproducible.
#[tokio::test]
async fn a_sample_pinned_to_an_instant_ignores_later_deliveries() {
    let h = harness().await;
    let mut agent = enroll(&h, 13).await;
    let (env, _) = agent.next();
    call(&h, post("/v1/snapshots", env)).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let pinned = vouch_server::state::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    for _ in 0..2 {
        let (env, _) = agent.next(); // collected before `pinned`'s day ends, delivered after it
        call(&h, post("/v1/snapshots", env)).await;
    }
    let query = "/v1/sample?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&size=5&seed=s";
    let (_, all) = json_of(&h, get(query, Some(&h.admin))).await;
    assert_eq!(all["population_count"], 3, "{all}");
    let (status, then) = json_of(&h, get(&format!("{query}&as_of={pinned}"), Some(&h.admin))).await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(then["population_count"], 1, "{then}");
    assert_eq!(then["query"]["as_of"], pinned.to_string());
}

/// Coverage that says what it proves (issue 16): the API, the control page and the SoA show each
/// control's level and rationale, and for a `partly` one its manual part; such a control passes
/// only with its policies passing and an attestation in force, and otherwise says what is
/// missing. ISO/IEC 27701:2025 results, derived from the 2019 clauses, are flagged provisional.
#[tokio::test]
async fn levels_rationales_and_provisional_results_are_shown() {
    let h = harness().await;
    let dir = pack_dir();
    // A.8.8 (partly automated): kernel.vulnerable, fails on 6.1.1 only, fresh ten years.
    write_policy(
        dir.path(),
        "vulnerable.rego",
        "kernel.vulnerable",
        "iso27001-2022:A.8.8",
        "3650d",
        &patched("6.1.1"),
    );
    // A privacy clause in the mapping form: the 2025 id follows from the 2019 one.
    std::fs::write(
        dir.path().join("transmitted.rego"),
        "# METADATA\n# title: kernel.transmitted\n# description: test policy\n# custom:\n#   id: kernel.transmitted\n#   severity: low\n#   controls:\n#     - control: iso27701-2019:A.7.4.9\n#       relation: supporting\n#       why: A test mapping.\n#   asset_kinds: [host]\n#   evidence: [host.kernel.release]\n#   remediation: none\n#   freshness: 3650d\npackage vouch.policies.kernel.transmitted\n\nrelease := input.evidence[\"host.kernel.release\"]\n\ndeny contains \"no kernel release\" if release == \"\"\nallow := \"reported\" if release != \"\"\n",
    )
    .unwrap();
    let policies = with_policies(&h, dir.path()).await;
    let mut agent = enroll(&h, 21).await;
    for _ in 0..2 {
        let (env, _) = agent.next(); // 6.1.1 at 01:00, then 6.1.2 at 02:00, which passes
        assert_eq!(
            call(&h, post("/v1/snapshots", env)).await.0,
            StatusCode::CREATED
        );
    }
    policies.evaluator().run_once().await.unwrap();

    // The policy passes, no attestation: `manual`, with what is missing.
    let view = controls(&h, "framework=iso27001-2022").await;
    let a88 = control(&view, "iso27001-2022:A.8.8");
    assert_eq!(a88["outcomes"][0]["state"], "pass", "{a88}");
    assert_eq!(a88["status"], "manual", "{a88}");
    assert_eq!(a88["coverage"], "partly");
    assert!(
        a88["rationale"].as_str().is_some_and(|r| !r.is_empty()),
        "{a88}"
    );
    let part = a88["manual_part"].as_str().unwrap().to_string();
    let missing = a88["missing"].as_str().unwrap();
    assert!(
        missing.contains("an attestation of its manual part") && missing.ends_with("none recorded"),
        "{a88}"
    );
    assert_eq!(a88["provisional"], false);
    let a817 = control(&view, "iso27001-2022:A.8.17");
    assert_eq!(a817["coverage"], "automated");
    assert!(a817["manual_part"].is_null(), "{a817}");
    assert!(a817["rationale"].as_str().is_some(), "{a817}");

    // An attestation of the manual part in force: `pass`; once it lapses: `stale`.
    attest(
        &h,
        "iso27001-2022:A.8.8",
        "Vulnerability management procedure v2 followed; triage records reviewed",
        &in_days(30),
    )
    .await;
    let (status, one) = json_of(&h, get("/v1/controls/iso27001-2022:A.8.8", Some(&h.admin))).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["status"], "pass", "{one}");
    assert!(one["missing"].is_null(), "{one}");
    assert_eq!(one["manual_part"], part.as_str());
    let later = in_days(31);
    let (_, one) = json_of(
        &h,
        get(
            &format!("/v1/controls/iso27001-2022:A.8.8?as_of={later}"),
            Some(&h.admin),
        ),
    )
    .await;
    assert_eq!(one["status"], "stale", "{one}");
    assert!(
        one["missing"]
            .as_str()
            .is_some_and(|m| m.contains("lapsed at")),
        "{one}"
    );

    // The 2025 clause is derived from the 2019 one, and flagged provisional; the 2019 one not.
    let p25 = controls(&h, "framework=iso27701-2025").await;
    let a1410 = control(&p25, "iso27701-2025:A.1.4.10");
    assert_eq!(a1410["status"], "pass", "{a1410}");
    assert_eq!(a1410["provisional"], true);
    assert_eq!(a1410["outcomes"][0]["policy"], "kernel.transmitted");
    let p19 = controls(&h, "framework=iso27701-2019").await;
    assert_eq!(control(&p19, "iso27701-2019:A.7.4.9")["provisional"], false);
    let (_, info) = json_of(&h, get("/v1/policies", Some(&h.admin))).await;
    let transmitted = info["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "kernel.transmitted")
        .unwrap()
        .clone();
    assert_eq!(transmitted["mappings"][0]["relation"], "supporting");
    assert_eq!(
        transmitted["mappings"][1]["derived_from"],
        "iso27701-2019:A.7.4.9"
    );

    // The control page, the SoA and the control list show the same.
    let cookie = sign_in(&h, Role::Auditor).await;
    let later_page = format!("/controls/iso27001-2022/A.8.8?as_of={later}");
    let (status, body) = call(&h, page(&later_page, &cookie)).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Coverage: <strong>partly</strong> — "),
        "{html}"
    );
    assert!(html.contains("Manual part (attested): "), "{html}");
    assert!(
        html.contains("Missing: an attestation of its manual part"),
        "{html}"
    );
    let (_, body) = call(&h, page("/controls/iso27701-2025/A.1.4.10", &cookie)).await;
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("badge provisional"), "{html}");
    assert!(
        html.contains("not yet checked control by control"),
        "{html}"
    );
    let (_, body) = call(&h, page("/reports/soa?framework=iso27001-2022", &cookie)).await;
    let html = String::from_utf8(body).unwrap();
    let row = &html[html.find("<td>A.8.8<").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("evidenced <strong>partly</strong> — "),
        "{row}"
    );
    assert!(row.contains("Manual part (attested): "), "{row}");
    assert!(
        !html.contains("badge provisional"),
        "27001 is not provisional"
    );
    let (_, body) = call(&h, page("/reports/soa?framework=iso27701-2025", &cookie)).await;
    let html = String::from_utf8(body).unwrap();
    let row = &html[html.find("<td>A.1.4.10").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("badge provisional"), "{row}");
    assert!(row.contains("badge pass"), "{row}");
    let (_, body) = call(&h, page("/controls?framework=iso27701-2025", &cookie)).await;
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("badge provisional"), "{html}");
}
