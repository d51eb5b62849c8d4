//! Corporate sign-in: the OpenID Connect authorization code flow with PKCE (S256), state and
//! nonce, against the provider named by `COUNTERSIGN_OIDC_ISSUER` (Entra ID, AD FS, ...).
//!
//! The openidconnect crate does discovery, the code exchange and every ID token check
//! (signature against the provider's keys, issuer, audience, expiry, nonce); this module only
//! keeps the flow's secrets in a short-lived encrypted cookie, reads the person's groups from
//! the verified token, and starts a session. The session holds no token: the token as the
//! provider sent it, and the key it verified with, are kept in the store as the sign-in's
//! evidence, for the signatures that rest on it. A sign-in asked for one signature sends a
//! nonce that commits to the record signed (`nonce_commitment`).

use crate::auth::session::{safe_return_path, Sessions, SignedInThrough};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use countersign_domain::identity::normalised_identifier;
use countersign_domain::signature::{authentication_from_claims, Authentication, IdentityEvidence};
use countersign_domain::{Actor, Person};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClient, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AccessTokenHash, AdditionalProviderMetadata, AuthenticationContextClass, AuthorizationCode,
    ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadata, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::Duration;

mod settings;
pub use settings::{OidcConfig, OidcSettings};

const LOGIN_COOKIE: &str = "countersign_login";
/// How long a person has to finish signing in at the provider.
const LOGIN_TIMEOUT: Duration = Duration::minutes(10);

type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The configured provider, discovered at start-up and again when it signs with a key we
/// have not seen (key rotation).
pub struct Oidc {
    client: std::sync::RwLock<DiscoveredClient>,
    http: openidconnect::reqwest::Client,
    config: OidcConfig,
    public_url: String,
    groups_claim: String,
    sessions: Sessions,
}

/// What the login cookie keeps between the redirect to the provider and its answer.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    state: String,
    nonce: String,
    pkce_verifier: String,
    return_to: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum GroupsError {
    /// Entra ID sends `_claim_names.groups` instead of the list when a person is in too many
    /// groups for a token (over 200 in a JWT).
    Overage,
    Malformed,
}

/// Reads the groups from a verified ID token's claims: an array of strings, or a single
/// string (as AD FS sends for one group). A missing claim means no groups, except Entra's
/// overage marker, which must never silently mean "no groups".
pub fn groups_from_claims(claims: &Value, claim: &str) -> Result<BTreeSet<String>, GroupsError> {
    match claims.get(claim) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or(GroupsError::Malformed)
            })
            .collect(),
        Some(Value::String(one)) => Ok(BTreeSet::from([one.clone()])),
        Some(_) => Err(GroupsError::Malformed),
        None if claims
            .get("_claim_names")
            .and_then(|names| names.get(claim).or_else(|| names.get("groups")))
            .is_some() =>
        {
            Err(GroupsError::Overage)
        }
        None => Ok(BTreeSet::new()),
    }
}

/// The payload of a compact JWT whose signature has already been verified.
fn verified_payload(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The part of the discovery document the core metadata type leaves out: where to end the
/// provider's session (RP-initiated logout).
#[derive(Clone, Debug, Deserialize, Serialize)]
struct LogoutMetadata {
    end_session_endpoint: Option<String>,
}

impl AdditionalProviderMetadata for LogoutMetadata {}

type ProviderMetadataWithLogout = ProviderMetadata<
    LogoutMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Reads the provider's discovery document and keys, and builds the client; also returns
/// the end-session URL to send the browser to on sign-out, when the provider has one.
async fn discover_client(
    config: &OidcConfig,
    public_url: &str,
    http: &openidconnect::reqwest::Client,
) -> Result<(DiscoveredClient, Option<String>), String> {
    let issuer = IssuerUrl::new(config.issuer.clone())
        .map_err(|e| format!("COUNTERSIGN_OIDC_ISSUER is not a URL: {e}"))?;
    let metadata = ProviderMetadataWithLogout::discover_async(issuer, http)
        .await
        .map_err(|e| {
            format!(
                "cannot discover the identity provider at {}: {e}",
                config.issuer
            )
        })?;
    let end_session = metadata
        .additional_metadata()
        .end_session_endpoint
        .as_deref()
        .and_then(|endpoint| {
            let mut url = url::Url::parse(endpoint).ok()?;
            url.query_pairs_mut()
                .append_pair("client_id", &config.client_id)
                .append_pair("post_logout_redirect_uri", &format!("{public_url}/"));
            Some(url.to_string())
        });
    let redirect = RedirectUrl::new(format!("{public_url}/auth/callback"))
        .map_err(|e| format!("COUNTERSIGN_PUBLIC_URL does not make a callback URL: {e}"))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(
            config.client_secret.expose_secret().to_owned(),
        )),
    )
    .set_redirect_uri(redirect);
    Ok((client, end_session))
}

