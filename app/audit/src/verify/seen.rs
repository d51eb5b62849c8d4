//! Checkpoints an auditor kept from an earlier look at the trail (`audit verify --seen`): a
//! bundle must extend every one of them. A log never signs two trees of which one does not
//! grow from the other, so a bundle that does not extend a checkpoint signed earlier is a
//! rolled-back or forked trail, however well it verifies on its own.

use crate::checkpoint::Opener;
use std::collections::BTreeMap;
use tlog_tiles::Hash;

/// The checkpoint notes in `text`: an earlier bundle (its checkpoints), a JSON array of
/// notes, or notes written one after another as text (each a body, a blank line and its
/// signature lines, as C2SP signed notes are).
pub fn kept_checkpoints(text: &str) -> Result<Vec<String>, String> {
    if let Ok(bundle) = serde_json::from_str::<crate::Bundle>(text) {
        return Ok(bundle.checkpoints);
    }
    if let Ok(notes) = serde_json::from_str::<Vec<String>>(text) {
        return Ok(notes);
    }
    let mut notes = Vec::new();
    let mut note = String::new();
    let mut signed = false;
    for line in text.lines() {
        // A note's signature lines start with an em dash; the next line that does not
        // begins the next note.
        let signature = line.starts_with("\u{2014} ");
        if signed && !signature {
            notes.push(std::mem::take(&mut note));
            signed = false;
        }
        if line.is_empty() && note.is_empty() {
            continue;
        }
        signed |= signature;
        note.push_str(line);
        note.push('\n');
    }
    if signed {
        notes.push(note);
    } else if !note.trim().is_empty() {
        return Err("it ends with a checkpoint that has no signature".into());
    }
    if notes.is_empty() {
        return Err("it holds no checkpoint: give an earlier bundle, a JSON array of checkpoint notes, or the notes themselves".into());
    }
    Ok(notes)
}

/// The roots `kept` vouch for, by size: each must be signed by `key` and of `origin`.
pub(super) fn kept_roots(
    kept: &[String],
    key: &str,
    origin: &str,
) -> Result<BTreeMap<u64, Hash>, String> {
    let opener = Opener::new(key).map_err(|e| e.to_string())?;
    let mut roots = BTreeMap::new();
    for (i, note) in kept.iter().enumerate() {
        let named = |message: String| {
            format!(
                "the checkpoint you kept ({} of {}): {message}",
                i + 1,
                kept.len()
            )
        };
        let opened = opener.open(note).map_err(|e| named(e.to_string()))?;
        if opened.origin != origin {
            return Err(named(format!(
                "it is of {:?}, not of {origin:?}",
                opened.origin
            )));
        }
        if roots
            .insert(opened.size, opened.root)
            .is_some_and(|root| root != opened.root)
        {
            return Err(named(format!(
                "you kept two checkpoints of {} entries with different roots: the trail was forked before this bundle",
                opened.size
            )));
        }
    }
    Ok(roots)
}
