//! What "your models" sends the browser.

use crate::wire::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MyVersion {
    pub group: String,
    pub version: u32,
    pub registered_at: String,
    pub steps: Vec<StepBadge>,
    pub waiting: Option<WaitingView>,
    pub runs: Vec<RunSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MyVersionList {
    pub versions: Vec<MyVersion>,
    /// How many are shown at most: the newest.
    pub limit: u32,
}
