//! Sign-ins' identity provider evidence: kept under an id, read back until its time.

use super::*;
use countersign_domain::signature::IdentityEvidence;

/// What every store of sign-in evidence must do: read back exactly what was kept under an
/// id, nothing under another, nothing once its time is past, and keep the first of two
/// writes under one id (an id names one sign-in).
pub async fn run_sign_ins(store: &dyn SignIns) {
    // Stores prune what is past its time by their own clock: times from now.
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let at = |seconds: i64| now + time::Duration::seconds(seconds);
    let evidence = |token: &str| IdentityEvidence {
        id_token: token.into(),
        key: serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "k1"}),
        nonce_salt: None,
    };
    let id = uuid_like("first");
    assert_eq!(store.sign_in(&id, at(0)).await.unwrap(), None, "none yet");
    store
        .keep_sign_in(&id, &evidence("header.payload.signature"), at(600))
        .await
        .unwrap();
    store
        .keep_sign_in(&id, &evidence("another.token.entirely"), at(900))
        .await
        .unwrap();
    assert_eq!(
        store.sign_in(&id, at(10)).await.unwrap(),
        Some(evidence("header.payload.signature")),
        "the first kept under the id"
    );
    assert_eq!(
        store.sign_in(&uuid_like("other"), at(10)).await.unwrap(),
        None
    );
    assert_eq!(
        store.sign_in(&id, at(601)).await.unwrap(),
        None,
        "past its time"
    );
}

fn uuid_like(seed: &str) -> String {
    format!("{seed}-{}", uuid::Uuid::new_v4().simple())
}
