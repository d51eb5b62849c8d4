//! One entry of a group's trail, as it is stored, hashed and checked: RFC 8785 canonical
//! JSON. The field names are part of every hash: never rename one.

use countersign_domain::audit::{AuditEvent, AuditRecord};
use countersign_domain::signature::IdentityProvider;
use countersign_domain::{
    DecisionRecord, Environment, GroupName, Metrics, Person, Policy, Signature, SigningAttempt,
    StepState, Verdict, VersionNumber,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tlog_tiles::Hash;

/// One entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Its place in the group's trail, from 0.
    pub seq: u64,
    pub group: String,
    /// Unique in the group's trail (see [`AuditRecord::key`]).
    pub key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub event: EventJson,
    /// Lower-case hex of the entry before it's hash; 64 zeros for the first entry.
    pub previous: String,
}

/// The `previous` of a trail's first entry.
pub const NO_PREVIOUS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, as the trail writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventJson {
    /// The rules every later entry happened under, until the next such entry.
    PolicyInForce {
        environments: Vec<EnvironmentRules>,
        /// Where people sign in; absent with the development sign-in. With one, every
        /// signature carries the provider's evidence of the sign-in it relies on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity_provider: Option<IdentityProvider>,
    },
    RegistrationSeen {
        version: u32,
        arn: String,
        image_uri: String,
        model_data_url: String,
        image_digest: Option<String>,
        model_data_etag: Option<String>,
        metrics: Metrics,
        registered_by: Person,
        /// Every identifier the version is attributed to (four-eyes).
        attributed_to: Vec<String>,
        /// Whether the registrant was established (a caller bound to them registered it, or
        /// the registry's record of the creator maps to them) rather than only declared.
        /// Absent from entries written before the distinction, where anyone named counted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        registrant_verified: Option<bool>,
        registered_through: Option<String>,
        #[serde(with = "time::serde::rfc3339")]
        registered_at: OffsetDateTime,
        /// Each environment's state when the portal first saw the version (a version
        /// registered before the trail began may have been decided already).
        steps: std::collections::BTreeMap<String, String>,
    },
    ApprovalRequested {
        version: u32,
        environment: String,
    },
    Decided {
        decision: Box<DecisionJson>,
        /// Exactly what the signer confirmed; its RFC 8785 SHA-256 is the signature's
        /// record digest.
        signed: serde_json::Value,
        #[serde(with = "time::serde::rfc3339::option")]
        reauthentication_asked_at: Option<OffsetDateTime>,
    },
    SigningAttempted {
        attempt: SigningAttempt,
    },
    ReportReceived {
        version: u32,
        environment: String,
        run_id: String,
        metrics: Metrics,
        sample_count: u64,
        #[serde(with = "time::serde::rfc3339")]
        started_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        finished_at: OffsetDateTime,
        artifacts_url: Option<String>,
        reported_by: String,
    },
    PromotionRequested {
        version: u32,
        environment: String,
    },
    /// An environment's live value the log does not explain, as the portal saw it.
    DriftSeen {
        environment: String,
        /// What differs, in the portal's words: the live value against what it deployed.
        explanation: String,
        /// The version live there (`None`: nothing is live).
        live_version: Option<u32>,
        /// The version the portal last deployed there (`None`: it deployed nothing).
        logged_version: Option<u32>,
    },
    /// A decision's signature that no longer binds the version as the registry holds it.
    SignatureNoLongerBinds {
        version: u32,
        environment: String,
        decision_id: String,
        /// The digest the signer confirmed.
        signed_digest: String,
        /// The digest of the same content with the registry's record as read.
        digest_now: String,
    },
    /// In the portal's own trail: what happened to the portal (`what.kind` says which).
    System {
        what: countersign_domain::audit::SystemEvent,
    },
}

/// One environment's rules in a [`EventJson::PolicyInForce`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentRules {
    pub environment: String,
    pub approver_groups: Vec<String>,
    pub required_approvals: u8,
    pub self_approval_allowed: bool,
    pub extra_approval_without_registrant: bool,
    pub reason_required: bool,
    pub signing_max_age_seconds: i64,
    pub signing_context: Option<String>,
}

