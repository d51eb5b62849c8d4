//! What the versions page's server functions send the browser.

use crate::wire::*;
use serde::{Deserialize, Serialize};

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
