//! Refuses state-changing requests that a browser sent on another site's behalf.
//!
//! The session cookie is SameSite=Lax, which already keeps it off cross-site POSTs in
//! current browsers; this is the server's own check, so it holds for older browsers and for
//! same-site subdomains too. Browsers say where a request comes from (`Sec-Fetch-Site`,
//! `Origin`); pipelines and command-line clients send neither and are not affected.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The portal's own origin (`scheme://host[:port]`), from `COUNTERSIGN_PUBLIC_URL`.
#[derive(Clone)]
pub struct OwnOrigin(pub Arc<str>);

impl OwnOrigin {
    pub fn from_public_url(public_url: &str) -> Self {
        let origin = url::Url::parse(public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| public_url.trim_end_matches('/').to_owned());
        Self(Arc::from(origin))
    }
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub async fn refuse_cross_site(
    State(own): State<OwnOrigin>,
    request: Request,
    next: Next,
) -> Response {
    if changes_state(request.method()) {
        let headers = request.headers();
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let foreign_fetch = fetch_site.is_some_and(|site| site != "same-origin" && site != "none");
        let foreign_origin = origin.is_some_and(|origin| origin != &*own.0);
        if foreign_fetch || foreign_origin {
            tracing::warn!(
                path = %request.uri().path(),
                ?fetch_site,
                ?origin,
                "refused a cross-site request"
            );
            return (
                StatusCode::FORBIDDEN,
                "Refused: this request came from another site. Use Countersign's own pages.",
            )
                .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests;
