//! ID tokens a real provider never issues: wrong audience, wrong issuer, expired, signed
//! with another key, wrong nonce. No real server can be made to send these, so a rogue
//! provider here serves discovery, keys and a token endpoint that answers with whatever
//! token the test forges. Each case is checked against a correctly forged control token, so
//! a refusal is the verification's doing and not the harness's.

use crate::support::TestApp;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AccessToken, Audience, EmptyAdditionalClaims, EndUserEmail, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use reqwest::{redirect::Policy, Client, StatusCode, Url};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const KEY_A: &str = include_str!("../fixtures/rogue-key-a.pem");
const KEY_B: &str = include_str!("../fixtures/rogue-key-b.pem");
const ACCESS_TOKEN: &str = "rogue-access-token";

#[derive(Clone, Copy, Debug)]
enum Forgery {
    None,
    WrongAudience,
    WrongIssuer,
    Expired,
    OtherKey,
    WrongNonce,
}

struct Rogue {
    issuer: String,
    /// The key the provider publishes and signs with now: its PEM and key id.
    active_key: Mutex<(&'static str, &'static str)>,
    nonce: Mutex<String>,
    forgery: Mutex<Forgery>,
}

fn signing_key(pem: &str, kid: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into()))).unwrap()
}

fn forge(rogue: &Rogue) -> String {
    let forgery = *rogue.forgery.lock().unwrap();
    let now = chrono::Utc::now();
    let issuer = match forgery {
        Forgery::WrongIssuer => "https://someone-else.example".to_owned(),
        _ => rogue.issuer.clone(),
    };
    let audience = match forgery {
        Forgery::WrongAudience => "another-application",
        _ => "countersign",
    };
    let (issued, expires) = match forgery {
        Forgery::Expired => (
            now - chrono::Duration::hours(2),
            now - chrono::Duration::hours(1),
        ),
        _ => (now, now + chrono::Duration::minutes(5)),
    };
    let nonce = match forgery {
        Forgery::WrongNonce => "not-the-nonce".to_owned(),
        _ => rogue.nonce.lock().unwrap().clone(),
    };
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(issuer).unwrap(),
        vec![Audience::new(audience.into())],
        expires,
        issued,
        StandardClaims::new(SubjectIdentifier::new("mallory".into()))
            .set_email(Some(EndUserEmail::new("mallory@example.com".into()))),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce)));
    let (pem, kid) = *rogue.active_key.lock().unwrap();
    let key = match forgery {
        // Another key under the published key's id: the signature cannot match.
        Forgery::OtherKey if pem == KEY_A => signing_key(KEY_B, kid),
        Forgery::OtherKey => signing_key(KEY_A, kid),
        _ => signing_key(pem, kid),
    };
    CoreIdToken::new(
        claims,
        &key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(&AccessToken::new(ACCESS_TOKEN.into())),
        None,
    )
    .unwrap()
    .to_string()
}

async fn discovery(State(rogue): State<Arc<Rogue>>) -> Json<Value> {
    let base = &rogue.issuer;
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(rogue): State<Arc<Rogue>>) -> Json<CoreJsonWebKeySet> {
    let (pem, kid) = *rogue.active_key.lock().unwrap();
    Json(CoreJsonWebKeySet::new(vec![
        signing_key(pem, kid).as_verification_key()
    ]))
}

async fn token(State(rogue): State<Arc<Rogue>>) -> Json<Value> {
    Json(json!({
        "access_token": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": forge(&rogue),
    }))
}

/// The portal, wired to the rogue provider, and the rogue's controls.
async fn start() -> (String, Arc<Rogue>, TestApp) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let rogue = Arc::new(Rogue {
        issuer: issuer.clone(),
        active_key: Mutex::new((KEY_A, "rogue-1")),
        nonce: Mutex::new(String::new()),
        forgery: Mutex::new(Forgery::None),
    });
    let provider = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(rogue.clone());
    tokio::spawn(async move { axum::serve(listener, provider).await.unwrap() });

    let app = TestApp::builder()
        .settings(&[
            ("OIDC_ISSUER", &issuer),
            ("OIDC_CLIENT_ID", "countersign"),
            ("OIDC_CLIENT_SECRET", "secret"),
        ])
        .listening()
        .await;
    (app.url.clone(), rogue, app)
}

/// Starts a sign-in, lets the rogue answer with `forgery`, and returns the callback's status.
async fn sign_in_with(portal: &str, rogue: &Rogue, forgery: Forgery) -> StatusCode {
    let browser = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let login = browser
        .get(format!("{portal}/auth/login"))
        .send()
        .await
        .unwrap();
    let authorize = Url::parse(login.headers()["location"].to_str().unwrap()).unwrap();
    let param = |name: &str| {
        authorize
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    *rogue.nonce.lock().unwrap() = param("nonce");
    *rogue.forgery.lock().unwrap() = forgery;
    let state = param("state");
    browser
        .get(format!(
            "{portal}/auth/callback?code=anything&state={state}"
        ))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn forged_id_tokens_are_refused_and_a_well_formed_one_is_not() {
    let (portal, rogue, _portal) = start().await;
    assert_eq!(
        sign_in_with(&portal, &rogue, Forgery::None).await,
        StatusCode::SEE_OTHER,
        "the control token signs in"
    );
    for forgery in [
        Forgery::WrongAudience,
        Forgery::WrongIssuer,
        Forgery::Expired,
        Forgery::OtherKey,
        Forgery::WrongNonce,
    ] {
        assert_eq!(
            sign_in_with(&portal, &rogue, forgery).await,
            StatusCode::UNAUTHORIZED,
            "{forgery:?} was accepted"
        );
    }
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_again_once_seen() {
    let (portal, rogue, _portal) = start().await;
    assert_eq!(
        sign_in_with(&portal, &rogue, Forgery::None).await,
        StatusCode::SEE_OTHER
    );
    // The provider rotates: a new key under a new id, published and used from now on.
    *rogue.active_key.lock().unwrap() = (KEY_B, "rogue-2");
    assert_eq!(
        sign_in_with(&portal, &rogue, Forgery::None).await,
        StatusCode::SEE_OTHER,
        "the portal reloads the provider's keys"
    );
    assert_eq!(
        sign_in_with(&portal, &rogue, Forgery::OtherKey).await,
        StatusCode::UNAUTHORIZED,
        "a bad signature under the new key id is still refused"
    );
}
