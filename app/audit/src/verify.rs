//! The verifier: everything a bundle claims, checked offline from the bundle alone (and,
//! if given, the public key the auditor trusts). In order, stopping at the first problem,
//! which names the entry:
//! 1. every checkpoint is signed by the key and names the group's origin;
//! 2. each entry is read strictly (no field unknown or twice), is in its place (`seq`), of
//!    the group, and links to the hash of the entry before it;
//! 3. the RFC 6962 root of the entries so far equals every checkpoint of that size (so
//!    consecutive checkpoints are consistent: one tree grew from one to the other), and no
//!    checkpoint names more entries than the bundle holds (a truncated tail), and no entry
//!    lies beyond the last checkpoint (appended without the key);
//! 4. the workflow's rules hold for every decision, under the rules in force when it was
//!    signed ([`crate::entry::EventJson::PolicyInForce`]): a signature's record digest is
//!    the digest of what it says was signed; environments in order; a step decided once;
//!    four-eyes; enough distinct approvers; a reason where one is required; a sign-in
//!    fresh enough for the environment (the portal's own `check_authentication`); under
//!    rules that name an identity provider, the provider's own evidence of that sign-in
//!    (`verify/evidence.rs`).

use crate::bundle::{Bundle, FORMAT};
use crate::checkpoint::{self, Checkpoint};
use crate::entry::{entry_hash, Entry, EventJson, NO_PREVIOUS};
use crate::tree::Frontier;
use std::collections::BTreeMap;
use time::OffsetDateTime;

mod evidence;
mod progress;
mod rules;
mod seen;
pub use progress::Progress;
use rules::{check_signed, Rules};
pub use seen::kept_checkpoints;

/// What a bundle was found to be.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verified {
    pub group: String,
    /// How many entries were checked, and where they start.
    pub entries: u64,
    pub first_seq: u64,
    pub checkpoints: usize,
    /// The last entry checked and its time, if any.
    pub last: Option<(u64, OffsetDateTime)>,
    /// How many decisions the rules were checked on.
    pub decisions_checked: u64,
    /// Decisions the rules could not be checked on (their version's registration, or the
    /// rules in force, lie before the bundle's first entry).
    pub decisions_unchecked: u64,
    /// Decisions whose identity provider's evidence was checked.
    pub decisions_with_provider_evidence: u64,
    /// Decisions before [`Trusted::accept_without_evidence_before`] that carry none.
    pub decisions_accepted_without_evidence: u64,
    /// Entries where the rules in force stopped naming an identity provider that earlier
    /// rules named: signatures after them carry no provider evidence, by the rules' leave.
    pub provider_dropped_at: Vec<u64>,
    /// Checkpoints the auditor kept that the bundle was found to extend.
    pub seen: usize,
    /// Checkpoints the auditor kept of fewer entries than come before the bundle's first:
    /// not compared.
    pub seen_before_start: usize,
}

/// How far an entry's time may lie before an earlier entry's: replicas' clocks differ a
/// little, and a decision is stamped before its entry is appended (retries included).
pub const TIME_SKEW: time::Duration = time::Duration::minutes(2);

/// The first thing found wrong.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}{message}", entry.map(|e| format!("entry {e}: ")).unwrap_or_default())]
pub struct Violation {
    /// The entry at fault, when one is.
    pub entry: Option<u64>,
    pub message: String,
    /// What was verified before it.
    pub verified: Box<Verified>,
}

/// What the auditor brings besides the bundle.
#[derive(Clone, Copy, Debug, Default)]
pub struct Trusted<'a> {
    /// The portal's public key, kept apart; `None`: the key the bundle names.
    pub key: Option<&'a str>,
    /// Checkpoints kept from earlier (see [`kept_checkpoints`]) the bundle must extend.
    pub seen: &'a [String],
    /// Decisions in entries before this one may lack the identity provider's evidence
    /// (signed before the portal kept it); every later one must carry it where the rules
    /// in force name a provider.
    pub accept_without_evidence_before: Option<u64>,
    /// The identity provider's published keys (JWKs): each token's recorded key must be
    /// one of them.
    pub provider_keys: Option<&'a [serde_json::Value]>,
}

/// Verifies `bundle` with `trusted_key` (else the key the bundle names).
pub fn verify(bundle: &Bundle, trusted_key: Option<&str>) -> Result<Verified, Violation> {
    verify_with(
        bundle,
        &Trusted {
            key: trusted_key,
            ..Trusted::default()
        },
    )
}

/// As [`verify`], and that the bundle extends every checkpoint in `seen` (notes the auditor
/// kept from earlier: see [`kept_checkpoints`]), each signed by the key.
pub fn verify_extending(
    bundle: &Bundle,
    trusted_key: Option<&str>,
    seen: &[String],
) -> Result<Verified, Violation> {
    verify_with(
        bundle,
        &Trusted {
            key: trusted_key,
            seen,
            ..Trusted::default()
        },
    )
}

