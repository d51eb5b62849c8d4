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
///
/// A row the trail lacks is "before the trail" only when it could be: dated before the
/// trail's first entry, about a step the trail (among `entries`) does not show undecided
/// when it first saw the version. A row back-dated onto a step decided since is not in
/// the trail.
pub fn reconcile(
    group: &GroupName,
    entries: &[String],
    decisions: &[DecisionRecord],
) -> Vec<AttestedDecision> {
    let mut began = None;
    let mut in_trail: BTreeMap<String, DecisionJson> = BTreeMap::new();
    let mut first_seen: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
    for entry in entries
        .iter()
        .filter_map(|text| serde_json::from_str::<crate::Entry>(text).ok())
    {
        began.get_or_insert(entry.at);
        match entry.event {
            EventJson::Decided { decision, .. } => {
                in_trail.insert(decision.id.clone(), *decision);
            }
            EventJson::RegistrationSeen { version, steps, .. } => {
                first_seen.entry(version).or_insert(steps);
            }
            _ => {}
        }
    }
    let undecided_when_first_seen = |logged: &DecisionRecord| {
        first_seen.get(&logged.version.get()).is_some_and(|steps| {
            steps
                .get(logged.environment.as_str())
                .and_then(|state| countersign_domain::StepState::parse(state))
                .is_none_or(|state| !state.is_decided())
        })
    };
    let since_the_trail = |logged: &DecisionRecord| {
        began.is_some_and(|began| logged.decided_at >= began || undecided_when_first_seen(logged))
    };
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
            None if since_the_trail(logged) => attested(logged.clone(), Standing::NotInTrail),
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
