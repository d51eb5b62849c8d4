//! Each sign-in's identity provider evidence in the same SQLite file, one row per sign-in,
//! removed once past its time when another is kept.

use crate::outbox::millis;
use crate::{unavailable, CachedStatements, LocalStore};
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::signature::IdentityEvidence;
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

#[async_trait]
impl SignIns for LocalStore {
    async fn keep_sign_in(
        &self,
        id: &str,
        evidence: &IdentityEvidence,
        until: OffsetDateTime,
    ) -> Result<(), PortError> {
        let (id, until) = (id.to_owned(), millis(until));
        let evidence = serde_json::to_string(evidence).expect("evidence serialises");
        let now = millis(OffsetDateTime::now_utc());
        self.with(move |c| {
            c.execute_cached("DELETE FROM sign_ins WHERE until_ms < ?1", params![now])
                .map_err(unavailable)?;
            c.execute_cached(
                "INSERT INTO sign_ins (id, evidence, until_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (id) DO NOTHING",
                params![id, evidence, until],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn sign_in(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<IdentityEvidence>, PortError> {
        let (id, now) = (id.to_owned(), millis(now));
        let kept: Option<String> = self
            .with(move |c| {
                c.query_row_cached(
                    "SELECT evidence FROM sign_ins WHERE id = ?1 AND until_ms >= ?2",
                    params![id, now],
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)
            })
            .await?;
        kept.map(|json| {
            serde_json::from_str(&json)
                .map_err(|_| PortError::Corrupt("a sign-in's evidence".into()))
        })
        .transpose()
    }
}