impl Oidc {
    fn client(&self) -> DiscoveredClient {
        self.client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Discovers the provider and returns the client, and the provider's end-session
    /// endpoint when it has one.
    pub async fn discover(
        config: &OidcConfig,
        public_url: &str,
        sessions: Sessions,
    ) -> Result<(Self, Option<String>), String> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would open the server to request forgery.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for the identity provider: {e}"))?;
        let (client, end_session) = discover_client(config, public_url, &http).await?;
        Ok((
            Self {
                client: std::sync::RwLock::new(client),
                http,
                config: config.clone(),
                public_url: public_url.to_owned(),
                groups_claim: config.groups_claim.clone(),
                sessions,
            },
            end_session,
        ))
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    return_to: String,
}

/// `GET /auth/login`: sends the browser to the provider.
pub async fn login(
    State(oidc): State<Arc<Oidc>>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    oidc.send_to_provider(&headers, &query.return_to, None)
}

/// What a signature asks of the provider: a sign-in now (`prompt=login`), no older than
/// `max_age`, in an authentication context when the environment needs one, with a nonce
/// that commits to the record signed.
pub struct Reauthentication {
    pub max_age: Duration,
    pub context: Option<String>,
    pub nonce: String,
}

impl Oidc {
    /// Sends the browser to the provider to sign in, then back to `return_to`.
    pub fn send_to_provider(
        &self,
        headers: &HeaderMap,
        return_to: &str,
        again: Option<&Reauthentication>,
    ) -> Response {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let committed = again.map(|again| again.nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                move || committed.map(Nonce::new).unwrap_or_else(Nonce::new_random),
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge);
        if self.groups_claim == "groups" {
            request = request.add_scope(Scope::new("groups".into()));
        }
        if let Some(again) = again {
            request = request.add_prompt(CoreAuthPrompt::Login).set_max_age(
                std::time::Duration::from_secs(again.max_age.whole_seconds().max(0) as u64),
            );
            if let Some(context) = &again.context {
                // `acr_values` for providers that follow OpenID Connect; Entra ID asks for
                // an authentication context through the `claims` parameter.
                let claims = serde_json::json!({
                    "id_token": {"acrs": {"essential": true, "value": context}}
                });
                request = request
                    .add_auth_context_value(AuthenticationContextClass::new(context.clone()))
                    .add_extra_param("claims", claims.to_string());
            }
        }
        let (url, state, nonce) = request.url();
        let pending = PendingLogin {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to: safe_return_path(return_to).to_owned(),
        };
        let value = serde_json::to_string(&pending).expect("pending login serializes");
        let jar = self
            .sessions
            .seal(headers, LOGIN_COOKIE, value, LOGIN_TIMEOUT);
        (jar, Redirect::to(url.as_str())).into_response()
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// A plain page for a sign-in that could not finish; it never shows internals.
fn sign_in_failed(status: StatusCode, title: &str, message: &str) -> Response {
    crate::auth::plain_page(status, title, message, ("/sign-in", "Sign in again"))
}

/// `GET /auth/callback`: the provider's answer. Verifies it, then starts a session.
pub async fn callback(
    State(oidc): State<Arc<Oidc>>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let pending: Option<PendingLogin> = oidc
        .sessions
        .open(&headers, LOGIN_COOKIE)
        .and_then(|v| serde_json::from_str(&v).ok());
    // The login cookie is single-use: a replayed answer finds nothing to complete.
    let jar = oidc
        .sessions
        .unseal(oidc.sessions.cookie_jar(&headers), LOGIN_COOKIE);
    let expired = || {
        sign_in_failed(
            StatusCode::BAD_REQUEST,
            "Sign-in did not complete",
            "This sign-in attempt expired or did not start here. Start again.",
        )
    };
    if let Some(error) = &query.error {
        tracing::warn!(error, description = ?query.error_description, "the identity provider refused the sign-in");
        if pending.is_some() {
            oidc.sessions
                .sign_in_failed(format!(
                    "the identity provider refused it ({})",
                    error_code(error)
                ))
                .await;
        }
        // Anyone can send a browser here with any text: show only what we wrote ourselves.
        let message = match error.as_str() {
            "access_denied" => "The identity provider did not sign you in: access was denied or the sign-in was cancelled.",
            "login_required" | "interaction_required" | "consent_required" => {
                "The identity provider needs you to sign in again. Start again."
            }
            "temporarily_unavailable" | "server_error" => {
                "The identity provider could not sign you in just now. Try again in a moment."
            }
            _ => "The identity provider did not sign you in. If this goes on, tell your administrator what time it happened.",
        };
        return (
            jar,
            sign_in_failed(StatusCode::FORBIDDEN, "Sign-in refused", message),
        )
            .into_response();
    }
    let (Some(pending), Some(code), Some(state)) = (pending, query.code, query.state) else {
        return (jar, expired()).into_response();
    };
    if pending.state != state {
        tracing::warn!("sign-in answer with a state that does not match this browser's");
        oidc.sessions
            .sign_in_failed("the answer's state is not the one this browser was sent with".into())
            .await;
        return (jar, expired()).into_response();
    }
    let failure = match oidc
        .verify(code, pending.pkce_verifier, pending.nonce)
        .await
    {
        Ok((actor, authentication, evidence)) => {
            tracing::info!(subject = %actor.person.subject, groups = actor.groups.len(), auth_time = ?authentication.at, "signed in");
            if let Err(refused) = oidc
                .sessions
                .signed_in(&actor.person, SignedInThrough::IdentityProvider)
                .await
            {
                return (jar, refused).into_response();
            }
            let sign_in = oidc.sessions.keep_sign_in(&evidence).await;
            let jar = oidc.sessions.start_in(jar, &actor, authentication, sign_in);
            return (jar, Redirect::to(&pending.return_to)).into_response();
        }
        Err(failure) => failure,
    };
    oidc.sessions.sign_in_failed(failure.to_string()).await;
    (jar, failed_sign_in(failure)).into_response()
}

/// An OAuth error code as the trail may keep it: anyone can send a browser to the callback
/// with any text, so only a code's shape (RFC 6749 §4.1.2.1) is kept, never free text.
fn error_code(error: &str) -> &str {
    let shaped = (1..=40).contains(&error.len())
        && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if shaped {
        error
    } else {
        "an unrecognised error"
    }
}

/// The page for a provider's answer that signs nobody in.
fn failed_sign_in(failure: SignInError) -> Response {
    match failure {
        SignInError::Overage => {
            tracing::warn!(
                "the identity provider sent a groups overage marker instead of the groups; \
                 assign groups to the application or use app roles"
            );
            let message = "Your account is in more groups than the identity provider puts in a sign-in token, \
                 so Countersign cannot tell whether you may approve. Ask your administrator to assign only the \
                 relevant groups to the Countersign application (\"Groups assigned to the application\" in Entra ID), \
                 or to use app roles (COUNTERSIGN_OIDC_GROUPS_CLAIM=roles).";
            sign_in_failed(
                StatusCode::FORBIDDEN,
                "Your groups could not be read",
                message,
            )
        }
        SignInError::NoIdentity(claim) => {
            tracing::warn!(
                claim,
                "the ID token has no value for the identity claim (COUNTERSIGN_OIDC_IDENTITY_CLAIM)"
            );
            let message = format!(
                "Your identity provider did not send the claim \"{claim}\", which Countersign uses to tell people \
                 apart (so that nobody approves their own model). Ask your administrator to add it to the ID token \
                 (Entra ID: Token configuration, Add optional claim) or to set COUNTERSIGN_OIDC_IDENTITY_CLAIM to a \
                 claim the provider sends, such as oid."
            );
            sign_in_failed(
                StatusCode::FORBIDDEN,
                "Your identity could not be read",
                &message,
            )
        }
        SignInError::NoName => {
            tracing::warn!("the ID token has no name claim, which the GxP profile requires");
            sign_in_failed(
                StatusCode::FORBIDDEN,
                "Your name could not be read",
                "Your identity provider did not send your name (the \"name\" claim), which every signature here shows as its signer's printed name. Ask your administrator to add it to the ID token.",
            )
        }
        SignInError::Rejected(reason) => {
            tracing::warn!(%reason, "the identity provider's answer did not verify");
            sign_in_failed(
                StatusCode::UNAUTHORIZED,
                "Sign-in could not be verified",
                "The identity provider's answer could not be verified, so you are not signed in.",
            )
        }
    }
}

/// Why a provider's answer signs nobody in, as the portal's own trail keeps it.
#[derive(Debug, thiserror::Error)]
enum SignInError {
    #[error("the ID token carried a groups overage marker instead of the groups")]
    Overage,
    /// The token lacks the claim that tells people apart.
    #[error("the ID token has no {0} claim")]
    NoIdentity(String),
    /// The token lacks the person's name, which the GxP profile requires.
    #[error("the ID token has no name claim")]
    NoName,
    #[error("the provider's answer did not verify: {0}")]
    Rejected(String),
}

impl Oidc {
    /// Exchanges the code, verifies the ID token, and reads the person from it; with the
    /// token as sent and the key it verified with, the sign-in's evidence.
    async fn verify(
        &self,
        code: String,
        pkce_verifier: String,
        nonce: String,
    ) -> Result<(Actor, Authentication, IdentityEvidence), SignInError> {
        let rejected = |e: &dyn std::fmt::Display| SignInError::Rejected(e.to_string());
        let client = self.client();
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| rejected(&e))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| rejected(&e))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| SignInError::Rejected("no ID token in the token response".into()))?;
        let nonce = Nonce::new(nonce);
        let refreshed: DiscoveredClient;
        let mut verifier = client.id_token_verifier();
        let claims = match id_token.claims(&verifier, &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // Signed with a key we have not seen: the provider rotated its keys. Fetch
                // them again, once, and check the same token with the new set.
                let (fresh, _) = discover_client(&self.config, &self.public_url, &self.http)
                    .await
                    .map_err(SignInError::Rejected)?;
                tracing::info!("the identity provider's signing keys changed; reloaded them");
                *self.client.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
                refreshed = fresh;
                verifier = refreshed.id_token_verifier();
                id_token
                    .claims(&verifier, &nonce)
                    .map_err(|e| rejected(&e))?
            }
            other => other.map_err(|e| rejected(&e))?,
        };
        let key = id_token.signing_key(&verifier).map_err(|e| rejected(&e))?;
        let evidence = IdentityEvidence {
            id_token: id_token.to_string(),
            key: serde_json::to_value(key).map_err(|e| rejected(&e))?,
            nonce_salt: None,
        };
        if let Some(expected) = claims.access_token_hash() {
            let algorithm = id_token.signing_alg().map_err(|e| rejected(&e))?;
            let actual = AccessTokenHash::from_token(response.access_token(), algorithm, key)
                .map_err(|e| rejected(&e))?;
            if actual != *expected {
                return Err(SignInError::Rejected(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        let payload = verified_payload(&id_token.to_string())
            .ok_or_else(|| SignInError::Rejected("unreadable ID token payload".into()))?;
        let groups = groups_from_claims(&payload, &self.groups_claim).map_err(|e| match e {
            GroupsError::Overage => SignInError::Overage,
            GroupsError::Malformed => SignInError::Rejected(format!(
                "claim {} is not a list of names",
                self.groups_claim
            )),
        })?;
        let email_claim = claims.email().map(|e| e.as_str().to_owned());
        let claim = self.config.identity_claim.as_str();
        let identifier = match claim {
            "sub" => Some(claims.subject().as_str().to_owned()),
            "email" => email_claim.clone(),
            other => payload
                .get(other)
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        let subject = identifier
            .as_deref()
            .and_then(normalised_identifier)
            .ok_or_else(|| SignInError::NoIdentity(claim.to_owned()))?;
        let email = email_claim
            .or_else(|| {
                payload
                    .get("preferred_username")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().trim().to_owned())
            .filter(|n| !n.is_empty());
        if name.is_none() && self.config.require_name {
            return Err(SignInError::NoName);
        }
        let name = name.unwrap_or_else(|| {
            if email.is_empty() {
                subject.clone()
            } else {
                email.clone()
            }
        });
        let actor = Actor {
            person: Person {
                subject,
                name,
                email,
            },
            groups,
        };
        Ok((actor, authentication_from_claims(&payload), evidence))
    }
}

#[cfg(test)]
mod tests;
