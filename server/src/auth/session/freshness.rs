//! Keeping sessions honest on every request: revocations read from the store (at most
//! `COUNTERSIGN_REVOCATION_CHECK_SECONDS` old), idle sessions ended, stale groups refreshed
//! at the provider, and a session's expiry renewed as it is used.

use super::*;

/// How often a page load renews the idle timeout (each renewal sets a cookie).
pub(super) const SEEN_RENEWAL: Duration = Duration::minutes(5);

/// What this replica knows of the store's revocations, refreshed at most every `interval`.
pub(super) struct RevocationView {
    pub(super) store: Option<Arc<dyn SessionRevocations>>,
    interval: std::time::Duration,
    known: std::sync::RwLock<HashMap<Revoked, OffsetDateTime>>,
    /// When the view was last read from the store; one request at a time refreshes it.
    refreshed: tokio::sync::Mutex<Option<std::time::Instant>>,
    /// When the store last answered (this replica's start until it first does), and how
    /// many refreshes have failed since.
    last_read: std::sync::Mutex<(OffsetDateTime, u32)>,
}

/// Refreshes that may fail in a row before sessions begun before the last good read are
/// refused: a revocation this replica cannot see must not leave a session working.
const FAILED_READS_TOLERATED: u32 = 2;

impl RevocationView {
    pub(super) fn new(
        store: Option<Arc<dyn SessionRevocations>>,
        interval: std::time::Duration,
    ) -> Self {
        Self {
            store,
            interval,
            known: Default::default(),
            refreshed: Default::default(),
            last_read: std::sync::Mutex::new((OffsetDateTime::now_utc(), 0)),
        }
    }

    /// While the store cannot be read (more than [`FAILED_READS_TOLERATED`] refreshes in a
    /// row), the moment it last could: sessions begun before it are refused, as if everyone
    /// had been revoked then. Signing in again makes a session this replica trusts.
    pub(super) fn doubted_before(&self) -> Option<OffsetDateTime> {
        self.store.as_ref()?;
        let (at, failed) = *self.last_read.lock().unwrap_or_else(|p| p.into_inner());
        (failed > FAILED_READS_TOLERATED).then_some(at)
    }

    pub(super) fn revoked_before(&self, whose: &Revoked) -> Option<OffsetDateTime> {
        self.known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(whose)
            .copied()
    }

    pub(super) fn remember(&self, revocation: &Revocation) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        let at = known
            .entry(revocation.whose.clone())
            .or_insert(revocation.issued_before);
        *at = (*at).max(revocation.issued_before);
    }

    pub(super) async fn refresh_if_stale(&self) {
        let Some(store) = &self.store else { return };
        // Another request is refreshing: this one goes on with what is known.
        let Ok(mut refreshed) = self.refreshed.try_lock() else {
            return;
        };
        if refreshed.is_some_and(|at| at.elapsed() < self.interval) {
            return;
        }
        let read_at = OffsetDateTime::now_utc();
        match store.revocations().await {
            Ok(all) => {
                all.iter().for_each(|r| self.remember(r));
                *refreshed = Some(std::time::Instant::now());
                *self.last_read.lock().unwrap_or_else(|p| p.into_inner()) = (read_at, 0);
            }
            Err(e) => {
                let mut last_read = self.last_read.lock().unwrap_or_else(|p| p.into_inner());
                last_read.1 += 1;
                if last_read.1 > FAILED_READS_TOLERATED {
                    tracing::error!(error = %e, since = %last_read.0, "cannot read session revocations; refusing sessions begun before the last good read");
                } else {
                    tracing::warn!(error = %e, "cannot read session revocations; using those known");
                }
            }
        }
    }
}

/// Keeps sessions fresh around each request: revocations are read again when this
/// replica's view is older than the interval, a page load with groups older than allowed
/// goes through the identity provider again (back to the same page), and a session last
/// renewed more than a few minutes ago gets its idle timeout renewed.
pub async fn keep_sessions_fresh(
    State(sessions): State<Sessions>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    sessions.revocations.refresh_if_stale().await;
    let claims = sessions.claims(request.headers());
    if let Some(claims) = &claims {
        let page_load = request.method() == axum::http::Method::GET
            && request
                .headers()
                .get(axum::http::header::ACCEPT)
                .and_then(|a| a.to_str().ok())
                .is_some_and(|a| a.contains("text/html"))
            && ![routes::auth::PREFIX, "/api/", "/pkg/", "/rpc/"]
                .iter()
                .any(|p| request.uri().path().starts_with(p));
        if page_load && sessions.groups_stale(claims) {
            let here = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let return_to: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            return Redirect::to(&format!("{}?return_to={return_to}", routes::auth::LOGIN))
                .into_response();
        }
    }
    let mut response = next.run(request).await;
    let now = unix_millis(OffsetDateTime::now_utc());
    let handler_set_it = response
        .headers()
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .any(|c| c.to_str().is_ok_and(|c| c.contains(SESSION_COOKIE)));
    if let Some(mut claims) = claims.filter(|c| now - c.seen_ms > millis_of(SEEN_RENEWAL)) {
        if !handler_set_it {
            claims.seen_ms = now;
            let renewed = sessions
                .cookie_jar(&HeaderMap::new())
                .add(sessions.claims_cookie(&claims))
                .into_response();
            for cookie in renewed.headers().get_all(axum::http::header::SET_COOKIE) {
                response
                    .headers_mut()
                    .append(axum::http::header::SET_COOKIE, cookie.clone());
            }
        }
    }
    response
}
