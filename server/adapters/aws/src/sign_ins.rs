//! Each sign-in's identity provider evidence in the table: one item per sign-in,
//! `sign-in#{id}` / `evidence`, written once, read with one consistent `GetItem`, and
//! removed by the table's TTL (`expires_at`) once past its time.

use crate::table::{from_millis, key, millis, n, number, s, text};
use crate::AwsBackend;
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::signature::IdentityEvidence;
use time::OffsetDateTime;

const SORT_KEY: &str = "evidence";

fn partition(id: &str) -> String {
    format!("sign-in#{id}")
}

#[async_trait]
impl SignIns for AwsBackend {
    async fn keep_sign_in(
        &self,
        id: &str,
        evidence: &IdentityEvidence,
        until: OffsetDateTime,
    ) -> Result<(), PortError> {
        let mut item = key(partition(id), SORT_KEY);
        item.insert(
            "evidence".into(),
            s(serde_json::to_string(evidence).expect("evidence serialises")),
        );
        item.insert("until".into(), n(millis(until)));
        item.insert("expires_at".into(), n(until.unix_timestamp()));
        // Already there: the same sign-in kept twice.
        self.table.put_new(item).await.map(|_| ())
    }

    async fn sign_in(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<IdentityEvidence>, PortError> {
        let Some(item) = self.table.item(key(partition(id), SORT_KEY)).await? else {
            return Ok(None);
        };
        // The TTL removes an item some time after it expires, not at once.
        let until = number(&item, "until").and_then(from_millis);
        if until.is_none_or(|until| until < now) {
            return Ok(None);
        }
        let json = text(&item, "evidence")?;
        serde_json::from_str(json)
            .map(Some)
            .map_err(|_| PortError::Corrupt("a sign-in's evidence".into()))
    }
}
