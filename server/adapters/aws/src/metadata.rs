//! What Countersign keeps in a model package's custom metadata, and how it reads metadata
//! that someone else wrote.
//!
//! One key per environment (`dev`, `test`, ...) holds that step's state, with SageMaker's
//! own words: `PendingManualApproval`, `Approved` or `Rejected`, or `RolledBack` (ours) for
//! a step whose environment was pointed back to an earlier version. The workflow also knows
//! "not requested" (a later step while an earlier one is undecided or rejected); SageMaker
//! has no word for it, so it is written as `PendingManualApproval` and recovered on reading
//! from the states before it. A missing key reads as undecided, so versions registered by
//! a SageMaker pipeline or the console need no metadata of ours.

use countersign_domain::*;
use std::collections::HashMap;

/// How many of the log's decisions the registry reflects. A log longer than this means a
/// decision was interrupted after it was logged; see `commit.rs`.
pub const DECISIONS_APPLIED: &str = "countersign:decisions-applied";
/// The registrant's e-mail address (the notifier reads it too).
pub const OWNER: &str = "owner";
pub const OWNER_NAME: &str = "owner-name";
pub const OWNER_SUBJECT: &str = "owner-subject";
/// The pipeline that registered the version through Countersign's API, as it authenticated.
pub const REGISTERED_THROUGH: &str = "countersign:registered-through";
/// The portal's seal over the registrant it verified (see [`registrant_seal`]).
pub const REGISTRANT_VERIFIED: &str = "countersign:registrant-verified";
/// Each metric is one key, `metric:<name>`, with the number as text.
pub const METRIC_PREFIX: &str = "metric:";

/// SageMaker's limits on custom metadata.
pub const MAX_KEYS: usize = 50;
pub use countersign_domain::{
    METADATA_KEY_MAX_CHARS as MAX_KEY_CHARS, METADATA_VALUE_MAX_CHARS as MAX_VALUE_CHARS,
};

pub type Metadata = HashMap<String, String>;

/// Checks a whole metadata map against SageMaker's rules before it is sent, so that a
/// refusal names the offending entry instead of arriving as a generic validation error.
pub fn check(metadata: &Metadata) -> Result<(), String> {
    if metadata.len() > MAX_KEYS {
        return Err(format!(
            "SageMaker keeps at most {MAX_KEYS} custom metadata entries per model version; this one would have {}",
            metadata.len()
        ));
    }
    let mut keys: Vec<&String> = metadata.keys().collect();
    keys.sort();
    for key in keys {
        let value = &metadata[key];
        if !is_metadata_key(key) {
            return Err(format!(
                "metadata key {key:?} is not allowed: use 1 to {MAX_KEY_CHARS} letters, digits, spaces or _ . : / = + - @"
            ));
        }
        if !is_metadata_value(value) {
            return Err(format!(
                "metadata value for {key:?} is not allowed: use at most {MAX_VALUE_CHARS} letters, digits, spaces or _ . : / = + - @ (no quotes, commas or braces)"
            ));
        }
    }
    Ok(())
}

/// The environment keys for `steps`, every environment present.
pub fn step_entries(steps: &Steps, environments: &Environments) -> Vec<(String, String)> {
    environments
        .iter()
        .map(|env| {
            let state = match steps.state(env) {
                StepState::NotRequested => StepState::PendingManualApproval,
                state => state,
            };
            (env.to_string(), state.as_str().to_owned())
        })
        .collect()
}

/// The workflow's steps from metadata: decided keys as written; an undecided step is
/// pending when the first step is approved and no step before it was rejected (or when it
/// is the first step), and not requested otherwise, which is exactly how the workflow
/// leaves them.
pub fn steps_from(metadata: &Metadata, environments: &Environments) -> Steps {
    let decided = |env: &Environment| {
        metadata
            .get(env.as_str())
            .and_then(|v| StepState::parse(v))
            .filter(|s| s.is_decided())
    };
    let first_approved = decided(environments.first()) == Some(StepState::Approved);
    let mut rejected_before = false;
    environments
        .iter()
        .enumerate()
        .map(|(index, env)| {
            let state =
                decided(env).unwrap_or(if index == 0 || (first_approved && !rejected_before) {
                    StepState::PendingManualApproval
                } else {
                    StepState::NotRequested
                });
            rejected_before |= matches!(state, StepState::Rejected | StepState::RolledBack);
            (env.clone(), state)
        })
        .collect()
}

