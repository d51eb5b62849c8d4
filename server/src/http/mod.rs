//! What answers HTTP requests besides the portal's pages: the pipeline API (`api`), history
//! exports, and the layers every request passes on its way in (in `application::router`'s
//! order: security headers, host, rate limits, cross-site refusal, fresh sessions, signed
//! error links).

pub mod api;
pub mod cross_site;
pub mod error_links;
pub mod export;
pub mod host_guard;
pub mod rate_limit;
pub mod security_headers;
