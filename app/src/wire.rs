//! What crosses the network between the portal's server and browser. These are a
//! compatibility promise, so they are separate from the domain types and carry only what a
//! page shows, already formatted.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Every error a server function can return, with a message written for the person reading
/// the page. Internals are logged on the server, never sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Sign in to continue.")]
    SignInRequired,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The workflow refused a decision; the message says why.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Countersign cannot reach its store right now; try again in a moment.")]
    Unavailable,
    #[error("The request did not reach the server intact: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

impl AppError {
    /// The HTTP status a page showing this error is served with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::SignInRequired => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Refused(_) | AppError::Conflict(_) => 409,
            AppError::Invalid(_) => 400,
            AppError::Unavailable => 503,
            AppError::Transport(_) => 400,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub name: String,
    pub email: String,
    pub roles: String,
    /// Approvers of any environment also look after notifications.
    pub approver: bool,
    /// For an approver: how many steps wait for their decision.
    pub waiting: Option<u32>,
    /// An audit reviewer (`COUNTERSIGN_AUDIT_REVIEWERS`): sees the access review.
    #[serde(default)]
    pub audit_reviewer: bool,
}

/// How people sign in to this portal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SignInMethod {
    /// Demo identities to choose from (embedded default, loopback only).
    Development { choices: Vec<SignInChoice> },
    /// The organisation's identity provider (OpenID Connect).
    SingleSignOn,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignInChoice {
    pub subject: String,
    pub name: String,
    pub description: String,
}

/// A step's or a version's state, as pages show it (the names are the domain's, and the
/// pages' `data-state` attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateView {
    NotRequested,
    PendingManualApproval,
    Approved,
    Rejected,
    RolledBack,
}

impl StateView {
    pub fn as_str(self) -> &'static str {
        match self {
            StateView::NotRequested => "NotRequested",
            StateView::PendingManualApproval => "PendingManualApproval",
            StateView::Approved => "Approved",
            StateView::Rejected => "Rejected",
            StateView::RolledBack => "RolledBack",
        }
    }
}

impl std::fmt::Display for StateView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a decision did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VerdictView {
    Approve,
    Reject,
    Rollback,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionView {
    /// The decision's id, as its audit trail entry and the exports name it.
    pub id: String,
    pub version: u32,
    pub environment: String,
    pub verdict: VerdictView,
    pub reason: Option<String>,
    pub decided_by: String,
    pub decided_by_email: String,
    pub decided_at: String,
    pub resulting_state: StateView,
    /// For a rollback: the version the environment returned to.
    pub rollback_to: Option<u32>,
    /// The electronic signature, when the decision was signed.
    pub signature: Option<SignatureView>,
    /// How the decision log tells this decision otherwise than the audit trail, whose
    /// record of it is what is shown; `None` where they agree or were not compared.
    pub disagreement: Option<String>,
}

/// A signature as the page shows it (21 CFR 11.50): its meaning, and the digest of what was
/// signed; the printed name and time are the decision's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignatureView {
    pub meaning: String,
    pub record_digest: String,
    /// The time as UTC text in RFC 3339, for the viewer's local time on the page.
    pub signed_at_utc: String,
    /// False when the registry entry changed after signing (21 CFR 11.70).
    pub still_binds: bool,
}

/// How a candidate's metric compares with the version it would replace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeView {
    Better,
    Worse,
    Same,
    /// Only one side has the metric.
    Unknown,
}

impl ChangeView {
    /// The class and the words the page shows beside a difference.
    pub fn class_and_words(self) -> (&'static str, &'static str) {
        match self {
            ChangeView::Better => ("delta better", "better"),
            ChangeView::Worse => ("delta worse", "worse"),
            ChangeView::Same => ("delta same", "unchanged"),
            ChangeView::Unknown => ("delta unknown", "not comparable"),
        }
    }
}

/// One metric of a candidate beside the same metric of what is live, formatted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricDelta {
    pub name: String,
    /// `—` where the candidate lacks the metric.
    pub candidate: String,
    /// `—` where the live version lacks it.
    pub live: String,
    /// Signed, to the precision of the figures compared; empty when not comparable.
    pub difference: String,
    pub change: ChangeView,
}

/// One environment's step, as a compact track shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepBadge {
    pub environment: String,
    pub state: StateView,
}

/// A step waiting for decisions: where, for whom, since when, how far its approvals are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitingView {
    pub environment: String,
    /// "approvers of test (ml-approvers)".
    pub who: String,
    /// "3 days".
    pub waited: String,
    pub since: String,
    /// "1 of 2 approvals", where the step needs more than one.
    pub approvals: Option<String>,
}

/// A run a pipeline reported in one environment, in short.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub environment: String,
    pub run_id: String,
    pub finished_at: String,
    pub metrics: Vec<(String, String)>,
}

impl RunSummary {
    /// "auc 0.93, rows_per_second 5400".
    pub fn metrics_line(&self) -> String {
        self.metrics
            .iter()
            .map(|(name, value)| format!("{name} {value}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
