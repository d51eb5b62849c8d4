//! Building the running system from configuration.

use crate::api::{self, ApiState};
use crate::config::{Backend, Config};
use crate::cross_site::{refuse_cross_site, OwnOrigin};
use crate::notify::{Delivery, MailNotices, OutboxOnly, Smtp, Transport};
use crate::oidc::{self, Oidc};
use crate::session::{self, Sessions};
use axum::routing::{get, post};
use axum::Router;
use countersign_app::server_fns::ssr::{NotificationDesk, Portal};
use countersign_app::{shell, App};
use countersign_aws::{AwsBackend, AwsSettings};
use countersign_domain::ports::{IdGenerator, Outbox, SessionRevocations};
use countersign_domain::service::Services;
use countersign_local_store::LocalStore;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use secrecy::ExposeSecret;
use std::sync::Arc;
use tokio::sync::Notify;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// The opened backend: the domain services, the outbox their notices go to, and where the
/// server keeps its own settings.
pub struct Backing {
    pub services: Services,
    pub outbox: Arc<dyn Outbox>,
    /// Wakes the delivery worker when a message is queued.
    pub wake: Arc<Notify>,
    /// Whose sign-ins no longer count, shared by every replica.
    pub revocations: Arc<dyn SessionRevocations>,
    settings: SettingsKeeper,
}

/// Where a generated setting (the session key) is kept so that it survives restarts and
/// every replica shares it: in the SQLite file, or as an SSM SecureString parameter.
enum SettingsKeeper {
    Local(LocalStore),
    Aws(Arc<AwsBackend>),
}

impl Backing {
    async fn kept_setting(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<String, String> {
        match &self.settings {
            SettingsKeeper::Local(store) => store
                .setting_or_insert(name, generate)
                .map_err(|e| e.to_string()),
            SettingsKeeper::Aws(backend) => backend
                .shared_secret(name, generate)
                .await
                .map_err(|e| e.to_string()),
        }
    }
}

pub async fn open_backend(config: &Config) -> Result<Backing, String> {
    let policy = config.policy.clone();
    let (mut services, outbox, revocations, settings): (
        Services,
        Arc<dyn Outbox>,
        Arc<dyn SessionRevocations>,
        _,
    ) = match config.backend {
        Backend::Local => {
            let store = LocalStore::open(&config.database).map_err(|e| {
                format!(
                    "{e} (COUNTERSIGN_DATABASE is {})",
                    config.database.display()
                )
            })?;
            (
                Services::over(Arc::new(store.clone()), policy, Arc::new(RandomIds)),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                SettingsKeeper::Local(store),
            )
        }
        Backend::Aws => {
            let sdk = countersign_aws::load_sdk_config().await;
            if sdk.region().is_none() {
                return Err(
                    "COUNTERSIGN_BACKEND is aws but no AWS region is configured: set AWS_REGION \
                     (or a profile's region)"
                        .into(),
                );
            }
            let backend = Arc::new(AwsBackend::new(
                &sdk,
                AwsSettings {
                    ssm_prefix: config.ssm_prefix.clone(),
                    environments: config.policy.environments().clone(),
                    identities: config.identity_map.clone(),
                    secrets_kms_key_id: config.session_kms_key_id.clone(),
                },
            ));
            backend
                .prepare_log()
                .await
                .map_err(|e| format!("cannot read or create the decision log key: {e}"))?;
            (
                Services::over(backend.clone(), policy, Arc::new(RandomIds)),
                backend.clone(),
                backend.clone(),
                SettingsKeeper::Aws(backend),
            )
        }
    };
    if let Some(ttl) = config.resolve_cache {
        let cache = Arc::new(crate::resolve_cache::ResolveCache::new(
            services.parameters.clone(),
            services.committer.clone(),
            ttl,
        ));
        services.parameters = cache.clone();
        services.committer = cache;
    }
    let wake = Arc::new(Notify::new());
    services.notices = Arc::new(MailNotices {
        outbox: outbox.clone(),
        clock: services.clock.clone(),
        public_url: config.public_url.clone(),
        notify: config.mail.notify.clone(),
        wake: wake.clone(),
    });
    Ok(Backing {
        services,
        outbox,
        wake,
        revocations,
        settings,
    })
}

/// Starts the background work: mail delivery, and the reconciliation scan when it is on.
pub fn start_background_work(config: &Config, backing: &Backing) -> Result<(), String> {
    let transport: Arc<dyn Transport> = match &config.mail.smtp_url {
        Some(url) => Arc::new(Smtp::new(url.expose_secret(), &config.mail.from)?),
        None => Arc::new(OutboxOnly),
    };
    let delivery = Delivery::new(
        &config.mail,
        backing.outbox.clone(),
        transport,
        backing.services.clock.clone(),
        backing.wake.clone(),
    );
    tokio::spawn(delivery.run());
    if let Some(interval) = config.scan_interval {
        let services = backing.services.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            loop {
                ticks.tick().await;
                match services.reconcile().await {
                    Ok(checked) => tracing::debug!(checked, "reconciliation scan"),
                    Err(e) => {
                        tracing::warn!(error = %e, "reconciliation scan failed; next in {interval:?}")
                    }
                }
            }
        });
    }
    Ok(())
}

