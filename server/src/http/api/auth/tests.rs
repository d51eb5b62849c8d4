use super::*;

#[test]
fn id_tokens_are_told_from_access_tokens() {
    let access = serde_json::json!({"iss": "i", "aud": "api://countersign", "scp": "countersign.resolve", "azp": "batch"});
    assert!(!is_id_token(&access));
    for id_only in ["nonce", "at_hash", "c_hash"] {
        let mut id = access.clone();
        id[id_only] = "x".into();
        assert!(is_id_token(&id), "{id_only}");
    }
    let mut cognito = access.clone();
    cognito["token_use"] = "id".into();
    assert!(is_id_token(&cognito));
}
use serde_json::json;

#[test]
fn scopes_and_roles_are_read_from_every_claim_providers_use() {
    let oidc_provider = json!({"scope": "countersign.report countersign.resolve"});
    let okta = json!({"scp": ["countersign.report"], "cid": "batch"});
    let entra_app = json!({"tid": "t", "roles": ["countersign.register"], "idtyp": "app"});
    assert_eq!(
        granted_values(&oidc_provider),
        BTreeSet::from(["countersign.report".into(), "countersign.resolve".into()])
    );
    assert_eq!(
        granted_values(&okta),
        BTreeSet::from(["countersign.report".into()])
    );
    assert_eq!(
        granted_values(&entra_app),
        BTreeSet::from(["countersign.register".into()])
    );
    assert!(granted_values(&json!({"scope": 3})).is_empty());
}

#[test]
fn a_new_token_matches_its_digest_and_no_other() {
    let (token, digest) = new_static_token();
    assert!(token.starts_with("cst_") && token.len() > 40);
    assert_eq!(hex_digest(&token), digest);
    let (other, _) = new_static_token();
    assert_ne!(hex_digest(&other), digest);
}

#[test]
fn a_token_acting_for_a_person_grants_nothing_at_the_api() {
    // Entra ID: a user's delegated token carries `scp`; its scopes are never read as grants.
    let entra_delegated =
        json!({"tid": "t", "scp": "countersign.register", "roles": ["countersign.register"]});
    assert!(acts_for_a_person(&entra_delegated));
    assert_eq!(
        granted_values(&json!({"tid": "t", "scp": "countersign.register"})),
        BTreeSet::new()
    );
    let entra_app = json!({"tid": "t", "roles": ["countersign.register"]});
    assert!(!acts_for_a_person(&entra_app));
    assert!(acts_for_a_person(
        &json!({"idtyp": "user", "scope": "countersign.resolve"})
    ));
    // Elsewhere `scp` is an application's own scopes (Okta's client credentials).
    assert!(!acts_for_a_person(
        &json!({"scp": ["countersign.resolve"], "cid": "batch"})
    ));
}
