//! Server functions: each one finds out who is asking, lets the workflow decide, calls the
//! ports through the domain service, and maps the result to a wire type.

use crate::wire::*;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::wire::*;
    use countersign_domain::ports::PortError;
    use countersign_domain::service::{LiveState, ServiceError, Services, VersionRecord};
    use countersign_domain::workflow;
    use countersign_domain::*;
    use leptos::prelude::*;
    use std::sync::Arc;
    use time::OffsetDateTime;

    /// Who is asking. The server supplies the implementation (the session cookie, made by
    /// OpenID Connect or the development sign-in); pages and server functions only see
    /// [`Actor`]s.
    pub trait Authenticator: Send + Sync {
        fn actor(&self, headers: &http::HeaderMap) -> Option<Actor>;
        fn sign_in_method(&self) -> SignInMethod;
    }

    /// Everything server functions need, provided as Leptos context by the server.
    #[derive(Clone)]
    pub struct Portal {
        pub services: Services,
        pub authenticator: Arc<dyn Authenticator>,
        pub notifications: NotificationDesk,
    }

    /// The outbox as the notifications page sees it.
    #[derive(Clone)]
    pub struct NotificationDesk {
        pub outbox: Arc<dyn countersign_domain::ports::Outbox>,
        /// Tells the delivery worker a message is due.
        pub wake: Arc<dyn Fn() + Send + Sync>,
        /// No SMTP server: messages are read here.
        pub outbox_only: bool,
    }

    /// Approvers of any environment look after notifications.
    pub async fn notification_keeper(portal: &Portal) -> Result<Actor, AppError> {
        let actor = actor(portal).await?;
        let policy = portal.services.policy();
        if policy
            .environments()
            .iter()
            .any(|env| policy.is_approver(&actor, env))
        {
            Ok(actor)
        } else {
            Err(AppError::Forbidden(
                "Only approvers see the notifications page.".into(),
            ))
        }
    }

    pub fn portal() -> Result<Portal, AppError> {
        use_context::<Portal>().ok_or_else(|| {
            tracing::error!("server function called without the Portal context");
            AppError::Unavailable
        })
    }

    pub async fn optional_actor(portal: &Portal) -> Result<Option<Actor>, AppError> {
        let headers: http::HeaderMap = leptos_axum::extract()
            .await
            .map_err(|e| AppError::Transport(e.to_string()))?;
        Ok(portal.authenticator.actor(&headers))
    }

    /// The signed-in person, if they may see the portal at all.
    pub async fn actor(portal: &Portal) -> Result<Actor, AppError> {
        let actor = optional_actor(portal)
            .await?
            .ok_or(AppError::SignInRequired)?;
        if !portal.services.policy().may_view(&actor) {
            return Err(AppError::Forbidden(format!(
                "You are signed in as {} <{}>, but not as a member of a group allowed to use Countersign. Ask your administrator for access.",
                actor.person.name, actor.person.email
            )));
        }
        Ok(actor)
    }

    pub fn group_name(name: &str) -> Result<GroupName, AppError> {
        GroupName::parse(name).map_err(|e| AppError::NotFound(e.to_string()))
    }

    pub fn version_number(number: u32) -> Result<VersionNumber, AppError> {
        VersionNumber::new(number).map_err(|e| AppError::NotFound(e.to_string()))
    }

    impl From<ServiceError> for AppError {
        fn from(error: ServiceError) -> Self {
            match error {
                ServiceError::NotFound(message) => AppError::NotFound(message),
                ServiceError::Invalid(e) => AppError::Invalid(e.to_string()),
                ServiceError::Refused(refusal) => AppError::Refused(refusal.to_string()),
                ServiceError::ReportRefused(refusal) => AppError::Refused(refusal.to_string()),
                ServiceError::Port(PortError::Conflict) => {
                    AppError::Conflict(PortError::Conflict.to_string())
                }
                ServiceError::Port(PortError::Rejected(message)) => AppError::Invalid(message),
                ServiceError::Port(e) => {
                    tracing::error!(error = %e, "store failure");
                    AppError::Unavailable
                }
            }
        }
    }

    pub fn display_time(t: OffsetDateTime) -> String {
        let t = t.to_offset(time::UtcOffset::UTC);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    }

    pub fn user_view(policy: &Policy, actor: &Actor) -> UserView {
        let approves: Vec<&str> = policy
            .environments()
            .iter()
            .filter(|e| policy.is_approver(actor, e))
            .map(Environment::as_str)
            .collect();
        UserView {
            name: actor.person.name.clone(),
            email: actor.person.email.clone(),
            approver: !approves.is_empty(),
            roles: if approves.is_empty() {
                "viewer".into()
            } else {
                format!("approver for {}", approves.join(", "))
            },
        }
    }

    pub fn decision_view(record: &DecisionRecord) -> DecisionView {
        DecisionView {
            version: record.version.get(),
            environment: record.environment.to_string(),
            verdict: record.verdict.as_str().into(),
            reason: record.reason.clone(),
            decided_by: record.decided_by.name.clone(),
            decided_by_email: record.decided_by.email.clone(),
            decided_at: display_time(record.decided_at),
            resulting_state: record.resulting_state.as_str().into(),
            rollback_to: record.rollback_to.map(VersionNumber::get),
        }
    }

    /// Registration, decisions and reported runs, in the order they happened.
    fn timeline(record: &VersionRecord, reports: &[InferenceReport]) -> Vec<TimelineEntry> {
        let version = &record.version;
        let mut events: Vec<(OffsetDateTime, TimelineEntry)> = vec![(
            version.registered_at,
            TimelineEntry::Registered {
                by: version.registered_by.name.clone(),
                at: display_time(version.registered_at),
            },
        )];
        events.extend(
            record
                .decisions
                .iter()
                .map(|d| (d.decided_at, TimelineEntry::Decided(decision_view(d)))),
        );
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

    /// Name and value, formatted here so the browser build needs no float formatting.
    fn formatted_metrics(metrics: &Metrics) -> Vec<(String, String)> {
        metrics
            .iter()
            .map(|(name, value)| (name.clone(), value.to_string()))
            .collect()
    }

    pub fn step_badges(policy: &Policy, version: &ModelVersion) -> Vec<StepBadge> {
        version
            .steps
            .in_order(policy.environments())
            .map(|(env, state)| StepBadge {
                environment: env.to_string(),
                state: state.as_str().into(),
            })
            .collect()
    }

    pub fn version_row(policy: &Policy, version: &ModelVersion) -> VersionRow {
        VersionRow {
            version: version.version.get(),
            status: version.approval_status.as_str().into(),
            registered_by: version.registered_by.name.clone(),
            registered_at: display_time(version.registered_at),
            steps: step_badges(policy, version),
        }
    }

    /// The review page's content; `live` is the version live in each environment.
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
            tracing::error!(%group, drift = %sentence, "what is stored differs from the decision log");
        }
        sentences
    }

    pub fn version_detail(
        policy: &Policy,
        record: &VersionRecord,
        reports: &[InferenceReport],
        live: &LiveState,
        actor: &Actor,
    ) -> VersionDetail {
        let version = &record.version;
        let drift = reported_drift(&version.group, &version.drift, &live.drift);
        let live = &live.versions;
        let history = &record.decisions;
        let decidable: Vec<&Environment> =
            workflow::decidable_environments(policy, version, history, actor).collect();
        let track = version
            .steps
            .in_order(policy.environments())
            .map(|(env, state)| StepView {
                environment: env.to_string(),
                state: state.as_str().into(),
                required_approvals: policy.approvals_needed(env, version),
                decisions: history
                    .iter()
                    .filter(|r| &r.environment == env)
                    .map(decision_view)
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
            })
            .collect();
        let why_no_decision = if decidable.is_empty() {
            Some(match version.steps.awaiting(policy.environments()) {
                None => "No step of this version is waiting for a decision.".to_string(),
                Some(env) => match workflow::approval_refusal(policy, version, history, actor, env)
                {
                    Some(refusal) => format!("You cannot decide {env}: {refusal}."),
                    None => format!("{env} is waiting for a decision."),
                },
            })
        } else {
            None
        };
        VersionDetail {
            group: version.group.to_string(),
            version: version.version.get(),
            arn: version.arn.clone(),
            status: version.approval_status.as_str().into(),
            description: version.description.clone(),
            image_uri: version.image_uri.clone(),
            model_data_url: version.model_data_url.clone(),
            metrics: formatted_metrics(&version.metrics),
            registered_by: version.registered_by.name.clone(),
            registered_by_email: version.registered_by.email.clone(),
            registrant_established: version.attributed_to.is_established(),
            registered_through: version.registered_through.clone(),
            registered_at: display_time(version.registered_at),
            track,
            timeline: timeline(record, reports),
            reports: reports.iter().rev().map(report_view).collect(),
            why_no_decision,
            drift,
        }
    }

    /// Gives a server function's error its own status (a refusal is a 409, not Leptos's
    /// default 500), except for a plain form post, which must stay a redirect back.
    pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(error) = &result {
            let form_post = use_context::<http::request::Parts>().is_some_and(|parts| {
                parts
                    .headers
                    .get(http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("text/html"))
            });
            if !form_post {
                set_page_status(error);
            }
        }
        result
    }

    /// Sets the status of the response being built: the page rendered on the server, or
    /// the server function's reply.
    pub fn set_page_status(error: &AppError) {
        if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
            options.set_status(
                http::StatusCode::from_u16(error.status())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
    }
}

