//! Domain values as more than one page shows them (wire types), on the server only; each
//! page's own mapping is in its folder.

use crate::format::display_time;
use crate::wire::*;
use countersign_domain::ModelVersion;
use countersign_domain::*;

impl From<StepState> for StateView {
    fn from(state: StepState) -> Self {
        match state {
            StepState::NotRequested => StateView::NotRequested,
            StepState::PendingManualApproval => StateView::PendingManualApproval,
            StepState::Approved => StateView::Approved,
            StepState::Rejected => StateView::Rejected,
            StepState::RolledBack => StateView::RolledBack,
        }
    }
}

impl From<ApprovalStatus> for StateView {
    fn from(status: ApprovalStatus) -> Self {
        match status {
            ApprovalStatus::PendingManualApproval => StateView::PendingManualApproval,
            ApprovalStatus::Approved => StateView::Approved,
            ApprovalStatus::Rejected => StateView::Rejected,
        }
    }
}

impl From<Verdict> for VerdictView {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Approve => VerdictView::Approve,
            Verdict::Reject => VerdictView::Reject,
            Verdict::Rollback => VerdictView::Rollback,
        }
    }
}

/// The signed-in person as the header shows them; `waiting` is their inbox's size.
pub fn user_view(policy: &Policy, actor: &Actor, waiting: Option<u32>) -> UserView {
    let approves: Vec<&str> = policy
        .environments()
        .iter()
        .filter(|e| policy.is_approver(actor, e))
        .map(Environment::as_str)
        .collect();
    let reviewer = policy.reviews_audit(actor);
    let mut roles = if approves.is_empty() {
        "viewer".to_owned()
    } else {
        format!("approver for {}", approves.join(", "))
    };
    if reviewer {
        roles.push_str(", audit reviewer");
    }
    UserView {
        name: actor.person.name.clone(),
        email: actor.person.email.clone(),
        approver: !approves.is_empty(),
        waiting,
        roles,
        audit_reviewer: reviewer,
    }
}

/// A decision as the page shows it; `signed_version` is the version it signed as the registry
/// holds it now, when known (for a rollback, the version put back, which the page does not
/// load: its signature is shown unchecked).
pub fn decision_view(
    record: &DecisionRecord,
    signed_version: Option<&ModelVersion>,
) -> DecisionView {
    DecisionView {
        id: record.id.clone(),
        version: record.version.get(),
        environment: record.environment.to_string(),
        verdict: record.verdict.into(),
        reason: record.reason.clone(),
        decided_by: record.decided_by.name.clone(),
        decided_by_email: record.decided_by.email.clone(),
        decided_at: display_time(record.decided_at),
        resulting_state: record.resulting_state.into(),
        rollback_to: record.rollback_to.map(VersionNumber::get),
        signature: record
            .signature
            .as_ref()
            .map(|signature| crate::wire::SignatureView {
                meaning: signature.meaning.clone(),
                record_digest: signature.record_digest.clone(),
                signed_at_utc: record
                    .decided_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                still_binds: signed_version.is_none_or(|version| {
                    countersign_domain::signature::still_binds(record, version)
                }),
            }),
        disagreement: None,
    }
}

/// What the stores hold that the decision log does not explain, as sentences for the
/// page; each also goes to the server log, where operators watch for tampering.
pub fn reported_drift(
    group: &GroupName,
    registry: &[String],
    live: &[countersign_domain::history::Drift],
) -> Vec<String> {
    let sentences: Vec<String> = registry
        .iter()
        .cloned()
        .chain(live.iter().map(|d| d.explain()))
        .collect();
    for sentence in &sentences {
        // Debug, so that text written outside the portal (an image name, say) cannot start a
        // log line of its own.
        tracing::error!(%group, drift = ?sentence, "what is stored differs from the decision log");
    }
    sentences
}

/// A candidate's metrics beside the live version's, as the inbox and the review page show
/// them.
pub fn metric_deltas(candidate: &Metrics, live: &Metrics) -> Vec<MetricDelta> {
    use countersign_domain::comparison::{compare, Change};
    let shown = |value: Option<f64>| value.map_or_else(|| "—".to_owned(), |v| v.to_string());
    compare(candidate, live)
        .into_iter()
        .map(|compared| MetricDelta {
            difference: match (compared.candidate, compared.baseline) {
                (Some(candidate), Some(live)) => crate::format::difference(candidate, live),
                _ => String::new(),
            },
            change: match compared.change() {
                Some(Change::Better) => ChangeView::Better,
                Some(Change::Worse) => ChangeView::Worse,
                Some(Change::Same) => ChangeView::Same,
                None => ChangeView::Unknown,
            },
            candidate: shown(compared.candidate),
            live: shown(compared.baseline),
            name: compared.name,
        })
        .collect()
}

/// A reported run, in short.
pub fn run_summary(run: &countersign_domain::InferenceReport) -> RunSummary {
    RunSummary {
        environment: run.environment.to_string(),
        run_id: run.run_id.to_string(),
        finished_at: display_time(run.finished_at),
        metrics: crate::format::formatted_metrics(&run.metrics),
    }
}

/// The version's steps in promotion order, as a compact track shows them.
pub fn step_badges(policy: &Policy, version: &ModelVersion) -> Vec<StepBadge> {
    version
        .steps
        .in_order(policy.environments())
        .map(|(env, state)| StepBadge {
            environment: env.to_string(),
            state: state.into(),
        })
        .collect()
}

/// A waiting step as pages show it, `now` being the time of the page.
pub fn waiting_view(
    policy: &Policy,
    waiting: &countersign_domain::workflow::Waiting,
    now: time::OffsetDateTime,
) -> WaitingView {
    let environment = &waiting.environment;
    let groups: Vec<&str> = policy.approver_groups(environment).collect();
    WaitingView {
        environment: environment.to_string(),
        who: format!("approvers of {environment} ({})", groups.join(", ")),
        waited: crate::format::waited(now - waiting.since),
        since: display_time(waiting.since),
        approvals: (waiting.needed > 1).then(|| {
            format!(
                "{} of {} approvals",
                waiting.approvals.len(),
                waiting.needed
            )
        }),
    }
}