struct RandomIds;

impl IdGenerator for RandomIds {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

pub async fn sessions(config: &Config, backing: &Backing) -> Result<Sessions, String> {
    let key = match &config.session_key {
        Some(key) => key.expose_secret().to_owned(),
        None => backing
            .kept_setting("session_key", Sessions::generate_key)
            .await
            .map_err(|e| format!("cannot keep a session key in the store: {e}"))?,
    };
    let identities = if config.dev_sign_in {
        session::demo_identities(&config.policy)
    } else {
        Vec::new()
    };
    Sessions::new(
        &key,
        config.session_hours,
        config.secure_cookies(),
        session::Deployment::new(
            &config.public_url,
            config.oidc.as_ref().map(|o| o.issuer.as_str()),
        ),
        &config.policy,
        identities,
    )
    .map(|sessions| {
        sessions
            .with_revocations(backing.revocations.clone(), config.revocation_check)
            .with_freshness(
                config.session_idle,
                config.oidc.as_ref().map(|_| config.groups_refresh),
            )
    })
    .map_err(|e| e.to_string())
}

/// How people sign in: sessions, and the identity provider when one is configured.
pub struct SignIn {
    pub sessions: Sessions,
    pub oidc: Option<Arc<Oidc>>,
}

/// Sets up sign-in; with an OIDC issuer configured, discovers the provider first.
pub async fn sign_in(config: &Config, backing: &Backing) -> Result<SignIn, String> {
    let sessions = sessions(config, backing).await?;
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
        match Oidc::discover(oidc_config, &config.public_url, sessions.clone()).await {
            Ok(found) => break found,
            Err(e) if attempt < 6 => {
                tracing::warn!(attempt, error = %e, "identity provider not reachable yet; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(250 << attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
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

/// The name cargo-leptos gives the site's JS, WASM and CSS files (`name` in Cargo.toml's
/// `[[workspace.metadata.leptos]]`).
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
    let SignIn {
        sessions,
        oidc: provider,
    } = sign_in;
    let services = backing.services.clone();
    let wake = backing.wake.clone();
    let desk = NotificationDesk {
        outbox: backing.outbox.clone(),
        wake: Arc::new(move || wake.notify_one()),
        outbox_only: config.mail.smtp_url.is_none(),
    };
    let portal = Portal {
        services: services.clone(),
        authenticator: Arc::new(sessions.clone()),
        notifications: desk,
    };
    let provide_portal = move || {
        provide_context(portal.clone());
        if let Some(nonce) = crate::security_headers::nonce_for_page() {
            provide_context(nonce);
        }
    };
    let routes = route_list();
    let api = api::router(ApiState {
        services,
        public_url: config.public_url.clone(),
        events: config.events.clone(),
        auth: Arc::new(crate::api_auth::ApiAuth::new(config.api_access.clone())),
    });

    let mut router = Router::new();
    if let Some(provider) = provider {
        router = router
            .route("/auth/login", get(oidc::login).with_state(provider.clone()))
            .route("/auth/callback", get(oidc::callback).with_state(provider));
    }
    if config.dev_sign_in {
        router = router.route(
            "/auth/dev/sign-in",
            post(session::dev_sign_in).with_state(sessions.clone()),
        );
    }
    let export = crate::history_export::ExportState {
        services: backing.services.clone(),
        authenticator: Arc::new(sessions.clone()),
    };
    router
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/models/{group}/export/{file}",
            get(crate::history_export::export).with_state(export),
        )
        .route(
            "/auth/sign-out",
            post(session::sign_out).with_state(sessions.clone()),
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
        .nest("/api/v1", api)
        .layer(axum::middleware::from_fn_with_state(
            crate::error_links::ErrorLinks::new(sessions.shared_signing_key()),
            crate::error_links::sign_error_links,
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
            crate::rate_limit::RateLimiter::new(&config.rate_limits),
            crate::rate_limit::limit_rates,
        ))
        .layer(axum::middleware::from_fn_with_state(
            crate::host_guard::HostGuard::new(
                &config.public_url,
                &config.extra_hosts,
                config.listen,
                config.dev_sign_in || config.api_access.open,
            ),
            crate::host_guard::guard_host,
        ))
        .layer(axum::middleware::from_fn_with_state(
            crate::security_headers::SecurityHeaders {
                https: config.secure_cookies(),
            },
            crate::security_headers::add_security_headers,
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
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
}