/// Verifies `bundle` with what the auditor brings.
pub fn verify_with(bundle: &Bundle, trusted: &Trusted) -> Result<Verified, Violation> {
    let (trusted_key, seen) = (trusted.key, trusted.seen);
    let mut verified = Verified {
        group: bundle.group.clone(),
        first_seq: bundle.start.size,
        ..Verified::default()
    };
    let fail = |verified: &Verified, entry: Option<u64>, message: String| Violation {
        entry,
        message,
        verified: Box::new(verified.clone()),
    };
    if bundle.format != FORMAT {
        return Err(fail(
            &verified,
            None,
            format!("the bundle's format is {:?}, not {FORMAT:?}", bundle.format),
        ));
    }
    let key = trusted_key.unwrap_or(&bundle.public_key);
    if checkpoint::check_public_key(key).is_err() {
        return Err(fail(
            &verified,
            None,
            format!("{key:?} is not a note verifier key"),
        ));
    }
    if !bundle.origin.ends_with(&format!("/audit/{}", bundle.group)) {
        return Err(fail(
            &verified,
            None,
            format!(
                "the origin {:?} is not the group {:?}'s",
                bundle.origin, bundle.group
            ),
        ));
    }
    let checkpoints = open_all(bundle, key).map_err(|(i, message)| {
        fail(
            &verified,
            None,
            format!(
                "checkpoint {} of {}: {message}",
                i + 1,
                bundle.checkpoints.len()
            ),
        )
    })?;
    verified.checkpoints = checkpoints.len();
    // The key's name is the origin's first part (see `checkpoint`): a bundle whose origin
    // names another key is not this key's log, however its notes were signed.
    let key_name = key.split('+').next().unwrap_or_default();
    if bundle.origin != checkpoint::origin(key_name, &bundle.group) {
        return Err(fail(
            &verified,
            None,
            format!(
                "the origin {:?} does not name the key {key_name:?}",
                bundle.origin
            ),
        ));
    }
    let by_size = group_by_size(&checkpoints).map_err(|m| fail(&verified, None, m))?;

    let tree = starting_tree(bundle, &by_size).map_err(|m| fail(&verified, None, m))?;
    let end = bundle.start.size + bundle.entries.len() as u64;
    let kept = seen::kept_roots(seen, key, &bundle.origin).map_err(|m| fail(&verified, None, m))?;
    for (&size, root) in &kept {
        let differs = match by_size.get(&size) {
            Some(bundled) => bundled != root,
            None if size == bundle.start.size => tree.root() != *root,
            None => false,
        };
        if differs {
            return Err(fail(&verified, None, forked(size)));
        }
        if size > end {
            return Err(fail(
                &verified,
                Some(end),
                format!("not an extension of what you kept: you kept a checkpoint of {size} entries, the bundle holds {end} (the trail was rolled back, or its tail cut off)"),
            ));
        }
        match size.cmp(&bundle.start.size) {
            std::cmp::Ordering::Less => verified.seen_before_start += 1,
            std::cmp::Ordering::Equal => verified.seen += 1,
            // Compared as the tree grows past it.
            std::cmp::Ordering::Greater => {}
        }
    }
    let covered = by_size.keys().next_back().copied().unwrap_or(0);
    let mut walk = Walk::new(tree, bundle.start.previous.clone(), trusted, verified);
    // Each entry is read strictly (no field unknown, none twice); its hash binds its bytes,
    // so its form needs no second check here.
    let parsed = parse_all(&bundle.entries);
    for (i, parsed) in parsed.into_iter().enumerate() {
        let seq = bundle.start.size + i as u64;
        let roots = Roots {
            covered,
            signed: &by_size,
            kept: &kept,
        };
        walk.step(&bundle.group, seq, parsed, &roots)
            .map_err(|m| fail(&walk.verified, Some(seq), m))?;
    }
    let verified = walk.verified;
    if covered > end {
        return Err(fail(
            &verified,
            Some(end),
            format!("missing: a checkpoint signed for {covered} entries, the bundle holds {end} (its tail was cut off)"),
        ));
    }
    Ok(verified)
}

/// One entry as read for the walk: parsed strictly, its leaf hash, and its signature's
/// digest checked (which needs nothing but the entry).
pub(crate) type Parsed = (Result<Entry, String>, tlog_tiles::Hash, Result<(), String>);

