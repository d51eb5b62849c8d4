//! What the registry knows about a model version, and what a decision leaves behind.
//!
//! The fields follow the SageMaker Model Registry (a model package in a model package
//! group), so the AWS adapter maps them one to one.

use crate::environment::{Environment, Environments};
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;

mod decision;
mod metadata;
pub use decision::{Choice, DecisionRecord, Deployment, Stamp, Verdict};
pub use metadata::*;

/// A SageMaker model package group name: 1 to 63 characters, letters, digits and
/// single or repeated hyphens, starting and ending with a letter or digit
/// (`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupName(String);

/// Part of a group's name, whatever its case: what a list's filter asks for. Empty matches
/// every group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupFilter(String);

impl GroupFilter {
    pub fn new(text: &str) -> Self {
        Self(text.trim().to_ascii_lowercase())
    }

    pub fn matches(&self, group: &GroupName) -> bool {
        group.0.to_ascii_lowercase().contains(&self.0)
    }

    /// The text as asked for, trimmed, in lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    #[error("the model group name is not valid: use 1 to 63 letters, digits or '-', starting and ending with a letter or digit")]
    GroupName(String),
    #[error("the version is not valid: versions are whole numbers from 1")]
    Version(String),
    #[error("{field} is too long: at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("metric {0:?} is not a finite number")]
    NonFiniteMetric(String),
    #[error("metric name {0:?} is not valid: use 1 to 64 letters, digits, '_', '-', '.' or ':'")]
    MetricName(String),
    #[error("too many {field}: at most {max}")]
    TooMany { field: &'static str, max: usize },
    #[error("run id {0:?} is not valid: use 1 to 128 letters, digits, '_', '-' or '.'")]
    RunId(String),
    #[error("finished_at is before started_at")]
    FinishedBeforeStart,
    #[error(
        "artifacts_url {0:?} is not valid: use an s3://, https:// or http:// URL without spaces"
    )]
    ArtifactsUrl(String),
    #[error("{field} {value:?} is not an e-mail address (name@example.com)")]
    Email { field: &'static str, value: String },
    #[error("image_digest {0:?} is not a digest: use algorithm:hex, e.g. sha256: and 64 hex digits (at most 72 characters)")]
    ImageDigest(String),
    #[error("model_data_etag {0:?} is not valid: at most 128 printable characters without spaces")]
    ModelDataETag(String),
    #[error(
        "metadata key {0:?} is not valid: use 1 to 128 letters, digits, spaces or _ . : / = + - @"
    )]
    MetadataKey(String),
    #[error("metadata key {0:?} is Countersign's own: choose another name")]
    ReservedMetadataKey(String),
    #[error("metadata value for {0:?} is not valid: use at most 256 letters, digits, spaces or _ . : / = + - @ (no quotes, commas or braces)")]
    MetadataValue(String),
}

/// What identifies a version's artifacts beyond their names, as the registry knows it
/// (SageMaker's `ImageDigest` and `ModelDataETag`): a signature then binds the bytes behind
/// a tag, not only the tag. Either may be unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArtifactDigests {
    /// The container image's digest, e.g. `sha256:` and 64 hex digits.
    pub image: Option<String>,
    /// The model data object's ETag.
    pub model_data: Option<String>,
}

impl ArtifactDigests {
    /// Validates what a pipeline or the registry says; blank means unknown.
    pub fn new(image: Option<&str>, model_data: Option<&str>) -> Result<Self, InvalidInput> {
        fn known(value: Option<&str>) -> Option<&str> {
            value.map(str::trim).filter(|v| !v.is_empty())
        }
        let image = match known(image) {
            Some(digest) if is_image_digest(digest) => Some(digest.to_owned()),
            Some(other) => return Err(InvalidInput::ImageDigest(other.to_owned())),
            None => None,
        };
        let model_data = match known(model_data) {
            Some(etag) if etag.len() <= 128 && etag.chars().all(|c| c.is_ascii_graphic()) => {
                Some(etag.to_owned())
            }
            Some(other) => return Err(InvalidInput::ModelDataETag(other.to_owned())),
            None => None,
        };
        Ok(Self { image, model_data })
    }
}

