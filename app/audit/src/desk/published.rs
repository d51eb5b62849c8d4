//! What a notarised trail has published, and the rule C2SP's checkpoints rest on: a log never
//! signs a tree that does not grow from one it signed before. Before a checkpoint is signed,
//! the tree the append grew from is compared with the newest checkpoint published; a store
//! rolled back or rewritten behind the portal's back stops its group's appends, with an
//! alarm in the server log, instead of having its new history signed.

use crate::checkpoint::Opener;
use crate::tree::Frontier;
use countersign_domain::audit::Appended;
use countersign_domain::ports::{AuditTrail, CheckpointPublisher, PortError};
use countersign_domain::GroupName;
use std::collections::HashMap;
use std::sync::Mutex;

/// A tree head: how many entries, and their RFC 6962 root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TreeHead {
    size: u64,
    root: [u8; 32],
}

/// Per group, the newest checkpoint known to be published, and the groups whose store was
/// found not to extend it (with why), whose appends are refused. A replica's appends to one
/// group take turns (`turn`), each checked and published before the next, so the tree one
/// grew from is the one the last published; another replica's append is what sends a
/// check to the publisher.
#[derive(Default)]
pub(super) struct Published {
    newest: Mutex<HashMap<GroupName, TreeHead>>,
    stopped: Mutex<HashMap<GroupName, String>>,
    turns: super::turns::Turns,
}

impl Published {
    /// `group`'s turn to append, check and publish, held until dropped.
    pub(super) async fn turn(&self, group: &GroupName) -> futures::lock::OwnedMutexGuard<()> {
        self.turns.turn(group).await
    }

    /// Refuses an append to a group whose store no longer extends what was published.
    pub(super) fn refuse_if_stopped(&self, group: &GroupName) -> Result<(), PortError> {
        match lock(&self.stopped).get(group) {
            Some(why) => Err(PortError::Unavailable(format!(
                "the audit trail of {group} is stopped: {why}; nothing more is appended to it until an operator has looked"
            ))),
            None => Ok(()),
        }
    }

    /// Whether the tree `appended` grew from extends the newest checkpoint published for
    /// `group`. When it does not, the group is stopped and the alarm raised: the caller
    /// signs nothing. Reads nothing in the usual case (the checkpoint this replica
    /// published last is the tree it grew from).
    pub(super) async fn may_sign(
        &self,
        group: &GroupName,
        appended: &Appended,
        trail: &dyn AuditTrail,
        publisher: &dyn CheckpointPublisher,
        public_key: &str,
    ) -> Result<bool, PortError> {
        let from = TreeHead {
            size: appended.from_size,
            root: appended.from_root,
        };
        let known = lock(&self.newest).get(group).copied();
        let newest = match known {
            Some(newest) if newest.size == from.size => newest,
            _ => match newest_published(group, publisher, public_key).await? {
                Some(newest) => {
                    self.remember(group, newest);
                    newest
                }
                // Nothing published yet: nothing to be consistent with.
                None => return Ok(true),
            },
        };
        let wrong = match newest.size.cmp(&from.size) {
            std::cmp::Ordering::Equal => (newest.root != from.root).then(|| {
                format!(
                    "its first {} entries are not the tree the checkpoint published for them names (rewritten, or forked)",
                    newest.size
                )
            }),
            // A checkpoint went unpublished since (a failed publish): the tree at the
            // published size, computed again from the entries (rare, and a read of the trail).
            std::cmp::Ordering::Less => {
                let entries = trail.entries(group, 0).await?;
                match entries.get(..newest.size as usize) {
                    None => Some(rolled_back(newest.size, entries.len() as u64)),
                    Some(first) => {
                        let mut tree = Frontier::default();
                        first
                            .iter()
                            .for_each(|text| tree.push(crate::entry::entry_hash(text)));
                        (tree.root().0 != newest.root).then(|| {
                            format!(
                                "its first {} entries are not the tree the checkpoint published for them names (rewritten, or forked)",
                                newest.size
                            )
                        })
                    }
                }
            }
            // Published for entries this append wrote itself: the store had lost them.
            std::cmp::Ordering::Greater if newest.size <= appended.size => {
                let ours = newest.size == appended.size && newest.root == appended.root;
                (!ours).then(|| rolled_back(newest.size, from.size))
            }
            // Another replica appended after this one and published first (the entry the
            // checkpoint names last is there), or the store lost entries a checkpoint was
            // published for.
            std::cmp::Ordering::Greater => {
                let last = trail.entries(group, newest.size - 1).await?;
                last.is_empty()
                    .then(|| rolled_back(newest.size, appended.size))
            }
        };
        match wrong {
            None => Ok(true),
            Some(why) => {
                tracing::error!(
                    alarm = "audit trail rolled back",
                    group = group.as_str(),
                    "ALARM: the audit trail's store no longer extends its published checkpoints: {why}; its appends are stopped and nothing is signed"
                );
                lock(&self.stopped).insert(group.clone(), why);
                Ok(false)
            }
        }
    }

    /// `appended`'s tree, once its checkpoint is published.
    pub(super) fn published(&self, group: &GroupName, appended: &Appended) {
        self.remember(
            group,
            TreeHead {
                size: appended.size,
                root: appended.root,
            },
        );
    }

    fn remember(&self, group: &GroupName, head: TreeHead) {
        let mut newest = lock(&self.newest);
        let known = newest.entry(group.clone()).or_insert(head);
        if head.size >= known.size {
            *known = head;
        }
    }
}

fn rolled_back(published: u64, held: u64) -> String {
    format!("a checkpoint was published for {published} entries, the store holds {held} (rolled back behind the portal)")
}

/// The largest of `group`'s published checkpoints that `public_key` signed.
async fn newest_published(
    group: &GroupName,
    publisher: &dyn CheckpointPublisher,
    public_key: &str,
) -> Result<Option<TreeHead>, PortError> {
    // Ordered by the size each claims, only the largest are opened (a signature check
    // each) until one is the key's.
    let mut notes = publisher.published(group).await?;
    notes.sort_by_key(|note| std::cmp::Reverse(crate::checkpoint::size_of(note)));
    let opener = Opener::new(public_key).map_err(|e| PortError::Corrupt(e.to_string()))?;
    Ok(notes
        .iter()
        .find_map(|note| opener.open(note).ok())
        .map(|checkpoint| TreeHead {
            size: checkpoint.size,
            root: checkpoint.root.0,
        }))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
