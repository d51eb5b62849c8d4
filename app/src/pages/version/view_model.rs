//! A version as the review page shows it: its facts, its track (who may decide what, where a
//! rollback is offered), its timeline and its runs. Pure, and tested here.

use super::wire::*;
use crate::format::{display_time, formatted_metrics};
use crate::view_model::{decision_view, reported_drift, waiting_view};
use countersign_domain::ports::{DeliveryState, OutboxEntry};
use countersign_domain::service::{FollowUpsQueued, LiveState, VersionRecord};
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
            may_not: (version.attributed_to.is_established()
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
        registrant_established: version.attributed_to.is_established(),
        registered_through: version.registered_through.clone(),
        registered_at: display_time(version.registered_at),
        track,
        timeline: timeline(record, reports, attempts),
        reports: reports.iter().rev().map(report_view).collect(),
        why_no_decision,
        drift,
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
mod tests {
    use super::*;
    use countersign_domain::service::LiveState;
    use countersign_domain::testing::{approver, decided_first, registered};

    fn detail_for(
        policy: &Policy,
        version: &ModelVersion,
        live: &[(&str, u32)],
        actor: &Actor,
    ) -> VersionDetail {
        let record = VersionRecord {
            version: version.clone(),
            decisions: vec![],
        };
        let live = LiveState {
            versions: live
                .iter()
                .map(|(env, n)| {
                    (
                        Environment::parse(env).unwrap(),
                        countersign_domain::service::LiveVersion {
                            version: VersionNumber::new(*n).unwrap(),
                            since: OffsetDateTime::UNIX_EPOCH,
                        },
                    )
                })
                .collect(),
            drift: vec![],
        };
        version_detail(policy, &record, &[], &[], &live, actor, &nobody_told())
    }

    fn nobody_told() -> Told {
        Told {
            request: None,
            follow_ups: FollowUpsQueued::default(),
            outbox_only: false,
            now: OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// Alice's signed approval of dev on `version`, and the version it leaves.
    fn alice_approves_dev(
        policy: &Policy,
        version: &ModelVersion,
    ) -> (DecisionRecord, ModelVersion) {
        let request = countersign_domain::DecisionRequest::new(
            Environment::parse("dev").unwrap(),
            Choice::Approve,
            "fine",
        );
        let stamp = countersign_domain::Stamp {
            id: "d-1".into(),
            at: OffsetDateTime::UNIX_EPOCH,
        };
        let effect =
            workflow::decide(policy, version, &[], &approver("alice"), &request, stamp).unwrap();
        let approved = workflow::apply(version, &effect);
        (effect.record, approved)
    }

    /// The review page Bob, an approver, sees of `version` after `approval`.
    fn bobs_page(
        policy: &Policy,
        version: ModelVersion,
        approval: &DecisionRecord,
    ) -> VersionDetail {
        let record = VersionRecord {
            version,
            decisions: vec![approval.clone()],
        };
        version_detail(
            policy,
            &record,
            &[],
            &[],
            &LiveState::default(),
            &approver("bob"),
            &nobody_told(),
        )
    }

    fn step<'a>(detail: &'a VersionDetail, environment: &str) -> &'a StepView {
        detail
            .track
            .iter()
            .find(|s| s.environment == environment)
            .unwrap()
    }

    #[test]
    fn the_review_page_says_who_may_decide_and_why_not() {
        let policy = Policy::new(Environments::default(), "approvers");
        let version = registered(&policy);
        let alice = detail_for(&policy, &version, &[], &approver("alice"));
        assert!(step(&alice, "dev").decidable);
        assert!(!step(&alice, "test").decidable);
        assert_eq!(alice.why_no_decision, None);

        let dana = detail_for(&policy, &version, &[], &approver("dana"));
        assert!(!step(&dana, "dev").decidable);
        assert_eq!(
            dana.why_no_decision.as_deref(),
            Some("You cannot decide dev: you registered this version, so someone else must approve it for dev.")
        );
        let viewer = Actor {
            person: approver("vic").person,
            groups: Default::default(),
        };
        assert_eq!(
            detail_for(&policy, &version, &[], &viewer)
                .why_no_decision
                .as_deref(),
            Some("You cannot decide dev: you are not in an approver group for dev.")
        );
    }

    #[test]
    fn a_rollback_is_offered_to_approvers_where_this_version_was_approved_and_another_is_live() {
        let policy = Policy::new(Environments::default(), "approvers");
        let approved = decided_first(&policy, &registered(&policy), Choice::Approve);
        let number = approved.version.get();
        let offered = |live: &[(&str, u32)], actor: &Actor| {
            step(&detail_for(&policy, &approved, live, actor), "dev").rollback_offered
        };
        assert!(offered(&[("dev", number + 1)], &approver("bob")));
        assert!(
            !offered(&[("dev", number)], &approver("bob")),
            "already live"
        );
        assert!(!offered(&[], &approver("bob")), "nothing live to replace");
        let viewer = Actor {
            person: approver("vic").person,
            groups: Default::default(),
        };
        assert!(!offered(&[("dev", number + 1)], &viewer));
        let live_here = detail_for(&policy, &approved, &[("dev", number)], &approver("bob"));
        assert!(step(&live_here, "dev").live);
    }

    #[test]
    fn a_signature_the_registry_entry_no_longer_matches_is_shown_as_such() {
        let policy = Policy::new(Environments::default(), "approvers");
        let version = registered(&policy);
        let (approval, approved) = alice_approves_dev(&policy, &version);
        let page = |version: ModelVersion| bobs_page(&policy, version, &approval);
        let signature = |detail: &VersionDetail| {
            step(detail, "dev").decisions[0]
                .signature
                .clone()
                .expect("signed")
        };
        let intact = page(approved.clone());
        assert!(intact.broken_signatures.is_empty());
        assert!(signature(&intact).still_binds);
        assert_eq!(signature(&intact).meaning, "Approved for release to dev");
        assert!(step(&intact, "test").decidable);

        let mut rebadged = approved;
        rebadged.image_uri = "registry.example/other:1".into();
        let broken = page(rebadged);
        assert!(!signature(&broken).still_binds);
        assert_eq!(broken.broken_signatures.len(), 1);
        assert!(broken.broken_signatures[0].starts_with("The approval of dev no longer matches"));
        assert!(!step(&broken, "test").decidable, "not promoted further");
        assert!(broken
            .why_no_decision
            .as_deref()
            .is_some_and(|why| why.contains("no longer matches")));
    }

    #[test]
    fn a_step_counts_the_approvals_that_still_bind_as_the_waiting_panel_does() {
        let policy = Policy::new(Environments::default(), "approvers")
            .with_required_approvals("dev", 2)
            .unwrap();
        let (approval, once) = alice_approves_dev(&policy, &registered(&policy));
        let page = |version: ModelVersion| bobs_page(&policy, version, &approval);
        let intact = page(once.clone());
        assert_eq!(step(&intact, "dev").approvals_given, 1);
        assert_eq!(intact.waiting.as_ref().unwrap().still_needed, 1);

        let mut changed = once;
        changed.metrics.insert("auc".into(), 0.5);
        let broken = page(changed);
        assert_eq!(
            step(&broken, "dev").approvals_given,
            0,
            "an approval whose signature no longer binds does not count"
        );
        assert_eq!(broken.waiting.as_ref().unwrap().still_needed, 2);
    }
}
