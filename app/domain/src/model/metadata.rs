//! A pipeline's own metadata on a version, in SageMaker's characters and lengths, and the
//! keys Countersign keeps for itself.

use super::*;

/// What a pipeline records with a version beyond Countersign's own fields (a training data
/// set, a commit, a ticket): SageMaker's custom metadata. Shown, and compared with the live
/// version's, on the review page; not part of what a signature binds.
pub type CustomMetadata = BTreeMap<String, String>;

/// At most this many custom metadata entries per version: SageMaker keeps 50 in all, and
/// Countersign's own (a step per environment, the registrant, the metrics) use the rest.
pub const MAX_CUSTOM_METADATA: usize = 16;

/// Keys Countersign writes into SageMaker's custom metadata itself (beside one key per
/// environment): a pipeline's metadata may not use them.
pub const RESERVED_METADATA_KEYS: [&str; 3] = ["owner", "owner-name", "owner-subject"];

/// Prefixes of keys Countersign writes itself (its bookkeeping, and a key per metric).
pub const RESERVED_METADATA_PREFIXES: [&str; 2] = ["countersign:", "metric:"];

/// Whether Countersign writes `key` itself: reserved names, prefixes, and the environments.
pub fn is_reserved_metadata_key(key: &str, environments: &Environments) -> bool {
    RESERVED_METADATA_KEYS.contains(&key)
        || RESERVED_METADATA_PREFIXES
            .iter()
            .any(|prefix| key.starts_with(prefix))
        || environments.iter().any(|env| env.as_str() == key)
}

/// SageMaker's limits on a custom metadata key and value, in characters.
pub const METADATA_KEY_MAX_CHARS: usize = 128;

pub const METADATA_VALUE_MAX_CHARS: usize = 256;

/// SageMaker's pattern for metadata keys and values: letters, numbers, separators (spaces)
/// and `_ . : / = + - @`. Quotes, braces and commas (what JSON is made of) are refused.
pub(super) fn is_metadata_text(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_alphabetic() || c.is_numeric() || c == ' ' || c == '\u{a0}' || "_.:/=+-@".contains(c)
    })
}

/// Whether SageMaker takes `key` as a custom metadata key.
pub fn is_metadata_key(key: &str) -> bool {
    !key.is_empty() && key.chars().count() <= METADATA_KEY_MAX_CHARS && is_metadata_text(key)
}

/// Whether SageMaker takes `value` as a custom metadata value.
pub fn is_metadata_value(value: &str) -> bool {
    value.chars().count() <= METADATA_VALUE_MAX_CHARS && is_metadata_text(value)
}
