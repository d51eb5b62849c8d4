//! Sessions and the development sign-in.
//!
//! A session is an encrypted, authenticated cookie (axum-extra's private cookie jar) holding
//! the person and the groups the policy looks at, never a token: the identity provider's
//! evidence of the sign-in (its ID token and key) is kept in the store, and the cookie names
//! it by a random id, for the signatures that rest on that sign-in. Any replica with the same
//! key reads it, and it survives restarts, so the server keeps no session state. The key
//! comes from `COUNTERSIGN_SESSION_KEY`, or is generated once and kept in the store.
//!
//! A cookie is bound to the deployment that made it: the public URL and the identity
//! provider (or "development") are sealed inside and checked on every request, so a cookie
//! minted by another deployment that shares the key (a laptop pointed at the same store, a
//! staging portal) is nobody here. With an https public URL the cookies carry the
//! `__Host-` prefix, so a sibling subdomain cannot plant one.
//!
//! A session ends after `COUNTERSIGN_SESSION_IDLE_MINUTES` without a request; a page load
//! renews that at most every few minutes. With an identity provider, the groups in a
//! session are at most `COUNTERSIGN_GROUPS_REFRESH_MINUTES` old: after that, a page load
//! goes through the provider again (silently while its own session lasts) for fresh groups,
//! and nothing else is allowed on the old ones.
//!
//! Signing out, or an operator's `countersign sessions revoke`, records in the store that a
//! person's sessions issued until then no longer count; every replica reads those records
//! at most `COUNTERSIGN_REVOCATION_CHECK_SECONDS` apart (the replica that signed someone
//! out knows at once), so a copied cookie stops working everywhere.