/// `algorithm:hex`, as container registries write image digests, at most 72 characters.
fn is_image_digest(text: &str) -> bool {
    text.len() <= 72
        && text.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty()
                && algorithm
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
                && hex.len() >= 32
                && hex.chars().all(|c| c.is_ascii_hexdigit())
        })
}

/// Whether `text` is a plain e-mail address: one `@` between a local part and a domain
/// with a dot, at most 254 characters, nothing a mail header could take for a separator.
pub fn is_email_address(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let separator = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\@".contains(c);
    text.len() <= 254
        && (1..=64).contains(&local.len())
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !local.contains(separator)
        && !domain.contains(separator)
}

/// The name of the portal's own trail (sign-ins, start-ups, ...): no SageMaker group can have
/// it, as no group name begins with `_`.
pub const SYSTEM_TRAIL: &str = "_countersign";

impl GroupName {
    /// The portal's own trail, kept as a group's is (see [`SYSTEM_TRAIL`]).
    pub fn system_trail() -> Self {
        Self(SYSTEM_TRAIL.to_owned())
    }

    /// A trail's name: a group's, or [`SYSTEM_TRAIL`].
    pub fn parse_trail(name: &str) -> Result<Self, InvalidInput> {
        if name == SYSTEM_TRAIL {
            Ok(Self::system_trail())
        } else {
            Self::parse(name)
        }
    }