/// A decision as the trail writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionJson {
    pub id: String,
    pub version: u32,
    pub environment: String,
    /// `approve`, `reject` or `rollback`.
    pub verdict: String,
    pub reason: Option<String>,
    pub decided_by: Person,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    /// The step's state once applied, as SageMaker spells it.
    pub resulting_state: String,
    pub rollback_to: Option<u32>,
    pub signature: Option<Signature>,
}

impl DecisionJson {
    pub fn of(record: &DecisionRecord) -> Self {
        Self {
            id: record.id.clone(),
            version: record.version.get(),
            environment: record.environment.to_string(),
            verdict: record.verdict.as_str().to_owned(),
            reason: record.reason.clone(),
            decided_by: record.decided_by.clone(),
            decided_at: record.decided_at,
            resulting_state: record.resulting_state.as_str().to_owned(),
            rollback_to: record.rollback_to.map(|v| v.get()),
            signature: record.signature.clone(),
        }
    }

    /// The decision `group`'s trail holds, as the domain records one; `None` where a field
    /// names nothing the domain knows (the verifier reports such an entry).
    pub fn record(&self, group: &GroupName) -> Option<DecisionRecord> {
        Some(DecisionRecord {
            id: self.id.clone(),
            group: group.clone(),
            version: VersionNumber::new(self.version).ok()?,
            environment: Environment::parse(&self.environment).ok()?,
            verdict: Verdict::parse(&self.verdict)?,
            reason: self.reason.clone(),
            decided_by: self.decided_by.clone(),
            decided_at: self.decided_at,
            resulting_state: StepState::parse(&self.resulting_state)?,
            rollback_to: match self.rollback_to {
                Some(version) => Some(VersionNumber::new(version).ok()?),
                None => None,
            },
            signature: self.signature.clone(),
        })
    }

    /// The fields in which `other` tells this decision otherwise, named for a reader.
    pub fn differences(&self, other: &DecisionJson) -> Vec<&'static str> {
        let (ours, theirs) = (self.signature.as_ref(), other.signature.as_ref());
        // A signature's parts are compared where both hold one; "signature" says where not.
        let signed_alike = |same: fn(&Signature, &Signature) -> bool| {
            ours.zip(theirs)
                .is_none_or(|(ours, theirs)| same(ours, theirs))
        };
        let fields = [
            ("version", self.version == other.version),
            ("environment", self.environment == other.environment),
            ("verdict", self.verdict == other.verdict),
            ("reason", self.reason == other.reason),
            ("signer", self.decided_by == other.decided_by),
            ("time", self.decided_at == other.decided_at),
            (
                "resulting state",
                self.resulting_state == other.resulting_state,
            ),
            ("rollback target", self.rollback_to == other.rollback_to),
            ("signature", ours.is_some() == theirs.is_some()),
            ("meaning", signed_alike(|a, b| a.meaning == b.meaning)),
            (
                "record digest",
                signed_alike(|a, b| a.record_digest == b.record_digest),
            ),
            (
                "replaced version",
                signed_alike(|a, b| a.replaces_version == b.replaces_version),
            ),
            (
                "authentication",
                signed_alike(|a, b| a.authentication == b.authentication),
            ),
        ];
        let mut differ: Vec<&'static str> = fields
            .into_iter()
            .filter(|(_, same)| !same)
            .map(|(name, _)| name)
            .collect();
        if differ.is_empty() && self != other {
            differ.push("id");
        }
        differ
    }
}

impl Entry {
    /// The entry's canonical JSON: what is stored, hashed and signed over.
    pub fn canonical(&self) -> String {
        serde_json_canonicalizer::to_string(self).expect("an entry serialises")
    }

    /// An entry read back: `None` unless `text` is exactly an entry's canonical JSON, so
    /// that any change to it, even one JSON would not notice, is caught.
    pub fn parse(text: &str) -> Result<Self, String> {
        let entry: Entry = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if entry.canonical() != text {
            return Err("it is not in its canonical form (RFC 8785)".into());
        }
        Ok(entry)
    }
}

/// The entry's hash: RFC 6962's leaf hash of its text, `SHA-256(0x00 || text)`. The next
/// entry's `previous` and the Merkle tree both use it.
pub fn entry_hash(text: &str) -> Hash {
    tlog_tiles::record_hash(text.as_bytes())
}

