//! Session revocations in the table: one item per person (and one for everyone) in the
//! `sessions` partition, `revoked#{whose}`, holding when their sessions were revoked.
//! Replaced only by a later revocation (a conditional write), so the count stays at the
//! number of people who ever signed out; read by every replica with one Query per refresh.

use crate::calls::port;
use crate::table::{from_millis, key, millis, n, number, s, text};
use crate::AwsBackend;
use async_trait::async_trait;
use countersign_domain::ports::*;

const PARTITION: &str = "sessions";
const PREFIX: &str = "revoked#";

#[async_trait]
impl SessionRevocations for AwsBackend {
    async fn revoke(&self, revocation: &Revocation) -> Result<(), PortError> {
        let whose = revocation.whose.key();
        let mut item = key(PARTITION, format!("{PREFIX}{whose}"));
        item.insert("whose".into(), s(&whose));
        item.insert("issued_before".into(), n(millis(revocation.issued_before)));
        let table = &self.table;
        let written = table
            .calls
            .call(
                "dynamodb:PutItem",
                table
                    .client
                    .put_item()
                    .table_name(&table.name)
                    .set_item(Some(item))
                    .condition_expression(
                        "attribute_not_exists(pk) OR issued_before < :issued_before",
                    )
                    .expression_attribute_values(
                        ":issued_before",
                        n(millis(revocation.issued_before)),
                    )
                    .send(),
            )
            .await;
        match written {
            Ok(_) => Ok(()),
            // A later revocation is there already.
            Err(f) if f.is(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(f) => Err(port(f)),
        }
    }

    async fn revocations(&self) -> Result<Vec<Revocation>, PortError> {
        // An item the portal did not write is skipped, not fatal: one malformed item must
        // not make every read fail (which would leave every revocation unseen).
        let read = |item: &crate::table::Item| {
            let whose = text(item, "whose").ok()?;
            let revocation =
                Revoked::from_key(whose).zip(number(item, "issued_before").and_then(from_millis));
            if revocation.is_none() {
                tracing::error!(whose = ?whose, "a session revocation the portal cannot read is skipped");
            }
            let (whose, issued_before) = revocation?;
            Some(Revocation {
                whose,
                issued_before,
            })
        };
        Ok(self
            .table
            .items_under(PARTITION, PREFIX)
            .await?
            .iter()
            .filter_map(read)
            .collect())
    }
}
