//! The decision log and the signing attempts, read back per version and group.

use crate::rows::*;
use crate::LocalStore;
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::*;
use rusqlite::params;

#[async_trait]
impl AuditLog for LocalStore {
    async fn decisions_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<DecisionRecord>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            all_rows(
                c,
                &format!(
                    "SELECT {DECISION_COLUMNS} FROM decisions \
                     WHERE group_name = ?1 AND version = ?2 ORDER BY seq"
                ),
                params![group, version.get()],
                decision_from_row,
            )
        })
        .await
    }

    async fn decisions_for_group(
        &self,
        group: &GroupName,
    ) -> Result<Vec<DecisionRecord>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            all_rows(
                c,
                &format!(
                    "SELECT {DECISION_COLUMNS} FROM decisions WHERE group_name = ?1 ORDER BY seq"
                ),
                params![group],
                decision_from_row,
            )
        })
        .await
    }

    async fn record_attempt(&self, attempt: &SigningAttempt) -> Result<(), PortError> {
        let attempt = attempt.clone();
        self.with(move |c| {
            c.execute_cached(
                "INSERT INTO signing_attempts (id, group_name, version, attempt, seq) \
                 SELECT ?1, ?2, ?3, ?4, COALESCE(MAX(seq), 0) + 1 FROM signing_attempts \
                 WHERE true ON CONFLICT (id) DO NOTHING",
                params![
                    attempt.id,
                    attempt.group,
                    attempt.version,
                    attempt.to_json()
                ],
            )
            .map(|_| ())
            .map_err(unavailable)
        })
        .await
    }

    async fn attempts_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<SigningAttempt>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            all_rows(
                c,
                "SELECT attempt FROM signing_attempts WHERE group_name = ?1 AND version = ?2 ORDER BY seq",
                params![group, version.get()],
                |row| {
                    let json: String = row.get(0)?;
                    SigningAttempt::from_json(&json).map_err(|_| corrupt("signing attempt", &json))
                },
            )
        })
        .await
    }
}