/// The metadata a new version is created with: every environment key, the registrant, the
/// metrics and the pipeline's own entries.
pub fn for_registration(new: &NewVersion, environments: &Environments) -> Result<Metadata, String> {
    let r = &new.registration;
    let mut metadata: Metadata = step_entries(&new.steps, environments).into_iter().collect();
    let person = &r.registered_by;
    let through = r.registered_through.clone().unwrap_or_default();
    for (key, value, what) in [
        (OWNER_SUBJECT, &person.subject, "registered_by.subject"),
        (OWNER_NAME, &person.name, "registered_by.name"),
        (OWNER, &person.email, "registered_by.email"),
        (REGISTERED_THROUGH, &through, "the caller's name"),
    ] {
        if value.is_empty() {
            continue;
        }
        if !is_metadata_value(value) {
            return Err(format!(
                "{what} {value:?} cannot be kept in SageMaker metadata: use at most {MAX_VALUE_CHARS} letters, digits, spaces or _ . : / = + - @"
            ));
        }
        metadata.insert(key.to_owned(), value.clone());
    }
    for (name, value) in &r.metrics {
        metadata.insert(format!("{METRIC_PREFIX}{name}"), value.to_string());
    }
    // Checked on registration: none of these is a key of ours.
    for (key, value) in &r.metadata {
        metadata.insert(key.clone(), value.clone());
    }
    check(&metadata)?;
    Ok(metadata)
}