use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar, SameSite};
use base64::Engine;
use countersign_app::context::Authenticator;
use countersign_app::routes;
use countersign_app::wire::{SignInChoice, SignInMethod};
use countersign_domain::ports::{PortError, Revocation, Revoked, SessionRevocations, SignIns};
use countersign_domain::signature::PendingSignature;
use countersign_domain::signature::{Authentication, IdentityEvidence};
use countersign_domain::{Actor, Environments, Person, Policy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::collections::HashMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

mod dev_sign_in;
mod freshness;
mod pending;
mod system_trail;
pub use dev_sign_in::{demo_identities, dev_sign_in, DemoIdentity};
pub use freshness::keep_sessions_fresh;
use freshness::RevocationView;
pub use system_trail::SignedInThrough;

pub const SESSION_COOKIE: &str = "countersign_session";
/// A decision chosen and not yet signed (see `countersign_domain::signature::PendingSignature`).
const PENDING_SIGNATURE_COOKIE: &str = "countersign_signing";

/// What the session cookie holds (encrypted).
#[derive(Serialize, Deserialize)]
struct SessionClaims {
    sub: String,
    name: String,
    email: String,
    groups: BTreeSet<String>,
    /// The deployment the session belongs to (see [`Deployment`]).
    aud: String,
    /// When the session began, in Unix milliseconds (revocations end sessions begun before
    /// them; with an identity provider, its groups are this old).
    iat_ms: i64,
    /// When the person was last seen, in Unix milliseconds (the idle timeout).
    #[serde(default)]
    seen_ms: i64,
    /// Unix seconds.
    exp: i64,
    /// How the person last authenticated (`auth_time`, `acr`, `amr`, `acrs`), for
    /// signatures; absent in sessions from before it was kept.
    #[serde(default)]
    authentication: Authentication,
    /// The id the identity provider's evidence of this sign-in is kept under; absent with
    /// the development sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_in: Option<String>,
}

/// Who a session is valid at: the portal's public URL and where its people sign in (the
/// OIDC issuer, or the development sign-in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment(String);

impl Deployment {
    pub fn new(public_url: &str, oidc_issuer: Option<&str>) -> Self {
        Self(format!(
            "{} signed in by {}",
            public_url.trim_end_matches('/'),
            oidc_issuer.unwrap_or("the development sign-in")
        ))
    }
}

#[derive(Clone)]
pub struct Sessions {
    key: Key,
    lifetime: Duration,
    secure: bool,
    deployment: Deployment,
    /// The groups any rule looks at (approver and viewer groups); a session keeps only
    /// these, so a person in hundreds of directory groups still fits in one cookie.
    relevant_groups: Arc<BTreeSet<String>>,
    /// The environments the policy knows: a pending signature naming another (sealed before
    /// the configuration changed) is not read back.
    environments: Arc<Environments>,
    dev_identities: Arc<Vec<DemoIdentity>>,
    /// Where sign-out sends the browser: home, or the identity provider's end-session
    /// endpoint so the provider's session ends too.
    after_sign_out: Arc<str>,
    revocations: Arc<RevocationView>,
    idle_timeout: Duration,
    /// How old a session's groups may be; `None` with the development sign-in, whose
    /// groups come from configuration.
    groups_max_age: Option<Duration>,
    /// Where each sign-in's evidence is kept; `None` with the development sign-in.
    sign_ins: Option<Arc<dyn SignIns>>,
    /// Where sign-ins, sign-outs and failed sign-ins are kept: the portal's own trail.
    system_trail: Option<countersign_domain::service::Services>,
}

#[derive(Debug, thiserror::Error)]
#[error("COUNTERSIGN_SESSION_KEY must be base64 of at least 64 random bytes (e.g. `openssl rand -base64 64`)")]
pub struct BadSessionKey;

impl Sessions {
    pub fn new(
        key_base64: &str,
        lifetime_hours: u32,
        secure: bool,
        deployment: Deployment,
        policy: &Policy,
        dev_identities: Vec<DemoIdentity>,
    ) -> Result<Self, BadSessionKey> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key_base64.trim())
            .map_err(|_| BadSessionKey)?;
        let key = Key::try_from(bytes.as_slice()).map_err(|_| BadSessionKey)?;
        Ok(Self {
            key,
            lifetime: Duration::hours(i64::from(lifetime_hours)),
            secure,
            deployment,
            relevant_groups: Arc::new(policy.groups_in_use().map(str::to_owned).collect()),
            environments: Arc::new(policy.environments().clone()),
            dev_identities: Arc::new(dev_identities),
            after_sign_out: Arc::from("/"),
            revocations: Arc::new(RevocationView::new(None, std::time::Duration::ZERO)),
            idle_timeout: Duration::hours(i64::from(lifetime_hours)),
            groups_max_age: None,
            sign_ins: None,
            system_trail: None,
        })
    }

    /// Keeps each sign-in's evidence from the identity provider in `store`.
    pub fn with_sign_ins(mut self, store: Arc<dyn SignIns>) -> Self {
        self.sign_ins = Some(store);
        self
    }

    /// Keeps `evidence` of a sign-in for as long as a session begun now lasts; the id it is
    /// kept under, or `None` (logged) if the store could not keep it: that session then
    /// signs nothing.
    pub async fn keep_sign_in(&self, evidence: &IdentityEvidence) -> Option<String> {
        let store = self.sign_ins.as_ref()?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let until = OffsetDateTime::now_utc() + self.lifetime;
        match store.keep_sign_in(&id, evidence, until).await {
            Ok(()) => Some(id),
            Err(error) => {
                tracing::error!(%error, "the identity provider's evidence of a sign-in could not be kept; that session cannot sign");
                None
            }
        }
    }

    /// Ends sessions idle for `idle`, and (with an identity provider) sends people back to
    /// it when their groups are older than `groups_max_age`.
    pub fn with_freshness(mut self, idle: Duration, groups_max_age: Option<Duration>) -> Self {
        self.idle_timeout = idle;
        self.groups_max_age = groups_max_age;
        self
    }

    /// Keeps revocations in `store`, shared with every replica, and reads them again at
    /// most every `interval`.
    pub fn with_revocations(
        mut self,
        store: Arc<dyn SessionRevocations>,
        interval: std::time::Duration,
    ) -> Self {
        self.revocations = Arc::new(RevocationView::new(Some(store), interval));
        self
    }

    /// Ends the sessions `whose` began until now, on every replica.
    pub async fn revoke(&self, whose: Revoked) -> Result<(), PortError> {
        let revocation = Revocation {
            whose,
            issued_before: OffsetDateTime::now_utc(),
        };
        self.revocations.remember(&revocation);
        match &self.revocations.store {
            Some(store) => store.revoke(&revocation).await,
            None => Ok(()),
        }
    }

    pub fn with_sign_out_redirect(mut self, url: String) -> Self {
        self.after_sign_out = Arc::from(url);
        self
    }

    /// Key material every replica shares, for other signatures than the session cookie's
    /// (each use separates itself with a label of its own).
    pub fn shared_signing_key(&self) -> &[u8] {
        self.key.signing()
    }

    pub fn generate_key() -> String {
        base64::engine::general_purpose::STANDARD.encode(Key::generate().master())
    }

    pub fn cookie_jar(&self, headers: &HeaderMap) -> PrivateCookieJar {
        PrivateCookieJar::from_headers(headers, self.key.clone())
    }

    fn session_cookie(&self, value: String, max_age: Duration) -> Cookie<'static> {
        self.sealed_cookie(SESSION_COOKIE, value, max_age)
    }

    /// The cookie's name on the wire: `__Host-` prefixed over https, which browsers accept
    /// only from this exact host, with `Secure` and `Path=/`.
    fn wire_name(&self, name: &str) -> String {
        if self.secure {
            format!("__Host-{name}")
        } else {
            name.to_owned()
        }
    }

    fn sealed_cookie(
        &self,
        name: &'static str,
        value: String,
        max_age: Duration,
    ) -> Cookie<'static> {
        Cookie::build((self.wire_name(name), value))
            .path("/")
            .http_only(true)
            // Lax, not Strict: Strict would drop the session on the way back from an
            // identity provider or when following a link from an e-mail.
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(max_age)
            .build()
    }

    /// A jar that stores `value` encrypted in the cookie `name` for `max_age`.
    pub fn seal(
        &self,
        headers: &HeaderMap,
        name: &'static str,
        value: String,
        max_age: Duration,
    ) -> PrivateCookieJar {
        self.cookie_jar(headers)
            .add(self.sealed_cookie(name, value, max_age))
    }

    /// The decrypted value of the cookie `name`, if it is there and was sealed with our key.
    pub fn open(&self, headers: &HeaderMap, name: &str) -> Option<String> {
        self.cookie_jar(headers)
            .get(&self.wire_name(name))
            .map(|c| c.value().to_owned())
    }

    /// Removes the cookie `name` from `jar`.
    pub fn unseal(&self, jar: PrivateCookieJar, name: &'static str) -> PrivateCookieJar {
        jar.remove(self.sealed_cookie(name, String::new(), Duration::ZERO))
    }

    /// A jar that sets a session for `actor`, who has just authenticated.
    pub fn start(&self, headers: &HeaderMap, actor: &Actor) -> PrivateCookieJar {
        let now = Authentication::at(OffsetDateTime::now_utc());
        self.start_in(self.cookie_jar(headers), actor, now, None)
    }

    /// Adds a session for `actor`, who authenticated as `authentication` says, to `jar`;
    /// `sign_in` names the provider's evidence of it (see [`Sessions::keep_sign_in`]).
    pub fn start_in(
        &self,
        jar: PrivateCookieJar,
        actor: &Actor,
        authentication: Authentication,
        sign_in: Option<String>,
    ) -> PrivateCookieJar {
        let now = OffsetDateTime::now_utc();
        let claims = SessionClaims {
            sub: actor.person.subject.clone(),
            name: actor.person.name.clone(),
            email: actor.person.email.clone(),
            groups: actor
                .groups
                .intersection(&self.relevant_groups)
                .cloned()
                .collect(),
            aud: self.deployment.0.clone(),
            iat_ms: unix_millis(now),
            seen_ms: unix_millis(now),
            exp: (now + self.lifetime).unix_timestamp(),
            authentication,
            sign_in,
        };
        jar.add(self.claims_cookie(&claims))
    }

    fn claims_cookie(&self, claims: &SessionClaims) -> Cookie<'static> {
        let value = serde_json::to_string(claims).expect("claims serialize");
        let left = claims.exp - OffsetDateTime::now_utc().unix_timestamp();
        self.session_cookie(value, Duration::seconds(left.max(0)))
    }

    /// The session's claims, if the cookie holds one that is valid here now: this
    /// deployment's, not expired, not idle too long, not revoked.
    fn claims(&self, headers: &HeaderMap) -> Option<SessionClaims> {
        let claims: SessionClaims =
            serde_json::from_str(&self.open(headers, SESSION_COOKIE)?).ok()?;
        let now = OffsetDateTime::now_utc();
        if claims.exp <= now.unix_timestamp()
            || claims.aud != self.deployment.0
            || unix_millis(now) - claims.seen_ms > millis_of(self.idle_timeout)
        {
            return None;
        }
        let revoked = [Revoked::Person(claims.sub.clone()), Revoked::Everyone]
            .iter()
            .filter_map(|whose| self.revocations.revoked_before(whose))
            .chain(self.revocations.doubted_before())
            .any(|at| claims.iat_ms <= unix_millis(at));
        (!revoked).then_some(claims)
    }

    /// Whether the groups in a session are too old to decide anything with.
    fn groups_stale(&self, claims: &SessionClaims) -> bool {
        self.groups_max_age.is_some_and(|max| {
            unix_millis(OffsetDateTime::now_utc()) - claims.iat_ms > millis_of(max)
        })
    }

    fn end(&self, headers: &HeaderMap) -> PrivateCookieJar {
        self.cookie_jar(headers)
            .remove(self.session_cookie(String::new(), Duration::ZERO))
    }
}

