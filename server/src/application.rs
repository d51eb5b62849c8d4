//! The whole HTTP surface, built from the configuration and the opened backend: the
//! portal's pages and server functions, the pipeline API, sign-in, exports, and the layers
//! every request passes.

use crate::auth::{session, SignIn};
use crate::backend::Backing;
use crate::config::Config;
use crate::http::api::{self, ApiState};
use crate::http::cross_site::{refuse_cross_site, OwnOrigin};
use axum::routing::get;
use axum::Router;
use countersign_app::context::{NotificationDesk, Portal};
use countersign_app::{shell, App};
use countersign_domain::service::Notifications;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// The name of the site's JS, WASM and CSS files (`scripts/site.sh`; cargo-leptos takes it from
/// `name` in Cargo.toml's `[[workspace.metadata.leptos]]`).
pub const SITE_OUTPUT_NAME: &str = "countersign";

/// Where the built site (`pkg/` and the public assets) is served from. Set explicitly, so the
/// binary runs the same whether cargo-leptos started it or not.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(SITE_OUTPUT_NAME)
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .build()
}

/// The portal's routes, generated once per process. Generating them renders the app with
/// resource loading suppressed through a process-wide flag, so a page rendering at that
/// moment in another thread would wait forever (leptos issue #4773); doing it once, before
/// anything is served, rules that out.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The largest request body any route accepts.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The whole HTTP surface.
pub fn router(
    config: &Config,
    backing: &Backing,
    sign_in: SignIn,
    options: LeptosOptions,
) -> Router {
    let sessions = sign_in.sessions.clone();
    let services = backing.services.clone();
    let wake = backing.wake.clone();
    let desk = NotificationDesk {
        notifications: Notifications::new(backing.outbox.clone(), &services),
        wake: Arc::new(move || wake.notify_one()),
        outbox_only: config.mail.smtp_url.is_none(),
    };
    let portal = Portal {
        services: services.clone(),
        authenticator: Arc::new(sessions.clone()),
        notifications: desk,
        audit: backing.audit.clone(),
    };
    let limiter = crate::http::rate_limit::RateLimiter::new(&config.rate_limits);
    let auth = crate::auth::router(
        &sign_in,
        config.sign_in.dev_sign_in,
        portal.clone(),
        &limiter,
    );
    let provide_portal = move || {
        provide_context(portal.clone());
        if let Some(nonce) = crate::http::security_headers::nonce_for_page() {
            provide_context(nonce);
        }
    };
    let routes = route_list();
    let api = api::router(
        ApiState::new(api::ApiParts {
            services,
            public_url: config.public_url.clone(),
            events: config.events.clone(),
            auth: Arc::new(crate::http::api::auth::ApiAuth::new(
                config.api_access.clone(),
            )),
            signature_checks: Arc::new(crate::signature_checks::SignatureChecks::new(
                config.signature_check,
            )),
            audit: backing.audit.clone(),
        }),
        &limiter,
    );

    let export = crate::http::export::ExportState {
        services: backing.services.clone(),
        authenticator: Arc::new(sessions.clone()),
        audit: backing.audit.clone(),
    };
    let pages = Router::new()
        // The built JS, WASM and CSS, with the Brotli (release) and gzip copies the site build
        // writes beside them: compressing the WASM on every page load would cost CPU each time.
        .nest_service(
            "/pkg",
            tower_http::services::ServeDir::new(
                std::path::Path::new(&config.site_root).join(options.site_pkg_dir.as_ref()),
            )
            .precompressed_br()
            .precompressed_gzip(),
        )
        .route(
            "/models/{group}/export/{file}",
            get(crate::http::export::export)
                .with_state(export.clone())
                .layer(axum::middleware::from_fn_with_state(
                    limiter.exports(),
                    crate::http::rate_limit::limit,
                )),
        )
        .route(
            countersign_app::routes::ACCESS_REVIEW_CSV,
            get(crate::http::export::access_review_csv)
                .with_state(export)
                .layer(axum::middleware::from_fn_with_state(
                    limiter.exports(),
                    crate::http::rate_limit::limit,
                )),
        )
        .leptos_routes_with_context(&options, routes, provide_portal.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            provide_portal,
            shell,
        ))
        .with_state(options)
        .merge(auth)
        .layer(axum::middleware::from_fn_with_state(
            crate::http::error_links::ErrorLinks::new(sessions.shared_signing_key()),
            crate::http::error_links::sign_error_links,
        ))
        .layer(axum::middleware::from_fn_with_state(
            sessions,
            session::keep_sessions_fresh,
        ))
        .layer(axum::middleware::from_fn_with_state(
            OwnOrigin::from_public_url(&config.public_url),
            refuse_cross_site,
        ))
        .layer(axum::middleware::from_fn_with_state(
            limiter,
            crate::http::rate_limit::limit_decisions,
        ));
    // The pipeline API and the health check answer to bearer tokens and keys, never to a
    // browser's session: the session, cross-site and decision layers are the pages' alone,
    // and a pipeline's request does not pass through them (each layer costs every request
    // a copy of the router behind it).
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .nest(api::BASE, api)
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(
            crate::http::host_guard::HostGuard::new(
                &config.public_url,
                &config.extra_hosts,
                config.listen,
                config.sign_in.dev_sign_in || config.api_access.open,
            ),
            crate::http::host_guard::guard_host,
        ))
        // Nothing the portal takes is larger (a report is at most 64 KiB): a bigger body is
        // refused with 413 before any handler, authentication included, reads it.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        // A request that takes longer than this (a stuck backend, a client trickling its body)
        // frees its connection; a load balancer in front keeps slow headers out.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        // Outside the limits, so that their 408 and 413 carry the headers too.
        .layer(axum::middleware::from_fn_with_state(
            crate::http::security_headers::SecurityHeaders {
                https: config.secure_cookies(),
            },
            crate::http::security_headers::add_security_headers,
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
}
