//! A version as the review page shows it: its facts, its track (who may decide what, where a
//! rollback is offered), its timeline and its runs. Pure, and tested here.

use super::wire::*;
use crate::format::{display_time, formatted_metrics};
use crate::view_model::{decision_view, reported_drift, waiting_view};
use countersign_domain::ports::{DeliveryState, OutboxEntry};
use countersign_domain::service::{FollowUpsQueued, LiveState, Review, VersionRecord};
use countersign_domain::workflow;
use countersign_domain::*;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Registration, decisions and reported runs, in the order they happened.
fn timeline(
    record: &VersionRecord,
    reports: &[InferenceReport],
    attempts: &[SigningAttempt],
) -> Vec<TimelineEntry> {
    let version = &record.version;
    let mut events: Vec<(OffsetDateTime, TimelineEntry)> = vec![(
        version.registered_at,
        TimelineEntry::Registered {
            by: version.registered_by.name.clone(),
            at: display_time(version.registered_at),
        },
    )];
    events.extend(record.decisions.iter().map(|d| {
        let signed = signed_version(&record.version, d);
        (
            d.decided_at,
            TimelineEntry::Decided(decision_view(d, signed)),
        )
    }));
    events.extend(reports.iter().map(|r| {
        (
            r.reported_at,
            TimelineEntry::Reported {
                environment: r.environment.to_string(),
                run_id: r.run_id.to_string(),
                at: display_time(r.reported_at),
            },
        )
    }));
    events.extend(attempts.iter().map(|a| {
        let what = match &a.outcome {
            AttemptOutcome::SentToSignInAgain => "sent to sign in again".to_owned(),
            AttemptOutcome::Refused { reason } => format!("refused: {reason}"),
        };
        (
            a.at,
            TimelineEntry::Attempted {
                by: a.by.name.clone(),
                environment: a.environment.clone(),
                verdict: a.verdict.clone(),
                what,
                at: display_time(a.at),
            },
        )
    }));
    // Stable: events at the same instant keep registration, decision, report order.
    events.sort_by_key(|(at, _)| *at);
    events.into_iter().map(|(_, entry)| entry).collect()
}

pub fn report_view(report: &InferenceReport) -> ReportView {
    ReportView {
        environment: report.environment.to_string(),
        run_id: report.run_id.to_string(),
        started_at: display_time(report.started_at),
        finished_at: display_time(report.finished_at),
        sample_count: report.sample_count,
        metrics: formatted_metrics(&report.metrics),
        artifacts_url: report.artifacts_url.clone(),
        reported_by: report.reported_by.clone(),
    }
}

/// The version a decision signed, when it is this one (a rollback signed the version it put
/// back).
fn signed_version<'a>(
    version: &'a countersign_domain::ModelVersion,
    record: &countersign_domain::DecisionRecord,
) -> Option<&'a countersign_domain::ModelVersion> {
    (record.rollback_to.is_none() && record.version == version.version).then_some(version)
}

/// The review page from what the review use case read.
pub fn review_detail(
    policy: &Policy,
    review: &Review,
    actor: &Actor,
    outbox_only: bool,
    now: OffsetDateTime,
) -> VersionDetail {
    let waiting = review.waiting.as_ref();
    let told = Told {
        request: waiting.and_then(|w| w.request.clone()),
        follow_ups: waiting.map(|w| w.follow_ups.clone()).unwrap_or_default(),
        outbox_only,
        now,
    };
    let mut detail = version_detail(
        policy,
        &review.record,
        &review.reports,
        &review.attempts,
        &review.live,
        actor,
        &told,
    );
    detail.evidence = waiting.map(|waiting| {
        let beside = LiveBeside {
            environment: &waiting.environment,
            live: waiting
                .live
                .as_ref()
                .map(|live| (live, waiting.live_reports.as_slice())),
            recent: &waiting.recent,
        };
        evidence(policy, &review.record.version, &review.reports, beside)
    });
    detail
}

