//! What the inbox's server function sends the browser.

use crate::wire::*;
use serde::{Deserialize, Serialize};

/// One step waiting for the signed-in person's decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxRow {
    pub group: String,
    pub version: u32,
    /// The review page, opened at the step's environment.
    pub review: String,
    pub waiting: WaitingView,
    pub registrant: String,
    /// The version live in the environment, if any, and the metrics beside it.
    pub live_version: Option<u32>,
    pub metrics: Vec<MetricDelta>,
    /// Each of the step's decisions the decision log and the audit trail disagree about, a
    /// sentence each; the approvals shown are the trail's.
    pub disagreements: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxListing {
    /// False for someone who approves no environment: nothing can wait for them.
    pub approver: bool,
    /// One page of the steps, the longest waiting first.
    pub rows: Vec<InboxRow>,
    /// How many steps wait for them (in the groups the filter keeps), on every page.
    pub total: u64,
    pub page: u32,
    pub pages: u32,
    /// What the groups' names were asked to contain, trimmed; empty for every group.
    pub filter: String,
}