/// `entries` parsed and hashed, split over the machine's cores.
pub(crate) fn parse_all(entries: &[String]) -> Vec<Parsed> {
    on_every_core(
        entries,
        || (),
        |_, _, text| {
            let entry = serde_json::from_str::<Entry>(text).map_err(|e| e.to_string());
            let signed = match &entry {
                Ok(Entry {
                    event:
                        EventJson::Decided {
                            decision, signed, ..
                        },
                    ..
                }) => check_signed(decision, signed),
                _ => Ok(()),
            };
            (entry, entry_hash(text), signed)
        },
    )
}

/// The roots an entry's tree is compared with: every entry must lie within `covered`
/// (the largest checkpoint's size); the tree at each size `signed` or `kept` names must have
/// that root.
pub(crate) struct Roots<'a> {
    pub covered: u64,
    pub signed: &'a BTreeMap<u64, tlog_tiles::Hash>,
    pub kept: &'a BTreeMap<u64, tlog_tiles::Hash>,
}

/// A walk over a trail's entries in order: the tree so far, what the next entry must link
/// to, the latest time seen, the workflow's state, and what was verified. A walk can be
/// kept and continued with the entries appended since (`verify/progress.rs`).
#[derive(Clone)]
pub(crate) struct Walk {
    tree: Frontier,
    previous: String,
    latest: Option<(u64, OffsetDateTime)>,
    rules: Rules,
    pub(crate) verified: Verified,
}

impl Walk {
    pub(crate) fn new(
        tree: Frontier,
        previous: String,
        trusted: &Trusted,
        verified: Verified,
    ) -> Self {
        Self {
            tree,
            previous,
            latest: None,
            rules: Rules::new(trusted),
            verified,
        }
    }

    pub(crate) fn size(&self) -> u64 {
        self.tree.size()
    }

    pub(crate) fn root(&self) -> tlog_tiles::Hash {
        self.tree.root()
    }

    /// Checks the entry at `seq` of `group`'s trail and takes it in; the problem otherwise.
    pub(crate) fn step(
        &mut self,
        group: &str,
        seq: u64,
        (entry, hash, signed): Parsed,
        roots: &Roots,
    ) -> Result<(), String> {
        let entry = entry.map_err(|m| format!("unreadable: {m}"))?;
        if entry.seq != seq {
            return Err(format!(
                "not where it belongs: entry {} stands in its place (an entry was removed, or entries reordered)",
                entry.seq
            ));
        }
        if entry.group != group {
            return Err(format!("it belongs to the group {:?}", entry.group));
        }
        if seq >= roots.covered {
            return Err(format!(
                "not covered by any checkpoint the key signed (the last covers {} entries): appended without the key",
                roots.covered
            ));
        }
        self.tree.push(hash);
        if let Some(root) = roots.kept.get(&self.tree.size()) {
            if *root != self.tree.root() {
                return Err(forked(self.tree.size()));
            }
            self.verified.seen += 1;
        }
        if let Some(root) = roots.signed.get(&self.tree.size()) {
            if *root != self.tree.root() {
                return Err(format!(
                    "changed after it was signed: the checkpoint of {} entries does not match",
                    self.tree.size()
                ));
            }
        }
        if entry.previous != self.previous {
            return Err("its link to the entry before it is broken (an entry was removed, replaced or reordered)".into());
        }
        self.previous = hex::encode(hash.0);
        if let Some((earlier, at)) = self.latest.filter(|(_, at)| entry.at < *at - TIME_SKEW) {
            return Err(format!(
                "its time {} is before entry {earlier}'s {} by more than {TIME_SKEW}: the trail's times go backwards",
                entry.at, at
            ));
        }
        if self.latest.is_none_or(|(_, at)| entry.at > at) {
            self.latest = Some((seq, entry.at));
        }
        signed?;
        self.rules.check(&entry, &mut self.verified)?;
        self.verified.entries += 1;
        self.verified.last = Some((seq, entry.at));
        Ok(())
    }
}

fn forked(size: u64) -> String {
    format!("not an extension of what you kept: the tree of its first {size} entries is not the one your checkpoint of {size} entries names (the trail was forked or rewritten)")
}

/// Every checkpoint opened with `key`, in the bundle's order; `Err` names the first that
/// is not the key's or not the group's.
fn open_all(bundle: &Bundle, key: &str) -> Result<Vec<Checkpoint>, (usize, String)> {
    let opened = on_every_core(
        &bundle.checkpoints,
        || checkpoint::Opener::new(key),
        |opener, i, note| {
            let opener = opener.as_ref().map_err(|e| (i, e.to_string()))?;
            let opened = opener.open(note).map_err(|e| (i, e.to_string()))?;
            if opened.origin != bundle.origin {
                return Err((
                    i,
                    format!("it is of {:?}, not of {:?}", opened.origin, bundle.origin),
                ));
            }
            Ok(opened)
        },
    );
    opened.into_iter().collect()
}

