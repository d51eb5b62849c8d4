//! The headers every answer carries, so that a browser never frames, sniffs, caches or
//! leaks a signed-in page, and runs only the portal's own scripts.
//!
//! The Content-Security-Policy allows scripts from the portal itself, the inline scripts
//! Leptos renders (hydration, resolved resources) by a fresh nonce per answer, and WASM
//! compilation (`'wasm-unsafe-eval'`); never `'unsafe-inline'` scripts. The nonce is made
//! here, put on the request for the page renderer (see [`nonce_for_page`]) and named in the
//! header of the same answer.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;

#[derive(Clone, Copy)]
pub struct SecurityHeaders {
    /// Whether the portal is served over https (HSTS then tells browsers to stay there).
    pub https: bool,
}

/// Adds the headers to every answer.
pub async fn add_security_headers(
    State(settings): State<SecurityHeaders>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    let static_asset = request.uri().path().starts_with("/pkg/");
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if settings.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    // Pages, API answers and exports carry who may see what: no proxy or back button keeps
    // them. The built JS, WASM and CSS are the same for everyone.
    if !static_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// For the page renderer's context: the nonce [`add_security_headers`] named in this
/// answer's policy, so that the inline scripts Leptos renders carry it.
pub fn nonce_for_page() -> Option<Nonce> {
    leptos::prelude::use_context::<http::request::Parts>()?
        .extensions
        .get::<Nonce>()
        .cloned()
}
