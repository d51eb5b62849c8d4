//! The decision log, in the table (`table.rs` has its keys): every decision, with
//! everything it changes, signed by the portal so that nothing it did not write is ever
//! carried out.

use crate::metadata;
use crate::table::{Deploys, NewEntry, Placement, TrailWrites};
use crate::AwsBackend;
use async_trait::async_trait;
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
    /// The signature (meaning and record digest); absent on entries from before signatures,
    /// whose MACs stay valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// HMAC-SHA256 (hex) of the entry without this field, under the portal's log key: only
    /// the portal writes entries it will apply. Entries written before there was a key have
    /// none, and are shown but never applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Where an entry sits in the log, as its MAC covers it: a genuine entry copied to another
/// group, version or place (by someone with write access to the table) no longer verifies.
pub(crate) fn place(group: &GroupName, version: VersionNumber, seq: u64) -> String {
    format!("{group}/{version}/{seq}")
}

impl LogEntry {
    /// `place`: where the entry sits ([`place`]); `None` only for the SSM log of earlier
    /// portals, whose MACs covered the entry alone.
    fn mac_of(&self, key: &str, place: Option<&str>) -> HmacSha256 {
        use hmac::Mac;
        let unsigned = LogEntry {
            mac: None,
            ..self.clone()
        };
        let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
        if let Some(place) = place {
            mac.update(place.as_bytes());
            mac.update(b"\n");
        }
        mac.update(
            serde_json::to_string(&unsigned)
                .expect("log entries serialise")
                .as_bytes(),
        );
        mac
    }

    pub(crate) fn signed(&self, key: &str, place: Option<&str>) -> LogEntry {
        use hmac::Mac;
        let tag = self.mac_of(key, place).finalize().into_bytes();
        LogEntry {
            mac: Some(hex::encode(tag)),
            ..self.clone()
        }
    }

    /// Whether the entry carries a valid MAC under `key` for `place` (compared in constant
    /// time).
    pub(crate) fn is_authentic(&self, key: &str, place: Option<&str>) -> bool {
        use hmac::Mac;
        let tag = self.mac.as_deref().and_then(|hex| hex::decode(hex).ok());
        tag.is_some_and(|tag| self.mac_of(key, place).verify_slice(&tag).is_ok())
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
            return entry.is_authentic(&self.secret, None);
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
            signature: r.signature.clone(),
            mac: None,
        }
    }

    pub(crate) fn record(
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
            signature: self.signature,
            id: self.id,
        })
    }
}

/// A log entry with where it sits in the log.
pub(crate) struct Logged {
    pub version: VersionNumber,
    pub seq: u64,
    pub entry: LogEntry,
}

/// What appending a decision to its version's log did.
pub(crate) enum Logging {
    /// Written now, with its audit entry.
    Logged,
    /// Found written by this same decision (a retry), its audit entry with it.
    LoggedBefore,
    /// Another append to the group's audit trail came first; nothing was written.
    TrailMoved,
    /// Another decision took its place in the version's log or moved its environment first.
    Lost,
}

impl AwsBackend {
    /// Appends a decision at place `seq` of its version's log, signed, taking its
    /// environment's guard in the same transaction when it deploys.
    pub(crate) async fn log_decision(
        &self,
        effect: &DecisionEffect,
        entry: &LogEntry,
        seq: u64,
        trail: Option<TrailWrites>,
    ) -> Result<Logging, PortError> {
        let record = &effect.record;
        let guarded = entry
            .deployment
            .as_ref()
            .map(|_| effect.replaces.as_deref());
        let appended = self
            .append_signed(&record.group, record.version, seq, entry, guarded, trail)
            .await?;
        Ok(match appended {
            Placement::Written => Logging::Logged,
            Placement::Taken { decision_id } if decision_id == entry.id => Logging::LoggedBefore,
            Placement::Taken { .. } | Placement::EnvironmentMoved => Logging::Lost,
            Placement::TrailMoved => Logging::TrailMoved,
        })
    }

    /// Appends an entry moved from the SSM log; true when this call wrote it, false when an
    /// earlier run did. The guards come from the live parameters, not from the entries.
    pub(crate) async fn append_moved(
        &self,
        group: &GroupName,
        version: VersionNumber,
        seq: u64,
        entry: &LogEntry,
    ) -> Result<bool, PortError> {
        match self.append_signed(group, version, seq, entry, None, None).await? {
            Placement::Written => Ok(true),
            Placement::Taken { decision_id } if decision_id == entry.id => Ok(false),
            Placement::Taken { decision_id } => Err(PortError::Corrupt(format!(
                "place {seq} of {group} version {version}'s log holds decision {decision_id} in the table but {} in SSM",
                entry.id
            ))),
            // Only an entry appended with its guard (or its audit entry) can find those moved.
            Placement::EnvironmentMoved | Placement::TrailMoved => Err(PortError::Unavailable(format!(
                "moving decision {} was refused; run the move again",
                entry.id
            ))),
        }
    }

