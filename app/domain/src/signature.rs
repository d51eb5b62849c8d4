//! Electronic signatures (21 CFR Part 11, EU GMP Annex 11): what a decision means, and the
//! exact record it applies to.
//!
//! A person who decides signs a [`SignedContent`]: the version as the confirmation shows it
//! (group, version, ARN, image, model data, metrics), the environment and what it replaces
//! there, the verdict with its configured *meaning*, the reason, and the signer's identifier
//! and printed name. The signature keeps the meaning and the **record digest**: SHA-256 over
//! the content's canonical JSON (RFC 8785), so anyone can recompute it from what was shown,
//! and a registry entry changed afterwards no longer matches it (§11.70).

mod evidence;
mod pending;
pub use evidence::{
    authentication_from_claims, nonce_commitment, EvidenceProblem, IdentityEvidence,
    IdentityProvider,
};
pub use pending::{PendingSignature, SigningRequest};

use crate::model::{DecisionRecord, Metrics, ModelVersion, Person, Verdict};
use crate::Environment;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The signature on a decision: its meaning and the digest of the record it applies to.
/// Decisions from before signatures carry none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The configured meaning the signer chose, e.g. "Approved for release to prod".
    pub meaning: String,
    /// Lower-case hex SHA-256 of the signed content's canonical JSON.
    pub record_digest: String,
    /// The version that was live in the environment when it was signed, part of the signed
    /// content: kept so that the content can be built again and the digest checked.
    #[serde(default)]
    pub replaces_version: Option<u32>,
    /// How the signer had last proved who they were when they signed; absent on signatures
    /// from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// The identity provider's own evidence of the sign-in the signature relies on; absent
    /// without a provider (the development sign-in) and on signatures from before it was
    /// kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_evidence: Option<IdentityEvidence>,
    /// The signer's groups that made them an approver of the environment, as their
    /// sign-in listed them; empty on signatures from before they were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// How a person last proved who they are, as the identity provider's ID token said
/// (the development sign-in says it too, for the moment a demo identity was chosen).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// When the person last authenticated at the provider (`auth_time`); `None` when the
    /// provider did not say (Entra ID sends it only as a configured optional claim).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
    /// The authentication context class (`acr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The authentication methods (`amr`), e.g. `pwd`, `mfa`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Entra ID's authentication contexts satisfied (`acrs`), e.g. `c1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acrs: Vec<String>,
}

impl Authentication {
    /// An authentication at `at` with nothing else said about it.
    pub fn at(at: OffsetDateTime) -> Self {
        Self {
            at: Some(at),
            ..Self::default()
        }
    }

    /// Whether the provider says the person authenticated in context `class` (`acr` or, in
    /// Entra ID, one of `acrs`).
    pub fn satisfies(&self, class: &str) -> bool {
        self.acr.as_deref() == Some(class) || self.acrs.iter().any(|c| c == class)
    }
}

/// The signing ceremony's evidence for one decision: the record digest the signer
/// confirmed, and how they had last authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signing {
    /// The digest the confirmation step showed and the signer confirmed.
    pub reviewed_digest: String,
    pub authentication: Authentication,
    /// When the portal sent the signer to the provider to authenticate again for this
    /// signature, if it did: an authentication after that moment is fresh, whatever the
    /// environment's maximum age (0 means "always").
    pub reauthentication_asked_at: Option<OffsetDateTime>,
    /// The identity provider's evidence of that authentication, when there is a provider.
    pub evidence: Option<IdentityEvidence>,
}

/// A signature that was not made, kept beside the decisions (21 CFR 11.10(e): the trail
/// shows failed and abandoned attempts too): who tried to sign what, when, and what came of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningAttempt {
    pub id: String,
    pub group: String,
    /// The version decided, or the version a rollback puts back.
    pub version: u32,
    pub environment: String,
    /// `approve`, `reject` or `rollback`.
    pub verdict: String,
    /// Who was signed in when it happened.
    pub by: Person,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub outcome: AttemptOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// Sent to the identity provider to sign in again; a signature follows unless the
    /// attempt was abandoned or refused (recorded then too).
    SentToSignInAgain,
    /// Refused, with the reason the signer was shown.
    Refused { reason: String },
}

impl SigningAttempt {
    /// Its id: the same for the same person, version, environment, verdict and outcome
    /// within one minute, so that identical attempts (a refused signature replayed in a
    /// loop) are kept once a minute, not once a request (N10).
    pub fn id_within_its_minute(&self) -> String {
        let version = self.version.to_string();
        let outcome = serde_json::to_string(&self.outcome).expect("an outcome serialises");
        crate::audit::id_within_its_minute(
            [
                self.by.subject.as_str(),
                self.group.as_str(),
                &version,
                &self.environment,
                &self.verdict,
                &outcome,
            ],
            self.at,
        )
    }

