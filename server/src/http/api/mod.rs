//! The pipeline HTTP API under `/api/v1`: JSON in and out. Every error is JSON with a
//! stable `code` and a human `message` (`error`); bad input is a 4xx, never a 500.

mod audit;
pub mod auth;
mod environments;
pub mod error;
pub mod events;
mod history;
pub mod openapi;
mod reports;
mod versions;

use error::TokenRefusals;
pub use error::{ApiError, ErrorBody, ErrorCode};
pub use versions::version_json;

use crate::http::rate_limit::RateLimiter;
use auth::{ApiAuth, ApiScope, RegistrantClaim};
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use countersign_domain::service::Services;
use countersign_domain::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Limits what a pipeline may send; a registration is a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the API's handlers share. Axum clones it for every request, so it is one `Arc`:
/// a copy of its parts was a few dozen reference counts raised and dropped per resolve.
#[derive(Clone)]
pub struct ApiState(std::sync::Arc<ApiParts>);

impl ApiState {
    pub fn new(parts: ApiParts) -> Self {
        Self(std::sync::Arc::new(parts))
    }
}

impl std::ops::Deref for ApiState {
    type Target = ApiParts;

    fn deref(&self) -> &ApiParts {
        &self.0
    }
}

pub struct ApiParts {
    pub services: Services,
    pub public_url: String,
    /// The EventBridge intake's key; `None` turns the intake off.
    pub events: Option<events::EventsConfig>,
    pub auth: std::sync::Arc<ApiAuth>,
    pub signature_checks: std::sync::Arc<crate::signature_checks::SignatureChecks>,
    pub audit: countersign_audit::desk::AuditDesk,
}

/// Where the API is served; its OpenAPI document names each operation under it.
pub const BASE: &str = "/api/v1";

/// The API's routes, to be nested under [`BASE`]. Each operation is declared once, by its
/// `#[utoipa::path]` and one `routes!` entry here: the router and the OpenAPI document
/// (`/openapi.json`) are both made from that, so neither can list an operation the other
/// lacks. Every request to it counts against the API rate limit.
pub fn router(state: ApiState, limiter: &RateLimiter) -> Router {
    let (operations, document) = OpenApiRouter::new()
        .routes(routes!(versions::register))
        .routes(routes!(environments::resolve))
        .routes(routes!(reports::submit_report, reports::list_reports))
        .routes(routes!(history::group_history))
        .routes(routes!(audit::audit_bundle))
        .routes(routes!(audit::audit_public_key))
        .routes(routes!(events::sagemaker_event))
        .split_for_parts();
    let document = openapi::document(document);
    operations
        .route("/openapi.json", get(move || async move { Json(document) }))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            limiter.api(),
            crate::http::rate_limit::limit,
        ))
        .with_state(state)
}

async fn unknown_route() -> ApiError {
    ApiError::new(
        ErrorCode::NoSuchRoute,
        "there is no API route at this path; see the README's section for pipelines",
    )
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this API route does not accept that method",
    )
}

fn group_name(text: &str) -> Result<GroupName, ApiError> {
    GroupName::parse(text).map_err(|e| ApiError::new(ErrorCode::InvalidGroup, e.to_string()))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("UTC timestamps format")
}
