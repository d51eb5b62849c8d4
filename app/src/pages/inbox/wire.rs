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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxListing {
    /// False for someone who approves no environment: nothing can wait for them.
    pub approver: bool,
    pub rows: Vec<InboxRow>,
    /// What the groups' names were asked to contain, trimmed; empty for every group.
    pub filter: String,
}