pub const VERSIONS_PER_PAGE: u32 = 50;
/// Each message shown costs the AWS backend one read, so a page stays short.
pub const NOTIFICATIONS_PER_PAGE: u32 = 50;

#[server(prefix = "/rpc", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    use self::ssr::*;
    with_status(
        async move {
            let portal = portal()?;
            let actor = optional_actor(&portal).await?;
            Ok(actor.map(|a| user_view(portal.services.policy(), &a)))
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "how_to_sign_in")]
pub async fn how_to_sign_in() -> Result<SignInMethod, AppError> {
    use self::ssr::*;
    with_status(async move { Ok(portal()?.authenticator.sign_in_method()) }.await)
}

#[server(prefix = "/rpc", endpoint = "list_groups")]
pub async fn list_groups() -> Result<Vec<GroupRow>, AppError> {
    use self::ssr::*;
    with_status(
        async move {
            let portal = portal()?;
            actor(&portal).await?;
            let groups = portal.services.list_groups().await?;
            Ok(groups
                .into_iter()
                .map(|g| GroupRow {
                    name: g.group.to_string(),
                    version_count: g.version_count,
                    latest_version: g.latest_version.map(|v| v.get()),
                    latest_registered_at: g.latest_registered_at.map(display_time),
                })
                .collect())
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "list_versions")]
pub async fn list_versions(group: String, page: u32) -> Result<VersionsPage, AppError> {
    use self::ssr::*;
    with_status(
        async move {
            use countersign_domain::PageRequest;
            let portal = portal()?;
            actor(&portal).await?;
            let group = group_name(&group)?;
            let page = page.max(1);
            let listed = portal
                .services
                .list_versions(
                    &group,
                    PageRequest {
                        offset: u64::from(page - 1) * u64::from(VERSIONS_PER_PAGE),
                        limit: VERSIONS_PER_PAGE,
                    },
                )
                .await?;
            let policy = portal.services.policy();
            Ok(VersionsPage {
                group: group.to_string(),
                versions: listed
                    .items
                    .iter()
                    .map(|v| version_row(policy, v))
                    .collect(),
                page,
                pages: listed.total.div_ceil(u64::from(VERSIONS_PER_PAGE)) as u32,
                total: listed.total,
            })
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "version_detail")]
pub async fn get_version(group: String, version: u32) -> Result<VersionDetail, AppError> {
    use self::ssr::*;
    with_status(
        async move {
            let portal = portal()?;
            let actor = actor(&portal).await?;
            let (group, version) = (group_name(&group)?, version_number(version)?);
            let services = &portal.services;
            let (record, reports, live) = futures::join!(
                services.version_record(&group, version),
                services.reports_for_version(&group, version),
                services.live_state(&group)
            );
            Ok(version_detail(
                services.policy(),
                &record?,
                &reports?,
                &live?,
                &actor,
            ))
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "decide")]
pub async fn decide(
    group: String,
    version: u32,
    environment: String,
    verdict: String,
    reason: String,
) -> Result<DecisionOutcome, AppError> {
    use self::ssr::*;
    with_status(
        async move {
            use countersign_domain::workflow::DecisionRequest;
            use countersign_domain::Choice;
            let portal = portal()?;
            let actor = actor(&portal).await?;
            let environment = portal
                .services
                .environment(&environment)
                .map_err(AppError::from)?;
            let choice = Choice::parse(&verdict).ok_or_else(|| {
                AppError::Invalid(format!(
                    "{verdict:?} is not a decision; choose approve or reject"
                ))
            })?;
            let request = DecisionRequest::new(environment, choice, &reason);
            let effect = portal
                .services
                .decide(
                    &actor,
                    &group_name(&group)?,
                    version_number(version)?,
                    &request,
                )
                .await?;
            let record = &effect.record;
            tracing::info!(
                group = %record.group, version = %record.version, environment = %record.environment,
                verdict = record.verdict.as_str(), subject = %record.decided_by.subject,
                "decision taken"
            );
            let message = match (choice, record.resulting_state) {
                (Choice::Reject, _) => format!(
                    "You rejected {} for {}.",
                    record.version, record.environment
                ),
                (Choice::Approve, countersign_domain::StepState::Approved) => format!(
                    "You approved version {} for {}; it is now live there.",
                    record.version, record.environment
                ),
                (Choice::Approve, _) => format!(
                    "Your approval of {} is recorded; it needs another approver.",
                    record.environment
                ),
            };
            Ok(DecisionOutcome {
                environment: record.environment.to_string(),
                resulting_state: record.resulting_state.as_str().into(),
                message,
            })
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "group_history")]
pub async fn group_history(group: String) -> Result<HistoryView, AppError> {
    use self::ssr::*;
    with_status(
        async move {
            let portal = portal()?;
            actor(&portal).await?;
            let history = portal.services.group_history(&group_name(&group)?).await?;
            let environments = portal
                .services
                .policy()
                .environments()
                .iter()
                .map(|env| EnvironmentHistoryView {
                    environment: env.to_string(),
                    periods: history
                        .live
                        .iter()
                        .filter(|p| &p.environment == env)
                        .map(|p| LivePeriodView {
                            version: p.version.get(),
                            from: display_time(p.from),
                            until: p.until.map(display_time),
                            deployed_by: p.deployed_by.name.clone(),
                        })
                        .collect(),
                })
                .collect();
            Ok(HistoryView {
                drift: reported_drift(&history.group, &[], &history.drift),
                group,
                environments,
                decisions: history.decisions.iter().rev().map(decision_view).collect(),
            })
        }
        .await,
    )
}

/// Points an environment back to `version` (an earlier version approved there).
#[server(prefix = "/rpc", endpoint = "roll_back")]
pub async fn roll_back(
    group: String,
    version: u32,
    environment: String,
    reason: String,
) -> Result<DecisionOutcome, AppError> {
    use self::ssr::*;
    with_status(
        async move {
            let portal = portal()?;
            let actor = actor(&portal).await?;
            let services = &portal.services;
            let request = countersign_domain::workflow::RollbackRequest {
                environment: services.environment(&environment).map_err(AppError::from)?,
                target: version_number(version)?,
                reason,
            };
            let effect = services
                .rollback(&actor, &group_name(&group)?, &request)
                .await?;
            let record = &effect.record;
            tracing::info!(
                group = %record.group, from = %record.version, to = version,
                environment = %record.environment, subject = %record.decided_by.subject,
                "rollback"
            );
            Ok(DecisionOutcome {
                environment: record.environment.to_string(),
                // The page that asked is the target's, whose step there is approved (the
                // record's `RolledBack` is the withdrawn version's).
                resulting_state: countersign_domain::StepState::Approved.as_str().into(),
                message: format!(
                    "{} is back on version {version}; version {} is rolled back there.",
                    record.environment, record.version
                ),
            })
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "list_notifications")]
pub async fn list_notifications(page: u32) -> Result<NotificationsView, AppError> {
    use self::ssr::*;
    with_status(
        async move {
            let portal = portal()?;
            notification_keeper(&portal).await?;
            let desk = &portal.notifications;
            let page = page.max(1);
            let listed = desk
                .outbox
                .recent(countersign_domain::PageRequest {
                    offset: u64::from(page - 1) * u64::from(NOTIFICATIONS_PER_PAGE),
                    limit: NOTIFICATIONS_PER_PAGE,
                })
                .await
                .map_err(countersign_domain::service::ServiceError::from)?;
            let rows = listed
                .items
                .into_iter()
                .map(|e| NotificationRow {
                    key: e.message.key,
                    to: e.message.to.join(", "),
                    subject: e.message.subject,
                    state: e.state.as_str().to_owned(),
                    attempts: e.attempts,
                    last_error: e.last_error,
                    created: display_time(e.created_at),
                    sent: e.sent_at.map(display_time),
                    next_attempt: e.next_attempt_at.map(display_time),
                    body: desk.outbox_only.then_some(e.message.text),
                })
                .collect();
            Ok(NotificationsView {
                rows,
                outbox_only: desk.outbox_only,
                page,
                pages: listed
                    .total
                    .div_ceil(u64::from(NOTIFICATIONS_PER_PAGE))
                    .max(1) as u32,
                total: listed.total,
            })
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "resend_notification")]
pub async fn resend_notification(key: String) -> Result<String, AppError> {
    use self::ssr::*;
    with_status(
        async move {
            let portal = portal()?;
            let actor = notification_keeper(&portal).await?;
            let desk = &portal.notifications;
            let now = portal.services.now();
            let port = countersign_domain::service::ServiceError::from;
            let not_found = || AppError::NotFound(format!("no message {key:?} in the outbox"));
            let entry = desk.outbox.entry(&key).await.map_err(port)?.ok_or_else(not_found)?;
            // A request for a decision goes again only at the request of those it asks.
            let policy = portal.services.policy();
            if let Some(env) = countersign_domain::notification::requested_environment(&key) {
                let theirs = policy
                    .environments()
                    .find(env)
                    .is_some_and(|env| policy.is_approver(&actor, env));
                if !theirs {
                    return Err(AppError::Forbidden(format!(
                        "Only approvers of {env} may send this request again."
                    )));
                }
            }
            if let Some(why) = entry.resend_refusal(now) {
                return Err(AppError::Conflict(format!("Not sent again: {why}.")));
            }
            if !desk.outbox.resend(&key, now).await.map_err(port)? {
                return Err(not_found());
            }
            tracing::info!(key = ?key, subject = %actor.person.subject, "notification sent again on request");
            (desk.wake)();
            Ok(format!("{key} is queued to be sent again."))
        }
        .await,
    )
}
