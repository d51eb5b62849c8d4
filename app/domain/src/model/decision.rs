//! What was decided: the verdict asked for and recorded, the decision's record, and the
//! deployment an approval makes live.

use super::*;

/// What a decision did, as the log records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    Approve,
    Reject,
    /// Point the environment back to an earlier version approved there.
    Rollback,
}

/// What a person chooses on the decision form. A rollback is asked for otherwise (it names
/// the version to return to), so a decision can never be one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    Approve,
    Reject,
}

impl Choice {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "approve" => Some(Choice::Approve),
            "reject" => Some(Choice::Reject),
            _ => None,
        }
    }
}

impl From<Choice> for Verdict {
    fn from(choice: Choice) -> Self {
        match choice {
            Choice::Approve => Verdict::Approve,
            Choice::Reject => Verdict::Reject,
        }
    }
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
            Verdict::Rollback => "rollback",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "approve" => Some(Verdict::Approve),
            "reject" => Some(Verdict::Reject),
            "rollback" => Some(Verdict::Rollback),
            _ => None,
        }
    }
}

/// One human decision, kept forever in the decision log.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRecord {
    /// Unique per decision; the idempotency key when an adapter applies it.
    pub id: String,
    pub group: GroupName,
    pub version: VersionNumber,
    pub environment: Environment,
    pub verdict: Verdict,
    pub reason: Option<String>,
    pub decided_by: Person,
    pub decided_at: OffsetDateTime,
    /// The step's state once this decision applied (an approval that still waits for
    /// another approver leaves it pending).
    pub resulting_state: StepState,
    /// For a rollback: the version the environment was pointed back to.
    pub rollback_to: Option<VersionNumber>,
    /// The electronic signature: its meaning and the digest of what was signed. `None` for
    /// decisions taken before signatures were recorded.
    pub signature: Option<crate::signature::Signature>,
}

impl DecisionRecord {
    /// The version its signature applies to: the version decided or, for a rollback, the
    /// version put back.
    pub fn signed_version(&self) -> VersionNumber {
        self.rollback_to.unwrap_or(self.version)
    }

    /// The capacity its signature was made in (today one role per environment, its
    /// approvers), e.g. `approver for prod`; `None` unsigned.
    pub fn signer_role(&self) -> Option<String> {
        self.signature
            .as_ref()
            .map(|_| format!("approver for {}", self.environment))
    }
}

/// Who made a decision's record: its id (unique, the idempotency key when an adapter
/// applies it) and its time. They travel together from the use case into every record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub id: String,
    pub at: OffsetDateTime,
}

/// The model live in one environment: the value pipelines resolve (the SSM parameter).
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    pub group: GroupName,
    pub version: VersionNumber,
    pub arn: String,
    pub environment: Environment,
    pub image_uri: String,
    pub model_data_url: String,
    pub approved_by: Person,
    pub approved_at: OffsetDateTime,
    pub decision_id: String,
}

impl Deployment {
    /// `version` made live in `environment` by `by`, under the decision `stamp`.
    pub fn of(
        version: &ModelVersion,
        environment: &Environment,
        by: &Person,
        stamp: &Stamp,
    ) -> Self {
        Self {
            group: version.group.clone(),
            version: version.version,
            arn: version.arn.clone(),
            environment: environment.clone(),
            image_uri: version.image_uri.clone(),
            model_data_url: version.model_data_url.clone(),
            approved_by: by.clone(),
            approved_at: stamp.at,
            decision_id: stamp.id.clone(),
        }
    }
}
