//! The whole HTTP surface of a server on a fresh store, driven request by request: the
//! pipeline API, the development sign-in, server functions and server-rendered pages.

use crate::support::{Reply, TestApp};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use countersign_server::backend;
use countersign_server::config::Config;
use serde_json::{json, Value};

mod api;
mod attempts;
mod decisions;
mod limits;
mod pages;
mod reports;
mod sessions;
mod signing;

fn report_body(environment: &str, run_id: &str, auc: Value) -> Value {
    json!({
        "environment": environment,
        "run_id": run_id,
        "metrics": {"auc": auc, "rows_per_second": 5400},
        "started_at": "2026-11-26T10:00:00Z",
        "finished_at": "2026-11-26T10:20:00.5Z",
        "sample_count": 25000,
        "artifacts_url": "s3://runs/churn/nightly"
    })
}

/// `settings` for a portal whose people sign in at an identity provider (never contacted
/// here: the router is built without discovery), so the development sign-in is off.
fn with_sso<'a>(settings: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("OIDC_ISSUER", "https://login.example.com"),
        ("OIDC_CLIENT_ID", "countersign"),
        ("OIDC_CLIENT_SECRET", "secret"),
    ];
    all.extend_from_slice(settings);
    all
}

/// A request as a browser sends it, to `host`.
fn addressed_to(uri: &str, host: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, host)
        .body(Body::empty())
        .unwrap()
}
