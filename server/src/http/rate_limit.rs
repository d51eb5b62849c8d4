//! Per-client rate limits on what costs the portal or others work: signing in (each
//! callback is a token exchange with the identity provider), decisions (each one writes the
//! registry and mails people), the pipeline API, and the history exports (each reads a
//! group's whole history, the audit bundle its whole trail). Each replica counts on its own, so
//! behind a load balancer with `n` replicas a client gets up to `n` times the figure.
//!
//! A client is its address: the peer's, or, when the peer is one of the configured trusted
//! proxies, the nearest address in `X-Forwarded-For` that is not. An IPv6 client is its
//! /64, which one host can otherwise fill with fresh addresses. Over the limit, a request
//! gets 429 with `Retry-After` and reaches no handler.

use crate::settings::SettingError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The configured limits, per client and minute; `None` turns a kind off.
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    pub sign_in_per_minute: Option<NonZeroU32>,
    pub decisions_per_minute: Option<NonZeroU32>,
    pub api_per_minute: Option<NonZeroU32>,
    pub exports_per_minute: Option<NonZeroU32>,
    /// Load balancers and proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
}

impl RateLimits {
    /// From the per-minute figures (sign-in, decisions, API, exports; 0 turns one off) and
    /// the trusted proxies as written (addresses or networks); the error names the entry.
    pub fn new(per_minute: [u32; 4], trusted_proxies: &[String]) -> Result<Self, SettingError> {
        let trusted_proxies = trusted_proxies
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        SettingError::new("trusted_proxies", format!("has {entry:?}, which is neither an address nor a network such as 10.0.0.0/16"))
                    })
            })
            .collect::<Result<_, _>>()?;
        let [sign_in, decisions, api, exports] = per_minute.map(NonZeroU32::new);
        Ok(Self {
            sign_in_per_minute: sign_in,
            decisions_per_minute: decisions,
            api_per_minute: api,
            exports_per_minute: exports,
            trusted_proxies,
        })
    }
}

/// What a request is, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    SignIn,
    Decision,
    Api,
    Export,
}

impl Kind {
    /// Whether a request anywhere is a decision: a post to a server function that writes.
    fn is_decision(method: &Method, path: &str) -> bool {
        method == Method::POST && countersign_app::pages::WRITING_ENDPOINTS.contains(&path)
    }

    fn refusal(self, wait_seconds: u64) -> Response {
        let message = format!(
            "Too many {} from your address; try again in {wait_seconds} s.",
            match self {
                Kind::SignIn => "sign-in attempts",
                Kind::Decision => "decisions",
                Kind::Api => "API requests",
                Kind::Export => "exports",
            }
        );
        let mut response = match self {
            Kind::Api => {
                crate::http::api::ApiError::new(crate::http::api::ErrorCode::RateLimited, message)
                    .into_response()
            }
            Kind::SignIn | Kind::Decision | Kind::Export => {
                (StatusCode::TOO_MANY_REQUESTS, message).into_response()
            }
        };
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait_seconds));
        response
    }
}

/// How many requests pass between sweeps of clients whose allowance is full again.
const SWEEP_EVERY: u64 = 4096;

#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Limiters>,
}

struct Limiters {
    sign_in: Option<DefaultKeyedRateLimiter<IpAddr>>,
    decisions: Option<DefaultKeyedRateLimiter<IpAddr>>,
    api: Option<DefaultKeyedRateLimiter<IpAddr>>,
    exports: Option<DefaultKeyedRateLimiter<IpAddr>>,
    trusted_proxies: Vec<IpNet>,
    seen: AtomicU64,
}

