//! What an export writes and the verifier reads: a group's entries, the checkpoints
//! published for them and the key that signed those, in one JSON document.

use crate::entry::{entry_hash, NO_PREVIOUS};
use crate::tree::Frontier;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "countersign-audit-bundle/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "format": FORMAT, "group": "churn", "origin": "portal.example.com/audit/churn",
    "public_key": "portal.example.com+060d7703+AbejtfRnqey9LNYANu5kSRtf9LfDIkI14BKqhv2U5QLO",
    "start": {"size": 0, "previous": crate::entry::NO_PREVIOUS, "frontier": []},
    "entries": [], "checkpoints": []
})))]
pub struct Bundle {
    /// Always `countersign-audit-bundle/1`: the format `docs/audit-bundle.md` in
    /// Countersign's repository specifies, field by field, with a worked example.
    pub format: String,
    pub group: String,
    /// The trail's origin, as its checkpoints name it.
    pub origin: String,
    /// The note verifier key the checkpoints are signed with.
    pub public_key: String,
    /// Where `entries` start in the trail.
    pub start: Start,
    /// The entries, each its canonical JSON exactly as stored.
    pub entries: Vec<String>,
    /// The signed checkpoints covering them, as published.
    pub checkpoints: Vec<String>,
}

/// A bundle's entries may start after the trail's first: how many came before and the
/// roots of their tree's perfect subtrees (hex), which a checkpoint of that size vouches
/// for, so that the roots of the larger trees can be computed again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Start {
    pub size: u64,
    pub previous: String,
    pub frontier: Vec<String>,
}

impl Bundle {
    /// The bundle of `entries[from..to]` of a trail (all of them read, for the tree before
    /// `from`) with the checkpoints that cover them.
    pub fn of(
        group: &str,
        origin: &str,
        public_key: &str,
        entries: Vec<String>,
        from: u64,
        to: u64,
        checkpoints: Vec<String>,
    ) -> Self {
        let to = to.min(entries.len() as u64);
        let from = from.min(to);
        let mut tree = Frontier::default();
        let mut previous = NO_PREVIOUS.to_owned();
        for text in &entries[..from as usize] {
            let hash = entry_hash(text);
            tree.push(hash);
            previous = hex::encode(hash.0);
        }
        Self {
            format: FORMAT.into(),
            group: group.into(),
            origin: origin.into(),
            public_key: public_key.into(),
            start: Start {
                size: from,
                previous,
                frontier: tree.to_hex(),
            },
            entries: entries[from as usize..to as usize].to_vec(),
            checkpoints,
        }
    }
}
