//! The decision log beside the trail, decision by decision and field by field: what pages,
//! exports and the API show of a decision is what the trail holds, and where the log's row
//! tells it otherwise the difference is named, never shown as data.

use crate::entry::{DecisionJson, EventJson};
use countersign_domain::{DecisionRecord, GroupName};
use std::collections::BTreeMap;

/// One decision as it is shown: the trail's record of it wherever the trail holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct AttestedDecision {
    pub record: DecisionRecord,
    pub standing: Standing,
}

/// How the decision log's row and the trail's entry for one decision compare.
#[derive(Clone, Debug, PartialEq)]
pub enum Standing {
    /// Alike in every field.
    Recorded,
    /// Taken before the group's trail began: the log's row, with no entry to compare.
    BeforeTheTrail,
    /// Both hold it, but the log's row tells these fields otherwise.
    Differs(Vec<&'static str>),
    /// The log holds it and the trail does not: a row written around the portal, which
    /// writes a decision and its entry together.
    NotInTrail,
    /// The trail holds it and the log does not: a row removed.
    NotInLog,
}

impl Standing {
    /// False where the log and the trail disagree about the decision.
    pub fn agrees(&self) -> bool {
        matches!(self, Standing::Recorded | Standing::BeforeTheTrail)
    }

    /// How the log disagrees with the trail, in words; `None` where it does not.
    pub fn disagreement(&self) -> Option<String> {
        match self {
            Standing::Recorded | Standing::BeforeTheTrail => None,
            Standing::Differs(fields) => Some(format!(
                "the decision log's row differs from the audit trail in its {}",
                fields.join(", ")
            )),
            Standing::NotInTrail => {
                Some("the decision log holds it, the audit trail does not".into())
            }
            Standing::NotInLog => {
                Some("the audit trail holds it, the decision log does not".into())
            }
        }
    }
}

impl AttestedDecision {
    /// "approve of version 3 for prod by alice (d-1): <how the log disagrees>", for alerts
    /// and the server log; `None` where the log agrees with the trail.
    pub fn alert(&self) -> Option<String> {
        let d = &self.record;
        self.standing.disagreement().map(|how| {
            format!(
                "{} of version {} for {} by {} ({}): {how}",
                d.verdict.as_str(),
                d.version,
                d.environment,
                d.decided_by.subject,
                d.id
            )
        })
    }
}

/// `decisions` (the log's, oldest first) beside the Decided entries of `group`'s trail
/// (`entries`, as stored), oldest first; the trail's decisions the log lacks are placed by
/// their time. Entries that do not parse are the verifier's to report, and skipped here.
pub fn reconcile(
    group: &GroupName,
    entries: &[String],
    decisions: &[DecisionRecord],
) -> Vec<AttestedDecision> {
    let mut began = None;
    let mut in_trail: BTreeMap<String, DecisionJson> = BTreeMap::new();
    for entry in entries
        .iter()
        .filter_map(|text| serde_json::from_str::<crate::Entry>(text).ok())
    {
        began.get_or_insert(entry.at);
        if let EventJson::Decided { decision, .. } = entry.event {
            in_trail.insert(decision.id.clone(), *decision);
        }
    }
    let mut shown: Vec<AttestedDecision> = decisions
        .iter()
        .map(|logged| match in_trail.remove(&logged.id) {
            Some(recorded) => {
                let differ = recorded.differences(&DecisionJson::of(logged));
                let record = recorded.record(group);
                match (differ.is_empty(), record) {
                    (true, _) => attested(logged.clone(), Standing::Recorded),
                    (false, Some(record)) => attested(record, Standing::Differs(differ)),
                    // An entry the domain cannot read: the log's row, flagged all the same.
                    (false, None) => attested(logged.clone(), Standing::Differs(differ)),
                }
            }
            None if began.is_some_and(|began| logged.decided_at >= began) => {
                attested(logged.clone(), Standing::NotInTrail)
            }
            None => attested(logged.clone(), Standing::BeforeTheTrail),
        })
        .collect();
    shown.extend(
        in_trail
            .values()
            .filter_map(|recorded| recorded.record(group))
            .map(|record| attested(record, Standing::NotInLog)),
    );
    shown.sort_by_key(|decision| decision.record.decided_at);
    shown
}

fn attested(record: DecisionRecord, standing: Standing) -> AttestedDecision {
    AttestedDecision { record, standing }
}
