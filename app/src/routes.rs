//! The portal's addresses, built in one place: pages link with these, and the server's
//! e-mails, API answers and sign-in redirects use the same (prefixed with the public URL).
//! The route table they must match is `crate::App`.

/// The home page: it leads an approver to the inbox, anyone else to their models.
pub const HOME: &str = "/";
/// Every step waiting for the signed-in person's decision.
pub const INBOX: &str = "/inbox";
/// The versions the signed-in person registered.
pub const MINE: &str = "/mine";
/// Every model group.
pub const MODELS: &str = "/models";
pub const NOTIFICATIONS: &str = "/notifications";

/// A list by group (`MODELS`, `INBOX`) kept to the groups whose names contain `text`; the
/// whole list when `text` is empty.
pub fn matching(list: &str, text: &str) -> String {
    if text.is_empty() {
        list.to_owned()
    } else {
        format!("{list}?q={}", escaped(text))
    }
}

/// A group's versions.
pub fn group(group: &str) -> String {
    format!("/models/{group}")
}

/// The audit-trail review, for the audit reviewers.
pub const TRAIL_REVIEW: &str = "/reviews/trail";
/// The access review, for the audit reviewers.
pub const ACCESS_REVIEW: &str = "/reviews/access";
/// The access review as CSV (`?from=&to=`, `&certified=true`).
pub const ACCESS_REVIEW_CSV: &str = "/reviews/access.csv";

/// A group's history (what was live where, every decision).
pub fn history(group: &str) -> String {
    format!("/models/{group}/history")
}

/// A history export: `history.csv`, `deployments.csv` or `history.json`.
pub fn export(group: &str, file: &str) -> String {
    format!("/models/{group}/export/{file}")
}

/// A history export as a certified copy, signed with the audit key.
pub fn certified_export(group: &str, file: &str) -> String {
    format!("{}?certified=true", export(group, file))
}

/// A version's review page.
pub fn version(group: &str, version: impl std::fmt::Display) -> String {
    format!("/models/{group}/versions/{version}")
}

/// A version's signed record, for printing.
pub fn signed_record(group: &str, version: impl std::fmt::Display) -> String {
    format!("{}/record", self::version(group, version))
}

/// A version's review page, opened at the environment to decide.
pub fn version_at(group: &str, number: impl std::fmt::Display, environment: &str) -> String {
    format!("{}?environment={environment}", version(group, number))
}

/// The confirmation step of the signature pending for a version.
pub fn signing(group: &str, version: impl std::fmt::Display) -> String {
    format!("{}/sign", self::version(group, version))
}

/// A version's review page after a signature in `environment` was recorded.
pub fn signed(group: &str, number: impl std::fmt::Display, environment: &str) -> String {
    format!("{}?signed={environment}", version(group, number))
}

/// One page (from 1) of a paged list at `base`.
pub fn page(base: &str, page: u32) -> String {
    let joined = if base.contains('?') { '&' } else { '?' };
    format!("{base}{joined}page={page}")
}

/// The sign-in page, coming back to `return_to` (a path on this site) afterwards.
pub fn sign_in(return_to: &str) -> String {
    format!("/sign-in?return_to={}", escaped(return_to))
}

/// The sign-in routes the server answers itself (not pages), each spelt only here.
pub mod auth {
    /// Everything under it is signing in or out.
    pub const PREFIX: &str = "/auth/";
    /// Off to the identity provider.
    pub const LOGIN: &str = "/auth/login";
    /// Back from the identity provider.
    pub const CALLBACK: &str = "/auth/callback";
    /// The development sign-in's choice of a demo identity.
    pub const DEV_SIGN_IN: &str = "/auth/dev/sign-in";
    pub const SIGN_OUT: &str = "/auth/sign-out";
    /// A signer confirmed and must sign in again before the signature is made.
    pub const REAUTHENTICATE: &str = "/auth/reauthenticate";
    /// Back from signing in again: the pending signature is shown (`GET`, with the
    /// ceremony id the trip was sent with) and made (`POST`).
    pub const SIGNING_COMPLETE: &str = "/auth/signing/complete";

    /// The way back from signing in again for the ceremony `ceremony`.
    pub fn signing_complete(ceremony: &str) -> String {
        format!("{SIGNING_COMPLETE}?ceremony={}", super::escaped(ceremony))
    }

    /// The development sign-in's page, asking to sign in again for the ceremony `ceremony`.
    pub fn sign_in_again_to_sign(ceremony: &str) -> String {
        format!(
            "/sign-in?again=signing&return_to={}",
            super::escaped(&signing_complete(ceremony))
        )
    }
}

/// `text` as a query value: unreserved bytes and `/` as they are, the rest percent-encoded.
fn escaped(text: &str) -> String {
    let mut escaped = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
            escaped.push(byte as char);
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

#[cfg(test)]
mod tests;