/// `work` on each of `items`, in order, split over the machine's cores: signatures and JSON
/// parsing are most of a large bundle's cost. `setup` makes each thread's own state.
fn on_every_core<T: Sync, S, R: Send>(
    items: &[T],
    setup: impl Fn() -> S + Sync,
    work: impl Fn(&S, usize, &T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let (setup, work) = (&setup, &work);
                scope.spawn(move || {
                    let state = setup();
                    part.iter()
                        .enumerate()
                        .map(|(i, item)| work(&state, c * chunk + i, item))
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a verifying thread ends"))
            .collect()
    })
}

/// One root per size; two checkpoints of one size with different roots are a fork.
fn group_by_size(checkpoints: &[Checkpoint]) -> Result<BTreeMap<u64, tlog_tiles::Hash>, String> {
    let mut by_size = BTreeMap::new();
    for c in checkpoints {
        if let Some(root) = by_size.insert(c.size, c.root) {
            if root != c.root {
                return Err(format!(
                    "two checkpoints of {} entries name different roots: the trail was forked",
                    c.size
                ));
            }
        }
    }
    Ok(by_size)
}

/// The tree before the bundle's first entry, checked against the checkpoint of that size.
fn starting_tree(
    bundle: &Bundle,
    by_size: &BTreeMap<u64, tlog_tiles::Hash>,
) -> Result<Frontier, String> {
    let start = &bundle.start;
    if start.size == 0 {
        if start.previous != NO_PREVIOUS || !start.frontier.is_empty() {
            return Err("the bundle starts at the first entry but names an entry before it".into());
        }
        return Ok(Frontier::default());
    }
    let tree = Frontier::from_hex(start.size, &start.frontier)
        .map_err(|e| format!("the bundle's starting tree is malformed: {e}"))?;
    match by_size.get(&start.size) {
        Some(root) if *root == tree.root() => Ok(tree),
        Some(_) => Err(format!(
            "the {} entries before the bundle's first do not match their checkpoint",
            start.size
        )),
        None => Err(format!(
            "no checkpoint vouches for the {} entries before the bundle's first",
            start.size
        )),
    }
}

impl Verified {
    /// "verified up to entry N at T", or that there was nothing to verify.
    pub fn headline(&self) -> String {
        match self.last {
            Some((seq, at)) => format!(
                "verified up to entry {seq} at {}",
                at.to_offset(time::UtcOffset::UTC)
                    .format(time::macros::format_description!(
                        "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
                    ))
                    .unwrap_or_default()
            ),
            None => "no entries to verify".into(),
        }
    }

    /// What was checked, for people, one fact a line.
    pub fn summary(&self) -> String {
        let mut lines = vec![format!("group {}", self.group)];
        if self.entries > 0 {
            lines.push(format!(
                "entries {} to {} ({}): each read strictly, in its place, linked to the one before",
                self.first_seq,
                self.first_seq + self.entries - 1,
                self.entries
            ));
        }
        lines.push(format!(
            "checkpoints: {}, each signed by the key, each matching the tree of the entries it names",
            self.checkpoints
        ));
        let mut rules = format!(
            "the workflow's rules hold for {} decision{}",
            self.decisions_checked,
            if self.decisions_checked == 1 { "" } else { "s" }
        );
        if self.decisions_unchecked > 0 {
            rules.push_str(&format!(
                "; {} could not be checked (their registration or the rules in force precede the bundle)",
                self.decisions_unchecked
            ));
        }
        lines.push(rules);
        if self.decisions_with_provider_evidence + self.decisions_accepted_without_evidence > 0 {
            let mut evidence = format!(
                "the identity provider's own evidence (its signed ID token) verifies for {} signature{}",
                self.decisions_with_provider_evidence,
                if self.decisions_with_provider_evidence == 1 { "" } else { "s" }
            );
            if self.decisions_accepted_without_evidence > 0 {
                evidence.push_str(&format!(
                    "; {} earlier signature{} carry none and were accepted as you asked (--accept-unsigned-before)",
                    self.decisions_accepted_without_evidence,
                    if self.decisions_accepted_without_evidence == 1 { "" } else { "s" }
                ));
            }
            lines.push(evidence);
        }
        if let Some(first) = self.provider_dropped_at.first() {
            lines.push(format!(
                "WARNING: from entry {first} the rules in force name no identity provider where earlier rules named one: signatures after it carry none of its evidence"
            ));
        }
        if self.seen + self.seen_before_start > 0 {
            let mut seen = format!(
                "checkpoints you kept: the bundle extends {} of them",
                self.seen
            );
            if self.seen_before_start > 0 {
                seen.push_str(&format!(
                    "; {} name fewer entries than precede the bundle and were not compared",
                    self.seen_before_start
                ));
            }
            lines.push(seen);
        }
        lines.push(self.headline());
        lines.join("\n")
    }
}
