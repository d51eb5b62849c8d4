//! A group's versions as the list shows them.

use super::wire::*;
use crate::format::display_time;
use crate::view_model::step_badges;
use countersign_domain::*;

pub fn version_row(policy: &Policy, version: &ModelVersion) -> VersionRow {
    VersionRow {
        version: version.version.get(),
        status: version.approval_status.into(),
        registered_by: version.registered_by.name.clone(),
        registered_at: display_time(version.registered_at),
        steps: step_badges(policy, version),
    }
}
