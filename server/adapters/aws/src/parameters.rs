//! SSM Parameter Store: the model live in each environment, and the decision log.
//!
//! - `{prefix}/{group}/{environment}`: the deployment document pipelines resolve,
//!   overwritten by each deployment. SSM keeps only its last 100 versions.
//! - `{prefix}/{group}/_decisions/{version}/{seq}`: one parameter per decision, created
//!   with `Overwrite=false` and never changed, so none is ever dropped. `seq` counts the
//!   version's decisions from 1; creating an existing one fails, which is what lets exactly
//!   one of two concurrent decisions win. (Environment names start with a letter, so they
//!   never collide with `_decisions`.)
//!
//! Parameters use the Intelligent-Tiering tier: standard (free, 4 KB) until the account's
//! 10,000 standard parameters are used up or a value is larger, advanced (8 KB) after that.

use crate::calls::port;
use crate::metadata;
use crate::AwsBackend;
use async_trait::async_trait;
use aws_sdk_ssm::types::{Parameter, ParameterTier, ParameterType};
use countersign_domain::ports::*;
use countersign_domain::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// One decision as the log keeps it: the record, and everything the decision changes, so
/// that a decision interrupted after it was logged can be completed from the log alone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct LogEntry {
    pub id: String,
    pub environment: String,
    pub verdict: String,
    pub reason: Option<String>,
    pub decided_by: Person,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    pub resulting_state: String,
    /// The version's approval status and environment metadata once the decision applied.
    pub approval_status: String,
    pub steps: BTreeMap<String, String>,
    /// The document to publish as the environment's live parameter, if the decision
    /// deploys.
    pub deployment: Option<DeploymentDocument>,
    /// For a rollback: the version the environment returned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<u32>,
    /// HMAC-SHA256 (hex) of the entry without this field, under the portal's log key: only
    /// the portal writes entries it will apply. Entries written before there was a key have
    /// none, and are shown but never applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

impl LogEntry {
    fn mac_of(&self, key: &str) -> HmacSha256 {
        use hmac::Mac;
        let unsigned = LogEntry {
            mac: None,
            ..self.clone()
        };
        let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
        mac.update(
            serde_json::to_string(&unsigned)
                .expect("log entries serialise")
                .as_bytes(),
        );
        mac
    }

    pub(crate) fn signed(&self, key: &str) -> LogEntry {
        use hmac::Mac;
        let tag = self.mac_of(key).finalize().into_bytes();
        LogEntry {
            mac: Some(hex::encode(tag)),
            ..self.clone()
        }
    }

    /// Whether the entry carries a valid MAC under `key` (compared in constant time).
    pub(crate) fn is_authentic(&self, key: &str) -> bool {
        use hmac::Mac;
        let tag = self.mac.as_deref().and_then(|hex| hex::decode(hex).ok());
        tag.is_some_and(|tag| self.mac_of(key).verify_slice(&tag).is_ok())
    }
}

/// The key the portal signs its log entries with, and when SSM created it.
pub(crate) struct LogKey {
    pub secret: String,
    pub created: Option<aws_sdk_ssm::primitives::DateTime>,
}

impl LogKey {
    /// Whether the portal may trust an entry SSM wrote at `written_at`: signed under this
    /// key, or unsigned and written before the key existed (by a portal from before entries
    /// were signed). SSM sets the write time, so nobody can date an entry back; changing an
    /// old entry makes it new, and untrusted.
    pub(crate) fn vouches_for(
        &self,
        entry: &LogEntry,
        written_at: Option<aws_sdk_ssm::primitives::DateTime>,
    ) -> bool {
        if entry.mac.is_some() {
            return entry.is_authentic(&self.secret);
        }
        written_at
            .zip(self.created)
            .is_some_and(|(written, created)| written.as_nanos() < created.as_nanos())
    }
}

impl LogEntry {
    pub fn from_effect(effect: &DecisionEffect, environments: &Environments) -> Self {
        let r = &effect.record;
        Self {
            id: r.id.clone(),
            environment: r.environment.to_string(),
            verdict: r.verdict.as_str().to_owned(),
            reason: r.reason.clone(),
            decided_by: r.decided_by.clone(),
            decided_at: r.decided_at,
            resulting_state: r.resulting_state.as_str().to_owned(),
            approval_status: effect.approval_status.as_str().to_owned(),
            steps: metadata::step_entries(&effect.steps, environments)
                .into_iter()
                .collect(),
            deployment: effect.deployment.as_ref().map(DeploymentDocument::from),
            rollback_to: r.rollback_to.map(VersionNumber::get),
            mac: None,
        }
    }