impl Authenticator for Sessions {
    fn actor(&self, headers: &HeaderMap) -> Option<Actor> {
        let claims = self.claims(headers)?;
        if self.groups_stale(&claims) {
            return None;
        }
        Some(Actor {
            person: Person {
                subject: claims.sub,
                name: claims.name,
                email: claims.email,
            },
            groups: claims.groups,
        })
    }

    fn authentication(&self, headers: &HeaderMap) -> Option<Authentication> {
        let claims = self.claims(headers)?;
        (!self.groups_stale(&claims)).then_some(claims.authentication)
    }

    fn identity_evidence<'a>(
        &'a self,
        headers: &'a HeaderMap,
    ) -> futures::future::BoxFuture<'a, Option<IdentityEvidence>> {
        Box::pin(async move {
            let claims = self.claims(headers).filter(|c| !self.groups_stale(c))?;
            let (store, id) = (self.sign_ins.as_ref()?, claims.sign_in?);
            match store.sign_in(&id, OffsetDateTime::now_utc()).await {
                Ok(evidence) => evidence,
                Err(error) => {
                    tracing::error!(%error, "the identity provider's evidence of a sign-in could not be read");
                    None
                }
            }
        })
    }

    fn keep_pending_signature(&self, pending: &PendingSignature) -> HeaderValue {
        self.keep_pending(pending, None)
    }

    fn pending_signature(&self, headers: &HeaderMap) -> Option<PendingSignature> {
        self.kept_pending(headers).map(|(pending, _)| pending)
    }

    fn drop_pending_signature(&self) -> HeaderValue {
        self.forget_pending()
    }

    fn sign_in_method(&self) -> SignInMethod {
        if self.dev_identities.is_empty() {
            return SignInMethod::SingleSignOn;
        }
        SignInMethod::Development {
            choices: self
                .dev_identities
                .iter()
                .map(|d| SignInChoice {
                    subject: d.actor.person.subject.clone(),
                    name: d.actor.person.name.clone(),
                    description: d.description.to_owned(),
                })
                .collect(),
        }
    }
}

