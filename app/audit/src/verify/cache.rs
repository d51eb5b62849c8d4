//! Verdicts remembered by the bytes they were given: `verify` is pure, so the same bundle
//! and key always earn the same verdict.

use super::*;
use sha2::{Digest, Sha256};

/// Verdicts already reached, by the digest of what was verified. [`verify`] is a pure
/// function of the bundle and the trusted key, so the same bytes get the same verdict: a page
/// that checks a long trail on every visit verifies it again only when anything in it
/// changed (one byte of one entry is another digest). Holds at most `capacity` verdicts.
pub struct VerdictCache {
    capacity: usize,
    verdicts: std::sync::Mutex<BTreeMap<[u8; 32], Result<Verified, Violation>>>,
}

impl VerdictCache {
    pub const fn new(capacity: usize) -> Self {
        Self {
            capacity,
            verdicts: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// [`verify`]'s answer for this bundle and key, reached once per distinct input.
    pub fn verify(
        &self,
        bundle: &Bundle,
        trusted_key: Option<&str>,
    ) -> Result<Verified, Violation> {
        let digest = Self::digest(bundle, trusted_key);
        if let Some(verdict) = self.verdicts.lock().expect("verdict cache").get(&digest) {
            return verdict.clone();
        }
        let verdict = verify(bundle, trusted_key);
        let mut verdicts = self.verdicts.lock().expect("verdict cache");
        if verdicts.len() >= self.capacity {
            verdicts.clear();
        }
        verdicts.insert(digest, verdict.clone());
        verdict
    }

    fn digest(bundle: &Bundle, trusted_key: Option<&str>) -> [u8; 32] {
        let mut hasher = Sha256::new();
        // The whole bundle as serde writes it, then the key behind a byte UTF-8 JSON never
        // holds (0xff), so no bundle spells a key; no key and an empty one hash apart.
        hasher.update(serde_json::to_vec(bundle).expect("a bundle serialises"));
        match trusted_key {
            None => hasher.update([0xff, 0]),
            Some(key) => {
                hasher.update([0xff, 1]);
                hasher.update(key.as_bytes());
            }
        }
        hasher.finalize().into()
    }
}
