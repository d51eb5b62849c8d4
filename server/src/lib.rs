//! The Countersign server: configuration, the choice of adapters, the axum router (portal
//! pages, server functions, the pipeline API, sign-in routes) and the CLI's commands. This
//! is the only crate that knows every adapter.
//!
//! - `config`: every `COUNTERSIGN_*` setting, read once at start-up; each feature reads its
//!   own part with `settings`.
//! - `backend`: the embedded store or the AWS adapters, opened as the domain's services.
//! - `application`: the router, the whole HTTP surface; `background`: work beside requests.
//! - `http`: what answers requests (the pipeline API, exports, and the layers in front).
//! - `startup`: why the server could not start. `installation`: `countersign iq`.
//! - `auth`: people signing in. `notify`: mail. `demo`: the demo data. `memory`: the heap
//!   kept small.

pub mod application;
pub mod audit;
pub mod auth;
pub mod backend;
pub mod background;
pub mod config;
pub mod demo;
pub mod http;
pub mod installation;
pub mod memory;
pub mod notify;
pub mod operator;
pub mod resolve_cache;
pub mod settings;
pub mod signature_checks;
pub mod startup;
