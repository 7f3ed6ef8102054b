//! The dashboard: server-rendered HTML (no script, no external CDN), readable on a projector.
//! Login is by API token; the browser then holds a signed session cookie ([`session`]).
//!
//! Pages: the overview (assets by kind, silent agents, recent refusals), the asset list with
//! filters, and an asset (chain health, latest evidence by area, drift since the previous
//! snapshot). Every page answers in one request to the store per list it shows.

mod actions;
mod asset;
mod assets;
mod controls;
mod layout;
mod login;
mod overview;
mod period;
mod sample;
mod sso;
use crate::session;

use std::collections::{BTreeMap, BTreeSet};

use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use vouch_evidence::api::{AssetSummary, RejectReason, SampleQuery};
use vouch_evidence::{AssetKind, EvidenceItem, ItemStatus, Snapshot, Timestamp};

use crate::auth::{Role, hash_token};
use crate::state::{AppState, now};

use asset::*;
use assets::*;
use layout::*;
use login::*;
use sample::*;

/// An agent whose newest snapshot arrived longer ago than this is listed as silent.
pub const SILENT_AFTER_SECS: i64 = 2 * 3600;

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::overview))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/act", post(actions::act))
        .route("/audit-log", get(actions::audit_log))
        .route("/oidc/login", get(sso::begin))
        .route("/oidc/callback", get(sso::callback))
        .route("/controls", get(controls::controls))
        .route("/controls/{framework}/{control}", get(controls::control))
        .route("/reports/soa", get(controls::soa))
        .route("/reports/period", get(period::period))
        .route("/assets", get(assets))
        .route("/assets/{kind}/{id}", get(asset))
        .route("/sample", get(sample_page))
}

/// A signed-in person (any role that may read evidence).
pub struct WebUser {
    /// Their role.
    pub role: Role,
    /// The CSRF token every form they post must carry.
    pub csrf: String,
    /// Their session.
    pub session: session::Current,
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let cookie = session::cookies(&parts.headers);
        let cookie = cookie.as_deref();
        match session::current(state, cookie).await {
            // Time to read the person's groups at the provider again, without a prompt while
            // their session there lives.
            Some(current) if current.recheck_due && state.sso().is_some() => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string();
                Err(Redirect::to(&format!(
                    "/oidc/login?silent=true&next={}",
                    url_segment(&next)
                ))
                .into_response())
            }
            Some(current) if !current.recheck_due && current.role.can_read_evidence() => {
                crate::auth::log_read(current.role, &parts.method, &parts.uri);
                Ok(WebUser {
                    role: current.role,
                    csrf: session::csrf_of(cookie).unwrap_or_default(),
                    session: current,
                })
            }
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}