/// The review page's content; `live` is what is live in each environment.
pub fn version_detail(
    policy: &Policy,
    record: &VersionRecord,
    reports: &[InferenceReport],
    attempts: &[SigningAttempt],
    live: &LiveState,
    actor: &Actor,
    told: &Told,
) -> VersionDetail {
    let version = &record.version;
    let drift = reported_drift(&version.group, &version.drift, &live.drift);
    let live: BTreeMap<&Environment, VersionNumber> = live
        .versions
        .iter()
        .map(|(env, live)| (env, live.version))
        .collect();
    let history = &record.decisions;
    let decidable: Vec<&Environment> =
        workflow::decidable_environments(policy, version, history, actor).collect();
    let waiting = workflow::waiting(policy, version, history);
    let track = version
        .steps
        .in_order(policy.environments())
        .map(|(env, state)| StepView {
            environment: env.to_string(),
            state: state.into(),
            required_approvals: policy.approvals_needed(env, version),
            approvals_given: match &waiting {
                Some(waiting) if &waiting.environment == env => waiting.approvals.len(),
                _ => history
                    .iter()
                    .filter(|r| &r.environment == env && r.verdict == Verdict::Approve)
                    .count(),
            },
            decisions: history
                .iter()
                .filter(|r| &r.environment == env)
                .map(|r| decision_view(r, signed_version(version, r)))
                .collect(),
            decidable: decidable.contains(&env),
            live: live.get(env) == Some(&version.version),
            rollback_offered: workflow::rollback_refusal(
                policy,
                live.get(env).copied(),
                version,
                history,
                actor,
                env,
            )
            .is_none(),
            reason_required: policy.reason_required(env),
            approve_meanings: policy.meanings(env, Verdict::Approve),
            reject_meanings: policy.meanings(env, Verdict::Reject),
        })
        .collect();
    let why_no_decision = if decidable.is_empty() {
        Some(match version.steps.awaiting(policy.environments()) {
            None => "No step of this version is waiting for a decision.".to_string(),
            Some(env) => match workflow::approval_refusal(policy, version, history, actor, env) {
                Some(refusal) => format!("You cannot decide {env}: {refusal}."),
                None => format!("{env} is waiting for a decision."),
            },
        })
    } else {
        None
    };
    let broken_signatures = workflow::broken_signatures(version, history)
        .into_iter()
        .map(|env| {
            format!(
                "The approval of {env} no longer matches this version: its image, model data or metrics changed in the registry after it was signed. It is not promoted further; register the changed model as a new version."
            )
        })
        .collect();
    let waiting = waiting.map(|waiting| {
        let (request, request_failed) = request_sentence(told, &waiting.environment);
        WaitingDetail {
            signed_by: waiting.approvals.iter().map(|p| p.name.clone()).collect(),
            still_needed: waiting.still_needed(),
            may_not: (version.attributed_to.names_anyone()
                && !policy.self_approval_allowed(&waiting.environment))
            .then(|| version.registered_by.name.clone()),
            waiting: waiting_view(policy, &waiting, told.now),
            request,
            request_failed,
            follow_ups: follow_up_sentences(told, &waiting.environment),
        }
    });
    VersionDetail {
        waiting,
        evidence: None,
        broken_signatures,
        group: version.group.to_string(),
        version: version.version.get(),
        arn: version.arn.clone(),
        status: version.approval_status.into(),
        description: version.description.clone(),
        image_uri: version.image_uri.clone(),
        model_data_url: version.model_data_url.clone(),
        image_digest: version.digests.image.clone(),
        model_data_etag: version.digests.model_data.clone(),
        metrics: formatted_metrics(&version.metrics),
        metadata: version.metadata.clone().into_iter().collect(),
        registered_by: version.registered_by.name.clone(),
        registered_by_email: version.registered_by.email.clone(),
        registrant_unverified: registrant_unverified(policy, version),
        registered_through: version.registered_through.clone(),
        registered_at: display_time(version.registered_at),
        track,
        timeline: timeline(record, reports, attempts),
        reports: reports.iter().rev().map(report_view).collect(),
        why_no_decision,
        drift,
        disagreements: Vec::new(),
    }
}

/// Why four-eyes cannot rest on the registrant named, and which environments need one
/// approver more for it; `None` when the registrant is established.
fn registrant_unverified(policy: &Policy, version: &ModelVersion) -> Option<String> {
    if version.attributed_to.is_verified() {
        return None;
    }
    let why = if version.attributed_to.names_anyone() {
        "The registrant is declared, not verified: no pipeline bound to them registered it, and nothing else vouches for them, so they might approve it under another name."
    } else {
        "Nobody could be established as this version's registrant, so four-eyes cannot be checked."
    };
    let extra: Vec<String> = policy
        .environments()
        .iter()
        .filter(|env| policy.extra_approval_without_registrant(env))
        .map(ToString::to_string)
        .collect();
    Some(if extra.is_empty() {
        why.to_owned()
    } else {
        format!("{why} One more approver is needed in {}.", extra.join(", "))
    })
}

