//! Signatures that were not made, in the table: one item per attempt,
//! `attempt#{version:010}#id#{id}` in the group's partition, holding the attempt as JSON.
//! Written only where no item is, so an attempt (by its id) is kept once; read back in the
//! order they happened. (Items written before were keyed by time,
//! `attempt#{version:010}#{unix ms:015}#{id}`, and read alike.)

use crate::table::{group_key, key, s, text};
use crate::AwsBackend;
use countersign_domain::ports::PortError;
use countersign_domain::*;

fn attempt_prefix(version: u32) -> String {
    format!("attempt#{version:010}#")
}

impl AwsBackend {
    pub(crate) async fn put_attempt(&self, attempt: &SigningAttempt) -> Result<(), PortError> {
        let group =
            GroupName::parse(&attempt.group).map_err(|e| PortError::Rejected(e.to_string()))?;
        let mut item = key(
            group_key(&group),
            format!("{}id#{}", attempt_prefix(attempt.version), attempt.id),
        );
        item.insert("attempt".into(), s(attempt.to_json()));
        self.table.put_new(item).await.map(|_| ())
    }

    pub(crate) async fn attempts_of(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<SigningAttempt>, PortError> {
        self.table
            .items_under(&group_key(group), &attempt_prefix(version.get()))
            .await?
            .iter()
            .map(|item| {
                let json = text(item, "attempt")?;
                SigningAttempt::from_json(json)
                    .map_err(|e| PortError::Corrupt(format!("signing attempt: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|mut attempts| {
                attempts.sort_by_key(|a| a.at);
                attempts
            })
    }
}
