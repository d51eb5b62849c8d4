//! A group's trail checked as an auditor would, for the pages, exports and API that show
//! it: exported, verified with the same verifier, and compared decision by decision, field
//! by field, with the decision log.

use super::*;
use crate::verify::{Verified, Violation};
use countersign_domain::DecisionRecord;

/// What checking a group's trail found.
#[derive(Debug)]
pub struct TrailCheck {
    /// Whether every entry verifies.
    pub verdict: Result<Verified, Violation>,
    /// The group's decisions, oldest first, each as the trail holds it and with how the
    /// log's row compares.
    pub decisions: Vec<AttestedDecision>,
}

impl TrailCheck {
    /// The decisions the log and the trail disagree about.
    pub fn disagreements(&self) -> impl Iterator<Item = &AttestedDecision> {
        self.decisions.iter().filter(|d| !d.standing.agrees())
    }

    /// Each decision the log disagrees with the trail about, a sentence each.
    pub fn alerts(&self) -> Vec<String> {
        self.disagreements().filter_map(|d| d.alert()).collect()
    }

    /// What is wrong, a sentence each: the trail not verifying, then each disagreement.
    pub fn problems(&self) -> Vec<String> {
        let violation = self.verdict.as_ref().err();
        violation
            .map(|v| format!("the audit trail does not verify: {v}"))
            .into_iter()
            .chain(self.alerts())
            .collect()
    }

    /// True when the trail verifies and the log agrees with it about every decision.
    pub fn holds(&self) -> bool {
        self.verdict.is_ok() && self.disagreements().next().is_none()
    }
}

impl AuditDesk {
    /// `decisions` (a version's, say) each beside its own trail entry, read by key: a page
    /// showing a few decisions reads a few entries however long the trail, and verifies
    /// none (the group's [`AuditDesk::check`] does). A decision the trail holds and the log
    /// lacks is not found this way either.
    pub async fn attest(
        &self,
        group: &GroupName,
        decisions: &[DecisionRecord],
    ) -> Result<Vec<AttestedDecision>, PortError> {
        // A trail begins with the policy it was written under, at 0: when it began tells a
        // decision missing from it from one taken before it.
        let keys: Vec<String> = std::iter::once(crate::entry::policy_key(0))
            .chain(decisions.iter().map(|d| AuditRecord::decision_key(&d.id)))
            .collect();
        let entries = self.trail.entries_keyed(group, &keys).await?;
        Ok(reconcile(group, &entries, decisions))
    }

    /// `group`'s whole trail, verified against this portal's key beside `decisions` (the
    /// log's, oldest first). A trail whose bytes did not change since this replica last
    /// verified it is not verified again (`VerdictCache`), so a long trail costs its read,
    /// not its checks.
    ///
    /// The verification runs off the async runtime (it keeps every core busy for a long
    /// trail), and one at a time per group: viewers arriving while a group's trail is being
    /// verified wait for that verdict instead of starting their own (N9).
    pub async fn check(
        &self,
        group: &GroupName,
        decisions: &[DecisionRecord],
    ) -> Result<TrailCheck, PortError> {
        let _one_verification = self.verifying.turn(group).await;
        let bundle = self.bundle(group, Period::default()).await?;
        let decisions = reconcile(group, &bundle.entries, decisions);
        let (verdicts, key) = (self.verdicts.clone(), self.notary.public_key().to_owned());
        let verdict = tokio::task::spawn_blocking(move || verdicts.verify(&bundle, Some(&key)))
            .await
            .map_err(|e| PortError::Unavailable(format!("verifying the trail of {group}: {e}")))?;
        Ok(TrailCheck { verdict, decisions })
    }
}
