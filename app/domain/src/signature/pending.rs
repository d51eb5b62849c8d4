//! A signature chosen and not yet made: what the person asked to sign, kept (sealed, by the
//! server) between the decision form, the confirmation step and, where the environment
//! asks for a fresh sign-in, the identity provider.

use crate::model::{Choice, GroupName, Verdict, VersionNumber};
use crate::policy::Actor;
use crate::workflow::{DecisionRequest, RollbackRequest};
use crate::Environment;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What a person signs: a decision about one version, or a rollback (rule 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigningRequest {
    Decide {
        version: VersionNumber,
        request: DecisionRequest,
    },
    RollBack(RollbackRequest),
}

impl SigningRequest {
    /// `verdict` about `environment` for `version`: the version decided or, for a
    /// rollback, the version it puts back. `meaning`: one of the policy's for it, `None`
    /// (or blank) the first.
    pub fn new(
        environment: Environment,
        verdict: Verdict,
        version: VersionNumber,
        reason: &str,
        meaning: Option<String>,
    ) -> Self {
        let meaning = meaning.filter(|m| !m.is_empty());
        let choice = match verdict {
            Verdict::Approve => Choice::Approve,
            Verdict::Reject => Choice::Reject,
            Verdict::Rollback => {
                return Self::RollBack(RollbackRequest {
                    environment,
                    target: version,
                    reason: reason.to_owned(),
                    meaning,
                })
            }
        };
        let mut request = DecisionRequest::new(environment, choice, reason);
        request.meaning = meaning;
        Self::Decide { version, request }
    }

    pub fn environment(&self) -> &Environment {
        match self {
            Self::Decide { request, .. } => &request.environment,
            Self::RollBack(request) => &request.environment,
        }
    }

    /// The version decided, or the version a rollback puts back: the page it is asked on.
    pub fn version(&self) -> VersionNumber {
        match self {
            Self::Decide { version, .. } => *version,
            Self::RollBack(request) => request.target,
        }
    }

    pub fn verdict(&self) -> Verdict {
        match self {
            Self::Decide { request, .. } => request.choice.into(),
            Self::RollBack(_) => Verdict::Rollback,
        }
    }

    fn reason(&self) -> &str {
        match self {
            Self::Decide { request, .. } => &request.reason,
            Self::RollBack(request) => &request.reason,
        }
    }

    fn meaning(&self) -> Option<&str> {
        match self {
            Self::Decide { request, .. } => request.meaning.as_deref(),
            Self::RollBack(request) => request.meaning.as_deref(),
        }
    }
}

/// A decision or rollback a person has chosen and not yet signed. Kept as a flat JSON
/// document (the cookie's format: a signature waiting across a deployment still reads back)
/// and parsed again when read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PendingDocument", into = "PendingDocument")]
pub struct PendingSignature {
    /// Whose it is: nobody else can sign it.
    pub subject: String,
    pub group: GroupName,
    pub request: SigningRequest,
    /// Set once the signer confirmed and was sent to authenticate again: the record digest
    /// they confirmed, and when they were sent.
    pub reviewed_digest: Option<String>,
    pub reauthentication_asked_at: Option<OffsetDateTime>,
    /// The random half of the nonce the sign-in for it was asked with (see
    /// [`crate::signature::nonce_commitment`]).
    pub nonce_salt: Option<String>,
}

impl PendingSignature {
    /// `actor`'s request about `group`, not yet confirmed.
    pub fn new(actor: &Actor, group: GroupName, request: SigningRequest) -> Self {
        Self {
            subject: actor.person.subject.clone(),
            group,
            request,
            reviewed_digest: None,
            reauthentication_asked_at: None,
            nonce_salt: None,
        }
    }

    /// Whether this is `actor`'s signature about `group`'s `version`.
    pub fn belongs_to(&self, actor: &Actor, group: &str, version: u32) -> bool {
        self.subject == actor.person.subject
            && self.group.as_str() == group
            && self.request.version().get() == version
    }
}

#[derive(Clone, Serialize, Deserialize)]
struct PendingDocument {
    subject: String,
    group: String,
    version: u32,
    environment: String,
    /// `approve`, `reject` or `rollback`.
    verdict: String,
    reason: String,
    meaning: Option<String>,
    reviewed_digest: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    reauthentication_asked_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce_salt: Option<String>,
}

impl TryFrom<PendingDocument> for PendingSignature {
    type Error = String;

    fn try_from(document: PendingDocument) -> Result<Self, String> {
        let verdict = Verdict::parse(&document.verdict)
            .ok_or_else(|| format!("{:?} is not a verdict", document.verdict))?;
        let request = SigningRequest::new(
            Environment::parse(&document.environment).map_err(|e| e.to_string())?,
            verdict,
            VersionNumber::new(document.version).map_err(|e| e.to_string())?,
            &document.reason,
            document.meaning,
        );
        Ok(Self {
            subject: document.subject,
            group: GroupName::parse(&document.group).map_err(|e| e.to_string())?,
            request,
            reviewed_digest: document.reviewed_digest,
            reauthentication_asked_at: document.reauthentication_asked_at,
            nonce_salt: document.nonce_salt,
        })
    }
}

impl From<PendingSignature> for PendingDocument {
    fn from(pending: PendingSignature) -> Self {
        let request = &pending.request;
        Self {
            version: request.version().get(),
            environment: request.environment().to_string(),
            verdict: request.verdict().as_str().to_owned(),
            reason: request.reason().to_owned(),
            meaning: request.meaning().map(str::to_owned),
            subject: pending.subject,
            group: pending.group.to_string(),
            reviewed_digest: pending.reviewed_digest,
            reauthentication_asked_at: pending.reauthentication_asked_at,
            nonce_salt: pending.nonce_salt,
        }
    }
}

#[cfg(test)]
mod tests;
