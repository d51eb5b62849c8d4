//! The identity provider's settings, read once at start-up.

use crate::settings::{given, secure_issuer, SettingError};
use secrecy::SecretString;

/// Corporate sign-in through an OpenID Connect provider (Entra ID, AD FS, ...).
#[derive(Clone, Debug)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The ID token claim that lists the person's groups (`groups`, `roles`, or AD FS's
    /// `http://schemas.xmlsoap.org/claims/Group`).
    pub groups_claim: String,
    /// The claim whose value identifies a person for good: `email` (the default), Entra's
    /// `oid` or `upn`, or `sub` where the provider's subject is the same for every
    /// application (it is not in Entra ID).
    pub identity_claim: String,
    /// Whether a sign-in without the `name` claim is refused (the GxP profile): every
    /// signature shows its signer's printed name, never an address standing in for it.
    pub require_name: bool,
}

/// The provider's settings as written (`COUNTERSIGN_OIDC_*`).
pub struct OidcSettings<'a> {
    pub issuer: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    pub groups_claim: &'a str,
    pub identity_claim: &'a str,
    pub require_name: bool,
}

impl OidcSettings<'_> {
    /// `None` without an issuer (no identity provider); with one, its client's credentials
    /// are required.
    pub fn read(self) -> Result<Option<OidcConfig>, SettingError> {
        let Some(issuer) = given(self.issuer) else {
            return Ok(None);
        };
        if !secure_issuer(issuer) {
            return Err(SettingError::new(
                "oidc_issuer",
                format!("is {issuer:?}; use the provider's https:// issuer URL"),
            ));
        }
        let required = |key: &str, value: Option<&str>| {
            given(value).map(str::to_owned).ok_or_else(|| {
                SettingError::new(key, "is required when COUNTERSIGN_OIDC_ISSUER is set")
            })
        };
        Ok(Some(OidcConfig {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: required("oidc_client_id", self.client_id)?,
            client_secret: SecretString::from(required("oidc_client_secret", self.client_secret)?),
            groups_claim: self.groups_claim.trim().to_owned(),
            identity_claim: identity_claim(self.identity_claim)?,
            require_name: self.require_name,
        }))
    }
}

fn identity_claim(claim: &str) -> Result<String, SettingError> {
    let claim = claim.trim();
    if claim.is_empty() || claim.contains(char::is_whitespace) {
        return Err(SettingError::new(
            "oidc_identity_claim",
            format!("is {claim:?}; name one ID token claim: email, oid, upn or sub"),
        ));
    }
    Ok(claim.to_owned())
}
