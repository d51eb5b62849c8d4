//! The audit trail's events: what happened to a model group that an auditor must be able
//! to see, in the order it happened. Each is appended, once, to the group's append-only
//! log (`countersign-audit` says how an entry is written, chained, hashed and checked;
//! [`crate::ports::AuditTrail`] where it is kept).

use crate::environment::Environment;
use crate::model::{DecisionRecord, GroupName, ModelVersion, Person, VersionNumber};
use crate::policy::Policy;
use crate::report::InferenceReport;
use crate::signature::{SignedContent, SigningAttempt};
use std::sync::Arc;
use time::OffsetDateTime;

/// Something that happened, as the trail keeps it.
#[derive(Clone, Debug, PartialEq)]
pub enum AuditEvent {
    /// The portal first saw the version (registered through it, or found in the registry).
    RegistrationSeen(Box<ModelVersion>),
    /// The approvers of an environment were asked to decide the version.
    ApprovalRequested {
        version: VersionNumber,
        environment: Environment,
    },
    /// A signed decision (a rollback too), with exactly what its signer confirmed.
    Decided {
        record: Box<DecisionRecord>,
        signed: Box<SignedContent>,
        /// When the portal sent the signer to sign in again for this signature, if it did:
        /// what makes a sign-in older than the environment's maximum age fresh enough.
        reauthentication_asked_at: Option<OffsetDateTime>,
    },
    /// A signature that was not made: refused, or a trip to sign in again.
    SigningAttempted(Box<SigningAttempt>),
    /// A pipeline reported a run.
    ReportReceived(Box<InferenceReport>),
    /// The approvers of an environment were asked to promote the version to it.
    PromotionRequested {
        version: VersionNumber,
        environment: Environment,
    },
    /// The portal saw an environment's live value that its log does not explain: written,
    /// replaced or deleted outside it (kept once per state it saw).
    DriftSeen(Box<crate::history::Drift>),
    /// The portal read a version whose registry record no longer matches what a decision
    /// signed (changed outside it): kept once per digest seen.
    SignatureNoLongerBinds {
        version: VersionNumber,
        environment: Environment,
        decision_id: String,
        signed_digest: String,
        digest_now: String,
    },
    /// Something that happened to the portal itself, in its own trail
    /// ([`crate::model::SYSTEM_TRAIL`]); `id` tells one occurrence from another.
    System { id: String, event: SystemEvent },
}

/// What the portal's own trail keeps: who came and went, and what ran (21 CFR 11.10(e),
/// EU GMP Annex 11 §12.4).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SystemEvent {
    /// The portal started serving: its software, and a digest of every setting that is not
    /// a secret (the same digest, the same settings).
    Started {
        software_version: String,
        commit: String,
        settings_digest: String,
        gxp_profile: bool,
    },
    /// Someone signed in: `through` the identity provider or the development sign-in.
    SignedIn {
        person: Person,
        through: String,
    },
    SignedOut {
        person: Person,
    },
    /// A sign-in that did not complete, and why (the person is unknown: nobody signed in).
    SignInFailed {
        reason: String,
    },
    /// Someone signed in was refused the portal (`what`: the address asked for): they are in
    /// none of the groups that may look.
    AccessRefused {
        person: Person,
        what: String,
    },
    /// A group's trail or history left the portal as a file.
    Exported {
        group: String,
        file: String,
        person: Person,
    },
    /// An operator ran a command that changes or exports records (`countersign …`, its
    /// arguments as given).
    CommandRun {
        command: String,
        operator: String,
        /// On AWS, the identity its credentials are (`sts:GetCallerIdentity`'s ARN).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        aws_caller: Option<String>,
    },
    /// The portal generated a key it keeps (`key`: which), none being kept before; for the
    /// audit signing key, its public key, which verifies every checkpoint signed from now on.
    KeyGenerated {
        key: String,
        public_key: Option<String>,
    },
}

impl SystemEvent {
    /// Its kind, as the trail writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Started { .. } => "started",
            Self::SignedIn { .. } => "signed_in",
            Self::SignedOut { .. } => "signed_out",
            Self::SignInFailed { .. } => "sign_in_failed",
            Self::AccessRefused { .. } => "access_refused",
            Self::Exported { .. } => "exported",
            Self::CommandRun { .. } => "command_run",
            Self::KeyGenerated { .. } => "key_generated",
        }
    }
}

