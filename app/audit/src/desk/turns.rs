//! One at a time per group: what must not interleave within a replica (a group's appends,
//! a group's verification) waits for its group's turn; other groups go on.

use countersign_domain::GroupName;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A lock per group, made on first use (a few bytes per group the replica has touched).
#[derive(Default)]
pub(crate) struct Turns(Mutex<HashMap<GroupName, Arc<futures::lock::Mutex<()>>>>);

impl Turns {
    /// `group`'s turn, held until the guard is dropped.
    pub(crate) async fn turn(&self, group: &GroupName) -> futures::lock::OwnedMutexGuard<()> {
        let turn = {
            let mut turns = self.0.lock().unwrap_or_else(|p| p.into_inner());
            turns.entry(group.clone()).or_default().clone()
        };
        turn.lock_owned().await
    }
}