/// Only a same-site path is a place to return to; anything else (another host, a scheme,
/// `//host`, a backslash trick) returns home, so sign-in is never an open redirect.
pub fn safe_return_path(candidate: &str) -> &str {
    let is_local_path = candidate.starts_with('/')
        && !candidate.starts_with("//")
        && !candidate.starts_with("/\\")
        && !candidate.contains(['\\', '\r', '\n', '\t'])
        && !candidate.contains("://");
    if is_local_path {
        candidate
    } else {
        "/"
    }
}

/// `POST /auth/sign-out`: ends the person's sessions everywhere (a copy of the cookie stops
/// working too), then their session at the identity provider.
pub async fn sign_out(State(sessions): State<Sessions>, headers: HeaderMap) -> Response {
    if let Some(actor) = sessions.actor(&headers) {
        if let Err(e) = sessions
            .revoke(Revoked::Person(actor.person.subject.clone()))
            .await
        {
            tracing::error!(error = %e, "sign-out could not be recorded; the session cookie is only removed from this browser");
        }
        sessions.signed_out(&actor.person).await;
    }
    let mut response = (
        sessions.end(&headers),
        Redirect::to(&sessions.after_sign_out),
    )
        .into_response();
    // A signature left waiting is not signed by whoever signs in next in this browser.
    response
        .headers_mut()
        .append(axum::http::header::SET_COOKIE, sessions.forget_pending());
    response
}

fn unix_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn millis_of(d: Duration) -> i64 {
    d.whole_milliseconds() as i64
}

#[cfg(test)]
mod tests;
