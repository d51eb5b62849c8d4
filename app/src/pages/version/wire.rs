//! What the version page's server functions send the browser.

use crate::wire::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub environment: String,
    pub state: StateView,
    pub required_approvals: u8,
    /// Approvals that count towards `required_approvals`: in a waiting step the distinct
    /// people whose signatures still bind (as the waiting panel counts them).
    pub approvals_given: usize,
    /// Approvals given so far in this step's current round, or the one that decided it.
    pub decisions: Vec<DecisionView>,
    /// Whether the signed-in person may decide this step now.
    pub decidable: bool,
    /// Whether this version is the one live in the environment.
    pub live: bool,
    /// Whether the signed-in person may point the environment back to this version.
    pub rollback_offered: bool,
    /// Whether every decision here needs a reason (approvals included).
    pub reason_required: bool,
    /// The meanings an approval and a rejection here may carry, the first offered first.
    pub approve_meanings: Vec<String>,
    pub reject_meanings: Vec<String>,
}

/// The step waiting for decisions: who has signed, who is still needed, who may not, and
/// whether its approvers were told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitingDetail {
    pub waiting: WaitingView,
    /// Who approved it in this round, by name.
    pub signed_by: Vec<String>,
    pub still_needed: u8,
    /// Who may not approve it (four-eyes): the registrant, where nobody may approve their
    /// own version.
    pub may_not: Option<String>,
    /// Whether and how its approvers were told, in a sentence.
    pub request: String,
    /// True when the request reached nobody, or could not be sent.
    pub request_failed: bool,
    /// The reminder and the escalation, where they went: a sentence each, and whether it
    /// failed.
    pub follow_ups: Vec<(String, bool)>,
}

/// One thing a version is made of, as the candidate and the live version have it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub live: String,
    pub candidate: String,
    pub changed: bool,
}

/// A metric over the group's recent versions, drawn on the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricChart {
    pub name: String,
    /// SVG markup, made by the server from numbers and validated metric names only.
    pub svg: String,
}

/// The evidence at the moment of decision: the candidate beside the version live in the
/// environment waiting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub environment: String,
    /// The version live there, if any.
    pub live_version: Option<u32>,
    /// The registered metrics, the candidate's beside the live version's.
    pub metrics: Vec<MetricDelta>,
    /// The candidate's newest run in the environment before, if any.
    pub candidate_run: Option<RunSummary>,
    /// The live version's newest run in this environment, if any.
    pub live_run: Option<RunSummary>,
    /// What differs from the live version (image, model data, description, digests).
    pub changes: Vec<FieldChange>,
    pub charts: Vec<MetricChart>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionDetail {
    /// The step waiting for decisions, if any.
    pub waiting: Option<WaitingDetail>,
    /// The candidate beside what is live where it waits.
    pub evidence: Option<Evidence>,
    /// Sentences naming each approval whose signature no longer matches the registry entry.
    pub broken_signatures: Vec<String>,
    pub group: String,
    pub version: u32,
    pub arn: String,
    pub status: StateView,
    pub description: String,
    pub image_uri: String,
    pub model_data_url: String,
    pub image_digest: Option<String>,
    pub model_data_etag: Option<String>,
    /// Name and value, formatted on the server (the browser build then needs no float
    /// formatting or parsing).
    pub metrics: Vec<(String, String)>,
    /// The pipeline's own metadata, by key.
    pub metadata: Vec<(String, String)>,
    pub registered_by: String,
    pub registered_by_email: String,
    /// Why four-eyes cannot rest on the registrant named, and what is needed instead;
    /// `None` when the registrant is established.
    pub registrant_unverified: Option<String>,
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
    /// Each decision the decision log tells otherwise than the audit trail, whose record
    /// of it the page shows, a sentence each.
    pub disagreements: Vec<String>,
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
    /// A signature that was not made (sent to sign in again, or refused).
    Attempted {
        by: String,
        environment: String,
        verdict: String,
        what: String,
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
