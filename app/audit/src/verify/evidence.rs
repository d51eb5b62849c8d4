//! Step 4's check of each signature's identity evidence: under rules that name an identity
//! provider, a decision keeps the provider's ID token and the public key it verifies with,
//! and the token must verify, be the provider's, be about the signer, commit to the record
//! where the signer was sent to sign in for it, state the authentication recorded, and list
//! the groups recorded. Offline: the key is the one recorded, which the auditor may compare
//! with the provider's published keys (`--provider-keys`).

use crate::entry::DecisionJson;
use countersign_domain::signature::{EvidenceProblem, IdentityEvidence};
use countersign_domain::{Environment, Policy};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use time::OffsetDateTime;

/// What a decision's evidence came to.
pub(super) enum Evidence {
    /// The rules in force named no provider (the development sign-in).
    NotRequired,
    /// The provider's evidence shows the signature's sign-in.
    Shown,
}

/// The algorithms a provider's ID token may be signed with: public-key signatures only (a
/// token signed with a shared secret proves nothing to anyone but its two holders).
const PUBLIC_KEY_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

pub(super) fn check_evidence(
    policy: &Policy,
    decision: &DecisionJson,
    asked_at: Option<OffsetDateTime>,
    provider_keys: Option<&[serde_json::Value]>,
) -> Result<Evidence, String> {
    let Some(provider) = policy.identity_provider() else {
        return Ok(Evidence::NotRequired);
    };
    let missing = || {
        format!(
            "decision {} carries no evidence from the identity provider {}, which the rules in force required",
            decision.id, provider.issuer
        )
    };
    let signature = decision.signature.as_ref().ok_or_else(missing)?;
    let evidence = signature.identity_evidence.as_ref().ok_or_else(missing)?;
    let problem = |e: EvidenceProblem| format!("decision {}: {e}", decision.id);
    if let Some(published) = provider_keys {
        if !published.iter().any(|key| same_key(key, &evidence.key)) {
            return Err(format!(
                "decision {}: the key its identity provider's token verifies with is not one of the provider's keys you gave",
                decision.id
            ));
        }
    }
    check_token_signature(evidence).map_err(|e| format!("decision {}: {e}", decision.id))?;
    evidence
        .check(
            provider,
            &decision.decided_by,
            &signature.record_digest,
            asked_at,
            decision.decided_at,
        )
        .map_err(problem)?;
    if evidence.authentication().ok() != signature.authentication {
        return Err(problem(EvidenceProblem::AuthenticationDiffers));
    }
    let listed = evidence.groups(&provider.groups_claim).map_err(problem)?;
    if !signature.groups.iter().all(|g| listed.contains(g)) {
        return Err(problem(EvidenceProblem::GroupsNotInToken));
    }
    let environment = Environment::parse(&decision.environment).map_err(|e| e.to_string())?;
    if !policy
        .approver_groups(&environment)
        .any(|group| signature.groups.iter().any(|g| g == group))
    {
        return Err(format!(
            "decision {}: none of the signer's groups recorded with it is an approver group of {environment}",
            decision.id
        ));
    }
    Ok(Evidence::Shown)
}

/// The token's signature, checked with the recorded key; its expiry is not (it is read
/// long after), its claims are checked by the domain's rules.
fn check_token_signature(evidence: &IdentityEvidence) -> Result<(), String> {
    let jwk: Jwk = serde_json::from_value(evidence.key.clone())
        .map_err(|e| format!("the identity provider's key recorded is not a JWK: {e}"))?;
    let header = jsonwebtoken::decode_header(&evidence.id_token)
        .map_err(|e| format!("the identity provider's token has no readable header: {e}"))?;
    if !PUBLIC_KEY_ALGORITHMS.contains(&header.alg) {
        return Err(format!(
            "the identity provider's token is signed with {:?}, not a public-key algorithm",
            header.alg
        ));
    }
    if let (Some(kid), Some(recorded)) = (&header.kid, &jwk.common.key_id) {
        if kid != recorded {
            return Err(format!(
                "the identity provider's token names the key {kid:?}, not the recorded {recorded:?}"
            ));
        }
    }
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|e| format!("the identity provider's key recorded cannot be used: {e}"))?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<serde_json::Value>(&evidence.id_token, &key, &validation)
        .map(|_| ())
        .map_err(|e| {
            format!("the identity provider's token does not verify with the recorded key: {e}")
        })
}

/// Whether two JWKs are one public key: the same members that define it.
fn same_key(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let defining = ["kty", "crv", "n", "e", "x", "y"];
    defining.iter().all(|member| a.get(member) == b.get(member)) && a.get("kty").is_some()
}