/// Names on the page each decision the log tells otherwise than the trail (`attested`, the
/// version's decisions beside their entries): an alert above, and a note on each line.
pub fn name_disagreements(
    detail: &mut VersionDetail,
    attested: &[countersign_audit::desk::AttestedDecision],
) {
    let how: BTreeMap<&str, String> = attested
        .iter()
        .filter_map(|d| Some((d.record.id.as_str(), d.standing.disagreement()?)))
        .collect();
    detail.disagreements = attested.iter().filter_map(|d| d.alert()).collect();
    for sentence in &detail.disagreements {
        tracing::error!(group = %detail.group, disagreement = ?sentence, "the decision log and the audit trail disagree");
    }
    let shown = detail
        .track
        .iter_mut()
        .flat_map(|step| step.decisions.iter_mut())
        .chain(detail.timeline.iter_mut().filter_map(|entry| match entry {
            TimelineEntry::Decided(decision) => Some(decision),
            _ => None,
        }));
    for decision in shown {
        decision.disagreement = how.get(decision.id.as_str()).cloned();
    }
}

/// Each custom metadata key either version has, as (field, live, candidate); a key one of
/// them lacks reads "not set".
fn metadata_changes(
    live: &CustomMetadata,
    candidate: &CustomMetadata,
) -> Vec<(String, String, String)> {
    let keys: std::collections::BTreeSet<&String> = live.keys().chain(candidate.keys()).collect();
    let value = |metadata: &CustomMetadata, key: &str| {
        metadata
            .get(key)
            .cloned()
            .unwrap_or_else(|| "not set".to_owned())
    };
    keys.into_iter()
        .map(|key| {
            (
                format!("Metadata: {key}"),
                value(live, key),
                value(candidate, key),
            )
        })
        .collect()
}

/// What the candidate is compared with where it waits.
pub struct LiveBeside<'a> {
    pub environment: &'a Environment,
    /// The version live there, and its reported runs.
    pub live: Option<(&'a ModelVersion, &'a [InferenceReport])>,
    /// The group's recent versions, newest first.
    pub recent: &'a [ModelVersion],
}

/// The candidate beside the version live in the environment it waits for: metrics with
/// their differences, the runs before, what changed, and each metric over recent versions.
pub fn evidence(
    policy: &Policy,
    candidate: &ModelVersion,
    candidate_reports: &[InferenceReport],
    beside: LiveBeside<'_>,
) -> Evidence {
    use crate::chart::{metric_chart, Mark, Point};
    use crate::view_model::{metric_deltas, run_summary};
    use countersign_domain::report::newest_report;
    let environment = beside.environment;
    let live = beside.live.map(|(version, _)| version);
    let previous = policy.environments().previous(environment);
    let candidate_run = previous
        .and_then(|previous| newest_report(candidate_reports, previous, previous))
        .map(run_summary);
    let live_run = beside
        .live
        .and_then(|(_, reports)| newest_report(reports, environment, environment))
        .map(run_summary);
    let shown = |text: &str| {
        if text.is_empty() {
            "—".to_owned()
        } else {
            text.to_owned()
        }
    };
    let known = |value: &Option<String>| value.clone().unwrap_or_else(|| "unknown".to_owned());
    let changes = live
        .map(|live| {
            [
                ("Image", shown(&live.image_uri), shown(&candidate.image_uri)),
                (
                    "Image digest",
                    known(&live.digests.image),
                    known(&candidate.digests.image),
                ),
                (
                    "Model data",
                    shown(&live.model_data_url),
                    shown(&candidate.model_data_url),
                ),
                (
                    "Model data ETag",
                    known(&live.digests.model_data),
                    known(&candidate.digests.model_data),
                ),
                (
                    "Description",
                    shown(&live.description),
                    shown(&candidate.description),
                ),
            ]
            .into_iter()
            .map(|(field, live, candidate)| (field.to_owned(), live, candidate))
            .chain(metadata_changes(&live.metadata, &candidate.metadata))
            .map(|(field, live, candidate)| FieldChange {
                field,
                changed: live != candidate,
                live,
                candidate,
            })
            .collect()
        })
        .unwrap_or_default();
    let mut versions: Vec<&ModelVersion> = beside.recent.iter().rev().collect();
    if !versions.iter().any(|v| v.version == candidate.version) {
        versions.push(candidate);
        versions.sort_by_key(|v| v.version);
    }
    let charts = candidate
        .metrics
        .keys()
        .map(|name| {
            let points: Vec<Point> = versions
                .iter()
                .filter_map(|v| {
                    let mark = if v.version == candidate.version {
                        Mark::Candidate
                    } else if live.is_some_and(|live| live.version == v.version) {
                        Mark::Live
                    } else {
                        Mark::Other
                    };
                    v.metrics.get(name).map(|value| Point {
                        version: v.version.get(),
                        value: *value,
                        mark,
                    })
                })
                .collect();
            MetricChart {
                name: name.clone(),
                svg: metric_chart(name, &points).0,
            }
        })
        .collect();
    Evidence {
        environment: environment.to_string(),
        live_version: live.map(|v| v.version.get()),
        metrics: live
            .map(|live| metric_deltas(&candidate.metrics, &live.metrics))
            .unwrap_or_default(),
        candidate_run,
        live_run,
        changes,
        charts,
    }
}

