//! What the versions page's server functions send the browser.

use crate::wire::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    pub version: u32,
    pub status: StateView,
    pub registered_by: String,
    pub registered_at: String,
    pub steps: Vec<StepBadge>,
}

/// What is live in one environment of the group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveInEnvironment {
    pub environment: String,
    /// The version live there and since when, if any.
    pub live: Option<(u32, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionList {
    pub group: String,
    /// Every environment, in promotion order.
    pub live: Vec<LiveInEnvironment>,
    /// Where what is live is not what the decision log says.
    pub drift: Vec<String>,
    pub versions: Vec<VersionRow>,
    pub page: u32,
    pub pages: u32,
    pub total: u64,
}
