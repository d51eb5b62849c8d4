//! Who may call the pipeline API: bearer tokens, each allowed some of three scopes
//! (register versions, report runs, resolve models).
//!
//! Two kinds of token are accepted:
//! - **Access tokens from the identity provider** (OAuth client credentials): JWTs checked
//!   by the jsonwebtoken crate against the provider's published keys (found through its
//!   discovery document, fetched again when a token names a key we have not seen), the
//!   issuer, the configured audience and the expiry. Scopes come from `scope` or `scp`
//!   (space-separated) or `roles` (Entra ID's application roles).
//! - **Static tokens** from the configuration, for simple setups. Only their SHA-256
//!   digests are configured; a presented token is hashed and compared in constant time.

use super::error::{ApiError, ErrorCode};
use axum::http::{header, HeaderMap};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openidconnect::reqwest;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

mod settings;
pub use settings::{
    ApiAccessConfig, ApiSettings, JwtAccessConfig, RegistrantBinding, ScopeClaims, StaticToken,
};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiScope {
    Register,
    Report,
    Resolve,
}

impl ApiScope {
    pub const ALL: [ApiScope; 3] = [ApiScope::Register, ApiScope::Report, ApiScope::Resolve];

    /// The name static tokens are configured with.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Register => "register",
            ApiScope::Report => "report",
            ApiScope::Resolve => "resolve",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Who is calling, as authenticated: a static token's name or the OAuth client's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
}

/// Signing algorithms accepted for access tokens: asymmetric only, so a token signed with
/// a public key as an HMAC secret is refused.
const ACCEPTED_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
];
/// A token naming an unknown key fetches the keys again, but not more often than this.
const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;

pub struct ApiAuth {
    config: ApiAccessConfig,
    /// Never held across the network.
    keys: std::sync::Mutex<KeyCache>,
    /// Held while the keys are fetched, so concurrent misses share one fetch.
    fetching: Mutex<()>,
    http: reqwest::Client,
}

/// What a caller's naming of a version's registrant is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrantClaim {
    /// The caller may not name this person.
    Refused,
    /// Taken on the caller's word: it names people, but establishes nobody.
    Declared,
    /// The caller is bound to this person: the registrant is established.
    Verified,
}

#[derive(Default)]
struct KeyCache {
    keys: Option<JwkSet>,
    fetched_at: Option<Instant>,
}

impl ApiAuth {
    /// What `caller`'s word that `registrant` registered a version is worth: on an open
    /// API (the laptop setup) anyone may be named, as declared; otherwise only a caller
    /// `COUNTERSIGN_API_REGISTRANTS` binds to the registrant (which establishes them), or
    /// lets name anyone (declared). Binding is on by default (N3): a token whose caller is
    /// not named there registers for nobody, so whoever holds it cannot make up a
    /// registrant and approve their own version.
    pub fn registrant_claim(
        &self,
        caller: &Caller,
        registrant: &countersign_domain::Person,
    ) -> RegistrantClaim {
        if self.config.open {
            return RegistrantClaim::Declared;
        }
        match self.config.registrants.get(&caller.name) {
            None => RegistrantClaim::Refused,
            Some(RegistrantBinding::Anyone) => RegistrantClaim::Declared,
            Some(RegistrantBinding::People(people)) => {
                if people.is_disjoint(&registrant.identifiers()) {
                    RegistrantClaim::Refused
                } else {
                    RegistrantClaim::Verified
                }
            }
        }
    }

    pub fn new(config: ApiAccessConfig) -> Self {
        let http = reqwest::Client::builder()
            // Following redirects would open the server to request forgery.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client with a timeout builds");
        Self {
            config,
            keys: std::sync::Mutex::new(KeyCache::default()),
            fetching: Mutex::new(()),
            http,
        }
    }

    /// The caller, if the request carries a token allowed `scope`; otherwise the error to
    /// answer with (401 without a valid token, 403 with one lacking the scope).
    pub async fn require(&self, headers: &HeaderMap, scope: ApiScope) -> Result<Caller, ApiError> {
        if self.config.open {
            return Ok(Caller {
                name: "unauthenticated API client".into(),
            });
        }
        let token = bearer_token(headers)?;
        let (caller, scopes) = match self.static_token(token) {
            Some(found) => found,
            None => self.access_token(token).await?,
        };
        if scopes.contains(&scope) {
            Ok(caller)
        } else {
            Err(insufficient_scope(scope, self.scope_claim(scope)))
        }
    }

