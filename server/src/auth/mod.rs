//! People signing in to the portal: sessions (`session`), the development sign-in beside
//! them, and the identity provider (`oidc`).

pub mod oidc;
pub mod session;
mod settings;
pub mod signing;

pub use settings::{SessionConfig, SessionSettings, SignInConfig};

use crate::backend::Backing;
use crate::http::rate_limit::{self, RateLimiter};
use crate::startup::StartupError;
use axum::routing::{get, post};
use axum::Router;
use countersign_app::routes::auth as paths;
use countersign_domain::Policy;
use oidc::Oidc;
use secrecy::ExposeSecret;
use session::Sessions;
use signing::SigningDesk;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Sessions for a portal at `public_url` whose people are told apart and allowed by `policy`.
pub async fn sessions(
    config: &SignInConfig,
    public_url: &str,
    policy: &Policy,
    backing: &Backing,
) -> Result<Sessions, StartupError> {
    let session = &config.session;
    let key = match &session.key {
        Some(key) => key.expose_secret().to_owned(),
        None => {
            let generated = AtomicBool::new(false);
            let generate = || {
                generated.store(true, Ordering::Relaxed);
                Sessions::generate_key()
            };
            let key = backing
                .kept_setting("session_key", generate)
                .await
                .map_err(StartupError::cannot("keep a session key in the store"))?;
            if generated.into_inner() {
                crate::backend::record_key_generated(&backing.services, "session key", None)
                    .await?;
            }
            key
        }
    };
    let identities = if config.dev_sign_in {
        session::demo_identities(policy)
    } else {
        Vec::new()
    };
    Sessions::new(
        &key,
        session.hours,
        crate::settings::is_https(public_url),
        session::Deployment::new(public_url, config.oidc.as_ref().map(|o| o.issuer.as_str())),
        policy,
        identities,
    )
    .map(|sessions| {
        sessions
            .with_revocations(backing.revocations.clone(), session.revocation_check)
            .with_sign_ins(backing.sign_ins.clone())
            .with_system_trail(backing.services.clone())
            .with_freshness(
                session.idle,
                config.oidc.as_ref().map(|_| session.groups_refresh),
            )
    })
    .map_err(StartupError::cannot("use the session key"))
}

/// How people sign in: sessions, and the identity provider when one is configured.
pub struct SignIn {
    pub sessions: Sessions,
    pub oidc: Option<Arc<Oidc>>,
}

/// Sets up sign-in; with an OIDC issuer configured, discovers the provider first.
pub async fn sign_in(
    config: &SignInConfig,
    public_url: &str,
    policy: &Policy,
    backing: &Backing,
) -> Result<SignIn, StartupError> {
    let sessions = sessions(config, public_url, policy, backing).await?;
    let Some(oidc_config) = &config.oidc else {
        return Ok(SignIn {
            sessions,
            oidc: None,
        });
    };
    // The provider may still be starting (or briefly unreachable) when we do: retry for a
    // few seconds before giving up, so replicas starting together with it come up.
    let mut attempt = 1;
    let (oidc, end_session) = loop {
        match Oidc::discover(oidc_config, public_url, sessions.clone()).await {
            Ok(found) => break found,
            Err(e) if attempt < 6 => {
                tracing::warn!(attempt, error = %e, "identity provider not reachable yet; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(250 << attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(StartupError::new("discover the identity provider", e)),
        }
    };
    let sessions = match end_session {
        Some(url) => sessions.with_sign_out_redirect(url),
        None => sessions,
    };
    Ok(SignIn {
        sessions,
        oidc: Some(Arc::new(oidc)),
    })
}

/// The `/auth` area: signing in (at the provider, or as a demo identity where the
/// development sign-in is on), signing again before a signature, and signing out. Every
/// route but signing out counts against the sign-in rate limit, a route added here too.
pub fn router(
    sign_in: &SignIn,
    dev_sign_in: bool,
    portal: countersign_app::context::Portal,
    limiter: &RateLimiter,
) -> Router {
    let signing = SigningDesk {
        portal,
        sessions: sign_in.sessions.clone(),
        oidc: sign_in.oidc.clone(),
    };
    let mut counted = Router::new()
        .route(
            paths::REAUTHENTICATE,
            post(signing::reauthenticate).with_state(signing.clone()),
        )
        .route(
            paths::SIGNING_COMPLETE,
            get(signing::back_from_sign_in)
                .post(signing::complete)
                .with_state(signing),
        );
    if let Some(provider) = &sign_in.oidc {
        counted = counted
            .route(paths::LOGIN, get(oidc::login).with_state(provider.clone()))
            .route(
                paths::CALLBACK,
                get(oidc::callback).with_state(provider.clone()),
            );
    }
    if dev_sign_in {
        counted = counted.route(
            paths::DEV_SIGN_IN,
            post(session::dev_sign_in).with_state(sign_in.sessions.clone()),
        );
    }
    counted
        .route_layer(axum::middleware::from_fn_with_state(
            limiter.sign_in(),
            rate_limit::limit,
        ))
        .route(
            paths::SIGN_OUT,
            post(session::sign_out).with_state(sign_in.sessions.clone()),
        )
}

/// A page of its own for the end of a trip to the identity provider that could not finish
/// (a sign-in or a signature): a title, what we wrote ourselves (never internals) and one
/// way on.
pub fn plain_page(
    status: axum::http::StatusCode,
    title: &str,
    message: &str,
    (href, link): (&str, &str),
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Countersign</title>\
         <link rel=\"stylesheet\" href=\"/pkg/countersign.css\"></head><body><main>\
         <section class=\"panel error-panel\" role=\"alert\"><h1>{title}</h1><p>{message}</p>\
         <p><a class=\"button\" href=\"{href}\">{link}</a></p></section></main></body></html>",
        title = escape(title),
        message = escape(message),
        href = escape(href),
        link = escape(link),
    );
    (status, axum::response::Html(page)).into_response()
}

/// `text` safe inside HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
