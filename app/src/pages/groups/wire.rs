//! What the groups page's server functions send the browser.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    pub name: String,
    /// `None` where the backend lists groups without counting (SageMaker).
    pub version_count: Option<u64>,
    pub latest_version: Option<u32>,
    pub latest_registered_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupListing {
    /// The groups matching the filter, by name.
    pub groups: Vec<GroupRow>,
    /// How many groups there are in all.
    pub total: usize,
    /// What names had to contain (empty: every group).
    pub filter: String,
}
