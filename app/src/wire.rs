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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    pub name: String,
    /// `None` where the backend lists groups without counting (SageMaker).
    pub version_count: Option<u64>,
    pub latest_version: Option<u32>,
    pub latest_registered_at: Option<String>,
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

/// How a message's delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryView {
    Pending,
    Sent,
    GaveUp,
}

impl DeliveryView {
    /// The outbox's own names, for `data-state` attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryView::Pending => "pending",
            DeliveryView::Sent => "sent",
            DeliveryView::GaveUp => "gave-up",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepBadge {
    pub environment: String,
    pub state: StateView,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    pub version: u32,
    pub status: StateView,
    pub registered_by: String,
    pub registered_at: String,
    pub steps: Vec<StepBadge>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionList {
    pub group: String,
    pub versions: Vec<VersionRow>,
    pub page: u32,
    pub pages: u32,
    pub total: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionView {
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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub environment: String,
    pub state: StateView,
    pub required_approvals: u8,
    /// Approvals given so far in this step's current round, or the one that decided it.
    pub decisions: Vec<DecisionView>,
    /// Whether the signed-in person may decide this step now.
    pub decidable: bool,
    /// Whether this version is the one live in the environment.
    pub live: bool,
    /// Whether the signed-in person may point the environment back to this version.
    pub rollback_offered: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionDetail {
    pub group: String,
    pub version: u32,
    pub arn: String,
    pub status: StateView,
    pub description: String,
    pub image_uri: String,
    pub model_data_url: String,
    /// Name and value, formatted on the server (the browser build then needs no float
    /// formatting or parsing).
    pub metrics: Vec<(String, String)>,
    pub registered_by: String,
    pub registered_by_email: String,
    /// False when nobody could be established as the registrant (four-eyes cannot be
    /// checked, so some environments need one approval more).
    pub registrant_established: bool,
    /// The pipeline that registered it through the API, as it authenticated.
    pub registered_through: Option<String>,
    pub registered_at: String,
    pub track: Vec<StepView>,
    /// What happened to this version, oldest first: registration, decisions, runs.
    pub timeline: Vec<TimelineEntry>,
    /// Inference runs reported for this version, newest first.
    pub reports: Vec<ReportView>,
    /// Why the signed-in person cannot decide anything, when that is the case.
    pub why_no_decision: Option<String>,
    /// What the registry or the live values hold that the decision log does not explain.
    pub drift: Vec<String>,
}

/// One event in a version's life.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TimelineEntry {
    Registered {
        by: String,
        at: String,
    },
    Decided(DecisionView),
    Reported {
        environment: String,
        run_id: String,
        at: String,
    },
}

/// One inference run a pipeline reported, for the review page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    pub environment: String,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub sample_count: u64,
    pub metrics: Vec<(String, String)>,
    pub artifacts_url: Option<String>,
    pub reported_by: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionOutcome {
    pub environment: String,
    pub resulting_state: StateView,
    pub message: String,
}

/// One message of the outbox, for the notifications page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationRow {
    pub key: String,
    pub to: String,
    pub subject: String,
    pub state: DeliveryView,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created: String,
    pub sent: Option<String>,
    pub next_attempt: Option<String>,
    /// The plain-text body, shown when no SMTP server is configured (the outbox is then
    /// where messages are read).
    pub body: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationsView {
    pub rows: Vec<NotificationRow>,
    pub outbox_only: bool,
    pub page: u32,
    pub pages: u32,
    pub total: u64,
}

/// One stretch of time a version was live in an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LivePeriodView {
    pub version: u32,
    pub from: String,
    /// `None` while it is live.
    pub until: Option<String>,
    pub deployed_by: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentHistoryView {
    pub environment: String,
    /// Newest first.
    pub periods: Vec<LivePeriodView>,
}

/// A model group's history page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryView {
    pub group: String,
    pub environments: Vec<EnvironmentHistoryView>,
    /// Newest first.
    pub decisions: Vec<DecisionView>,
    /// Environments whose live value the decision log does not explain.
    pub drift: Vec<String>,
}
