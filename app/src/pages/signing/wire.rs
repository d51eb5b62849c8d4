//! What the confirmation step sends the browser.

use serde::{Deserialize, Serialize};

/// Exactly what a signature will apply to, as the confirmation step shows it, and whether
/// the signer must authenticate again first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SigningReview {
    pub group: String,
    pub version: u32,
    pub environment: String,
    /// "Approve", "Reject" or "Roll back to".
    pub action: String,
    pub model_package_arn: String,
    pub image_uri: String,
    pub model_data_url: String,
    /// Where the registry knows them.
    pub image_digest: Option<String>,
    pub model_data_etag: Option<String>,
    pub metrics: Vec<(String, String)>,
    pub replaces_version: Option<u32>,
    pub meaning: String,
    pub reason: Option<String>,
    pub signer_name: String,
    pub signer_email: String,
    pub signer_identifier: String,
    /// Lower-case hex SHA-256 of `signed_json`.
    pub record_digest: String,
    /// The RFC 8785 canonical JSON the digest is taken over.
    pub signed_json: String,
    /// Why the signer must sign in again before signing, if they must.
    pub sign_in_again: Option<String>,
}
