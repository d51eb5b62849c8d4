//! A digest of every setting as written, secrets left out: the portal's own trail keeps it
//! at each start, so a QA unit sees when the configuration changed (EU GMP Annex 11 §10)
//! without the trail holding a secret. A secret counts only as set or unset.

use super::raw::RawConfig;
use sha2::{Digest, Sha256};

/// The settings holding secrets, and the per-environment ones that do (a chat webhook's URL
/// is its credential).
const SECRETS: [&str; 5] = [
    "session_key",
    "audit_signing_key",
    "oidc_client_secret",
    "smtp_url",
    "events_api_key",
];
const SECRET_PREFIXES: [&str; 1] = ["webhook_url_"];

/// Lower-case hex SHA-256 of the settings as JSON (keys sorted), each secret replaced by
/// whether it is set.
pub(super) fn settings_digest(raw: &RawConfig) -> String {
    let mut settings = serde_json::to_value(raw).expect("settings serialise");
    if let Some(settings) = settings.as_object_mut() {
        let secret = |key: &str| {
            SECRETS.contains(&key) || SECRET_PREFIXES.iter().any(|p| key.starts_with(p))
        };
        for (_, value) in settings.iter_mut().filter(|(key, _)| secret(key)) {
            *value = serde_json::Value::Bool(!value.is_null());
        }
    }
    let canonical = serde_json_canonicalizer::to_string(&settings).expect("settings serialise");
    hex::encode(Sha256::digest(canonical.as_bytes()))
}
