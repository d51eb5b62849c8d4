//! The identity provider's own evidence of a signer's sign-in, kept with the signature so
//! that how someone authenticated is not only the portal's word (§11.200, §11.300).
//!
//! An [`IdentityEvidence`] is the provider's ID token as it was sent (a compact JWS) and the
//! provider's public key it verifies with. When the portal sends a signer to sign in again
//! for one signature, the OpenID Connect `nonce` it asks for commits to what is signed:
//! [`nonce_commitment`] of the record digest and a random salt, the salt kept in the
//! evidence, so the token itself says which record it was made for.
//!
//! This module reads and checks the token's claims; checking its signature needs a JOSE
//! library and is the verifier's (`countersign-audit`) and, at sign-in, the OIDC client's.

use crate::identity::normalised_identifier;
use crate::model::Person;
use crate::signature::{Authentication, PROVIDER_CLOCK_SKEW};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The identity provider a deployment trusts, as its policy records it: signatures under
/// it carry its evidence, and its tokens must name this issuer and audience.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityProvider {
    /// The `iss` its ID tokens carry.
    pub issuer: String,
    /// The portal's client id: its ID tokens' `aud`.
    pub audience: String,
    /// The claim that identifies a person (`sub`, `oid`, ...): a signer's identifier.
    pub identity_claim: String,
    /// The claim that lists a person's groups (or app roles).
    pub groups_claim: String,
}

/// One sign-in's evidence, as the provider gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityEvidence {
    /// The ID token exactly as the provider sent it (compact JWS).
    pub id_token: String,
    /// The provider's public key (a JWK) the token's signature verifies with.
    pub key: Value,
    /// With a sign-in asked for this signature: the random half of its nonce, which is
    /// [`nonce_commitment`] of the record digest and this salt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_salt: Option<String>,
}

/// The nonce a sign-in asked for one signature carries: base64url (no padding) of
/// SHA-256 over `countersign-signature-nonce`, the record digest and the salt, each
/// followed by a line feed.
pub fn nonce_commitment(record_digest: &str, salt: &str) -> String {
    let mut hasher = Sha256::new();
    for part in ["countersign-signature-nonce", record_digest, salt] {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// Why a sign-in's evidence does not show what a signature needs. Each message is written
/// for the signer and for an auditor.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceProblem {
    #[error(
        "the identity provider's token cannot be read (not a compact JWS with a JSON payload)"
    )]
    Unreadable,
    #[error("the identity provider's token was issued by {found:?}, not by {expected:?}")]
    WrongIssuer { found: String, expected: String },
    #[error("the identity provider's token was not issued to this portal (its audience is not {expected:?})")]
    WrongAudience { expected: String },
    #[error("the identity provider's token is about someone else than the signer (its {claim} is not {signer:?})")]
    SomeoneElse { claim: String, signer: String },
    #[error("the identity provider's token does not commit to the record signed (its nonce is not the one asked for this signature)")]
    NonceDoesNotCommit,
    #[error("the identity provider's token does not say when the signer signed in (no auth_time)")]
    NoAuthenticationTime,
    #[error("the identity provider's token says the signer signed in at {auth_time}, before they were sent to sign in for this signature")]
    SignedInBeforeAsked { auth_time: String },
    #[error("the identity provider's token says the signer signed in at {auth_time}, after the signature")]
    SignedInAfterSigning { auth_time: String },
    #[error("the authentication recorded with the signature is not the one the identity provider's token states")]
    AuthenticationDiffers,
    #[error("the signer's groups recorded with the signature are not all in the identity provider's token")]
    GroupsNotInToken,
}

impl IdentityEvidence {
    /// The token's claims, read without checking its signature.
    pub fn claims(&self) -> Result<Value, EvidenceProblem> {
        let payload = self
            .id_token
            .split('.')
            .nth(1)
            .ok_or(EvidenceProblem::Unreadable)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| EvidenceProblem::Unreadable)?;
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
            .ok_or(EvidenceProblem::Unreadable)
    }

    /// How the person authenticated, as the token says.
    pub fn authentication(&self) -> Result<Authentication, EvidenceProblem> {
        Ok(authentication_from_claims(&self.claims()?))
    }

    /// The groups the token lists under `claim` (a list of names, or one name).
    pub fn groups(&self, claim: &str) -> Result<Vec<String>, EvidenceProblem> {
        Ok(match self.claims()?.get(claim) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        })
    }

    /// Whether the token shows what a signature by `signer` needs: issued by `provider` to
    /// this portal, about the signer, committing to `record_digest` when the signer was sent
    /// to sign in for it at `asked_at`, and an authentication between that moment (if any)
    /// and `signed_at`. Its signature is not checked here.
    pub fn check(
        &self,
        provider: &IdentityProvider,
        signer: &Person,
        record_digest: &str,
        asked_at: Option<OffsetDateTime>,
        signed_at: OffsetDateTime,
    ) -> Result<(), EvidenceProblem> {
        let claims = self.claims()?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let issuer = text("iss").unwrap_or_default();
        if issuer.trim_end_matches('/') != provider.issuer.trim_end_matches('/') {
            return Err(EvidenceProblem::WrongIssuer {
                found: issuer.to_owned(),
                expected: provider.issuer.clone(),
            });
        }
        let audience = match claims.get("aud") {
            Some(Value::String(one)) => one == &provider.audience,
            Some(Value::Array(many)) => many.iter().any(|a| a == provider.audience.as_str()),
            _ => false,
        };
        if !audience {
            return Err(EvidenceProblem::WrongAudience {
                expected: provider.audience.clone(),
            });
        }
        if text(&provider.identity_claim).and_then(normalised_identifier)
            != normalised_identifier(&signer.subject)
        {
            return Err(EvidenceProblem::SomeoneElse {
                claim: provider.identity_claim.clone(),
                signer: signer.subject.clone(),
            });
        }
        if asked_at.is_some() {
            let committed = self
                .nonce_salt
                .as_deref()
                .map(|salt| nonce_commitment(record_digest, salt));
            if committed.is_none() || text("nonce") != committed.as_deref() {
                return Err(EvidenceProblem::NonceDoesNotCommit);
            }
        }
        let at = authentication_from_claims(&claims)
            .at
            .ok_or(EvidenceProblem::NoAuthenticationTime)?;
        let shown = || {
            at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        if at > signed_at + PROVIDER_CLOCK_SKEW {
            return Err(EvidenceProblem::SignedInAfterSigning { auth_time: shown() });
        }
        if asked_at.is_some_and(|asked| at < asked - PROVIDER_CLOCK_SKEW) {
            return Err(EvidenceProblem::SignedInBeforeAsked { auth_time: shown() });
        }
        Ok(())
    }
}

/// How the person authenticated, from an ID token's claims: `auth_time` (Unix seconds),
/// `acr`, `amr`, and Entra ID's `acrs`. What is missing or malformed is absent.
pub fn authentication_from_claims(claims: &Value) -> Authentication {
    let strings = |name: &str| -> Vec<String> {
        claims
            .get(name)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    Authentication {
        at: claims
            .get("auth_time")
            .and_then(Value::as_i64)
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok()),
        acr: claims.get("acr").and_then(Value::as_str).map(str::to_owned),
        amr: strings("amr"),
        acrs: strings("acrs"),
    }
}
