//! The ports: what the workflow needs from the outside world.
//!
//! Each adapter (the embedded SQLite store; the AWS SageMaker and SSM clients)
//! implements these traits. Every method's error contract is [`PortError`]: `Conflict` when
//! a concurrent change won, `Unavailable` when the backend could not be reached or failed
//! (retrying may help), `Corrupt` when stored data cannot be read back (it will not), `Rejected` when the backend
//! refuses the input itself, `Denied` when it refuses the portal's credentials.

use crate::audit::{Appended, AuditRecord};
use crate::environment::Environment;
use crate::model::*;
use crate::notification::Notice;
use crate::report::InferenceReport;
use crate::signature::{IdentityEvidence, SigningAttempt};
use crate::workflow::DecisionEffect;
use async_trait::async_trait;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("someone else changed this version, or what is live in this environment, at the same time; reload and decide again")]
    Conflict,
    #[error("the backend is unavailable: {0}")]
    Unavailable(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    /// The backend refused what was sent as invalid (for example a value SageMaker's
    /// metadata cannot hold); sending it again will not help, changing it will.
    #[error("{0}")]
    Rejected(String),
    /// The backend refused the portal's own credentials; an operator must grant access.
    #[error("{0}")]
    Denied(String),
}

/// The audit trail: one append-only log per model group (`countersign-audit` writes and
/// checks its entries; this is where they are kept).
#[async_trait]
pub trait AuditTrail: Send + Sync {
    /// Appends `record`, preceded by the policy it happened under when that is not the
    /// policy the group's trail recorded last, unless its key is in the trail already.
    /// A few store writes, however long the trail.
    async fn append(&self, record: &AuditRecord) -> Result<Appended, PortError>;

    /// The group's entries from sequence number `from` on, oldest first, each exactly as
    /// stored (its canonical JSON).
    async fn entries(&self, group: &GroupName, from: u64) -> Result<Vec<String>, PortError>;

    /// The group's entries whose keys are among `keys`, oldest first, each exactly as
    /// stored and once however often its key is named; a key the trail lacks is left out.
    /// A read or two however long the trail.
    async fn entries_keyed(
        &self,
        group: &GroupName,
        keys: &[String],
    ) -> Result<Vec<String>, PortError>;
}

/// Where signed checkpoints of the audit trails are published, apart from the trails'
/// own store, so that a rewritten or truncated trail no longer matches them.
#[async_trait]
pub trait CheckpointPublisher: Send + Sync {
    /// Publishes one signed checkpoint (a C2SP signed note) of `group`'s trail.
    async fn publish(&self, group: &GroupName, note: &str) -> Result<(), PortError>;

    /// Every checkpoint published for `group`, in the order published.
    async fn published(&self, group: &GroupName) -> Result<Vec<String>, PortError>;

    /// The checkpoint published for `group` that names the most entries (by the size its
    /// second line states; its signature is the reader's to check), if any: what a reader
    /// that verified the trail before needs to verify what was appended since. A few reads,
    /// however many checkpoints there are.
    async fn newest_published(&self, group: &GroupName) -> Result<Option<String>, PortError> {
        Ok(largest(self.published(group).await?))
    }
}

/// The checkpoint among `notes` whose second line states the largest size.
pub fn largest(notes: impl IntoIterator<Item = String>) -> Option<String> {
    notes
        .into_iter()
        .filter_map(|note| Some((stated_size(&note)?, note)))
        .max_by_key(|(size, _)| *size)
        .map(|(_, note)| note)
}

/// The size a checkpoint note's second line states (C2SP tlog-checkpoint).
fn stated_size(note: &str) -> Option<u64> {
    note.lines().nth(1)?.parse().ok()
}

/// A page of undecided versions, and where the next page begins (`None` after the last).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UndecidedPage {
    pub versions: Vec<ModelVersion>,
    pub next: Option<String>,
}