impl RateLimiter {
    /// A client may send a minute's worth at once, then one more every `60 / n` seconds.
    pub fn new(limits: &RateLimits) -> Self {
        let keyed = |per_minute: Option<NonZeroU32>| {
            per_minute.map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)))
        };
        Self {
            inner: Arc::new(Limiters {
                sign_in: keyed(limits.sign_in_per_minute),
                decisions: keyed(limits.decisions_per_minute),
                api: keyed(limits.api_per_minute),
                exports: keyed(limits.exports_per_minute),
                trusted_proxies: limits.trusted_proxies.clone(),
                seen: AtomicU64::new(0),
            }),
        }
    }

    /// The seconds to wait when the request is over its limit.
    fn wait(&self, kind: Kind, client: IpAddr) -> Option<u64> {
        let limits = &self.inner;
        let limiter = match kind {
            Kind::SignIn => limits.sign_in.as_ref(),
            Kind::Decision => limits.decisions.as_ref(),
            Kind::Api => limits.api.as_ref(),
            Kind::Export => limits.exports.as_ref(),
        }?;
        if limits.seen.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            for limiter in [
                &limits.sign_in,
                &limits.decisions,
                &limits.api,
                &limits.exports,
            ]
            .into_iter()
            .flatten()
            {
                limiter.retain_recent();
            }
        }
        limiter.check_key(&client).err().map(|not_until| {
            // The limiter's own clock: a new one calibrates itself first, which made a
            // refusal cost more than the request it refused.
            let wait = not_until.wait_time_from(limiter.clock().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// Who sent the request, as far as this replica can tell.
    fn client(&self, request: &Request) -> IpAddr {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip().to_canonical())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let trusted = |ip: &IpAddr| self.inner.trusted_proxies.iter().any(|n| n.contains(ip));
        let mut client = peer;
        if trusted(&peer) {
            // Each proxy appends the address it received from; the nearest untrusted one is
            // the client, and anything left of it could have been written by the client.
            let hops = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .map(|hop| hop.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()))
                .collect::<Vec<_>>();
            for hop in hops.into_iter().rev() {
                match hop {
                    Ok(ip) if trusted(&ip) => client = ip,
                    Ok(ip) => {
                        client = ip;
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        per_network(client)
    }
}

/// IPv6 clients by their /64, the smallest network one host is routinely given.
fn per_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

/// One kind of limit, as a layer on the area it protects (`middleware::from_fn_with_state`
/// with [`limit`]): every route of the area counts, a route added later included.
#[derive(Clone)]
pub struct Limit {
    limiter: RateLimiter,
    kind: Kind,
}

impl RateLimiter {
    /// For the `/auth` area.
    pub fn sign_in(&self) -> Limit {
        self.limit(Kind::SignIn)
    }

    /// For `/api/v1`.
    pub fn api(&self) -> Limit {
        self.limit(Kind::Api)
    }

    /// For the history exports (`/models/{group}/export/{file}`).
    pub fn exports(&self) -> Limit {
        self.limit(Kind::Export)
    }

    fn limit(&self, kind: Kind) -> Limit {
        Limit {
            limiter: self.clone(),
            kind,
        }
    }

    /// 429 when `request` is over its limit of `kind`.
    fn refuse(&self, kind: Kind, request: &Request) -> Option<Response> {
        let client = self.client(request);
        let wait_seconds = self.wait(kind, client)?;
        tracing::warn!(%client, ?kind, wait_seconds, "rate limited");
        Some(kind.refusal(wait_seconds))
    }
}

/// Counts every request of the area it is layered on.
pub async fn limit(State(limit): State<Limit>, request: Request, next: Next) -> Response {
    match limit.limiter.refuse(limit.kind, &request) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    }
}

/// Counts the decisions: server functions are served beside the pages, so this layer is on
/// the whole router and counts only the posts to [`countersign_app::pages::WRITING_ENDPOINTS`].
pub async fn limit_decisions(
    State(limiter): State<RateLimiter>,
    request: Request,
    next: Next,
) -> Response {
    if Kind::is_decision(request.method(), request.uri().path()) {
        if let Some(refusal) = limiter.refuse(Kind::Decision, &request) {
            return refusal;
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests;
