//! Who may call the pipeline API, read once at start-up: static tokens, access tokens from
//! an OpenID provider, the scopes they grant, and which people a caller registers for.

use super::ApiScope;
use crate::settings::{comma_list, given, secure_issuer, SettingError};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

/// Who may call the pipeline API.
#[derive(Clone, Debug)]
pub struct ApiAccessConfig {
    /// No token needed (the laptop setup only).
    pub open: bool,
    pub tokens: Vec<StaticToken>,
    pub jwt: Option<JwtAccessConfig>,
    /// The scope or role values granting each API scope in access tokens.
    pub scope_claims: ScopeClaims,
    /// Callers (a static token's name, a client's id) bound to the people they may register
    /// versions for; a caller not named here registers for nobody (N3), unless the API is
    /// open.
    pub registrants: BTreeMap<String, RegistrantBinding>,
}

/// Whom one caller may name as a version's registrant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrantBinding {
    /// These people, as normalised identifiers.
    People(BTreeSet<String>),
    /// Anyone it declares (`caller=*`): the registrant is then the pipeline's word alone, and
    /// establishes nobody.
    Anyone,
}

#[derive(Clone, Debug)]
pub struct ScopeClaims {
    pub register: String,
    pub report: String,
    pub resolve: String,
}

/// A configured token: its name (recorded as who called), digest and scopes.
#[derive(Clone)]
pub struct StaticToken {
    pub name: String,
    pub sha256: [u8; 32],
    pub scopes: BTreeSet<ApiScope>,
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticToken")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Access tokens from an OpenID provider: its issuer, the audience they must name, and the
/// clients they may be issued to (empty: any).
#[derive(Clone, Debug)]
pub struct JwtAccessConfig {
    pub issuer: String,
    pub audience: String,
    pub clients: BTreeSet<String>,
}

/// Parses `COUNTERSIGN_API_TOKENS`: `name:scope+scope:sha256-hex`, comma-separated; the
/// error says what is wrong with which entry.
fn static_tokens(text: &str) -> Result<Vec<StaticToken>, SettingError> {
    let wrong = |entry: &str, why: &str| {
        SettingError::new("api_tokens", format!("has {entry:?}: {why}; each entry is name:scope+scope:sha256-hex, e.g. batch:report+resolve:<64 hex digits> (countersign token prints one)"))
    };
    let mut tokens: Vec<StaticToken> = Vec::new();
    for entry in comma_list(text) {
        let entry = entry.as_str();
        let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
        let [name, scopes, digest] = parts[..] else {
            return Err(wrong(entry, "not three parts"));
        };
        if name.is_empty() || tokens.iter().any(|t| t.name == name) {
            return Err(wrong(entry, "the name is empty or used twice"));
        }
        let scopes = scopes
            .split('+')
            .map(|s| ApiScope::parse(s.trim()))
            .collect::<Option<BTreeSet<_>>>()
            .ok_or_else(|| wrong(entry, "scopes are register, report and resolve"))?;
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(digest, &mut sha256)
            .map_err(|_| wrong(entry, "the digest is not 64 hex digits"))?;
        tokens.push(StaticToken {
            name: name.to_owned(),
            sha256,
            scopes,
        });
    }
    Ok(tokens)
}

/// The API's settings as written (`COUNTERSIGN_API_*`).
pub struct ApiSettings<'a> {
    pub open: Option<bool>,
    pub tokens: &'a str,
    pub jwt_audience: Option<&'a str>,
    pub jwt_issuer: Option<&'a str>,
    pub jwt_clients: &'a str,
    pub scope_register: &'a str,
    pub scope_report: &'a str,
    pub scope_resolve: &'a str,
    pub registrants: &'a str,
}