    /// The attempt as one line of JSON, as both backends keep it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an attempt serialises")
    }

    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// How far the identity provider's clock may be behind ours when we compare its
/// `auth_time` with the moment we sent someone to it.
pub const PROVIDER_CLOCK_SKEW: time::Duration = time::Duration::seconds(10);

/// Who signs, as the record shows them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Signer {
    /// The person's stable identifier (the configured identity claim).
    pub identifier: String,
    pub name: String,
    pub email: String,
}

impl From<&Person> for Signer {
    fn from(person: &Person) -> Self {
        Self {
            identifier: person.subject.clone(),
            name: person.name.clone(),
            email: person.email.clone(),
        }
    }
}

/// Exactly what a signature applies to. Field names are part of the digest: changing one
/// changes every digest from then on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SignedContent {
    pub model_package_group: String,
    /// The version the decision is about; for a rollback, the version put back.
    pub model_package_version: u32,
    pub model_package_arn: String,
    pub image_uri: String,
    pub model_data_url: String,
    /// Only when the registry knows them: absent, they leave the canonical JSON (and so
    /// every digest signed before they were known) as it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_data_etag: Option<String>,
    pub metrics: Metrics,
    pub environment: String,
    /// `approve`, `reject` or `rollback`.
    pub verdict: String,
    /// The version live in the environment when the decision was taken, if any.
    pub replaces_version: Option<u32>,
    pub meaning: String,
    pub reason: Option<String>,
    pub signer: Signer,
}

impl SignedContent {
    pub fn of(
        version: &ModelVersion,
        environment: &Environment,
        verdict: Verdict,
        meaning: &str,
        reason: Option<&str>,
        signer: &Person,
    ) -> Self {
        Self {
            model_package_group: version.group.to_string(),
            model_package_version: version.version.get(),
            model_package_arn: version.arn.clone(),
            image_uri: version.image_uri.clone(),
            model_data_url: version.model_data_url.clone(),
            image_digest: version.digests.image.clone(),
            model_data_etag: version.digests.model_data.clone(),
            metrics: version.metrics.clone(),
            environment: environment.to_string(),
            verdict: verdict.as_str().to_owned(),
            replaces_version: None,
            meaning: meaning.to_owned(),
            reason: reason.map(str::to_owned),
            signer: Signer::from(signer),
        }
    }

    /// The content as RFC 8785 canonical JSON: what the digest is taken over.
    pub fn canonical_json(&self) -> String {
        serde_json_canonicalizer::to_string(self).expect("signed content serialises")
    }

    /// Lower-case hex SHA-256 of the canonical JSON.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_json().as_bytes()))
    }

    pub fn signature(&self) -> Signature {
        Signature {
            meaning: self.meaning.clone(),
            record_digest: self.digest(),
            replaces_version: self.replaces_version,
            authentication: None,
            identity_evidence: None,
            groups: Vec::new(),
        }
    }
}

/// Whether a decision's signature still applies to `signed_version` as the registry holds it
/// now: the version the decision signed (for a rollback, the version it put back). A
/// decision without a signature (from before signatures) has nothing to check. Changing the
/// image, the model data or a metric afterwards breaks it (21 CFR 11.70).
pub fn still_binds(record: &DecisionRecord, signed_version: &ModelVersion) -> bool {
    match (&record.signature, digest_now(record, signed_version)) {
        (Some(signature), Some(now)) => now == signature.record_digest,
        _ => true,
    }
}

/// The record digest the decision's signed content would have with `signed_version` as the
/// registry holds it now; `None` for a decision without a signature.
pub fn digest_now(record: &DecisionRecord, signed_version: &ModelVersion) -> Option<String> {
    let signature = record.signature.as_ref()?;
    let mut content = SignedContent::of(
        signed_version,
        &record.environment,
        record.verdict,
        &signature.meaning,
        record.reason.as_deref(),
        &record.decided_by,
    );
    content.replaces_version = signature.replaces_version;
    Some(content.digest())
}

/// The meaning a verdict has in an environment unless configured otherwise.
pub fn default_meaning(verdict: Verdict, environment: &Environment) -> String {
    match verdict {
        Verdict::Approve => format!("Approved for release to {environment}"),
        Verdict::Reject => format!("Rejected for {environment}"),
        Verdict::Rollback => format!("Rolled back {environment}"),
    }
}

#[cfg(test)]
mod tests;
