//! What "your models" sends the browser.

use crate::wire::*;
use serde::{Deserialize, Serialize};

/// The newest run a pipeline reported in one environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatestRun {
    pub environment: String,
    pub run_id: String,
    pub finished_at: String,
    pub metrics: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MyVersion {
    pub group: String,
    pub version: u32,
    pub registered_at: String,
    pub steps: Vec<StepBadge>,
    pub waiting: Option<WaitingView>,
    pub runs: Vec<LatestRun>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MyVersionList {
    pub versions: Vec<MyVersion>,
    /// How many are shown at most: the newest.
    pub limit: u32,
}
