//! Applying a decision across DynamoDB, SSM and SageMaker, which share no transaction.
//!
//! 1. The decision is appended to the version's log in the table as entry number
//!    `based_on_revision + 1`, written only if that place is free and, for a decision that
//!    deploys, in one transaction with its environment's guard, moved only if it still names
//!    the deployment the decision replaces. This is the one step that decides: of two
//!    decisions computed against the same state (the same version, or the same
//!    environment), one is written and the other is a conflict, having changed nothing. A
//!    retry of the same decision finds its own entry and carries on.
//! 2. The deployment, if any, is published to the environment's live parameter in SSM,
//!    unless the guard has since moved on to a later decision.
//! 3. The model package is updated in one call: approval status, a description naming the
//!    human and their reason, and the metadata with every environment key and
//!    `countersign:decisions-applied` set to the entry's number. That counter is written
//!    last, so it says "everything up to here took effect".
//!
//! If the process stops between 1 and 3, the log is ahead of the registry. Every read of the
//! version (`AwsBackend::settled`) applies the entries beyond the counter, in order, so the
//! interrupted decision is completed by the next reader. Steps 2 and 3 are idempotent, and
//! a newer deployment is never replaced by an older one.

use crate::calls::port;
use crate::log::{LogEntry, Logging};
use crate::metadata;
use crate::registry::Package;
use crate::AwsBackend;
use async_trait::async_trait;
use aws_sdk_sagemaker::types::ModelApprovalStatus;
use countersign_domain::audit::{Appended, AuditRecord};
use countersign_domain::ports::*;
use countersign_domain::*;

/// SageMaker's limit on `ApprovalDescription`.
const MAX_APPROVAL_DESCRIPTION_CHARS: usize = 1024;

/// SageMaker records only the portal's IAM role as the updater, so the description names the
/// person who decided and why.
fn approval_description(entry: &LogEntry) -> String {
    let person = &entry.decided_by;
    let verb = match (Verdict::parse(&entry.verdict), entry.rollback_to) {
        (Some(Verdict::Approve), _) => "Approved".to_owned(),
        (Some(Verdict::Rollback), Some(target)) => format!("Rolled back to version {target}"),
        _ => "Rejected".to_owned(),
    };
    let mut text = format!(
        "{verb} for {} by {} <{}> in Countersign on {} (decision {})",
        entry.environment,
        person.name,
        person.email,
        entry
            .decided_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        entry.id,
    );
    if let Some(signature) = &entry.signature {
        text.push_str(&format!(
            ", signed \"{}\", record sha256:{}",
            signature.meaning, signature.record_digest
        ));
    }
    if let Some(reason) = &entry.reason {
        text.push_str(": ");
        text.push_str(reason);
    }
    if text.chars().count() > MAX_APPROVAL_DESCRIPTION_CHARS {
        text = text
            .chars()
            .take(MAX_APPROVAL_DESCRIPTION_CHARS - 1)
            .collect();
        text.push('…');
    }
    text
}

impl AwsBackend {
    /// Steps 2 and 3 for one log entry of `version`, number `seq`.
    pub(crate) async fn apply(
        &self,
        group: &GroupName,
        version: VersionNumber,
        package: &mut Package,
        entry: &LogEntry,
        seq: u64,
    ) -> Result<(), PortError> {
        self.publish_live(group, entry).await?;
        let mut metadata = package.metadata.clone();
        metadata.extend(entry.steps.clone());
        metadata.insert(metadata::DECISIONS_APPLIED.to_owned(), seq.to_string());
        metadata::check(&metadata).map_err(PortError::Rejected)?;
        // Before the counter below: an interrupted apply is repeated from the log, mark too.
        let pending = metadata::steps_from(&metadata, self.environments())
            .iter()
            .any(|(_, state)| state == StepState::PendingManualApproval);
        self.table
            .mark_pending_step(group, version, pending.then_some(entry.decided_at))
            .await?;
        let status = ModelApprovalStatus::from(entry.approval_status.as_str());
        let description = approval_description(entry);
        self.update_package(package, status, Some(&description), metadata)
            .await
    }

    /// Writes the package's status, description (when given) and whole metadata in one
    /// `UpdateModelPackage`, and keeps them in `package`. The status always goes along:
    /// SageMaker keeps it when absent, moto clears it. AWS merges the metadata map into what
    /// is there; moto replaces it. Sending the merged map is right for both.
    pub(crate) async fn update_package(
        &self,
        package: &mut Package,
        status: ModelApprovalStatus,
        description: Option<&str>,
        metadata: metadata::Metadata,
    ) -> Result<(), PortError> {
        self.calls
            .call(
                "sagemaker:UpdateModelPackage",
                self.sagemaker
                    .update_model_package()
                    .model_package_arn(&package.arn)
                    .model_approval_status(status.clone())
                    .set_approval_description(description.map(str::to_owned))
                    .set_customer_metadata_properties(Some(metadata.clone()))
                    .send(),
            )
            .await
            .map_err(port)?;
        package.metadata = metadata;
        package.approval_status = Some(status);
        Ok(())
    }
}

#[async_trait]
impl DecisionCommitter for AwsBackend {
    async fn commit(
        &self,
        effect: &DecisionEffect,
        audit: &AuditRecord,
    ) -> Result<Appended, PortError> {
        let record = &effect.record;
        let entry = LogEntry::from_effect(effect, self.environments());
        let seq = effect.based_on_revision + 1;
        // The log entry, its environment's guard and its audit entry in one transaction;
        // tried again when only another append to the trail came first.
        let attempt = || async {
            let (trail, appended) = match self.trail_writes(audit).await? {
                Ok(kept) => (None, kept),
                Err((writes, appended)) => (Some(writes), appended),
            };
            match self.log_decision(effect, &entry, seq, trail).await? {
                Logging::Logged => Ok(Some(appended)),
                Logging::LoggedBefore => Ok(Some(Appended {
                    new: false,
                    ..appended
                })),
                Logging::TrailMoved => Ok(None),
                Logging::Lost => Err(PortError::Conflict),
            }
        };
        let appended = self.appending(&record.group, attempt).await?;
        self.settled(&record.group, record.version)
            .await?
            .ok_or_else(|| {
                PortError::Unavailable(format!(
                    "{} version {} disappeared from SageMaker while a decision was applied",
                    record.group, record.version
                ))
            })?;
        Ok(appended)
    }
}

#[cfg(test)]
mod tests;
