//! Entries this replica knows its trails hold, by key: an event met again and again (a
//! refused page reloaded, drift or a broken signature read on every view, by pages and by
//! every resolve) is appended once and then costs no write, nor a read of the store.

use crate::model::GroupName;
use std::collections::HashSet;
use std::sync::Mutex;

/// How many keys are remembered; past it, memory starts again (a forgotten key costs one
/// append that finds it kept, as before it was remembered).
const REMEMBERED_AT_MOST: usize = 4096;

#[derive(Default)]
pub(super) struct KeptKeys(Mutex<HashSet<(GroupName, String)>>);

impl KeptKeys {
    pub(super) fn holds(&self, group: &GroupName, key: &str) -> bool {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.contains(&(group.clone(), key.to_owned()))
    }

    pub(super) fn remember(&self, group: &GroupName, key: String) {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= REMEMBERED_AT_MOST {
            kept.clear();
        }
        kept.insert((group.clone(), key));
    }
}