    /// `guarded`: for an entry that deploys, the decision it replaces in its environment.
    async fn append_signed(
        &self,
        group: &GroupName,
        version: VersionNumber,
        seq: u64,
        entry: &LogEntry,
        guarded: Option<Option<&str>>,
        trail: Option<TrailWrites>,
    ) -> Result<Placement, PortError> {
        let place = place(group, version, seq);
        let signed = entry.signed(&self.log_key().await?.secret, Some(&place));
        let text = serde_json::to_string(&signed).expect("log entries serialise");
        self.table
            .put_entry(&NewEntry {
                group,
                version,
                seq,
                decision_id: &entry.id,
                entry: &text,
                logged_at: OffsetDateTime::now_utc(),
                deploys: guarded
                    .filter(|_| entry.deployment.is_some())
                    .map(|replaces| Deploys {
                        environment: &entry.environment,
                        replaces,
                    }),
                trail,
            })
            .await
    }

    /// The entry of the portal's last deployment in `environment`, by its guard,
    /// authenticated.
    pub(crate) async fn guarded_entry(
        &self,
        group: &GroupName,
        environment: &str,
    ) -> Result<Option<LogEntry>, PortError> {
        let Some(guard) = self.table.guard(group, environment).await? else {
            return Ok(None);
        };
        let entry: LogEntry = serde_json::from_str(&guard.entry)
            .map_err(|e| PortError::Corrupt(format!("the guard of {group} {environment}: {e}")))?;
        // The entry signed for its place in the log the guard names, in this group, for
        // this environment: a guard copied from another group or environment fails here.
        let at = place(group, guard.version, guard.seq);
        if entry.is_authentic(&self.log_key().await?.secret, Some(&at))
            && entry.id == guard.decision_id
            && entry.environment == environment
        {
            return Ok(Some(entry));
        }
        let table = self.table.name();
        tracing::error!(%group, %environment, %table, decision = %guard.decision_id,
            "an environment's guard holds an entry not written by this portal (no valid MAC) and is NOT trusted");
        Err(PortError::Corrupt(format!(
            "the guard of {group} {environment} names decision {} with an entry this portal did not write (its MAC does not verify), so nothing is published from it; an operator must look at item live#{environment} of group#{group} in the DynamoDB table {table}",
            guard.decision_id
        )))
    }

    /// One version's log, in order, every entry authenticated.
    pub(crate) async fn version_log(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<Logged>, PortError> {
        let stored = self.table.version_log(group, version).await?;
        self.authenticated(group, stored).await
    }

    /// Every entry of a group's log, in the order decided, every entry authenticated.
    async fn group_log(&self, group: &GroupName) -> Result<Vec<Logged>, PortError> {
        let stored = self.table.group_log(group).await?;
        let mut logged = self.authenticated(group, stored).await?;
        logged.sort_by_key(|l| (l.entry.decided_at, l.version, l.seq));
        Ok(logged)
    }

    /// The entries, parsed, each signed by this portal. The portal's role would carry out
    /// whatever an entry says, a deployment to prod included: an entry anyone else wrote
    /// stops the read, loudly.
    async fn authenticated(
        &self,
        group: &GroupName,
        stored: Vec<crate::table::StoredEntry>,
    ) -> Result<Vec<Logged>, PortError> {
        if stored.is_empty() {
            return Ok(Vec::new());
        }
        let key = &self.log_key().await?.secret;
        stored
            .into_iter()
            .map(|stored| {
                let entry: LogEntry = serde_json::from_str(&stored.entry).map_err(|e| {
                    PortError::Corrupt(format!(
                        "decision {} on {group} version {}: {e}",
                        stored.decision_id, stored.version
                    ))
                })?;
                let logged = Logged {
                    version: stored.version,
                    seq: stored.seq,
                    entry,
                };
                let at = place(group, logged.version, logged.seq);
                if logged.entry.is_authentic(key, Some(&at))
                    && logged.entry.id == stored.decision_id
                {
                    Ok(logged)
                } else {
                    Err(self.not_written_here(group, &logged))
                }
            })
            .collect()
    }

    /// The loud refusal of an entry the portal did not write, for the page and the log.
    pub(crate) fn not_written_here(&self, group: &GroupName, logged: &Logged) -> PortError {
        let (version, seq, decision) = (logged.version, logged.seq, &logged.entry.id);
        let table = self.table.name();
        tracing::error!(%group, %version, seq, %decision, %table,
            "a decision log entry not written by this portal (no valid MAC) was found and is NOT trusted: someone with write access to the table may be trying to deploy a model");
        PortError::Corrupt(format!(
            "decision {decision} in the log of {group} version {version} was not written by this portal (its MAC does not verify), so nothing of it is carried out or shown; an operator must look at item log#{:010}#{seq:06} of group#{group} in the DynamoDB table {table}",
            version.get()
        ))
    }
}

pub(crate) fn deployment(document: DeploymentDocument) -> Result<Deployment, PortError> {
    Deployment::try_from(document)
        .map_err(|e| PortError::Corrupt(format!("deployment document: {e}")))
}

impl AwsBackend {
    /// Every deployment of the group, newest first, from the decision log rather than the
    /// parameter's own history, which SSM cuts at 100 versions.
    pub(crate) async fn logged_deployments(
        &self,
        group: &GroupName,
    ) -> Result<Vec<Deployment>, PortError> {
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

    async fn record_attempt(&self, attempt: &SigningAttempt) -> Result<(), PortError> {
        self.put_attempt(attempt).await
    }

    async fn attempts_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<SigningAttempt>, PortError> {
        self.attempts_of(group, version).await
    }
}
