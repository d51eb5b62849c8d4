//! A decision applied whole: one IMMEDIATE transaction that checks the version's
//! revision, records the decision and its deployment, and appends the audit entry.

use crate::rows::*;
use crate::LocalStore;
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::*;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

#[async_trait]
impl DecisionCommitter for LocalStore {
    async fn commit(
        &self,
        effect: &DecisionEffect,
        entry: &countersign_domain::audit::AuditRecord,
    ) -> Result<countersign_domain::audit::Appended, PortError> {
        let effect = effect.clone();
        let entry = entry.clone();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let record = &effect.record;
            let already: bool = tx
                .query_row_cached("SELECT 1 FROM decisions WHERE id = ?1", [&record.id], |_| Ok(()))
                .optional()
                .map_err(unavailable)?
                .is_some();
            if already {
                // The same decision committed again (a retry): it is already whole, its
                // entry with it.
                return crate::audit::append_in(&tx, &entry);
            }
            if let Some(d) = &effect.deployment {
                let live: Option<String> = tx
                    .query_row_cached(
                        "SELECT decision_id FROM deployments WHERE group_name = ?1 AND environment = ?2 \
                         ORDER BY parameter_version DESC LIMIT 1",
                        params![d.group.as_str(), d.environment.as_str()],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(unavailable)?;
                if !effect.may_replace(live.as_deref()) {
                    return Err(PortError::Conflict);
                }
            }
            let changed = tx
                .execute_cached(
                    "UPDATE model_versions SET approval_status = ?1, steps = ?2, revision = revision + 1 \
                     WHERE group_name = ?3 AND version = ?4 AND revision = ?5",
                    params![
                        effect.approval_status.as_str(),
                        steps_json(&effect.steps),
                        record.group.as_str(),
                        record.version.get(),
                        effect.based_on_revision as i64,
                    ],
                )
                .map_err(unavailable)?;
            if changed != 1 {
                return Err(PortError::Conflict);
            }
            tx.execute_cached(
                &format!("INSERT INTO decisions ({DECISION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"),
                params![
                    record.id,
                    record.group.as_str(),
                    record.version.get(),
                    record.environment.as_str(),
                    record.verdict.as_str(),
                    record.reason,
                    record.decided_by.subject,
                    record.decided_by.name,
                    record.decided_by.email,
                    timestamp(record.decided_at),
                    record.resulting_state.as_str(),
                    record.rollback_to.map(VersionNumber::get),
                    record.signature.as_ref().map(|s| &s.meaning),
                    record.signature.as_ref().map(|s| &s.record_digest),
                    record.signature.as_ref().and_then(|s| s.replaces_version),
                    record
                        .signature
                        .as_ref()
                        .and_then(|s| s.authentication.as_ref())
                        .map(|a| serde_json::to_string(a).expect("authentication serialises")),
                    record
                        .signature
                        .as_ref()
                        .and_then(|s| s.identity_evidence.as_ref())
                        .map(|e| serde_json::to_string(e).expect("evidence serialises")),
                    record
                        .signature
                        .as_ref()
                        .filter(|s| !s.groups.is_empty())
                        .map(|s| serde_json::to_string(&s.groups).expect("groups serialise")),
                ],
            )
            .map_err(unavailable)?;
            if let Some(d) = &effect.deployment {
                tx.execute_cached(
                    "INSERT INTO deployments (group_name, environment, parameter_version, version, arn, \
                     image_uri, model_data_url, approved_by_subject, approved_by_name, approved_by_email, \
                     approved_at, decision_id) \
                     SELECT ?1, ?2, COALESCE(MAX(parameter_version), 0) + 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 \
                     FROM deployments WHERE group_name = ?1 AND environment = ?2",
                    params![
                        d.group.as_str(),
                        d.environment.as_str(),
                        d.version.get(),
                        d.arn,
                        d.image_uri,
                        d.model_data_url,
                        d.approved_by.subject,
                        d.approved_by.name,
                        d.approved_by.email,
                        timestamp(d.approved_at),
                        d.decision_id,
                    ],
                )
                .map_err(unavailable)?;
            }
            let appended = crate::audit::append_in(&tx, &entry)?;
            tx.commit().map_err(unavailable)?;
            Ok(appended)
        })
        .await
    }
}
