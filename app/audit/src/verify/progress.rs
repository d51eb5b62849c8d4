//! A trail verified so far, continued with what was appended since: what a page that shows
//! a trail needs, so that a view costs the entries appended since the last one, not the
//! whole trail (issue 25: a page of decisions must not verify 100 000 entries).
//!
//! The same walk as [`verify_with`](super::verify_with), kept between calls: each call
//! takes the entries from where the last one stopped and the newest checkpoint published,
//! checks each entry as the verifier does, and requires the tree to have the checkpoint's
//! root when it reaches its size. Entries beyond the newest checkpoint (appended, their
//! checkpoint not published yet) wait for the next call. What is shown of a decision is
//! then checked against the entry verified: [`Progress::vouches_for`] compares its text's
//! hash, so an entry rewritten in the store after it was verified is caught when shown,
//! without reading the trail again. A full verification (`audit verify` of an export) reads
//! it all.

use super::*;
use std::borrow::Cow;

/// How far a group's trail was verified, and what the walk knows there.
#[derive(Clone)]
pub struct Progress {
    group: String,
    origin: String,
    key: String,
    walk: Walk,
    /// Each decision's verified entry: its sequence number and leaf hash, by decision id.
    decisions: BTreeMap<String, (u64, tlog_tiles::Hash)>,
}

impl Progress {
    /// Nothing of `group`'s trail verified yet, under the verifier key `key` and `origin`.
    pub fn start(group: &str, origin: &str, key: &str) -> Self {
        Self {
            group: group.to_owned(),
            origin: origin.to_owned(),
            key: key.to_owned(),
            walk: Walk::new(
                Frontier::default(),
                NO_PREVIOUS.to_owned(),
                &Trusted::default(),
                Verified {
                    group: group.to_owned(),
                    ..Verified::default()
                },
            ),
            decisions: BTreeMap::new(),
        }
    }

    /// How many entries are verified: the next call reads from there.
    pub fn size(&self) -> u64 {
        self.walk.size()
    }

    pub fn verified(&self) -> &Verified {
        &self.walk.verified
    }

    /// The ids of the decisions whose entries are verified.
    pub fn decision_ids(&self) -> impl Iterator<Item = &str> {
        self.decisions.keys().map(String::as_str)
    }

    /// Whether decision `id`'s entry is verified.
    pub fn has_verified(&self, id: &str) -> bool {
        self.decisions.contains_key(id)
    }

    /// Whether `text` is exactly the verified entry of decision `id` (its sequence number,
    /// if not); `None` when that decision's entry is not verified yet.
    pub fn vouches_for(&self, id: &str, text: &str) -> Option<Result<(), u64>> {
        let (seq, hash) = self.decisions.get(id)?;
        Some(if entry_hash(text) == *hash {
            Ok(())
        } else {
            Err(*seq)
        })
    }

    /// This progress continued over `entries` (the trail's from [`Progress::size`] on, as
    /// stored) as far as `newest`, the newest checkpoint published for the group: this
    /// progress itself, borrowed, when the checkpoint names nothing new (most views of a
    /// trail: a copy costs what the walk knows, which grows with the trail).
    pub fn extend(
        &self,
        entries: &[String],
        newest: Option<&str>,
    ) -> Result<Cow<'_, Self>, Violation> {
        let fail = |entry: Option<u64>, message: String| Violation {
            entry,
            message,
            verified: Box::new(self.walk.verified.clone()),
        };
        let size = self.size();
        let Some(newest) = newest else {
            return match entries.first() {
                None => Ok(Cow::Borrowed(self)),
                Some(_) => Err(fail(Some(size), "not covered by any checkpoint the key signed (none is published): appended without the key".into())),
            };
        };
        let checkpoint = checkpoint::Opener::new(&self.key)
            .and_then(|opener| opener.open(newest))
            .map_err(|e| fail(None, format!("the newest checkpoint published: {e}")))?;
        if checkpoint.origin != self.origin {
            return Err(fail(
                None,
                format!(
                    "the newest checkpoint published is of {:?}, not of {:?}",
                    checkpoint.origin, self.origin
                ),
            ));
        }
        let held = size + entries.len() as u64;
        if checkpoint.size < size || checkpoint.size > held {
            return Err(fail(
                Some(held.min(checkpoint.size)),
                format!(
                    "missing: the newest checkpoint names {} entries, the trail holds {held} and {size} were verified (rolled back, or its tail cut off)",
                    checkpoint.size
                ),
            ));
        }
        if checkpoint.size == size && size > 0 && checkpoint.root != self.walk.root() {
            return Err(fail(
                Some(size - 1),
                format!("the newest checkpoint names another tree of {size} entries than the one verified (the trail was forked or rewritten)"),
            ));
        }
        if checkpoint.size == size {
            return Ok(Cow::Borrowed(self));
        }
        let covered = &entries[..(checkpoint.size - size) as usize];
        let signed = BTreeMap::from([(checkpoint.size, checkpoint.root)]);
        let kept = BTreeMap::new();
        let roots = Roots {
            covered: checkpoint.size,
            signed: &signed,
            kept: &kept,
        };
        let mut next = self.clone();
        for (i, parsed) in parse_all(covered).into_iter().enumerate() {
            let seq = size + i as u64;
            if let Ok(Entry {
                event: EventJson::Decided { decision, .. },
                ..
            }) = &parsed.0
            {
                next.decisions.insert(decision.id.clone(), (seq, parsed.1));
            }
            next.walk
                .step(&next.group, seq, parsed, &roots)
                .map_err(|m| fail(Some(seq), m))?;
        }
        next.walk.verified.checkpoints += 1;
        Ok(Cow::Owned(next))
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("group", &self.group)
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}
