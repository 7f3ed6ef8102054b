//! The dashboard through the real router: login by token to a signed session cookie, the
//! denials, and the overview, asset list and asset pages over real stored snapshots.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use vouch_server::auth::Role;

fn html(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn pages_need_a_session_and_only_reading_roles_get_one() {
    let h = harness().await;
    let (status, _) = call(&h, get("/", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, body) = call(&h, login_request("vch_admin_not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html(&body).contains("unknown token"));
    let agent = h.state.create_api_token(Role::Agent, "a").await.unwrap();
    let (status, body) = call(&h, login_request(&agent)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html(&body).contains("may not use the dashboard"));
    // A forged or altered cookie is no session.
    let cookie = sign_in(&h, Role::Auditor).await;
    let mut forged = cookie.clone();
    forged.pop();
    forged.push('A');
    assert_eq!(call(&h, page("/", &forged)).await.0, StatusCode::SEE_OTHER);
    assert_eq!(
        call(&h, page("/", "vouch_session=e30")).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(call(&h, page("/", &cookie)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn overview_assets_and_asset_pages_show_the_stored_evidence_and_its_drift() {
    let h = harness().await;
    let mut agent = enroll(&h, 3).await;
    let mut digests = Vec::new();
    for _ in 0..3 {
        let (env, d) = agent.next();
        assert_eq!(
            call(&h, post("/v1/snapshots", env)).await.0,
            StatusCode::CREATED
        );
        digests.push(d);
    }
    for role in [Role::Admin, Role::SecurityLead, Role::Auditor] {
        let cookie = sign_in(&h, role).await;
        let (status, body) = call(&h, page("/", &cookie)).await;
        assert_eq!(status, StatusCode::OK);
        let overview = html(&body);
        assert!(overview.contains("Overview") && overview.contains(role.as_str()));
        // Silence is judged by when snapshots arrived, and these just did.
        assert!(
            overview.contains("Every asset reported within"),
            "{overview}"
        );
        assert!(
            overview.contains("<div class=\"num\">1</div>host"),
            "{overview}"
        );

        let (_, body) = call(&h, page("/assets?kind=host&q=WEB", &cookie)).await;
        let list = html(&body);
        assert!(list.contains("1 of 1 assets"), "{list}");
        let (_, body) = call(&h, page("/assets?kind=github-org", &cookie)).await;
        assert!(html(&body).contains("0 of 1 assets"));

        let asset_id = agent.host.clone();
        let (status, body) = call(&h, page(&format!("/assets/host/{asset_id}"), &cookie)).await;
        assert_eq!(status, StatusCode::OK);
        let asset = html(&body);
        assert!(asset.contains("no gap"), "{asset}");
        assert!(asset.contains("sequence 1 to 3"), "{asset}");
        // Drift: the kernel release changed from the second to the third snapshot.
        assert!(asset.contains("host.kernel.release"), "{asset}");
        assert!(
            asset.contains("6.1.2") && asset.contains("6.1.3"),
            "{asset}"
        );
        assert!(asset.contains(&digests[2].to_hex()));

        // The session also opens the API's envelope download the page links to.
        let (status, _) = call(&h, page(&format!("/v1/snapshots/{}", digests[2]), &cookie)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(&h, page("/assets/host/nope", &cookie)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

/// The asset page as of a past instant shows the chain as it stood then: only the snapshots
/// received by then, no drift yet; an instant that is not one is named.
#[tokio::test]
async fn the_asset_page_shows_the_chain_as_of_an_instant() {
    let h = harness().await;
    let mut agent = enroll(&h, 4).await;
    let (env, _) = agent.next();
    call(&h, post("/v1/snapshots", env)).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let between = vouch_server::state::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    for _ in 0..2 {
        let (env, _) = agent.next();
        call(&h, post("/v1/snapshots", env)).await;
    }
    let cookie = sign_in(&h, Role::Auditor).await;
    let path = format!("/assets/host/{}", agent.host);
    let (_, body) = call(&h, page(&path, &cookie)).await;
    assert!(html(&body).contains("sequence 1 to 3"));
    let then = format!("{path}?as_of={between}");
    let (status, body) = call(&h, page(&then, &cookie)).await;
    let asset = html(&body);
    assert_eq!(status, StatusCode::OK, "{asset}");
    assert!(asset.contains("sequence 1 to 1"), "{asset}");
    assert!(asset.contains("Only one snapshot so far"), "{asset}");
    assert!(
        asset.contains("6.1.1") && !asset.contains("6.1.3"),
        "{asset}"
    );
    let before = format!("{path}?as_of=2020-01-01");
    assert_eq!(
        call(&h, page(&before, &cookie)).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = call(&h, page(&format!("{path}?as_of=yesterday"), &cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html(&body).contains("is not a date"));
}

#[tokio::test]
async fn logout_clears_the_cookie() {
    let h = harness().await;
    let cookie = sign_in(&h, Role::Admin).await;
    let csrf = vouch_server::session::csrf_of(Some(&cookie)).unwrap();
    let logout = |body: String| {
        Request::post("/logout")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    // The overview's sign-out form carries the session's CSRF token.
    let (_, overview) = call(&h, page("/", &cookie)).await;
    assert!(html(&overview).contains(&csrf));
    let resp = vouch_server::app(h.state.clone())
        .oneshot_login(logout(format!("csrf={csrf}")))
        .await;
    assert_eq!(resp.0, StatusCode::SEE_OTHER);
    assert!(resp.1.unwrap().contains("Max-Age=0"));
    // Without it, or with another's, a post signs nobody out.
    for body in [String::new(), "csrf=00".to_string()] {
        let (status, _) = call(&h, logout(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

/// Regression (issue 15, defect 8): a form post carrying only the session cookie closed an
/// audit period, created an exception, reloaded the pack and ran retention. A session now only
/// reads; writes need a bearer token and a same-origin browser; forms carry CSRF tokens; every
/// answer carries the headers that keep pages out of other sites' frames and scripts.
#[tokio::test]
async fn cross_site_writes_are_refused_and_every_answer_carries_the_security_headers() {
    let h = harness().await;
    let period = serde_json::json!({
        "framework": "iso27001-2022", "label": "2026",
        "from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"
    });
    let lead = h
        .state
        .create_api_token(Role::SecurityLead, "lead")
        .await
        .unwrap();
    let open = |extra: &[(&str, &str)], bearer: Option<&str>| {
        let mut r = Request::post("/v1/audit-periods")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::HOST, "vouch.example:8443");
        for (k, v) in extra {
            r = r.header(*k, *v);
        }
        if let Some(t) = bearer {
            r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        r.body(Body::from(period.to_string())).unwrap()
    };
    let periods = || async { h.state.store().audit_periods().await.unwrap().len() };

    // The session cookie alone: refused, whatever the form's content type.
    let cookie = sign_in(&h, Role::Admin).await;
    let (status, body) = call(&h, open(&[("cookie", &cookie)], None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html(&body).contains("cross_site"), "{}", html(&body));
    let (status, _) = call(
        &h,
        Request::post("/v1/retention/run")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("x=1"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A browser on another site, even with a token: refused by Origin and by Sec-Fetch-Site.
    for extra in [
        [("origin", "https://evil.example")],
        [("sec-fetch-site", "cross-site")],
        [("sec-fetch-site", "same-site")],
    ] {
        let (status, body) = call(&h, open(&extra, Some(&lead))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{extra:?}");
        assert!(html(&body).contains("cross_site"), "{}", html(&body));
    }
    assert_eq!(periods().await, 0, "nothing changed");
    // The same request from the server's own origin, or from an API client, goes through.
    let (status, body) = call(
        &h,
        open(
            &[
                ("origin", "https://vouch.example:8443"),
                ("sec-fetch-site", "same-origin"),
            ],
            Some(&lead),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{}", html(&body));
    let (status, _) = call(&h, open(&[], Some(&lead))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(periods().await, 2);

    // Sign-in: its form carries a token that must match the page's cookie.
    let admin = h.state.create_api_token(Role::Admin, "a").await.unwrap();
    let (status, form) = call(&h, get("/login", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html(&form).contains("name=\"csrf\""));
    for (cookie, body) in [
        (None, format!("token={admin}")),
        (
            Some("__Host-vouch_csrf=aaaa"),
            format!("token={admin}&csrf=bbbb"),
        ),
    ] {
        let mut r = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        let (status, _) = call(&h, r.body(Body::from(body)).unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    // Every answer, page or API, carries the headers.
    for req in [
        get("/login", None),
        get("/v1/assets", Some(&admin)),
        page("/", &cookie),
    ] {
        use tower::ServiceExt as _;
        let resp = vouch_server::app(h.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        let headers = resp.headers();
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    }
}

#[tokio::test]
async fn the_sample_page_draws_and_links_a_bundle_that_verifies() {
    let h = harness().await;
    let mut agent = enroll(&h, 4).await;
    for _ in 0..6 {
        let (env, _) = agent.next();
        assert_eq!(
            call(&h, post("/v1/snapshots", env)).await.0,
            StatusCode::CREATED
        );
    }
    let cookie = sign_in(&h, Role::Auditor).await;
    let (status, body) = call(&h, page("/sample", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html(&body).contains("Population:"));
    let (_, body) = call(
        &h,
        page(
            "/sample?from=2026-11-20T00:00:00Z&to=yesterday&size=x&seed=s",
            &cookie,
        ),
    )
    .await;
    let errors = html(&body);
    assert!(
        errors.contains("to: ") && errors.contains("size: "),
        "{errors}"
    );
    let (_, body) = call(
        &h,
        page(
            "/sample?from=2026-11-20T00%3A00%3A00Z&to=2026-11-21T00%3A00%3A00Z&kinds=host&size=2&seed=web+audit",
            &cookie,
        ),
    )
    .await;
    let drawn = html(&body);
    assert!(drawn.contains("Population: <strong>6</strong>"), "{drawn}");
    let link = drawn
        .split("href=\"")
        .find(|s| s.starts_with("/v1/export?"))
        .and_then(|s| s.split('"').next())
        .expect("a bundle link")
        .replace("&amp;", "&");
    let (status, bundle) = call(&h, page(&link, &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let report = vouch_server::bundle::verify(&bundle, None, 1);
    assert!(report.ok(), "{:#?}", report.failures);
    assert!(
        report
            .summary
            .contains("sample of 2 from a population of 6"),
        "{}",
        report.summary
    );
    assert!(
        report.summary.contains("\"web audit\""),
        "{}",
        report.summary
    );
}

/// HTTP/2 browsers send each cookie in a header of its own: the session is found among them
/// (the sign-in page's CSRF cookie came first and hid it).
#[tokio::test]
async fn a_session_is_found_among_cookies_sent_in_separate_headers() {
    let h = harness().await;
    let cookie = sign_in(&h, Role::Auditor).await;
    let req = Request::get("/")
        .header(header::COOKIE, "__Host-vouch_csrf=0123")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let (status, body) = call(&h, req).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html(&body).contains("Overview"));
}
