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
    /// Newest first, the latest few.
    pub periods: Vec<LivePeriodView>,
    /// How many earlier periods are left out (the export has them).
    pub earlier: usize,
}

/// A model group's history page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryView {
    pub group: String,
    pub environments: Vec<EnvironmentHistoryView>,
    /// Newest first: this page's, and any the log and the trail disagree about.
    pub decisions: Vec<DecisionView>,
    /// How many decisions the group has, and which page of them this is.
    pub decision_count: usize,
    pub page: u32,
    pub pages: u32,
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
