//! The Countersign server: configuration, the choice of adapters, the axum router (portal
//! pages, server functions, the pipeline API, sign-in routes) and the CLI's commands. This
//! is the only crate that knows every adapter.

pub mod api;
pub mod api_auth;
pub mod config;
pub mod cross_site;
pub mod demo;
pub mod error_links;
pub mod events;
pub mod history_export;
pub mod host_guard;
pub mod notify;
pub mod oidc;
pub mod openapi;
pub mod rate_limit;
pub mod resolve_cache;
pub mod security_headers;
pub mod session;
pub mod wiring;