/// The entries that are not Countersign's: the pipeline's own, or whatever else wrote them
/// (a SageMaker pipeline, the console).
pub fn custom(metadata: &Metadata, environments: &Environments) -> CustomMetadata {
    metadata
        .iter()
        .filter(|(key, _)| !is_reserved_metadata_key(key, environments))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// The registrant: ours when we registered the version, otherwise whoever SageMaker says
/// created it (`created_by`, an IAM identity or a Studio user).
pub fn registrant(metadata: &Metadata, created_by: Option<String>) -> Person {
    let get = |key: &str| metadata.get(key).filter(|v| !v.is_empty()).cloned();
    let email = get(OWNER).unwrap_or_default();
    let subject = get(OWNER_SUBJECT)
        .or_else(|| (!email.is_empty()).then(|| email.clone()))
        .or(created_by)
        .unwrap_or_else(|| "unknown".to_owned());
    let name = get(OWNER_NAME).unwrap_or_else(|| subject.clone());
    Person {
        subject,
        name,
        email,
    }
}

/// Everyone a version can be attributed to: the registrant we wrote (`owner-subject`,
/// `owner`), or anyone else wrote as its owner, and the people the identity that created it
/// stands for.
///
/// Anyone allowed `UpdateModelPackage` can write the owner keys, so they establish the
/// registrant only under the portal's seal (`sealed`, see [`registrant_seal`]). SageMaker
/// itself records the creator: a creator `COUNTERSIGN_IDENTITY_MAP` maps, or an IAM
/// Identity Center session (whose name the identity provider sets), establishes who it is.
pub fn attribution(
    metadata: &Metadata,
    created_by: Option<&str>,
    identities: &IdentityMap,
    sealed: bool,
) -> Attribution {
    let owners = [OWNER_SUBJECT, OWNER]
        .into_iter()
        .filter_map(|key| metadata.get(key))
        .map(String::as_str)
        .fold(Attribution::nobody(), Attribution::and)
        .and_verified_when(sealed);
    let Some(creator) = created_by else {
        return owners;
    };
    let mapped = identities
        .people_for(creator)
        .fold(owners, Attribution::and_verified);
    match session_person(creator) {
        Some((person, true)) => mapped.and_verified(person),
        Some((person, false)) => mapped.and(person),
        None => mapped,
    }
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn registrant_mac(key: &str, arn: &str, metadata: &Metadata) -> HmacSha256 {
    use hmac::Mac;
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(b"registrant-verified\n");
    mac.update(arn.as_bytes());
    for key in [OWNER_SUBJECT, OWNER] {
        mac.update(b"\n");
        mac.update(metadata.get(key).map_or("", String::as_str).as_bytes());
    }
    mac
}

/// The value of [`REGISTRANT_VERIFIED`] for the version `arn` whose owner keys the portal
/// verified: HMAC-SHA256 (hex) under the log key of the ARN and the owner keys as written.
/// A seal copied to another version, or left over owner keys someone changed, no longer
/// verifies.
pub fn registrant_seal(key: &str, arn: &str, metadata: &Metadata) -> String {
    use hmac::Mac;
    hex::encode(registrant_mac(key, arn, metadata).finalize().into_bytes())
}

/// Whether the version's owner keys carry the portal's seal under `key` (compared in
/// constant time); without the key, nothing is sealed.
pub fn registrant_sealed(key: Option<&str>, arn: &str, metadata: &Metadata) -> bool {
    use hmac::Mac;
    let seal = metadata
        .get(REGISTRANT_VERIFIED)
        .and_then(|hex| hex::decode(hex).ok());
    match (key, seal) {
        (Some(key), Some(seal)) => registrant_mac(key, arn, metadata)
            .verify_slice(&seal)
            .is_ok(),
        _ => false,
    }
}

/// The person an assumed-role session named by an e-mail address stands for, and whether
/// that is established: only IAM Identity Center's roles (`AWSReservedSSO_…`, which only
/// its sign-in may assume) have their session named by the identity provider; anyone who
/// may assume another role names the session as they like.
fn session_person(creator: &str) -> Option<(&str, bool)> {
    let rest = creator
        .strip_prefix("arn:aws:sts::")?
        .split_once(":assumed-role/")?
        .1;
    let (role, session) = rest.split_once('/')?;
    session
        .contains('@')
        .then(|| (session, role.starts_with("AWSReservedSSO_")))
}

/// Who the IAM and SageMaker Studio identities that create model versions are, as people
/// (`COUNTERSIGN_IDENTITY_MAP`): an identity (a Studio user profile name, an IAM user or
/// role ARN, an assumed-role ARN) maps to the identifiers of the people it acts for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityMap(std::collections::BTreeMap<String, Vec<String>>);

impl IdentityMap {
    pub fn new(entries: impl IntoIterator<Item = (String, Vec<String>)>) -> Self {
        Self(
            entries
                .into_iter()
                .map(|(identity, people)| (identity.trim().to_owned(), people))
                .collect(),
        )
    }

    /// The people `creator` stands for, as mapped. An assumed-role session
    /// (`arn:aws:sts::111122223333:assumed-role/Role/session`) is looked up as itself, as
    /// the session-less `.../assumed-role/Role` and as the role's ARN
    /// (`arn:aws:iam::111122223333:role/Role`).
    pub fn people_for<'a>(&'a self, creator: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let mut keys = vec![creator.to_owned()];
        if let Some((account, rest)) = creator
            .strip_prefix("arn:aws:sts::")
            .and_then(|r| r.split_once(":assumed-role/"))
        {
            if let Some((role, _session)) = rest.split_once('/') {
                keys.push(format!("arn:aws:sts::{account}:assumed-role/{role}"));
                keys.push(format!("arn:aws:iam::{account}:role/{role}"));
            }
        }
        keys.into_iter()
            .filter_map(move |key| self.0.get(&key))
            .flatten()
            .map(String::as_str)
    }
}

pub fn metrics(metadata: &Metadata) -> Metrics {
    metadata
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix(METRIC_PREFIX)?;
            let number: f64 = value.parse().ok().filter(|n: &f64| n.is_finite())?;
            Some((name.to_owned(), number))
        })
        .collect()
}

pub fn decisions_applied(metadata: &Metadata) -> u64 {
    metadata
        .get(DECISIONS_APPLIED)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
