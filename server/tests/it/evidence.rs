//! The identity provider's own evidence with each signature (issue 25, part 2): the ID
//! token oidc-provider signed and the key it verifies with are kept in the signature and its
//! trail entry; the verifier checks them offline; a session that only the session key made
//! signs nothing; a decision written without them fails verification and alerts.

use crate::oidc::{
    at_the_provider, browser, chose_to_approve_dev, location, rpc, sent_to_sign_in_again,
    signed_on_the_way_back, start_quirky, Sso, PIPELINES_SIGN_IN_HERE,
};
use base64::Engine;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `countersign audit verify <bundle> <options…>` with the provider's keys in a file
/// (`--provider-keys`): exit code and output.
fn verify_with_provider_keys(bundle: &Value, keys: &Value, options: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let (bundle_path, keys_path) = (dir.path().join("bundle.json"), dir.path().join("jwks.json"));
    std::fs::write(&bundle_path, bundle.to_string()).unwrap();
    std::fs::write(&keys_path, keys.to_string()).unwrap();
    let mut args = vec![
        "audit",
        "verify",
        bundle_path.to_str().unwrap(),
        "--trust-bundle-key",
        "--provider-keys",
        keys_path.to_str().unwrap(),
    ];
    args.extend(options);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(args)
        .env_clear()
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// `docs/verify_bundle.py`, the second verifier written from the format's page alone (its
/// own RSA and JWS code), on `bundle` with the key it carries: whether it said OK, and what.
fn second_verifier(bundle: &Value) -> (bool, String) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let python = std::path::Path::new(root).join(".tools/venv/bin/python");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    let output = std::process::Command::new(python)
        .arg(std::path::Path::new(root).join("docs/verify_bundle.py"))
        .arg(&path)
        .arg(bundle["public_key"].as_str().unwrap())
        .output()
        .expect("scripts/tools.sh test installs the Python it runs with");
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), said)
}

/// The provider's published key set, read from its discovery document, not through the
/// portal.
async fn published_keys(sso: &Sso) -> Value {
    let client = browser();
    let discovery: Value = client
        .get(format!("{}/.well-known/openid-configuration", sso.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    client
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The trail as a viewer exports it.
async fn bundle(sso: &Sso, client: &Client) -> Value {
    client
        .get(format!("{}/models/churn/export/audit.json", sso.portal))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The signature of the bundle's only decision, as its trail entry holds it.
fn decided_signature(bundle: &Value) -> Value {
    let decided: Vec<Value> = bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|text| serde_json::from_str::<Value>(text.as_str().unwrap()).unwrap())
        .filter(|entry| entry["event"]["type"] == "decided")
        .collect();
    assert_eq!(decided.len(), 1, "one decision in the trail");
    decided[0]["event"]["decision"]["signature"].clone()
}

/// The token's claims, its signature checked with `jwks` by jsonwebtoken (not the
/// openidconnect crate the portal signs people in with).
fn verified_claims(token: &str, jwks: &Value) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("signed with a published key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("the provider's signature verifies")
    .claims
}

// Proves: SIG-04.
#[tokio::test]
async fn a_signature_keeps_the_providers_signed_token_committing_to_the_record_and_it_verifies_offline(
) {
    let sso = start_quirky("", PIPELINES_SIGN_IN_HERE).await;
    // Lena's sign-in is two hours old: she is sent to sign in again for this signature.
    let (client, digest, _) = chose_to_approve_dev(&sso, "lena").await;
    let provider = sent_to_sign_in_again(&sso, &client, &digest).await;
    let callback = at_the_provider(&sso, &client, provider, "lena").await;
    let back = client.get(&callback).send().await.unwrap();
    let signed = signed_on_the_way_back(&sso, &client, &location(&back)).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);

    let bundle = bundle(&sso, &client).await;
    let signature = decided_signature(&bundle);
    let evidence = &signature["identity_evidence"];
    let jwks = published_keys(&sso).await;
    let claims = verified_claims(evidence["id_token"].as_str().unwrap(), &jwks);
    assert_eq!(claims["iss"], sso.issuer.as_str());
    assert_eq!(claims["aud"], "countersign");
    assert_eq!(claims["email"], "lena@example.com");
    // The nonce commits to the record digest, as docs/audit-bundle.md spells it.
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "countersign-signature-nonce\n{digest}\n{}\n",
        evidence["nonce_salt"].as_str().unwrap()
    ));
    let commitment = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hasher.finalize());
    assert_eq!(claims["nonce"], commitment.as_str());
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|key| key["n"] == evidence["key"]["n"]),
        "the key recorded is the provider's: {}",
        evidence["key"]
    );
    assert_eq!(
        signature["groups"],
        serde_json::json!(["approvers-dev-test"])
    );

    let (code, said) = verify_with_provider_keys(&bundle, &jwks, &[]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains(
            "the identity provider's own evidence (its signed ID token) verifies for 1 signature"
        ),
        "{said}"
    );
    let (ok, said) = second_verifier(&bundle);
    assert!(ok, "the second verifier, from the page alone: {said}");
    // A key the provider never published: the recorded one is not taken on trust.
    let mut other = jwks.clone();
    for key in other["keys"].as_array_mut().unwrap() {
        key["n"] = Value::from(format!("x{}", key["n"].as_str().unwrap()));
    }
    let (code, said) = verify_with_provider_keys(&bundle, &other, &[]);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("not one of the provider's keys you gave"),
        "{said}"
    );
}