    fn record(
        self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<DecisionRecord, PortError> {
        let bad = |what: &str, value: &str| {
            PortError::Corrupt(format!(
                "decision {} on {group} version {version} has an unknown {what} {value:?}",
                self.id
            ))
        };
        Ok(DecisionRecord {
            environment: Environment::parse(&self.environment)
                .map_err(|_| bad("environment", &self.environment))?,
            verdict: Verdict::parse(&self.verdict).ok_or_else(|| bad("verdict", &self.verdict))?,
            resulting_state: StepState::parse(&self.resulting_state)
                .ok_or_else(|| bad("resulting state", &self.resulting_state))?,
            group: group.clone(),
            version,
            reason: self.reason,
            decided_by: self.decided_by,
            decided_at: self.decided_at,
            rollback_to: self
                .rollback_to
                .map(|n| VersionNumber::new(n).map_err(|_| bad("rollback version", &n.to_string())))
                .transpose()?,
            id: self.id,
        })
    }
}

/// A log entry with where it sits in the log.
pub(crate) struct Logged {
    pub version: VersionNumber,
    pub seq: u64,
    pub entry: LogEntry,
    /// When SSM created the entry, by SSM's clock (one clock for every replica).
    pub written_at: Option<aws_sdk_ssm::primitives::DateTime>,
}

pub(crate) enum Appended {
    Written,
    /// That place in the log was taken; by this same decision when it is a retry.
    Taken {
        decision_id: String,
    },
}

impl AwsBackend {
    pub(crate) fn live_name(&self, group: &GroupName, environment: &str) -> String {
        format!("{}/{group}/{environment}", self.settings.ssm_prefix)
    }

    fn log_path(&self, group: &GroupName) -> String {
        format!("{}/{group}/_decisions", self.settings.ssm_prefix)
    }

    fn version_log_path(&self, group: &GroupName, version: VersionNumber) -> String {
        format!("{}/{version}", self.log_path(group))
    }

    pub(crate) fn entry_name(&self, group: &GroupName, version: VersionNumber, seq: u64) -> String {
        format!("{}/{seq:06}", self.version_log_path(group, version))
    }

