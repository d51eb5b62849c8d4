//! The portal's addresses, built in one place: pages link with these, and the server's
//! e-mails, API answers and sign-in redirects use the same (prefixed with the public URL).
//! The route table they must match is `crate::App`.

/// The groups list, the home page.
pub const HOME: &str = "/";
pub const NOTIFICATIONS: &str = "/notifications";

/// A group's versions.
pub fn group(group: &str) -> String {
    format!("/models/{group}")
}

/// A group's history (what was live where, every decision).
pub fn history(group: &str) -> String {
    format!("/models/{group}/history")
}

/// A history export: `history.csv`, `deployments.csv` or `history.json`.
pub fn export(group: &str, file: &str) -> String {
    format!("/models/{group}/export/{file}")
}

/// A version's review page.
pub fn version(group: &str, version: impl std::fmt::Display) -> String {
    format!("/models/{group}/versions/{version}")
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
    format!("{base}?page={page}")
}

/// The sign-in page, coming back to `return_to` (a path on this site) afterwards.
pub fn sign_in(return_to: &str) -> String {
    let mut href = String::from("/sign-in?return_to=");
    for byte in return_to.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
            href.push(byte as char);
        } else {
            href.push_str(&format!("%{byte:02X}"));
        }
    }
    href
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_match_the_route_table_and_escape_what_they_carry() {
        assert_eq!(
            version_at("churn", 7, "prod"),
            "/models/churn/versions/7?environment=prod"
        );
        assert_eq!(page(&group("churn"), 2), "/models/churn?page=2");
        assert_eq!(
            sign_in("/models/churn/versions/7?environment=prod"),
            "/sign-in?return_to=/models/churn/versions/7%3Fenvironment%3Dprod"
        );
    }
}
