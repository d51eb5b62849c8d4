//! Answers only requests addressed to the portal itself.
//!
//! A browser tricked into sending a request to the portal under another name (DNS
//! rebinding: `attacker.example` resolving to 127.0.0.1) carries that name in `Host`; such
//! requests get 421 and nothing else, so an attacker's page never reads the laptop setup's
//! open API. In the laptop setup (development sign-in or an API without tokens) a request
//! that came through a proxy (`Forwarded`, `X-Forwarded-*`) or from another machine is
//! refused too: that setup is only safe while nobody but this machine reaches it.
//! `/healthz` answers any host, for load balancers probing by address.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Clone)]
pub struct HostGuard {
    allowed: Arc<BTreeSet<String>>,
    public_url: Arc<str>,
    laptop: bool,
}

impl HostGuard {
    /// Hosts allowed: the public URL's, any `extra` (`host` or `host:port`), and in the
    /// laptop setup the loopback names on the port the server listens on.
    pub fn new(public_url: &str, extra: &[String], listen: SocketAddr, laptop: bool) -> Self {
        let mut allowed: BTreeSet<String> = extra.iter().map(|h| h.to_ascii_lowercase()).collect();
        if let Ok(url) = url::Url::parse(public_url) {
            if let Some(host) = url.host_str() {
                allowed.insert(match url.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host.to_owned(),
                });
            }
        }
        if laptop {
            let port = listen.port();
            for name in ["127.0.0.1", "localhost", "[::1]"] {
                allowed.insert(format!("{name}:{port}"));
            }
        }
        Self {
            allowed: Arc::new(allowed),
            public_url: Arc::from(public_url),
            laptop,
        }
    }

    fn refusal(&self, request: &Request) -> Option<Response> {
        if request.uri().path() == "/healthz" {
            return None;
        }
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase);
        if let Some(host) = host {
            if !self.allowed.contains(&host) {
                return Some(
                    (
                        StatusCode::MISDIRECTED_REQUEST,
                        format!(
                            "This is not {host}: Countersign answers at {}",
                            self.public_url
                        ),
                    )
                        .into_response(),
                );
            }
        }
        if self.laptop {
            let headers = request.headers();
            let proxied = ["forwarded", "x-forwarded-for", "x-forwarded-host"]
                .iter()
                .any(|name| headers.contains_key(*name));
            let remote = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .is_some_and(|peer| !peer.0.ip().is_loopback());
            if proxied || remote {
                return Some(
                    (
                        StatusCode::FORBIDDEN,
                        "The laptop setup (development sign-in, API without tokens) answers this machine only, never through a proxy. Configure SSO and API tokens to serve others.",
                    )
                        .into_response(),
                );
            }
        }
        None
    }
}

pub async fn guard_host(State(guard): State<HostGuard>, request: Request, next: Next) -> Response {
    match guard.refusal(&request) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    }
}
