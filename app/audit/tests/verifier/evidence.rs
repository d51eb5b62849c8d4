//! Each signature's identity provider evidence, as the verifier checks it offline: a token
//! the provider signed (a key of the fixtures here plays its key), about the signer, with
//! a nonce committing to the record, and every way of it being missing or wrong.

use super::*;
use countersign_audit::{verify_with, Trusted};
use countersign_domain::signature::{nonce_commitment, IdentityProvider};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

const ISSUER: &str = "https://login.example.com/tenant/v2.0";
/// The provider's signing key and another, as PKCS #1 DER in base64.
const PROVIDER_KEY: &str = include_str!("../fixtures/provider-key.pkcs1.b64");
const OTHER_KEY: &str = include_str!("../fixtures/other-key.pkcs1.b64");

fn provider_jwk() -> serde_json::Value {
    serde_json::from_str(include_str!("../fixtures/provider-key.jwk.json")).unwrap()
}

fn provider() -> IdentityProvider {
    IdentityProvider {
        issuer: ISSUER.into(),
        audience: "countersign".into(),
        identity_claim: "sub".into(),
        groups_claim: "groups".into(),
    }
}

/// A token with `claims` signed RS256 by `key` as the provider's key `provider-key`.
fn token(claims: &serde_json::Value, key: &str) -> String {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("provider-key".into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(&der)).unwrap()
}

/// What the provider says of `who` signing in at `asked` + 5 s for `record_digest`.
fn claims(who: &str, record_digest: &str, asked: OffsetDateTime) -> serde_json::Value {
    serde_json::json!({
        "iss": ISSUER,
        "aud": "countersign",
        "sub": who,
        "auth_time": (asked + Duration::seconds(5)).unix_timestamp(),
        "exp": (asked + Duration::hours(1)).unix_timestamp(),
        "nonce": nonce_commitment(record_digest, "salt"),
        "groups": ["approvers", "staff"],
    })
}

fn evidence(token: String) -> IdentityEvidence {
    IdentityEvidence {
        id_token: token,
        key: provider_jwk(),
        nonce_salt: Some("salt".into()),
    }
}

fn honest(who: &str, digest: &str, asked: OffsetDateTime) -> IdentityEvidence {
    evidence(token(&claims(who, digest, asked), PROVIDER_KEY))
}

/// dev and test approved by alice and bob, under rules that name the provider, each
/// signature's evidence made by `sign_in`.
fn signed_in_with(sign_in: Option<SignIn>) -> Trail {
    let mut trail = Trail::new(policy().with_identity_provider(provider()));
    trail.sign_in = sign_in;
    trail.decide("alice", "dev", Choice::Approve).unwrap();
    trail.decide("bob", "test", Choice::Approve).unwrap();
    trail
}

fn verified_with(bundle: &Bundle, trusted: Trusted) -> Result<countersign_audit::Verified, String> {
    verify_with(bundle, &trusted).map_err(|v| v.message)
}

#[test]
fn signatures_with_the_providers_evidence_verify_and_say_so() {
    let bundle = signed_in_with(Some(honest)).bundle();
    let keys = [provider_jwk()];
    let verified = verified_with(
        &bundle,
        Trusted {
            provider_keys: Some(&keys),
            ..Trusted::default()
        },
    )
    .unwrap();
    assert_eq!(verified.decisions_with_provider_evidence, 2);
    assert!(verified
        .summary()
        .contains("evidence (its signed ID token) verifies for 2 signatures"));
    let not_published =
        [serde_json::from_str(include_str!("../fixtures/other-key.jwk.json")).unwrap()];
    let refused = verified_with(
        &bundle,
        Trusted {
            provider_keys: Some(&not_published),
            ..Trusted::default()
        },
    )
    .unwrap_err();
    assert!(
        refused.contains("not one of the provider's keys you gave"),
        "{refused}"
    );
}