    fn scope_claim(&self, scope: ApiScope) -> &str {
        match scope {
            ApiScope::Register => &self.config.scope_claims.register,
            ApiScope::Report => &self.config.scope_claims.report,
            ApiScope::Resolve => &self.config.scope_claims.resolve,
        }
    }

    fn static_token(&self, token: &str) -> Option<(Caller, BTreeSet<ApiScope>)> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Every configured digest is compared, so timing tells nothing about which matched.
        let mut found = None;
        for configured in &self.config.tokens {
            if bool::from(configured.sha256.ct_eq(&digest)) {
                found = Some(configured);
            }
        }
        found.map(|t| {
            (
                Caller {
                    name: t.name.clone(),
                },
                t.scopes.clone(),
            )
        })
    }

    async fn access_token(&self, token: &str) -> Result<(Caller, BTreeSet<ApiScope>), ApiError> {
        let Some(jwt) = &self.config.jwt else {
            return Err(invalid_token(
                "the token is not one of the configured API tokens",
            ));
        };
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid_token("the token is neither a configured API token nor a JWT"))?;
        if !ACCEPTED_ALGORITHMS.contains(&header.alg) {
            return Err(invalid_token(format!(
                "tokens signed with {:?} are not accepted",
                header.alg
            )));
        }
        let key = self.key_for(jwt, header.kid.as_deref()).await?;
        // The header's algorithm, checked against the accepted list above; jsonwebtoken
        // checks that the key's family matches it.
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&jwt.issuer]);
        validation.set_audience(&[&jwt.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| invalid_token(format!("the access token is not valid: {e}")))?
            .claims;
        if header.typ.as_deref().is_some_and(|typ| {
            !["jwt", "at+jwt", "application/at+jwt"].contains(&typ.to_ascii_lowercase().as_str())
        }) || is_id_token(&claims)
        {
            return Err(invalid_token(
                "this is not an access token: request one for the API (client credentials)",
            ));
        }
        if acts_for_a_person(&claims) {
            return Err(invalid_token(
                "this token acts for a person (a delegated token): the API takes only an application's own token (client credentials)",
            ));
        }
        let granted = granted_values(&claims);
        let scopes = ApiScope::ALL
            .into_iter()
            .filter(|s| granted.contains(self.scope_claim(*s)))
            .collect();
        let client = ["client_id", "azp", "appid"]
            .iter()
            .find_map(|claim| claims.get(*claim).and_then(Value::as_str));
        if !jwt.clients.is_empty() && client.is_none_or(|client| !jwt.clients.contains(client)) {
            return Err(invalid_token(
                "the token was issued to a client COUNTERSIGN_API_JWT_CLIENTS does not name",
            ));
        }
        let name = client
            .or_else(|| claims.get("sub").and_then(Value::as_str))
            .unwrap_or("unnamed client")
            .to_owned();
        Ok((Caller { name }, scopes))
    }

    /// The provider's key with this id, fetching the key set when it is not known yet.
    async fn key_for(
        &self,
        jwt: &JwtAccessConfig,
        kid: Option<&str>,
    ) -> Result<DecodingKey, ApiError> {
        if let Some(key) = self.known_key(kid) {
            return key;
        }
        // One fetch at a time. Requests for keys already known never wait here; those that
        // do find the keys the fetch they waited for brought.
        let _one_fetch = self.fetching.lock().await;
        if let Some(key) = self.known_key(kid) {
            return key;
        }
        {
            let mut cache = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            // At most one fetch per interval, successful or not, whatever unauthenticated
            // callers send: a slow or failing provider is not asked again for every request.
            if cache
                .fetched_at
                .is_some_and(|at| at.elapsed() < KEY_REFRESH_INTERVAL)
            {
                return Err(match &cache.keys {
                    Some(_) => not_published(),
                    None => keys_unavailable(),
                });
            }
            cache.fetched_at = Some(Instant::now());
        }
        let keys = self.fetch_keys(jwt).await?;
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).keys = Some(keys);
        self.known_key(kid).unwrap_or_else(|| Err(not_published()))
    }

    /// The cached key with this id, if the cache has it.
    fn known_key(&self, kid: Option<&str>) -> Option<Result<DecodingKey, ApiError>> {
        let cache = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let jwk = cache.keys.as_ref().and_then(|keys| find_key(keys, kid))?;
        Some(DecodingKey::from_jwk(jwk).map_err(unusable_key))
    }

    async fn fetch_keys(&self, jwt: &JwtAccessConfig) -> Result<JwkSet, ApiError> {
        let unavailable = |what: String| {
            tracing::error!(error = %what, "cannot read the identity provider's signing keys");
            keys_unavailable()
        };
        let discovery = format!("{}/.well-known/openid-configuration", jwt.issuer);
        let metadata: Value = self
            .get_json(&discovery)
            .await
            .map_err(|e| unavailable(format!("{discovery}: {e}")))?;
        let jwks_uri = metadata
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| unavailable(format!("{discovery} names no jwks_uri")))?;
        let keys: Value = self
            .get_json(jwks_uri)
            .await
            .map_err(|e| unavailable(format!("{jwks_uri}: {e}")))?;
        serde_json::from_value(keys).map_err(|e| unavailable(format!("{jwks_uri}: {e}")))
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }
}