impl ApiSettings<'_> {
    /// Access for a portal listening on `listen`: access tokens come from `oidc_issuer`
    /// unless another issuer is named, and the API is open by default only in the laptop
    /// setup (`dev_sign_in`, no token configured), and never beyond loopback.
    pub fn read(
        self,
        oidc_issuer: Option<&str>,
        dev_sign_in: bool,
        listen: SocketAddr,
    ) -> Result<ApiAccessConfig, SettingError> {
        let tokens = static_tokens(self.tokens)?;
        let clients: BTreeSet<String> = comma_list(self.jwt_clients).into_iter().collect();
        if given(self.jwt_audience).is_none() && !clients.is_empty() {
            return Err(SettingError::new(
                "api_jwt_clients",
                "is set, but COUNTERSIGN_API_JWT_AUDIENCE is not: access tokens are not taken",
            ));
        }
        let jwt = match given(self.jwt_audience) {
            None => None,
            Some(audience) => {
                let issuer = given(self.jwt_issuer)
                    .or(oidc_issuer)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        SettingError::new(
                            "api_jwt_audience",
                            "is set, but neither COUNTERSIGN_API_JWT_ISSUER nor COUNTERSIGN_OIDC_ISSUER names the provider issuing the tokens",
                        )
                    })?;
                if !secure_issuer(&issuer) {
                    return Err(SettingError::new(
                        "api_jwt_issuer",
                        format!("is {issuer:?}; use the provider's https:// issuer URL (plain http only to this machine)"),
                    ));
                }
                if clients.is_empty() {
                    tracing::warn!(
                        "COUNTERSIGN_API_JWT_CLIENTS is empty: an access token for {audience} issued to any client of the provider is taken; name the pipelines' client ids"
                    );
                }
                Some(JwtAccessConfig {
                    issuer: issuer.trim_end_matches('/').to_owned(),
                    audience: audience.to_owned(),
                    clients,
                })
            }
        };
        let no_tokens = tokens.is_empty() && jwt.is_none();
        let open = self.open.unwrap_or(dev_sign_in && no_tokens);
        if open && !no_tokens {
            return Err(SettingError::new(
                "api_open",
                "is on, but API tokens are configured: turn one of them off",
            ));
        }
        if open && !listen.ip().is_loopback() {
            return Err(SettingError::new(
                "api_open",
                format!("is on, but COUNTERSIGN_LISTEN is {listen}: an API without tokens only runs on a loopback address. Configure COUNTERSIGN_API_TOKENS or COUNTERSIGN_API_JWT_AUDIENCE."),
            ));
        }
        let claim = |key: &str, value: &str| {
            let value = value.trim();
            if value.is_empty() || value.contains(char::is_whitespace) {
                Err(SettingError::new(
                    key,
                    "must be one scope or role name, without spaces",
                ))
            } else {
                Ok(value.to_owned())
            }
        };
        let registrants = registrants(self.registrants)?;
        let may_register = jwt.is_some()
            || tokens
                .iter()
                .any(|t| t.scopes.contains(&ApiScope::Register));
        if !open && may_register && registrants.is_empty() {
            tracing::warn!(
                "COUNTERSIGN_API_REGISTRANTS binds no caller to the people it registers for: every registration through the API is refused (caller=person+person, or caller=* to let one name anyone)"
            );
        }
        Ok(ApiAccessConfig {
            registrants,
            open,
            tokens,
            jwt,
            scope_claims: ScopeClaims {
                register: claim("api_scope_register", self.scope_register)?,
                report: claim("api_scope_report", self.scope_report)?,
                resolve: claim("api_scope_resolve", self.scope_resolve)?,
            },
        })
    }
}

/// `caller=person+person` or `caller=*`, comma-separated.
fn registrants(text: &str) -> Result<BTreeMap<String, RegistrantBinding>, SettingError> {
    let mut registrants = BTreeMap::new();
    for entry in comma_list(text) {
        let wrong = || {
            SettingError::new(
                "api_registrants",
                format!("has {entry:?}; each entry is caller=person+person, e.g. training-pipeline=dana@example.com+sam@example.com, or caller=* for a caller that may name anyone"),
            )
        };
        let (caller, people) = entry.split_once('=').ok_or_else(wrong)?;
        let caller = caller.trim();
        let binding = if people.trim() == "*" {
            tracing::warn!(
                caller,
                "COUNTERSIGN_API_REGISTRANTS lets this caller name anyone as a registrant: whoever it names is declared, not established, so its versions need one approver more wherever four-eyes holds (bind it to people instead: caller=person+person)"
            );
            RegistrantBinding::Anyone
        } else {
            RegistrantBinding::People(
                people
                    .split('+')
                    .filter_map(countersign_domain::identity::normalised_identifier)
                    .collect(),
            )
        };
        if caller.is_empty() || binding == RegistrantBinding::People(BTreeSet::new()) {
            return Err(wrong());
        }
        registrants.insert(caller.to_owned(), binding);
    }
    Ok(registrants)
}
