//! The dashboard: server-rendered HTML (no script, no external CDN), readable on a projector.
//! Login is by API token; the browser then holds a signed session cookie ([`session`]).
//!
//! Pages: the overview (assets by kind, silent agents, recent refusals), the asset list with
//! filters, and an asset (chain health, latest evidence by area, drift since the previous
//! snapshot). Every page answers in one request to the store per list it shows.

mod asset;
mod assets;
mod controls;
mod layout;
mod login;
mod overview;
mod period;
mod sample;
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
        .route("/controls", get(controls::controls))
        .route("/controls/{framework}/{control}", get(controls::control))
        .route("/reports/soa", get(controls::soa))
        .route("/reports/period", get(period::period))
        .route("/assets", get(assets))
        .route("/assets/{kind}/{id}", get(asset))
        .route("/sample", get(sample_page))
}

/// A signed-in person (any role that may read evidence).
pub struct WebUser(pub Role, pub String);

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let cookie = session::cookies(&parts.headers);
        let cookie = cookie.as_deref();
        match session::role(state, cookie).await {
            Some(role) if role.can_read_evidence() => {
                crate::auth::log_read(role, &parts.method, &parts.uri);
                Ok(WebUser(role, session::csrf_of(cookie).unwrap_or_default()))
            }
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}
