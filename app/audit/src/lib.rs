//! The tamper-evident audit trail (21 CFR 11.10(e), EU GMP Annex 11 §9): one append-only
//! log per model group that anyone holding the portal's public key can check offline.
//!
//! - [`entry`]: an entry is RFC 8785 canonical JSON holding its sequence number, group,
//!   key, time, actor, event and the hash of the entry before it. Its hash is the RFC 6962
//!   leaf hash of that text, `SHA-256(0x00 || text)`: the one hash both the chain and the
//!   tree use.
//! - [`tree`]: the log's RFC 6962 Merkle tree, kept as its frontier (the roots of its
//!   perfect subtrees), so that an append computes the new root from a few stored hashes.
//! - [`head`]: what a store keeps per group beside the entries, and how an append turns an
//!   [`AuditRecord`](countersign_domain::audit::AuditRecord) into entries.
//! - [`checkpoint`]: the signed tree heads, C2SP `tlog-checkpoint` notes signed with
//!   Ed25519, and the key that signs them.
//! - [`bundle`]: what an export writes and the verifier reads.
//! - [`certified`]: certified copies of exports, signed with the same key.
//! - [`review`]: the audit-trail review: a period's entries and their exceptions.
//! - [`desk`]: appends notarised (a checkpoint signed and published after each), and
//!   exports.
//! - [`verify`]: the verifier: the chain, the tree at every checkpoint, every checkpoint's
//!   signature, entry times in order, the workflow's rules replayed over the entries, and
//!   (given checkpoints kept from before) that the trail extends what was seen.

pub mod bundle;
pub mod certified;
pub mod checkpoint;
pub mod desk;
pub mod entry;
pub mod head;
pub mod review;
pub mod tree;
pub mod verify;

pub use bundle::Bundle;
pub use certified::{Certification, CertifiedCopy};
pub use checkpoint::{Checkpoint, Notary};
pub use entry::{Entry, EventJson};
pub use head::Head;
pub use tlog_tiles::Hash;
pub use verify::{
    kept_checkpoints, verify, verify_extending, verify_with, Progress, Trusted, Verified, Violation,
};