#[test]
fn a_signature_without_the_providers_evidence_fails_unless_the_auditor_accepts_earlier_ones() {
    let bundle = signed_in_with(None).bundle();
    let (_, message) = violation(&bundle);
    assert!(
        message.contains("carries no evidence from the identity provider"),
        "{message}"
    );
    let first_decision = seq_of_decision(&bundle, "d-0") as u64;
    let accepted_before_the_second = Trusted {
        accept_without_evidence_before: Some(first_decision + 1),
        ..Trusted::default()
    };
    let refused = verified_with(&bundle, accepted_before_the_second).unwrap_err();
    assert!(
        refused.contains("decision d-1"),
        "only earlier ones: {refused}"
    );
    let all = Trusted {
        accept_without_evidence_before: Some(u64::MAX),
        ..Trusted::default()
    };
    let verified = verified_with(&bundle, all).unwrap();
    assert_eq!(verified.decisions_accepted_without_evidence, 2);
    assert!(verified.summary().contains("--accept-unsigned-before"));
}

#[test]
fn evidence_that_is_there_and_wrong_fails_and_is_never_excused() {
    fn signed_by_another_key(who: &str, digest: &str, asked: OffsetDateTime) -> IdentityEvidence {
        evidence(token(&claims(who, digest, asked), OTHER_KEY))
    }
    fn about_someone_else(_: &str, digest: &str, asked: OffsetDateTime) -> IdentityEvidence {
        evidence(token(&claims("mallory", digest, asked), PROVIDER_KEY))
    }
    fn for_another_record(who: &str, _: &str, asked: OffsetDateTime) -> IdentityEvidence {
        evidence(token(&claims(who, &"0".repeat(64), asked), PROVIDER_KEY))
    }
    fn another_issuer(who: &str, digest: &str, asked: OffsetDateTime) -> IdentityEvidence {
        let mut claims = claims(who, digest, asked);
        claims["iss"] = "https://rogue.example".into();
        evidence(token(&claims, PROVIDER_KEY))
    }
    fn before_being_sent(who: &str, digest: &str, asked: OffsetDateTime) -> IdentityEvidence {
        let mut claims = claims(who, digest, asked);
        claims["auth_time"] = (asked - Duration::hours(2)).unix_timestamp().into();
        evidence(token(&claims, PROVIDER_KEY))
    }
    fn without_the_group(who: &str, digest: &str, asked: OffsetDateTime) -> IdentityEvidence {
        let mut claims = claims(who, digest, asked);
        claims["groups"] = serde_json::json!(["staff"]);
        evidence(token(&claims, PROVIDER_KEY))
    }
    fn shared_secret(who: &str, digest: &str, asked: OffsetDateTime) -> IdentityEvidence {
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(who, digest, asked),
            &EncodingKey::from_secret(b"the portal's own secret"),
        )
        .unwrap();
        evidence(token)
    }
    let cases: [(SignIn, &str); 7] = [
        (
            signed_by_another_key,
            "does not verify with the recorded key",
        ),
        (about_someone_else, "about someone else than the signer"),
        (for_another_record, "does not commit to the record signed"),
        (another_issuer, "not by"),
        (before_being_sent, "before they were sent"),
        (
            without_the_group,
            "not all in the identity provider's token",
        ),
        (shared_secret, "not a public-key algorithm"),
    ];
    for (sign_in, expected) in cases {
        let bundle = signed_in_with(Some(sign_in)).bundle();
        let (entry, message) = violation(&bundle);
        assert_eq!(entry, Some(seq_of_decision(&bundle, "d-0") as u64));
        assert!(message.contains(expected), "{expected}: {message}");
        let excused = verified_with(
            &bundle,
            Trusted {
                accept_without_evidence_before: Some(u64::MAX),
                ..Trusted::default()
            },
        );
        assert!(
            excused.is_err(),
            "{expected}: wrong evidence is never excused"
        );
    }
}

#[test]
fn rules_that_stop_naming_the_provider_are_pointed_out() {
    let mut trail = signed_in_with(Some(honest));
    trail.policy = Arc::new(policy());
    trail.sign_in = None;
    trail.decide("carol", "uat", Choice::Approve).unwrap();
    let verified = verify(&trail.bundle(), None).unwrap();
    assert_eq!(verified.provider_dropped_at.len(), 1);
    assert!(
        verified
            .summary()
            .contains("the rules in force name no identity provider where earlier rules named one"),
        "{}",
        verified.summary()
    );
}
