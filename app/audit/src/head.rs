//! What a store keeps per group beside its entries, and the pure half of an append: the
//! entries a record becomes and the head after them. A store reads the head, checks the
//! record's key is new, writes what [`Head::append`] returns and the new head, in one
//! transaction conditional on the head it read: a few writes, however long the trail.

use crate::entry::{entry_hash, entry_of, policy_key, Entry, EventJson, NO_PREVIOUS};
use crate::tree::Frontier;
use countersign_domain::audit::AuditRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tlog_tiles::Hash;

/// A group's trail as its next append needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// How many entries the trail holds.
    pub size: u64,
    /// Hex of the last entry's hash; `None` for an empty trail.
    pub last: Option<String>,
    /// Hex of the roots of the tree's perfect subtrees, largest first.
    pub frontier: Vec<String>,
    /// Hex SHA-256 of the last policy entry's event, to know when the rules changed.
    pub policy: Option<String>,
}

/// An entry ready to be stored.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEntry {
    pub seq: u64,
    pub key: String,
    /// The canonical JSON, stored as is.
    pub text: String,
}

impl Head {
    /// The head stored as JSON; `Err` when it is not one.
    pub fn parse(text: &str) -> Result<Self, String> {
        let head: Head = serde_json::from_str(text).map_err(|e| e.to_string())?;
        head.tree()?;
        Ok(head)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a head serialises")
    }

    /// The tree the head describes.
    pub fn tree(&self) -> Result<Frontier, String> {
        Frontier::from_hex(self.size, &self.frontier)
    }

    /// The RFC 6962 root hash of the trail.
    pub fn root(&self) -> Result<Hash, String> {
        Ok(self.tree()?.root())
    }

    /// The entries `record` becomes (the policy it happened under first, when that is not
    /// the one recorded last) and the head after them.
    pub fn append(&self, record: &AuditRecord) -> Result<(Vec<NewEntry>, Head), String> {
        let mut head = self.clone();
        let mut tree = self.tree()?;
        let mut entries = Vec::with_capacity(2);
        let policy = EventJson::policy(&record.policy);
        let policy_digest = hex::encode(Sha256::digest(
            serde_json_canonicalizer::to_string(&policy).expect("a policy serialises"),
        ));
        if head.policy.as_deref() != Some(policy_digest.as_str()) {
            let entry = Entry {
                seq: head.size,
                group: record.group.to_string(),
                key: policy_key(head.size),
                at: record.at,
                actor: countersign_domain::audit::PORTAL_ACTOR.into(),
                event: policy,
                previous: head.last.clone().unwrap_or_else(|| NO_PREVIOUS.into()),
            };
            entries.push(head.push(&mut tree, &entry));
            head.policy = Some(policy_digest);
        }
        let previous = head.last.clone().unwrap_or_else(|| NO_PREVIOUS.into());
        let entry = entry_of(record, head.size, &previous);
        entries.push(head.push(&mut tree, &entry));
        Ok((entries, head))
    }

    fn push(&mut self, tree: &mut Frontier, entry: &Entry) -> NewEntry {
        let text = entry.canonical();
        let hash = entry_hash(&text);
        tree.push(hash);
        self.size += 1;
        self.last = Some(hex::encode(hash.0));
        self.frontier = tree.to_hex();
        NewEntry {
            seq: entry.seq,
            key: entry.key.clone(),
            text,
        }
    }
}
