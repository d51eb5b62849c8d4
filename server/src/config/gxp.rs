//! The GxP profile (`COUNTERSIGN_GXP=true`): a portal whose signatures are records under
//! 21 CFR Part 11 and EU GMP Annex 11 refuses to start on settings a QA unit would not
//! accept, and says which, all at once, each naming the setting that closes it.
//!
//! What it refuses, and the clause behind each:
//! - anything that signs without a person: demo data, the development sign-in (§11.200(a)(3));
//! - an identity people can be told apart by today but that can be given to someone else
//!   tomorrow: `email`, `upn` (§11.100(a): "not reused by, or reassigned to, anyone else");
//! - a signature made with no credential entered at signing: a signing max age above 0
//!   (§11.200(a)(1); a continuous-session rule would allow one, and there is none yet);
//! - a session left open: an idle timeout above 15 minutes; group membership older than
//!   5 minutes (§11.10(d), (g));
//! - access left open: anyone signed in may look, the pipeline API takes no token or lets
//!   a caller name anyone as registrant, people approve what they registered (§11.10(d), (g));
//! - records kept where they can be rewritten: on AWS, no Object Lock audit bucket
//!   (§11.10(c), Annex 11 §7);
//! - a portal reached over plain http from another machine (§11.30).

use super::{Backend, Config};
use crate::http::api::auth::RegistrantBinding;
use crate::settings::{is_https, reached_on_this_machine, SettingError};

/// The longest idle time the profile allows a session.
const IDLE_MINUTES_AT_MOST: i64 = 15;
/// The oldest group membership the profile allows a signer's session to carry.
const GROUPS_MINUTES_AT_MOST: i64 = 5;
/// The identity claims a provider never gives to another person (Entra ID's object id; a
/// tenant-stable subject).
const IDENTITY_CLAIMS_NEVER_REASSIGNED: [&str; 2] = ["oid", "sub"];

/// Every setting the profile refuses in `config`; empty when it accepts them all.
pub(super) fn refusals(config: &Config) -> Vec<SettingError> {
    let mut refused = Vec::new();
    let mut refuse = |key: &str, why: String| refused.push(SettingError::new(key, why));
    if config.demo_data {
        refuse(
            "demo_data",
            "is on: demo versions carry signatures nobody made".into(),
        );
    }
    if config.sign_in.dev_sign_in {
        refuse(
            "dev_sign_in",
            "is on (the default without COUNTERSIGN_OIDC_ISSUER): anyone may choose any identity; configure the identity provider".into(),
        );
    }
    match &config.sign_in.oidc {
        Some(oidc) if !IDENTITY_CLAIMS_NEVER_REASSIGNED.contains(&oidc.identity_claim.as_str()) => {
            refuse(
                "oidc_identity_claim",
                format!(
                    "is {:?}, which the provider can give to someone else (a new joiner gets a leaver's address); use oid (Entra ID) or a tenant-stable sub",
                    oidc.identity_claim
                ),
            )
        }
        _ => {}
    }
    for environment in config.policy.environments().iter() {
        if !config.policy.signing_max_age(environment).is_zero() {
            refuse(
                &format!("signing_max_age_{}", environment.as_str().replace('-', "_")),
                format!(
                    "is {} s: a signature in {environment} within that time of a sign-in asks for no credential; set it to 0 (a sign-in at every signature)",
                    config.policy.signing_max_age(environment).whole_seconds()
                ),
            );
        }
        if config.policy.self_approval_allowed(environment) {
            refuse(
                "self_approval",
                format!("names {environment}: whoever registered a version approves it there"),
            );
        }
    }
    let session = &config.sign_in.session;
    if session.idle > time::Duration::minutes(IDLE_MINUTES_AT_MOST) {
        refuse(
            "session_idle_minutes",
            format!(
                "is {}: a session left alone ends after {IDLE_MINUTES_AT_MOST} minutes at most",
                session.idle.whole_minutes()
            ),
        );
    }
    if session.groups_refresh > time::Duration::minutes(GROUPS_MINUTES_AT_MOST) {
        refuse(
            "groups_refresh_minutes",
            format!(
                "is {}: a signer's groups may then be that old when they sign; {GROUPS_MINUTES_AT_MOST} at most",
                session.groups_refresh.whole_minutes()
            ),
        );
    }
    if !config.policy.names_viewers() {
        refuse(
            "viewers",
            "is empty: anyone the provider signs in may read every record; name the groups who may"
                .into(),
        );
    }
    if config.api_access.open {
        refuse(
            "api_open",
            "is on: the pipeline API takes no token; configure COUNTERSIGN_API_TOKENS or COUNTERSIGN_API_JWT_AUDIENCE".into(),
        );
    }
    for (caller, binding) in &config.api_access.registrants {
        if *binding == RegistrantBinding::Anyone {
            refuse(
                "api_registrants",
                format!("lets {caller} name anyone as a version's registrant ({caller}=*); bind it to the people it registers for"),
            );
        }
    }
    #[cfg(feature = "aws")]
    if let Backend::Aws(aws) = &config.backend {
        if aws.audit_bucket.is_none() {
            refuse(
                "audit_bucket",
                "is unset: the trail's checkpoints are then kept in a parameter its writer may overwrite; name an S3 bucket with Object Lock".into(),
            );
        }
    }
    if !is_https(&config.public_url) && !reached_on_this_machine(&config.public_url) {
        refuse(
            "public_url",
            format!(
                "is {}: sign-ins and signatures would cross the network unencrypted; use https",
                config.public_url
            ),
        );
    }
    refused
}

/// What the profile says even when it accepts the settings.
pub(super) fn warnings(config: &Config) -> Vec<String> {
    match config.backend {
        Backend::Local => vec!["the GxP profile is on the embedded store, which is for evaluation: a file on one machine, with no write-once copy of the trail or point-in-time recovery; use COUNTERSIGN_BACKEND=aws for records".into()],
        #[cfg(feature = "aws")]
        Backend::Aws(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
