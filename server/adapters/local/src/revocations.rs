//! Session revocations in the same SQLite file: one row per person (and one for everyone).

use crate::outbox::millis;
use crate::{all_rows, unavailable, CachedStatements, LocalStore};
use async_trait::async_trait;
use countersign_domain::ports::*;
use rusqlite::params;
use time::OffsetDateTime;

#[async_trait]
impl SessionRevocations for LocalStore {
    async fn revoke(&self, revocation: &Revocation) -> Result<(), PortError> {
        let (whose, at) = (revocation.whose.key(), millis(revocation.issued_before));
        self.with(move |c| {
            c.execute_cached(
                "INSERT INTO session_revocations (whose, issued_before_ms) VALUES (?1, ?2) \
                 ON CONFLICT (whose) DO UPDATE SET issued_before_ms = \
                 max(issued_before_ms, excluded.issued_before_ms)",
                params![whose, at],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn revocations(&self) -> Result<Vec<Revocation>, PortError> {
        let rows = self
            .with(|c| {
                all_rows(
                    c,
                    "SELECT whose, issued_before_ms FROM session_revocations",
                    [],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
                )
            })
            .await?;
        rows.into_iter()
            .map(|(whose, ms)| {
                let corrupt = || PortError::Corrupt(format!("session revocation {whose:?}"));
                Ok(Revocation {
                    whose: Revoked::from_key(&whose).ok_or_else(corrupt)?,
                    issued_before: OffsetDateTime::from_unix_timestamp_nanos(
                        i128::from(ms) * 1_000_000,
                    )
                    .map_err(|_| corrupt())?,
                })
            })
            .collect()
    }
}
