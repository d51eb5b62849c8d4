//! A group's trail checked as an auditor would, for the pages that show it: exported,
//! verified with the same verifier, and compared with the decisions the log holds.

use super::*;
use crate::verify::{Verified, Violation};
use countersign_domain::DecisionRecord;

/// What checking a group's trail found.
#[derive(Debug)]
pub enum TrailCheck {
    /// Every entry verifies, and every decision the log holds since the trail began is in it.
    Verified(Verified),
    /// It verifies, but the log holds decisions the trail lacks: rows written around the
    /// portal, which writes a decision and its entry together.
    Incomplete {
        verified: Verified,
        unrecorded: Vec<DecisionRecord>,
    },
    /// It does not verify.
    Broken(Violation),
}

impl AuditDesk {
    /// `group`'s whole trail, verified against this portal's key beside `decisions` (the
    /// log's). A trail whose bytes did not change since this replica last verified it is
    /// not verified again (`VerdictCache`), so a long trail costs its read, not its checks.
    pub async fn check(
        &self,
        group: &GroupName,
        decisions: &[DecisionRecord],
    ) -> Result<TrailCheck, PortError> {
        let bundle = self.bundle(group, Period::default()).await?;
        let unrecorded: Vec<DecisionRecord> = unrecorded(&bundle.entries, decisions)
            .into_iter()
            .cloned()
            .collect();
        Ok(
            match self
                .verdicts
                .verify(&bundle, Some(self.notary.public_key()))
            {
                Err(violation) => TrailCheck::Broken(violation),
                Ok(verified) if unrecorded.is_empty() => TrailCheck::Verified(verified),
                Ok(verified) => TrailCheck::Incomplete {
                    verified,
                    unrecorded,
                },
            },
        )
    }
}
