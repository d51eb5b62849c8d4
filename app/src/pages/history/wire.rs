//! What the history page's server functions send the browser.

use crate::wire::*;
use serde::{Deserialize, Serialize};

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
    pub trail: TrailCheckView,
}

/// The group's audit trail as the offline verifier finds it, checked when the page is read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrailCheckView {
    /// "verified up to entry N at T", or what is wrong, naming the entry.
    pub headline: String,
    /// What was checked, one fact a line.
    pub details: Vec<String>,
    pub intact: bool,
}