impl EventJson {
    pub fn of(event: &AuditEvent) -> Self {
        match event {
            AuditEvent::RegistrationSeen(version) => Self::RegistrationSeen {
                version: version.version.get(),
                arn: version.arn.clone(),
                image_uri: version.image_uri.clone(),
                model_data_url: version.model_data_url.clone(),
                image_digest: version.digests.image.clone(),
                model_data_etag: version.digests.model_data.clone(),
                metrics: version.metrics.clone(),
                registered_by: version.registered_by.clone(),
                attributed_to: version
                    .attributed_to
                    .identifiers()
                    .map(str::to_owned)
                    .collect(),
                registrant_verified: Some(version.attributed_to.is_verified()),
                registered_through: version.registered_through.clone(),
                registered_at: version.registered_at,
                steps: version
                    .steps
                    .iter()
                    .map(|(env, state)| (env.to_string(), state.as_str().to_owned()))
                    .collect(),
            },
            AuditEvent::ApprovalRequested {
                version,
                environment,
            } => Self::ApprovalRequested {
                version: version.get(),
                environment: environment.to_string(),
            },
            AuditEvent::Decided {
                record,
                signed,
                reauthentication_asked_at,
            } => Self::Decided {
                decision: Box::new(DecisionJson::of(record)),
                signed: serde_json::to_value(signed).expect("signed content serialises"),
                reauthentication_asked_at: *reauthentication_asked_at,
            },
            AuditEvent::SigningAttempted(attempt) => Self::SigningAttempted {
                attempt: (**attempt).clone(),
            },
            AuditEvent::ReportReceived(report) => Self::ReportReceived {
                version: report.version.get(),
                environment: report.environment.to_string(),
                run_id: report.run_id.to_string(),
                metrics: report.metrics.clone(),
                sample_count: report.sample_count,
                started_at: report.started_at,
                finished_at: report.finished_at,
                artifacts_url: report.artifacts_url.clone(),
                reported_by: report.reported_by.clone(),
            },
            AuditEvent::PromotionRequested {
                version,
                environment,
            } => Self::PromotionRequested {
                version: version.get(),
                environment: environment.to_string(),
            },
            AuditEvent::System { event, .. } => Self::System {
                what: event.clone(),
            },
            AuditEvent::SignatureNoLongerBinds {
                version,
                environment,
                decision_id,
                signed_digest,
                digest_now,
            } => Self::SignatureNoLongerBinds {
                version: version.get(),
                environment: environment.to_string(),
                decision_id: decision_id.clone(),
                signed_digest: signed_digest.clone(),
                digest_now: digest_now.clone(),
            },
            AuditEvent::DriftSeen(drift) => {
                use countersign_domain::history::Drift;
                let (live, logged) = match &**drift {
                    Drift::Unlogged { live } => (Some(live), None),
                    Drift::Deleted { logged } => (None, Some(logged)),
                    Drift::Replaced { live, logged } => (Some(live), Some(&**logged)),
                };
                Self::DriftSeen {
                    environment: drift.environment().to_string(),
                    explanation: drift.explain(),
                    live_version: live.map(|d| d.version.get()),
                    logged_version: logged.map(|d| d.version.get()),
                }
            }
        }
    }

    pub fn policy(policy: &Policy) -> Self {
        Self::PolicyInForce {
            environments: policy
                .environments()
                .iter()
                .map(|env| EnvironmentRules {
                    environment: env.to_string(),
                    approver_groups: policy.approver_groups(env).map(str::to_owned).collect(),
                    required_approvals: policy.required_approvals(env),
                    self_approval_allowed: policy.self_approval_allowed(env),
                    extra_approval_without_registrant: policy
                        .extra_approval_without_registrant(env),
                    reason_required: policy.reason_required(env),
                    signing_max_age_seconds: policy.signing_max_age(env).whole_seconds(),
                    signing_context: policy.signing_context(env).map(str::to_owned),
                })
                .collect(),
            identity_provider: policy.identity_provider().cloned(),
        }
    }
}

/// The key a policy entry is appended under: unique, as the same rules may come back.
pub fn policy_key(seq: u64) -> String {
    format!("policy/{seq}")
}

/// The entry `record` becomes at `seq` after the entry hashed `previous`.
pub fn entry_of(record: &AuditRecord, seq: u64, previous: &str) -> Entry {
    Entry {
        seq,
        group: record.group.to_string(),
        key: record.key.clone(),
        at: record.at,
        actor: record.actor.clone(),
        event: EventJson::of(&record.event),
        previous: previous.to_owned(),
    }
}