    /// A parameter's JSON value, or `None` when it does not exist.
    pub(crate) async fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        name: &str,
    ) -> Result<Option<T>, PortError> {
        match self.read_parameter(name, false).await? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| PortError::Corrupt(format!("{name}: {e}"))),
        }
    }

    /// One parameter with when SSM last wrote it, or `None` when it does not exist.
    async fn get_parameter(
        &self,
        name: &str,
        decrypt: bool,
    ) -> Result<Option<Parameter>, PortError> {
        let found = self
            .calls
            .call(
                "ssm:GetParameter",
                self.ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(decrypt)
                    .send(),
            )
            .await;
        match found {
            Ok(found) => Ok(found.parameter),
            Err(f)
                if f.service_error
                    .as_ref()
                    .is_some_and(|e| e.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(f) => Err(port(f)),
        }
    }

    /// The value of one parameter, or `None` when it does not exist.
    pub(crate) async fn read_parameter(
        &self,
        name: &str,
        decrypt: bool,
    ) -> Result<Option<String>, PortError> {
        Ok(self
            .get_parameter(name, decrypt)
            .await?
            .and_then(|p| p.value))
    }

    pub(crate) async fn parameters_under(
        &self,
        path: &str,
        recursive: bool,
    ) -> Result<Vec<Parameter>, PortError> {
        let mut found = Vec::new();
        let mut next_token = None;
        loop {
            let page = self
                .calls
                .call(
                    "ssm:GetParametersByPath",
                    self.ssm
                        .get_parameters_by_path()
                        .path(path)
                        .recursive(recursive)
                        .max_results(10)
                        .set_next_token(next_token)
                        .send(),
                )
                .await
                .map_err(port)?;
            found.extend(page.parameters.unwrap_or_default());
            next_token = page.next_token;
            if next_token.is_none() {
                return Ok(found);
            }
        }
    }

    /// Creates a String parameter unless one of that name exists; true when this call
    /// created it. The one atomic decision SSM offers, which the log and the outbox build on.
    pub(crate) async fn create(&self, name: &str, value: &str) -> Result<bool, PortError> {
        match self.put(name, value, false).await {
            Ok(()) => Ok(true),
            Err(f)
                if f.service_error
                    .as_ref()
                    .is_some_and(|e| e.is_parameter_already_exists()) =>
            {
                Ok(false)
            }
            Err(f) => Err(port(f)),
        }
    }

    pub(crate) async fn overwrite(&self, name: &str, value: &str) -> Result<(), PortError> {
        self.put(name, value, true).await.map_err(port)
    }

    async fn put(
        &self,
        name: &str,
        value: &str,
        overwrite: bool,
    ) -> Result<(), crate::calls::Failure<aws_sdk_ssm::operation::put_parameter::PutParameterError>>
    {
        self.calls
            .call(
                "ssm:PutParameter",
                self.ssm
                    .put_parameter()
                    .name(name)
                    .value(value)
                    .r#type(ParameterType::String)
                    .tier(ParameterTier::IntelligentTiering)
                    .overwrite(overwrite)
                    .send(),
            )
            .await
            .map(|_| ())
    }

    fn parse_logged(parameter: Parameter) -> Result<Logged, PortError> {
        let name = parameter.name.unwrap_or_default();
        let corrupt =
            |why: String| PortError::Corrupt(format!("decision log parameter {name}: {why}"));
        let mut segments = name.rsplit('/');
        let seq = segments.next().and_then(|s| s.parse().ok());
        let version = segments.next().and_then(|s| VersionNumber::parse(s).ok());
        let (Some(seq), Some(version)) = (seq, version) else {
            return Err(corrupt("its name is not .../{version}/{seq}".into()));
        };
        let entry: LogEntry = serde_json::from_str(parameter.value.as_deref().unwrap_or_default())
            .map_err(|e| corrupt(e.to_string()))?;
        Ok(Logged {
            version,
            seq,
            entry,
            written_at: parameter.last_modified_date,
        })
    }

    /// One version's log, in order.
    pub(crate) async fn version_log(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<Logged>, PortError> {
        let parameters = self
            .parameters_under(&self.version_log_path(group, version), false)
            .await?;
        let mut logged = parameters
            .into_iter()
            .map(Self::parse_logged)
            .collect::<Result<Vec<_>, _>>()?;
        logged.sort_by_key(|l| l.seq);
        Ok(logged)
    }

    /// Adds a decision at place `seq` of the version's log, unless that place is taken.
    pub(crate) async fn append(
        &self,
        group: &GroupName,
        version: VersionNumber,
        seq: u64,
        entry: &LogEntry,
    ) -> Result<Appended, PortError> {
        let name = self.entry_name(group, version, seq);
        let signed = entry.signed(&self.log_key().await?.secret);
        let value = serde_json::to_string(&signed).expect("log entries serialise");
        if self.create(&name, &value).await? {
            return Ok(Appended::Written);
        }
        let existing: LogEntry = self
            .read_json(&name)
            .await?
            .ok_or_else(|| PortError::Corrupt(format!("{name} was taken but cannot be read")))?;
        Ok(Appended::Taken {
            decision_id: existing.id,
        })
    }

    /// Makes the entry's deployment the environment's live parameter, unless it already is,
    /// or the parameter was written after the entry was logged (completing an old,
    /// interrupted decision must not undo a newer one). "After" is by SSM's own clock, the
    /// same for every replica, never by the `approved_at` a replica (or whoever wrote the
    /// parameter) put in the document.
    pub(crate) async fn publish(
        &self,
        group: &GroupName,
        entry: &LogEntry,
        logged_at: Option<aws_sdk_ssm::primitives::DateTime>,
    ) -> Result<(), PortError> {
        let Some(document) = &entry.deployment else {
            return Ok(());
        };
        let name = self.live_name(group, &document.environment);
        if let Some(current) = self.get_parameter(&name, false).await? {
            let same =
                serde_json::from_str::<DeploymentDocument>(current.value.as_deref().unwrap_or(""))
                    .is_ok_and(|live| live.decision_id == document.decision_id);
            let newer = current
                .last_modified_date
                .zip(logged_at)
                .is_some_and(|(live, logged)| live.as_nanos() > logged.as_nanos());
            if same {
                return Ok(());
            }
            if newer {
                tracing::warn!(%group, environment = %document.environment, decision = %document.decision_id,
                    "not published: the live parameter was written after this decision was logged");
                return Ok(());
            }
        }
        let value = serde_json::to_string(document).expect("documents serialise");
        self.overwrite(&name, &value).await
    }

    /// Every entry of a group's log, in the order decided, each one vouched for.
    async fn group_log(&self, group: &GroupName) -> Result<Vec<Logged>, PortError> {
        let parameters = self.parameters_under(&self.log_path(group), true).await?;
        let mut logged = parameters
            .into_iter()
            .map(Self::parse_logged)
            .collect::<Result<Vec<_>, _>>()?;
        if !logged.is_empty() {
            let key = self.log_key().await?;
            if let Some(forged) = logged
                .iter()
                .find(|l| !key.vouches_for(&l.entry, l.written_at))
            {
                return Err(self.not_written_here(group, forged));
            }
        }
        logged.sort_by_key(|l| (l.entry.decided_at, l.version, l.seq));
        Ok(logged)
    }

    /// The loud refusal of an entry the portal did not write, for the page and the log.
    pub(crate) fn not_written_here(&self, group: &GroupName, logged: &Logged) -> PortError {
        let (version, decision) = (logged.version, &logged.entry.id);
        let name = self.entry_name(group, logged.version, logged.seq);
        tracing::error!(%group, %version, %decision, parameter = %name,
            "a decision log entry not written by this portal (no valid MAC) was found and is NOT trusted: someone with write access to the SSM log may be trying to deploy a model");
        PortError::Corrupt(format!(
            "decision {decision} in the log of {group} version {version} was not written by this portal (its MAC does not verify), so nothing of it is carried out or shown; an operator must look at {name}"
        ))
    }
}

fn deployment(document: DeploymentDocument) -> Result<Deployment, PortError> {
    Deployment::try_from(document)
        .map_err(|e| PortError::Corrupt(format!("deployment document: {e}")))
}

#[async_trait]
impl ParameterStore for AwsBackend {
    async fn live(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        let name = self.live_name(group, environment.as_str());
        match self.read_json::<DeploymentDocument>(&name).await? {
            Some(document) => deployment(document).map(Some),
            None => Ok(None),
        }
    }

    /// From the decision log rather than the parameter's own history, which SSM cuts at
    /// 100 versions.
    async fn history(&self, group: &GroupName) -> Result<Vec<Deployment>, PortError> {
        let mut deployments = self
            .group_log(group)
            .await?
            .into_iter()
            .filter_map(|l| l.entry.deployment)
            .map(deployment)
            .collect::<Result<Vec<_>, _>>()?;
        deployments.reverse();
        Ok(deployments)
    }
}

#[async_trait]
impl AuditLog for AwsBackend {
    async fn decisions_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<DecisionRecord>, PortError> {
        self.version_log(group, version)
            .await?
            .into_iter()
            .map(|logged| logged.entry.record(group, version))
            .collect()
    }

    async fn decisions_for_group(
        &self,
        group: &GroupName,
    ) -> Result<Vec<DecisionRecord>, PortError> {
        self.group_log(group)
            .await?
            .into_iter()
            .map(|l| l.entry.record(group, l.version))
            .collect()
    }
}

impl AwsBackend {
    /// A secret every replica shares (the session key), kept as a SecureString parameter
    /// `{prefix}/_settings/{name}`, encrypted under the configured KMS key (else the
    /// account's `aws/ssm` key, which anyone allowed `ssm:GetParameter` can decrypt). The
    /// first replica to start creates it; creating is create-only, so replicas starting
    /// together still agree on one value.
    pub async fn shared_secret(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<String, PortError> {
        let parameter = self.shared_secret_parameter(name, generate).await?;
        Ok(parameter.value.unwrap_or_default())
    }

    /// The shared secret's parameter, with when SSM created it.
    async fn shared_secret_parameter(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<Parameter, PortError> {
        let parameter = format!("{}/_settings/{name}", self.settings.ssm_prefix);
        if let Some(found) = self.get_parameter(&parameter, true).await? {
            return Ok(found);
        }
        let created = self
            .calls
            .call(
                "ssm:PutParameter",
                self.ssm
                    .put_parameter()
                    .name(&parameter)
                    .value(generate())
                    .r#type(ParameterType::SecureString)
                    .set_key_id(self.settings.secrets_kms_key_id.clone())
                    .overwrite(false)
                    .send(),
            )
            .await;
        match created {
            Ok(_) => {}
            Err(f)
                if f.service_error
                    .as_ref()
                    .is_some_and(|e| e.is_parameter_already_exists()) => {}
            Err(f) => return Err(port(f)),
        }
        self.get_parameter(&parameter, true).await?.ok_or_else(|| {
            PortError::Unavailable(format!("{parameter} was created but cannot be read back"))
        })
    }

    /// Reads the log key, creating it on a first start. Done at start-up, before any entry
    /// is read: an unsigned entry counts as from before entries were signed only when SSM
    /// wrote it before the key existed, so the key must exist before an attacker could write
    /// one on a fresh installation.
    pub async fn prepare_log(&self) -> Result<(), PortError> {
        self.log_key().await.map(|_| ())
    }

    /// The key log entries are authenticated with: kept like the session key (a SecureString
    /// every replica shares, under the configured KMS key) but apart from it, so that a
    /// session key that leaked cannot forge the log, nor the log key sessions.
    pub(crate) async fn log_key(&self) -> Result<&LogKey, PortError> {
        self.log_key
            .get_or_try_init(|| async {
                let parameter = self
                    .shared_secret_parameter("log_key", || {
                        let random = || uuid::Uuid::new_v4().simple().to_string();
                        format!("{}{}", random(), random())
                    })
                    .await?;
                Ok(LogKey {
                    secret: parameter.value.unwrap_or_default(),
                    created: parameter.last_modified_date,
                })
            })
            .await
    }
}
