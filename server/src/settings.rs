//! What a feature needs to read its own settings at start-up: an error that names the
//! setting as people write it (`COUNTERSIGN_<KEY>`), lists as written, and which URLs may be
//! trusted. `config` loads the settings and holds the rules that span features; each
//! feature turns its part into typed settings beside its code with these, without
//! knowing `config`.

use std::fmt::Display;

/// A setting that is wrong: which, and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("COUNTERSIGN_{} {message}", key.to_uppercase())]
pub struct SettingError {
    key: String,
    message: String,
}

impl SettingError {
    /// `key` as in the configuration file (`smtp_url`, `approvers_prod`).
    pub fn new(key: &str, message: impl Display) -> Self {
        Self {
            key: key.to_owned(),
            message: message.to_string(),
        }
    }
}

/// `a, b,,c` as `["a", "b", "c"]`.
pub fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A setting that is set to something: trimmed, and `None` when absent or blank.
pub fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Whether a portal at `public_url` is reached over https (its cookies are then `Secure`).
pub fn is_https(public_url: &str) -> bool {
    public_url.starts_with("https://")
}

/// Whether an identity provider's issuer URL may be trusted for keys: https, or plain http
/// to this machine only (a test provider). The host is parsed, so `http://localhost.evil.tld`
/// is not loopback.
pub fn secure_issuer(issuer: &str) -> bool {
    url::Url::parse(issuer).is_ok_and(|url| match url.scheme() {
        "https" => true,
        "http" => on_this_machine(&url),
        _ => false,
    })
}

/// Whether a portal at `public_url` is reached on this machine only (a loopback address or
/// `localhost`, parsed).
pub fn reached_on_this_machine(public_url: &str) -> bool {
    url::Url::parse(public_url).is_ok_and(|url| on_this_machine(&url))
}

/// Whether a URL's host is this machine: `localhost` or a loopback address, parsed (so
/// `localhost.evil.tld` is not).
pub fn on_this_machine(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

const HOURS_IN_A_YEAR: f64 = 8760.0;

/// A number of hours as a duration; 0 turns what it times off.
pub fn hours(key: &str, hours: f64) -> Result<Option<time::Duration>, SettingError> {
    // A year at most: beyond, nobody is reminded of anything (and far beyond, the figure
    // is no duration at all).
    if !(0.0..=HOURS_IN_A_YEAR).contains(&hours) {
        return Err(SettingError::new(
            key,
            "must be a number of hours from 0 (off) to 8760 (a year)",
        ));
    }
    Ok((hours > 0.0).then(|| time::Duration::seconds_f64(hours * 3600.0)))
}