/// An id for what `parts` describe within the minute `at` falls in: the same parts in the
/// same minute give the same id, so a repeat within the minute is kept once (N10).
pub fn id_within_its_minute<'a>(
    parts: impl IntoIterator<Item = &'a str>,
    at: OffsetDateTime,
) -> String {
    use sha2::{Digest, Sha256};
    let minute = at.unix_timestamp().div_euclid(60).to_string();
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update(minute.as_bytes());
    hasher.update([0]);
    hex::encode(&hasher.finalize()[..16])
}

/// One event for one group's trail, with who caused it and the policy it happened under.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub group: GroupName,
    /// Unique in the group's trail: the same event appended again (a retry, a second
    /// replica, the reconciliation scan) is kept once.
    pub key: String,
    pub at: OffsetDateTime,
    /// Who: a person's identifier, a pipeline's client name, or `countersign` itself.
    pub actor: String,
    pub event: AuditEvent,
    /// The rules in force when it happened. The trail records them before the first entry
    /// appended under them, so a verifier checks each decision by the rules of its time.
    pub policy: Arc<Policy>,
}

/// The actor of what the portal does by itself (requests it sends, versions it finds).
pub const PORTAL_ACTOR: &str = "countersign";

impl AuditRecord {
    /// The key of the decision `id`'s entry.
    pub fn decision_key(id: &str) -> String {
        format!("decision/{id}")
    }

    /// The key of the entry where the portal first saw `version`.
    pub fn registration_key(version: VersionNumber) -> String {
        format!("registration/{version}")
    }

    /// The record's key, derived from what it is about so that a repeat has the same one.
    pub fn key_of(event: &AuditEvent) -> String {
        match event {
            AuditEvent::RegistrationSeen(version) => Self::registration_key(version.version),
            AuditEvent::ApprovalRequested {
                version,
                environment,
            } => format!("approval-request/{version}/{environment}"),
            AuditEvent::Decided { record, .. } => Self::decision_key(&record.id),
            AuditEvent::SigningAttempted(attempt) => format!("attempt/{}", attempt.id),
            AuditEvent::ReportReceived(report) => format!(
                "report/{}/{}/{}",
                report.version, report.environment, report.run_id
            ),
            AuditEvent::PromotionRequested {
                version,
                environment,
            } => format!("promotion-request/{version}/{environment}"),
            AuditEvent::System { id, event } => format!("system/{}/{id}", event.kind()),
            AuditEvent::SignatureNoLongerBinds {
                decision_id,
                digest_now,
                ..
            } => format!("unbound/{decision_id}/{digest_now}"),
            AuditEvent::DriftSeen(drift) => {
                use sha2::{Digest, Sha256};
                let state = hex::encode(Sha256::digest(drift.explain().as_bytes()));
                format!("drift/{}/{}", drift.environment(), &state[..32])
            }
        }
    }
}

impl AuditRecord {
    /// `event`, caused by `actor` at `at` under `policy`, keyed by what it is about.
    pub fn new(
        group: GroupName,
        actor: &str,
        at: OffsetDateTime,
        event: AuditEvent,
        policy: Arc<Policy>,
    ) -> Self {
        Self {
            group,
            key: Self::key_of(&event),
            at,
            actor: actor.to_owned(),
            event,
            policy,
        }
    }

    /// The entry of the decision `effect` makes, with what its signer confirmed, under `policy`.
    pub fn decided(
        effect: &crate::workflow::DecisionEffect,
        reauthentication_asked_at: Option<OffsetDateTime>,
        policy: Arc<Policy>,
    ) -> Self {
        let record = &effect.record;
        let event = AuditEvent::Decided {
            record: Box::new(record.clone()),
            signed: Box::new(effect.signed.clone()),
            reauthentication_asked_at,
        };
        let actor = &record.decided_by.subject;
        Self::new(
            record.group.clone(),
            actor,
            record.decided_at,
            event,
            policy,
        )
    }
}

/// Where an appended record landed in its group's trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The entry's sequence number (the earlier entry's, when the key was kept before).
    pub seq: u64,
    /// The trail's size after the append.
    pub size: u64,
    /// The RFC 6962 root hash of the trail at `size`.
    pub root: [u8; 32],
    /// False when the key was already in the trail and nothing was appended.
    pub new: bool,
    /// The trail's size and root before the append: the tree it grew from (`size` and
    /// `root` again when nothing was appended).
    pub from_size: u64,
    pub from_root: [u8; 32],
}