/// One version's row in the waiting index, as of the version's `revision`: what waits on it,
/// or `None` once nothing does.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitingRow {
    pub group: GroupName,
    pub version: VersionNumber,
    pub revision: u64,
    pub step: Option<KeptStep>,
}

/// A waiting step as the index keeps it: since when it waits, and the step itself as the
/// domain writes it (`WaitingStep::kept`); the adapter stores the text and never reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeptStep {
    pub since: OffsetDateTime,
    pub document: String,
}

/// The model registry (SageMaker Model Registry, or its local equivalent).
#[async_trait]
pub trait ModelRegistry: Send + Sync {
    /// All model package groups, by name.
    async fn list_groups(&self) -> Result<Vec<GroupSummary>, PortError>;

    /// Versions of one group, newest first. An unknown group has no versions.
    async fn list_versions(
        &self,
        group: &GroupName,
        page: PageRequest,
    ) -> Result<Page<ModelVersion>, PortError>;

    async fn find_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<ModelVersion>, PortError>;

    /// The version and, where the registry reads the version's decisions to settle it anyway
    /// (the AWS backend completes interrupted decisions from its log), those decisions, so
    /// that a page reads the log once. `None` in place of the decisions: ask the audit log.
    async fn find_version_and_decisions(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<(ModelVersion, Option<Vec<DecisionRecord>>)>, PortError> {
        Ok(self
            .find_version(group, version)
            .await?
            .map(|found| (found, None)))
    }

    /// Stores a new version, creating its group when needed, and returns it with the number
    /// and ARN the registry assigned.
    async fn register(&self, new: NewVersion) -> Result<ModelVersion, PortError>;

    /// The versions no one has decided yet (approval status `PendingManualApproval`), in any
    /// group, at most `limit` from `cursor` on (`None`: from the start; else the `next` of
    /// the page before): what the reconciliation scan checks for approval requests never
    /// sent, a page at a time, so that a scan never holds them all.
    async fn undecided_versions(
        &self,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<UndecidedPage, PortError>;

    /// Every version with a step pending (`PendingManualApproval` in any environment), in
    /// any group, by group and version: those that may wait for someone's decision, which the
    /// scan repairs the waiting index from. A superset is harmless (the workflow says which
    /// step waits); a version missing is not.
    async fn versions_with_a_pending_step(
        &self,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError>;

    /// The newest `limit` versions registered through the portal by `person` (the registrant
    /// declared shares an identifier with them: `identity.rs`), in any group, newest first.
    async fn versions_registered_by(
        &self,
        person: &Person,
        limit: u32,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError>;

    /// Keeps `row` in the waiting index: a row per version, written by the portal after each
    /// change it makes or sees, so that reading what waits is one read however many versions
    /// there are. A row already kept for a later revision stays as it is (a slower writer
    /// never undoes a newer change); one for the same revision is replaced.
    async fn keep_waiting(&self, row: &WaitingRow) -> Result<(), PortError>;

    /// Gives `each` every row of the waiting index with a step waiting, in no particular
    /// order, as the store's pages arrive: never every row in memory at once.
    async fn kept_waiting(
        &self,
        each: &mut (dyn FnMut(WaitingRow) + Send),
    ) -> Result<(), PortError>;
}

/// Where pipelines find the model live in each environment (SSM Parameter Store).
#[async_trait]
pub trait ParameterStore: Send + Sync {
    async fn live(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError>;

    /// The live deployment read from the store itself, past any cache in front of it: what
    /// confirms drift before it is reported.
    async fn live_uncached(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        self.live(group, environment).await
    }

    /// The deployment the portal last made in the environment, read past any cache: what the
    /// next decision there replaces (its guard). Where a store keeps that apart from the
    /// value pipelines read (the AWS backend's table beside SSM), a live value changed
    /// outside the portal is drift, not what a decision replaces.
    async fn deployed(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        self.live_uncached(group, environment).await
    }

    /// What resolving the environment weighs: the live value pipelines read, and the
    /// deployment the portal last made there. A cache in front may keep both for a while
    /// (it drops them when a decision through it changes them).
    async fn live_and_deployed(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<(Option<Deployment>, Option<Deployment>), PortError> {
        futures::try_join!(
            self.live(group, environment),
            self.deployed(group, environment)
        )
    }

    /// Every deployment of the group, in every environment, newest first: one read, however
    /// many environments the history page shows.
    async fn history(&self, group: &GroupName) -> Result<Vec<Deployment>, PortError>;
}

/// The decision log: every human decision, never forgotten.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Decisions on one version, oldest first.
    async fn decisions_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<DecisionRecord>, PortError>;

    /// Every decision on every version of a group, oldest first.
    async fn decisions_for_group(
        &self,
        group: &GroupName,
    ) -> Result<Vec<DecisionRecord>, PortError>;

    /// Keeps a signature that was not made (refused, or sent to sign in again). An attempt
    /// whose id is kept already is not kept twice.
    async fn record_attempt(&self, attempt: &SigningAttempt) -> Result<(), PortError>;

    /// The attempts to sign something about one version, oldest first.
    async fn attempts_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<SigningAttempt>, PortError>;
}

/// What storing a report did.
#[derive(Clone, Debug, PartialEq)]
pub enum ReportStored {
    Added,
    /// A report of the same run (group, version, environment, run id) was stored before;
    /// it is returned and nothing changed.
    AlreadyStored(Box<InferenceReport>),
}

/// Inference reports, kept with the version they measured.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores the report unless its run was reported before.
    async fn add_report(&self, report: &InferenceReport) -> Result<ReportStored, PortError>;

    /// Reports on one version, in the order they arrived.
    async fn reports_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<InferenceReport>, PortError>;
}

/// Applies a decision's whole effect (registry state, parameter, log record) as one unit:
/// all of it or none of it. Returns `Conflict`, changing nothing, when the version's revision
/// is no longer the one the decision was computed against, or when the decision deploys and
/// the environment's live deployment is no longer the one it replaces
/// ([`DecisionEffect::may_replace`]).
#[async_trait]
pub trait DecisionCommitter: Send + Sync {
    /// Applies `effect` and appends `entry` (the decision as the audit trail keeps it) to its
    /// group's trail, together: both or neither. Where the effect was applied before (a
    /// retry), nothing is applied or appended again.
    async fn commit(
        &self,
        effect: &DecisionEffect,
        entry: &AuditRecord,
    ) -> Result<Appended, PortError>;
}

/// The time, so that the core and the tests need no real clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A source of unique decision ids.
pub trait IdGenerator: Send + Sync {
    fn new_id(&self) -> String;
}

/// One e-mail, ready to send.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingMessage {
    /// The notice it carries ([`crate::Notice::key`]): at most one message per key, ever.
    pub key: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Pending,
    Sent,
    /// Every attempt failed; it waits for someone to send it again.
    GaveUp,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::GaveUp => "gave-up",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::GaveUp]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A message in the outbox and how its delivery went.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    pub message: OutgoingMessage,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub sent_at: Option<OffsetDateTime>,
}

/// How long after a message went out it may be sent again on request.
pub const RESEND_INTERVAL: time::Duration = time::Duration::minutes(1);

impl OutboxEntry {
    /// Why the message may not be sent again now, if it may not: it already waits to go
    /// out, or it went out less than [`RESEND_INTERVAL`] ago (nobody floods approvers).
    pub fn resend_refusal(&self, now: OffsetDateTime) -> Option<String> {
        if self.state == DeliveryState::Pending && self.attempts == 0 {
            return Some("it is already waiting to be sent".into());
        }
        match self.sent_at {
            Some(sent) if now - sent < RESEND_INTERVAL => Some(format!(
                "it was sent less than {} seconds ago",
                RESEND_INTERVAL.whole_seconds()
            )),
            _ => None,
        }
    }
}

/// Messages waiting to be sent, kept until they are, so none is lost to a restart or a mail
/// server that is down.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Adds the message unless one with its key was ever added. True when this call added it.
    async fn enqueue(
        &self,
        message: &OutgoingMessage,
        now: OffsetDateTime,
    ) -> Result<bool, PortError>;

    /// Up to `limit` pending messages due by `now`, each leased to the caller until
    /// `lease_until` so that no other worker takes it meanwhile.
    async fn lease_due(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, PortError>;

    async fn record_sent(&self, key: &str, at: OffsetDateTime) -> Result<(), PortError>;

    /// A failed attempt: tried again from `retry_at`, or given up when `None`.
    async fn record_failure(
        &self,
        key: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), PortError>;

    /// One page of messages for the status page, newest first (on SSM, where reading each
    /// message's creation costs a request, most recently changed first), and how many
    /// there are.
    async fn recent(&self, page: PageRequest) -> Result<Page<OutboxEntry>, PortError>;

    /// Puts a message back in line from its first attempt; false for an unknown key.
    async fn resend(&self, key: &str, now: OffsetDateTime) -> Result<bool, PortError>;

    /// The message with this key and how its delivery went, if it was ever queued.
    async fn entry(&self, key: &str) -> Result<Option<OutboxEntry>, PortError>;
}

/// Where the workflow's notices go: rendered into messages and queued by the server. It
/// answers nothing: a notice that cannot be queued must not undo the decision that caused
/// it, so the sink logs its own failures (and the reconciliation scan asks again for
/// approval requests).
#[async_trait]
pub trait NoticeSink: Send + Sync {
    async fn notice(&self, notice: Notice);
}

/// For tools and tests that tell nobody.
pub struct NoNotices;

#[async_trait]
impl NoticeSink for NoNotices {
    async fn notice(&self, _: Notice) {}
}

/// Whose sign-ins no longer count: a person's (they signed out, or an operator revoked
/// them), or everyone's. A revocation ends every session issued to them up to `issued_before`;
/// sessions begun later are not affected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub whose: Revoked,
    pub issued_before: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revoked {
    /// One person, by their normalised identifier (a session's subject).
    Person(String),
    Everyone,
}

impl Revoked {
    /// The stable text the stores key a revocation by.
    pub fn key(&self) -> String {
        match self {
            Revoked::Person(id) => format!("person:{id}"),
            Revoked::Everyone => "everyone".to_owned(),
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "everyone" => Some(Revoked::Everyone),
            _ => key
                .strip_prefix("person:")
                .map(|id| Revoked::Person(id.to_owned())),
        }
    }
}

/// Where revocations are kept, shared by every replica. One entry per person (and one for
/// everyone), so the store never grows beyond the number of people who ever signed out.
#[async_trait]
pub trait SessionRevocations: Send + Sync {
    /// Records a revocation; a later `issued_before` for the same person replaces an
    /// earlier one, an earlier one changes nothing.
    async fn revoke(&self, revocation: &Revocation) -> Result<(), PortError>;

    /// Every revocation recorded.
    async fn revocations(&self) -> Result<Vec<Revocation>, PortError>;
}

/// Where the identity provider's evidence of each sign-in is kept, shared by every replica:
/// a session names its sign-in's evidence by a random id (the cookie stays small), and a
/// signature within the environment's signing max age carries it.
#[async_trait]
pub trait SignIns: Send + Sync {
    /// Keeps `evidence` under `id` until `until`; the same id again changes nothing.
    async fn keep_sign_in(
        &self,
        id: &str,
        evidence: &IdentityEvidence,
        until: OffsetDateTime,
    ) -> Result<(), PortError>;

    /// The evidence kept under `id`, unless its time is past.
    async fn sign_in(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<IdentityEvidence>, PortError>;
}