#[tokio::test]
async fn a_signature_within_the_max_age_keeps_the_token_of_the_sign_in_it_rests_on() {
    let sso = start_quirky("", PIPELINES_SIGN_IN_HERE).await;
    // Alice has just signed in: she signs without another trip to the provider.
    let (client, digest, why) = chose_to_approve_dev(&sso, "alice").await;
    assert_eq!(why, None);
    let signed = rpc(
        &sso,
        &client,
        "sign",
        &format!("group=churn&version=1&record_digest={digest}"),
    )
    .await;
    assert!(signed.status().is_success() || signed.status().is_redirection());
    let bundle = bundle(&sso, &client).await;
    let evidence = decided_signature(&bundle)["identity_evidence"].clone();
    let claims = verified_claims(
        evidence["id_token"].as_str().unwrap(),
        &published_keys(&sso).await,
    );
    assert_eq!(claims["email"], "alice@example.com");
    assert!(
        evidence.get("nonce_salt").is_none(),
        "not asked for this signature"
    );
    let (code, said) = verify_with_provider_keys(&bundle, &published_keys(&sso).await, &[]);
    assert_eq!(code, 0, "{said}");
}

/// A session cookie for `actor`, sealed with the portal's session key `key` alone: what
/// someone holding `COUNTERSIGN_SESSION_KEY` can make without the provider.
fn minted_session(sso: &Sso, key: &str, actor: &countersign_domain::Actor) -> String {
    use axum::response::IntoResponse;
    use countersign_server::auth::session::{Deployment, Sessions};
    let config = &sso.app.config;
    let sessions = Sessions::new(
        key,
        8,
        false,
        Deployment::new(&config.public_url, Some(&sso.issuer)),
        &config.policy,
        Vec::new(),
    )
    .unwrap();
    let jar = sessions.start(&axum::http::HeaderMap::new(), actor);
    let response = jar.into_response();
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

fn alice_the_approver() -> countersign_domain::Actor {
    countersign_domain::Actor {
        person: countersign_domain::Person {
            subject: "alice@example.com".into(),
            name: "Alice Approver".into(),
            email: "alice@example.com".into(),
        },
        groups: ["approvers-dev-test".to_owned(), "ml-staff".to_owned()].into(),
    }
}

/// Calls a server function with `cookie` as the only credential.
async fn rpc_as(sso: &Sso, cookie: &str, name: &str, form: &str) -> reqwest::Response {
    browser()
        .post(format!("{}/rpc/{name}", sso.portal))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap()
}

// Proves: SIG-04.
#[tokio::test]
async fn a_session_made_with_the_session_key_alone_signs_nothing() {
    let key = countersign_server::auth::session::Sessions::generate_key();
    let mut settings = PIPELINES_SIGN_IN_HERE.to_vec();
    settings.push(("SESSION_KEY", &key));
    let sso = start_quirky("", &settings).await;
    let training =
        crate::oidc::client_token(&sso, "training-pipeline", "countersign.register", None).await;
    let registered = browser()
        .post(format!("{}/api/v1/models/churn/versions", sso.portal))
        .bearer_auth(training)
        .json(&serde_json::json!({"image_uri": "img", "registered_by": {"subject": "dana"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);

    let minted = minted_session(&sso, &key, &alice_the_approver());
    let who = rpc_as(&sso, &minted, "current_user", "")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        who.contains("Alice Approver"),
        "the portal takes the cookie: {who}"
    );
    let chosen = rpc_as(
        &sso,
        &minted,
        "prepare_signature",
        "group=churn&version=1&environment=dev&verdict=approve&reason=forged",
    )
    .await;
    assert_eq!(chosen.status(), StatusCode::OK);
    let pending = chosen.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let both = format!("{minted}; {pending}");
    let review: Value = rpc_as(&sso, &both, "review_pending", "group=churn&version=1")
        .await
        .json()
        .await
        .unwrap();
    let digest = review["record_digest"].as_str().unwrap();
    let refused = rpc_as(
        &sso,
        &both,
        "sign",
        &format!("group=churn&version=1&record_digest={digest}"),
    )
    .await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    let said = refused.text().await.unwrap();
    assert!(
        said.contains("carries none of your identity provider's own evidence"),
        "{said}"
    );
    let history: Value = browser()
        .get(format!("{}/models/churn/export/history.json", sso.portal))
        .header("cookie", &minted)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        history["decisions"],
        serde_json::json!([]),
        "nothing signed"
    );
}

/// Ids for the forger's services.
struct ForgedIds;

impl countersign_domain::ports::IdGenerator for ForgedIds {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

#[tokio::test]
async fn a_decision_the_trail_holds_without_the_providers_evidence_fails_verification_and_alerts() {
    use countersign_domain::audit::AuditRecord;
    use countersign_domain::signature::SigningRequest;
    let sso = start_quirky("", PIPELINES_SIGN_IN_HERE).await;
    let (client, _, _) = chose_to_approve_dev(&sso, "alice").await;
    // Someone who can write the store and holds the audit key (the portal's own powers)
    // writes a decision as the portal would, but with no sign-in at the provider behind it.
    let database = &sso.app.config.database;
    let store = countersign_local_store::LocalStore::open(database).unwrap();
    let mut ports = countersign_domain::service::Ports::of(std::sync::Arc::new(store));
    let mut key_file = database.as_os_str().to_owned();
    key_file.push(".audit-key");
    let notary =
        countersign_audit::Notary::from_key(&std::fs::read_to_string(key_file).unwrap()).unwrap();
    countersign_audit::desk::notarise(
        &mut ports,
        std::sync::Arc::new(notary),
        std::sync::Arc::new(countersign_local_store::CheckpointFile::beside(database)),
        std::sync::Arc::new(countersign_domain::ports::SystemClock),
    );
    let policy = sso.app.config.policy.clone();
    let forger = countersign_domain::service::Services::new(
        ports.clone(),
        policy.clone(),
        std::sync::Arc::new(ForgedIds),
    );
    let group = countersign_domain::GroupName::parse("churn").unwrap();
    let request = SigningRequest::new(
        countersign_domain::Environment::parse("dev").unwrap(),
        countersign_domain::Verdict::Approve,
        countersign_domain::VersionNumber::new(1).unwrap(),
        "forged",
        None,
    );
    let prepared = forger
        .prepare(&alice_the_approver(), &group, &request)
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let mut effect = prepared.effect;
    if let Some(signature) = &mut effect.record.signature {
        signature.authentication = Some(countersign_domain::signature::Authentication::at(now));
    }
    let entry = AuditRecord::decided(&effect, Some(now), std::sync::Arc::new(policy));
    ports.committer.commit(&effect, &entry).await.unwrap();

    let history = client
        .get(format!("{}/models/churn/history", sso.portal))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        history.contains("carries no evidence from the identity provider"),
        "the history page names what is wrong"
    );
    assert!(
        !history.contains("Audit trail verified"),
        "never shown as verified"
    );
    let (code, said) = verify_with_provider_keys(
        &bundle(&sso, &client).await,
        &published_keys(&sso).await,
        &[],
    );
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("carries no evidence from the identity provider"),
        "{said}"
    );
    let (ok, said) = second_verifier(&bundle(&sso, &client).await);
    assert!(
        !ok && said.contains("carries no evidence from the identity provider"),
        "{said}"
    );
}