/// What the page knows of the request that asked the waiting step's approvers to decide.
pub struct Told {
    /// The request's message, if one was queued.
    pub request: Option<OutboxEntry>,
    /// The reminder and escalation queued about the waiting step.
    pub follow_ups: FollowUpsQueued,
    /// No SMTP server: messages are kept on the notifications page, not sent.
    pub outbox_only: bool,
    pub now: OffsetDateTime,
}

/// Whether and how the approvers of `environment` were told, and whether that failed.
fn request_sentence(told: &Told, environment: &Environment) -> (String, bool) {
    match &told.request {
        None => (
            format!("No request has gone to the approvers of {environment} yet: they are asked when a run in the environment before reports its metrics."),
            false,
        ),
        Some(entry) if entry.message.to.is_empty() => (
            format!(
                "Nobody was notified: set {} to the addresses of {environment}'s approvers, then send the request again from the notifications page.",
                countersign_domain::notification::recipients_setting(environment)
            ),
            true,
        ),
        Some(entry) => delivery_sentence(
            entry,
            &format!("The request to the approvers of {environment}"),
            &countersign_domain::notification::recipients_setting(environment),
            told.outbox_only,
        ),
    }
}

/// How the reminder and the escalation went, where there were any, in that order.
fn follow_up_sentences(told: &Told, environment: &Environment) -> Vec<(String, bool)> {
    use countersign_domain::notification::{escalation_setting, recipients_setting};
    let reminder = told.follow_ups.reminder.as_ref().map(|entry| {
        let what = format!("The reminder to the approvers of {environment}");
        delivery_sentence(
            entry,
            &what,
            &recipients_setting(environment),
            told.outbox_only,
        )
    });
    let escalation = told.follow_ups.escalation.as_ref().map(|entry| {
        let what = format!("The escalation of this step (waiting too long for {environment})");
        delivery_sentence(
            entry,
            &what,
            &escalation_setting(environment),
            told.outbox_only,
        )
    });
    reminder.into_iter().chain(escalation).collect()
}

/// Whether and how `what` (a message about the waiting step) went out, and whether that
/// failed; `setting` names who it goes to.
fn delivery_sentence(
    entry: &OutboxEntry,
    what: &str,
    setting: &str,
    outbox_only: bool,
) -> (String, bool) {
    if entry.message.to.is_empty() {
        return (
            format!("{what} reached nobody: set {setting}, then send it again from the notifications page."),
            true,
        );
    }
    let recipients = match entry.message.to.len() {
        1 => "1 address".to_owned(),
        n => format!("{n} addresses"),
    };
    match (entry.state, entry.sent_at) {
        (DeliveryState::Sent, Some(at)) if outbox_only => (
            format!("{what} was kept on the notifications page at {}, not sent: no SMTP server is configured.", display_time(at)),
            true,
        ),
        (DeliveryState::Sent, Some(at)) => (
            format!("{what} was e-mailed at {} ({recipients}).", display_time(at)),
            false,
        ),
        (DeliveryState::GaveUp, _) => (
            format!(
                "{what} could not be sent: {}.",
                entry.last_error.as_deref().unwrap_or("every attempt failed")
            ),
            true,
        ),
        _ => (format!("{what} is waiting to be sent ({recipients})."), false),
    }
}

#[cfg(test)]
mod tests;