    pub fn parse(name: &str) -> Result<Self, InvalidInput> {
        let bytes = name.as_bytes();
        let valid = (1..=63).contains(&bytes.len())
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(InvalidInput::GroupName(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A model package version within its group; SageMaker numbers them from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionNumber(u32);

impl VersionNumber {
    pub fn new(number: u32) -> Result<Self, InvalidInput> {
        if number == 0 {
            Err(InvalidInput::Version("0".into()))
        } else {
            Ok(Self(number))
        }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        text.parse::<u32>()
            .map_err(|_| InvalidInput::Version(text.to_owned()))
            .and_then(Self::new)
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for VersionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The state of one promotion step (a version in one environment). The first three names
/// are exactly the values SageMaker uses, and are written as custom metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StepState {
    /// Nobody has been asked yet: an earlier environment is still undecided or was rejected.
    NotRequested,
    PendingManualApproval,
    Approved,
    Rejected,
    /// Approved and deployed, then withdrawn: an approver pointed the environment back to
    /// an earlier version.
    RolledBack,
}

impl StepState {
    pub const ALL: [StepState; 5] = [
        StepState::NotRequested,
        StepState::PendingManualApproval,
        StepState::Approved,
        StepState::Rejected,
        StepState::RolledBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepState::NotRequested => "NotRequested",
            StepState::PendingManualApproval => "PendingManualApproval",
            StepState::Approved => "Approved",
            StepState::Rejected => "Rejected",
            StepState::RolledBack => "RolledBack",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_decided(self) -> bool {
        matches!(
            self,
            StepState::Approved | StepState::Rejected | StepState::RolledBack
        )
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SageMaker's `ModelApprovalStatus` of the whole version. It follows the first environment:
/// approving `dev` approves the version, rejecting `dev` rejects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApprovalStatus {
    PendingManualApproval,
    Approved,
    Rejected,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::PendingManualApproval => "PendingManualApproval",
            ApprovalStatus::Approved => "Approved",
            ApprovalStatus::Rejected => "Rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::PendingManualApproval, Self::Approved, Self::Rejected]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A human. `subject` is their stable identifier: for a signer, the value of the configured
/// identity claim (`COUNTERSIGN_OIDC_IDENTITY_CLAIM`: e-mail, Entra `oid` or `upn`, `sub`);
/// for a registrant, what the pipeline declared. Name and e-mail are for showing and
/// telling; `identity.rs` says when two records are the same person.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    pub subject: String,
    pub name: String,
    pub email: String,
}

/// Per-environment step states, keyed like SageMaker custom metadata. A missing key means
/// [`StepState::NotRequested`], as for versions registered outside Countersign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Steps(BTreeMap<Environment, StepState>);

impl Steps {
    pub fn state(&self, env: &Environment) -> StepState {
        self.0.get(env).copied().unwrap_or(StepState::NotRequested)
    }

    pub fn set(&mut self, env: &Environment, state: StepState) {
        self.0.insert(env.clone(), state);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Environment, StepState)> {
        self.0.iter().map(|(e, s)| (e, *s))
    }

    /// The steps in promotion order, one per configured environment.
    pub fn in_order<'a>(
        &'a self,
        envs: &'a Environments,
    ) -> impl Iterator<Item = (&'a Environment, StepState)> + 'a {
        envs.iter().map(|e| (e, self.state(e)))
    }

    /// The environment waiting for a human decision now, if any: the first pending one whose
    /// predecessors are all approved.
    pub fn awaiting<'a>(&self, envs: &'a Environments) -> Option<&'a Environment> {
        for env in envs.iter() {
            match self.state(env) {
                StepState::Approved => continue,
                StepState::PendingManualApproval => return Some(env),
                _ => return None,
            }
        }
        None
    }
}

impl FromIterator<(Environment, StepState)> for Steps {
    fn from_iter<T: IntoIterator<Item = (Environment, StepState)>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// Named numeric evaluation results (accuracy, AUC, ...). Always finite.
pub type Metrics = BTreeMap<String, f64>;

/// One model version as the registry holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelVersion {
    pub group: GroupName,
    pub version: VersionNumber,
    /// The registry's unique id (a SageMaker model package ARN, or a local equivalent).
    pub arn: String,
    pub approval_status: ApprovalStatus,
    pub steps: Steps,
    pub image_uri: String,
    pub model_data_url: String,
    pub digests: ArtifactDigests,
    pub description: String,
    pub metrics: Metrics,
    pub metadata: CustomMetadata,
    pub registered_by: Person,
    /// Everyone the version can be attributed to: nobody of them may approve it (four-eyes).
    pub attributed_to: crate::identity::Attribution,
    /// The pipeline that registered it through the API (a token's name, a client's id), as
    /// it authenticated; `None` for versions registered otherwise.
    pub registered_through: Option<String>,
    pub registered_at: OffsetDateTime,
    /// What the registry holds for this version that its decision log does not explain (a
    /// step or status written outside the portal), one sentence each. The version's steps
    /// are the log's; this says what was found instead. Empty in the normal case.
    pub drift: Vec<String>,
    /// Incremented by every decision; a decision computed against an older revision is
    /// refused as a conflict, so two concurrent decisions never both apply.
    pub revision: u64,
}

/// What a training pipeline supplies to register a version, already validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    pub group: GroupName,
    pub image_uri: String,
    pub model_data_url: String,
    pub digests: ArtifactDigests,
    pub description: String,
    pub metrics: Metrics,
    pub metadata: CustomMetadata,
    pub registered_by: Person,
    /// The authenticated caller that sent the registration, when it came through the API.
    pub registered_through: Option<String>,
    /// Whether something other than the registration's own word vouches for the registrant:
    /// the caller is bound to that person (`COUNTERSIGN_API_REGISTRANTS`).
    pub registrant_verified: bool,
}

impl Registration {
    /// The artifacts' digests, as the pipeline knows them.
    pub fn with_digests(mut self, digests: ArtifactDigests) -> Self {
        self.digests = digests;
        self
    }

    /// The pipeline's custom metadata, checked against SageMaker's rules (at most
    /// `MAX_CUSTOM_METADATA` entries here) and Countersign's reserved keys.
    pub fn with_metadata(
        mut self,
        metadata: CustomMetadata,
        environments: &Environments,
    ) -> Result<Self, InvalidInput> {
        if metadata.len() > MAX_CUSTOM_METADATA {
            return Err(InvalidInput::TooMany {
                field: "metadata entries",
                max: MAX_CUSTOM_METADATA,
            });
        }
        for (key, value) in &metadata {
            if !is_metadata_key(key) {
                return Err(InvalidInput::MetadataKey(key.clone()));
            }
            if is_reserved_metadata_key(key, environments) {
                return Err(InvalidInput::ReservedMetadataKey(key.clone()));
            }
            if !is_metadata_value(value) {
                return Err(InvalidInput::MetadataValue(key.clone()));
            }
        }
        self.metadata = metadata;
        Ok(self)
    }

    /// Records the authenticated pipeline that sent the registration.
    pub fn through(mut self, caller: &str) -> Self {
        self.registered_through = Some(caller.to_owned());
        self
    }

    /// Records that the caller is bound to the registrant it named, so the registrant is
    /// established rather than declared.
    pub fn with_registrant_verified(mut self) -> Self {
        self.registrant_verified = true;
        self
    }

    /// Validates what a pipeline sent, with SageMaker's limits (image URI 255 characters,
    /// model data URL 1024, description 1024).
    pub fn new(
        group: GroupName,
        image_uri: &str,
        model_data_url: &str,
        description: &str,
        metrics: Metrics,
        registered_by: Person,
    ) -> Result<Self, InvalidInput> {
        let image_uri = bounded("image_uri", image_uri, 255)?;
        if image_uri.is_empty() {
            return Err(InvalidInput::Missing("image_uri"));
        }
        let model_data_url = bounded("model_data_url", model_data_url, 1024)?;
        let description = bounded("description", description, 1024)?;
        validate_metrics(&metrics)?;
        if registered_by.subject.trim().is_empty() {
            return Err(InvalidInput::Missing("registered_by.subject"));
        }
        let email = registered_by.email.trim();
        if !email.is_empty() && !is_email_address(email) {
            return Err(InvalidInput::Email {
                field: "registered_by.email",
                value: email.to_owned(),
            });
        }
        Ok(Self {
            group,
            image_uri,
            model_data_url,
            digests: ArtifactDigests::default(),
            description,
            metrics,
            metadata: CustomMetadata::new(),
            registered_by,
            registered_through: None,
            registrant_verified: false,
        })
    }
}

/// Every metric named plainly (1 to 64 letters, digits, `_-.:`) and finite.
pub fn validate_metrics(metrics: &Metrics) -> Result<(), InvalidInput> {
    for (name, value) in metrics {
        let name_ok = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
        if !name_ok {
            return Err(InvalidInput::MetricName(name.clone()));
        }
        if !value.is_finite() {
            return Err(InvalidInput::NonFiniteMetric(name.clone()));
        }
    }
    Ok(())
}

fn bounded(field: &'static str, value: &str, max: usize) -> Result<String, InvalidInput> {
    let value = value.trim();
    if value.chars().count() > max {
        Err(InvalidInput::TooLong { field, max })
    } else {
        Ok(value.to_owned())
    }
}

/// A registration with the initial states the workflow assigns, ready for the registry,
/// which gives it a version number and an ARN.
#[derive(Clone, Debug, PartialEq)]
pub struct NewVersion {
    pub registration: Registration,
    pub approval_status: ApprovalStatus,
    pub steps: Steps,
    pub registered_at: OffsetDateTime,
}

impl NewVersion {
    /// The version as the registry stores it, once it has assigned a number and an ARN.
    pub fn into_version(self, version: VersionNumber, arn: String) -> ModelVersion {
        let r = self.registration;
        ModelVersion {
            group: r.group,
            version,
            arn,
            approval_status: self.approval_status,
            steps: self.steps,
            image_uri: r.image_uri,
            model_data_url: r.model_data_url,
            digests: r.digests,
            description: r.description,
            metrics: r.metrics,
            metadata: r.metadata,
            attributed_to: crate::identity::Attribution::declared(&r.registered_by)
                .and_verified_when(r.registrant_verified),
            registered_by: r.registered_by,
            registered_through: r.registered_through,
            registered_at: self.registered_at,
            drift: Vec::new(),
            revision: 0,
        }
    }
}

/// A summary line for a model package group. The counts are `None` where the backend
/// cannot give them without one request per group (SageMaker lists groups without them).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSummary {
    pub group: GroupName,
    pub version_count: Option<u64>,
    pub latest_version: Option<VersionNumber>,
    pub latest_registered_at: Option<OffsetDateTime>,
}

/// One page of a longer list, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: u64,
    pub limit: u32,
}

#[cfg(test)]
mod tests;