fn not_published() -> ApiError {
    invalid_token("the token is signed with a key the identity provider does not publish")
}

fn keys_unavailable() -> ApiError {
    ApiError::new(
        ErrorCode::TokenKeysUnavailable,
        "the identity provider's signing keys cannot be read now; retry later",
    )
}

/// Whether the claims are an ID token's rather than an access token's: ID tokens carry a
/// `nonce` (Countersign's sign-in always asks for one) or hashes of what came with them
/// (`at_hash`, `c_hash`), or say so (`token_use`, as Cognito does). An ID token says who a
/// person is to one application; it grants nothing at an API, even where its audience
/// happens to match.
fn is_id_token(claims: &Value) -> bool {
    ["nonce", "at_hash", "c_hash"]
        .iter()
        .any(|claim| claims.get(*claim).is_some())
        || claims.get("token_use").and_then(Value::as_str) == Some("id")
}

fn find_key<'a>(keys: &'a JwkSet, kid: Option<&str>) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => keys.find(kid),
        // A provider with one key may leave the id out.
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
}

fn unusable_key(e: jsonwebtoken::errors::Error) -> ApiError {
    invalid_token(format!("the provider's key cannot verify tokens: {e}"))
}

/// Whether a token acts for a person rather than for an application (N12): it says so
/// (`idtyp` is `user`, as Entra ID can), or it is Entra ID's (`tid`) and carries delegated
/// scopes (`scp`), which Entra ID puts only in tokens issued for a signed-in user.
fn is_entra(claims: &Value) -> bool {
    claims.get("tid").is_some()
}

fn acts_for_a_person(claims: &Value) -> bool {
    claims.get("idtyp").and_then(Value::as_str) == Some("user")
        || (is_entra(claims) && claims.get("scp").is_some())
}

/// The scope and role values a token grants: `scope` and `scp` (space-separated, or an
/// array) and `roles`; in Entra ID's tokens only `roles`, the application permissions an
/// administrator granted (its `scp` are a user's delegated scopes).
fn granted_values(claims: &Value) -> BTreeSet<String> {
    let claims_granting: &[&str] = if is_entra(claims) {
        &["roles"]
    } else {
        &["scope", "scp", "roles"]
    };
    claims_granting
        .iter()
        .filter_map(|claim| claims.get(*claim))
        .flat_map(|value| match value {
            Value::String(text) => text.split_whitespace().map(str::to_owned).collect(),
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(ErrorCode::Unauthenticated,
            "this API needs a bearer token: send Authorization: Bearer <token> (see the README's section for pipelines)",
        )
        .with_challenge("Bearer realm=\"countersign\"".into()));
    };
    let text = value.to_str().unwrap_or_default();
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(invalid_token(
            "the Authorization header is not Bearer <token>",
        )),
    }
}

fn invalid_token(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidToken, message)
        .with_challenge("Bearer realm=\"countersign\", error=\"invalid_token\"".into())
}

fn insufficient_scope(scope: ApiScope, claim: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InsufficientScope,
        format!(
            "this token may not {}: it needs the {claim:?} scope or role (a static token: {:?})",
            scope.as_str(),
            scope.as_str()
        ),
    )
    .with_challenge(format!(
        "Bearer realm=\"countersign\", error=\"insufficient_scope\", scope=\"{claim}\""
    ))
}

/// A new random static token, and the digest to configure for it.
pub fn new_static_token() -> (String, String) {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    let token = format!(
        "cst_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let digest = hex_digest(&token);
    (token, digest)
}

pub fn hex_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests;
