//! The audit-trail review page from what the desk read.

use super::{ExceptionLine, TrailLine, TrailReviewView};
use crate::format::display_time;
use countersign_audit::desk::Period;
use countersign_audit::review::TrailInPeriod;

pub fn trail_review(
    trails: &[TrailInPeriod],
    period: Period,
    from: String,
    to: String,
) -> TrailReviewView {
    let mut exceptions: Vec<ExceptionLine> = trails
        .iter()
        .flat_map(|t| &t.exceptions)
        .map(|e| ExceptionLine {
            at: display_time(e.at),
            group: e.group.clone(),
            seq: e.seq,
            kind: e.kind.describe().to_owned(),
            actor: e.actor.clone(),
            what: e.what.clone(),
        })
        .collect();
    // Newest first; the display time sorts as the moment does.
    exceptions.sort_by(|a, b| b.at.cmp(&a.at));
    TrailReviewView {
        from: from.trim().to_owned(),
        to: to.trim().to_owned(),
        period: crate::format::period(period.from, period.to),
        trails: trails
            .iter()
            .filter(|t| t.entries > 0)
            .map(|t| TrailLine {
                group: t.group.clone(),
                entries: t.entries,
                holds: t.verified.is_ok(),
                verified: match &t.verified {
                    Ok(size) => format!("verified up to entry {size}"),
                    Err(why) => format!("DOES NOT VERIFY: {why}"),
                },
                exceptions: t.exceptions.len(),
            })
            .collect(),
        exceptions,
    }
}
