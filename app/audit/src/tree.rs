//! The RFC 6962 Merkle tree of a log, as its frontier: the roots of the perfect subtrees
//! its leaves fall into, largest (leftmost) first. Appending merges subtrees like a binary
//! counter carries; the root folds the frontier from the right. Both cost `O(log n)` hashes
//! and the frontier is at most 64 hashes, so a store keeps it beside the log's head.

use tlog_tiles::{node_hash, Hash};

/// The frontier of a tree of `size` leaves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frontier {
    size: u64,
    subtrees: Vec<Hash>,
}

/// The RFC 6962 hash of an empty tree: SHA-256 of nothing.
pub const EMPTY_ROOT: Hash = tlog_tiles::EMPTY_HASH;

impl Frontier {
    /// A frontier as stored; `None` when the number of subtree roots cannot be that of a tree
    /// of `size` leaves.
    pub fn from_parts(size: u64, subtrees: Vec<Hash>) -> Option<Self> {
        (subtrees.len() == size.count_ones() as usize).then_some(Self { size, subtrees })
    }

    /// A frontier as stored, its subtree roots in hex.
    pub fn from_hex(size: u64, subtrees: &[String]) -> Result<Self, String> {
        let subtrees = subtrees
            .iter()
            .map(|h| parse_hash(h))
            .collect::<Result<Vec<_>, _>>()?;
        let count = subtrees.len();
        Self::from_parts(size, subtrees)
            .ok_or_else(|| format!("a frontier of {count} hashes for {size} entries"))
    }

    /// The subtree roots in hex, as stored.
    pub fn to_hex(&self) -> Vec<String> {
        self.subtrees.iter().map(|h| hex::encode(h.0)).collect()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn subtrees(&self) -> &[Hash] {
        &self.subtrees
    }

    /// Adds a leaf, given its leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut carried = self.size;
        while carried & 1 == 1 {
            let left = self
                .subtrees
                .pop()
                .expect("one subtree per set bit of the size");
            hash = node_hash(left, hash);
            carried >>= 1;
        }
        self.subtrees.push(hash);
        self.size += 1;
    }

    /// The Merkle tree hash of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut subtrees = self.subtrees.iter().rev();
        let Some(last) = subtrees.next() else {
            return EMPTY_ROOT;
        };
        subtrees.fold(*last, |right, left| node_hash(*left, right))
    }
}

fn parse_hash(text: &str) -> Result<Hash, String> {
    let bytes = hex::decode(text).map_err(|_| format!("{text:?} is not a hex hash"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| format!("{text:?} is not 32 bytes"))?;
    Ok(Hash(bytes))
}

#[cfg(test)]
mod tests;
