#[cfg(feature = "ssr")]
mod view_model;
pub mod wire;

use crate::components::{
    refused_in_browser, refused_without_script, DriftWarning, ErrorPanel, Loading, Refused,
    StatePill,
};
use crate::pages::signing::{Known, PrepareSignature};
use crate::wire::{AppError, DecisionView, RunSummary, VerdictView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use wire::*;

/// The review page: a version's facts, its promotion track and the decision forms.
/// Deep links from e-mails land here.
#[component]
pub fn VersionPage() -> impl IntoView {
    let params = use_params_map();
    // With JavaScript, each decision form shows its own refusal and keeps the reason typed.
    let refused = refused_without_script::<PrepareSignature>();
    let query = leptos_router::hooks::use_query_map();
    let detail = Resource::new(
        move || {
            let params = params.read();
            (
                params.get("group").unwrap_or_default(),
                params.get("version").unwrap_or_default(),
            )
        },
        |(group, version)| async move {
            match version.parse::<u32>() {
                Ok(number) => get_version(group, number).await,
                Err(_) => Err(AppError::NotFound(format!(
                    "{version:?} is not a version number."
                ))),
            }
        },
    );
    view! {
        <Suspense fallback=Loading>
            {move || {
                let refused = refused.clone();
                Suspend::new(async move {
                match detail.await {
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    Ok(detail) => {
                        let signed = query.read_untracked().get("signed");
                        view! { <VersionReview detail refused signed/> }.into_any()
                    }
                }
            })
            }}
        </Suspense>
    }
}

#[component]
fn VersionReview(
    detail: VersionDetail,
    /// Why the decision the browser sent without JavaScript was not recorded.
    refused: Option<AppError>,
    /// The environment a signature was just recorded in, when the page follows one.
    signed: Option<String>,
) -> impl IntoView {
    let title = format!("{} version {}", detail.group, detail.version);
    let group_href = crate::routes::group(&detail.group);
    let group = detail.group.clone();
    let group_for_history = detail.group.clone();
    let version = detail.version;
    view! {
        <Title text=title.clone()/>
        <p class="crumbs">
            <a href=crate::routes::MODELS>"Model groups"</a>
            " / "
            <a href=group_href>{detail.group.clone()}</a>
            " / "
        </p>
        <h1>
            {title} " " <StatePill state=detail.status/>
        </h1>
        <DriftWarning drift=detail.drift.clone()/>
        {(!detail.broken_signatures.is_empty()).then(|| {
            let broken = detail.broken_signatures.clone();
            view! {
                <section class="warning drift" role="alert" aria-labelledby="broken-signatures-heading">
                    <h2 id="broken-signatures-heading">"Signature no longer matches"</h2>
                    <ul>{broken.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul>
                </section>
            }
        })}
        {signed.map(|environment| view! {
            <p class="notice ok" role="status">
                {format!("Your signature for {environment} is recorded.")}
            </p>
        })}
        {refused.map(|error| view! { <Refused prefix=NOT_RECORDED error/> })}
        {detail.waiting.map(|waiting| view! { <WaitingPanel waiting/> })}
        {detail.evidence.map(|evidence| view! { <EvidencePanel evidence/> })}
        <section class="panel" aria-labelledby="track-heading">
            <h2 id="track-heading">"Promotion track"</h2>
            <ol class="track" aria-label="Promotion track">
                {detail
                    .track
                    .into_iter()
                    .map(|step| {
                        view! { <Step step group=group.clone() version/> }
                    })
                    .collect_view()}
            </ol>
            {detail.why_no_decision.map(|why| view! { <p class="muted why">{why}</p> })}
        </section>
        <section class="panel facts" aria-labelledby="facts-heading">
            <h2 id="facts-heading">"This version"</h2>
            <dl>
                <dt>"Registered by"</dt>
                <dd>
                    {detail.registered_by} " " <span class="muted">{format!("<{}>", detail.registered_by_email)}</span>
                    {detail.registered_through.map(|caller| view! {
                        " " <span class="muted">{format!("through {caller}")}</span>
                    })}
                    {(!detail.registrant_established).then(|| view! {
                        <p class="muted" data-testid="registrant-unknown">
                            "Nobody could be established as this version's registrant, so four-eyes cannot be checked: where configured, one more approver is needed."
                        </p>
                    })}
                </dd>
                <dt>"Registered"</dt>
                <dd>{detail.registered_at}</dd>
                <dt>"Description"</dt>
                <dd>{detail.description}</dd>
                <dt>"Image"</dt>
                <dd>
                    <code>{detail.image_uri}</code> <Known digest=detail.image_digest/>
                </dd>
                <dt>"Model data"</dt>
                <dd>
                    <code>{detail.model_data_url}</code> <Known digest=detail.model_data_etag/>
                </dd>
                <dt>"ARN"</dt>
                <dd>
                    <code>{detail.arn}</code>
                </dd>
                {detail
                    .metadata
                    .into_iter()
                    .map(|(key, value)| view! {
                        <dt>{format!("Metadata: {key}")}</dt>
                        <dd>{value}</dd>
                    })
                    .collect_view()}
            </dl>
            <h3>"Metrics"</h3>
            <MetricsTable metrics=detail.metrics/>
        </section>
        <section class="panel" aria-labelledby="reports-heading">
            <h2 id="reports-heading">"Inference runs"</h2>
            {if detail.reports.is_empty() {
                view! {
                    <p class="muted">
                        "No pipeline has reported a run of this version yet."
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <ol class="reports">
                        {detail
                            .reports
                            .into_iter()
                            .map(|report| view! { <li><Report report/></li> })
                            .collect_view()}
                    </ol>
                }
                    .into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <ol class="history timeline">
                {detail
                    .timeline
                    .into_iter()
                    .map(|entry| view! { <li><TimelineLine entry/></li> })
                    .collect_view()}
            </ol>
            <p>
                <a href=crate::routes::history(&group_for_history)>
                    "The whole group's history"
                </a>
            </p>
        </section>
    }
}

#[component]
fn MetricsTable(metrics: Vec<(String, String)>) -> impl IntoView {
    view! {
        <table class="metrics">
            <tbody>
                {metrics
                    .into_iter()
                    .map(|(name, value)| view! {
                        <tr>
                            <th scope="row">{name}</th>
                            <td>{value}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Report(report: ReportView) -> impl IntoView {
    view! {
        <article class="report" data-environment=report.environment.clone()>
            <p>
                <strong>{format!("Run {} in {}", report.run_id, report.environment)}</strong>
                <span class="muted">
                    {format!(
                        " {} to {}, {} samples, reported by {}",
                        report.started_at,
                        report.finished_at,
                        report.sample_count,
                        report.reported_by,
                    )}
                </span>
            </p>
            <MetricsTable metrics=report.metrics/>
            {report.artifacts_url.map(|url| view! {
                <p>"Artifacts: " <code>{url}</code></p>
            })}
        </article>
    }
}

/// Versions the evidence's charts draw, the newest.
#[cfg(feature = "ssr")]
const RECENT_VERSIONS: u32 = 12;

/// The candidate beside what is live where it waits: metrics, runs, what changed, charts.
#[component]
fn EvidencePanel(evidence: Evidence) -> impl IntoView {
    let environment = evidence.environment.clone();
    let heading = format!("Compared with what is live in {environment}");
    let Some(live) = evidence.live_version else {
        return view! {
            <section class="panel evidence" aria-labelledby="evidence-heading">
                <h2 id="evidence-heading">{heading}</h2>
                <p>{format!("Nothing is live in {environment} yet: this version would be the first.")}</p>
                <Charts charts=evidence.charts/>
            </section>
        }
        .into_any();
    };
    let live_label = format!("Version {live} (live)");
    let metrics = (!evidence.metrics.is_empty()).then(|| {
        let rows = evidence
            .metrics
            .into_iter()
            .map(|m| {
                let (class, words) = m.change.class_and_words();
                let difference = if m.difference.is_empty() {
                    words.to_owned()
                } else {
                    format!("{} ({words})", m.difference)
                };
                view! {
                    <tr>
                        <th scope="row">{m.name}</th>
                        <td>{m.candidate}</td>
                        <td>{m.live}</td>
                        <td class=class>{difference}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="list compare">
                <caption>{format!("Registered metrics: this version beside version {live}")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Metric"</th>
                        <th scope="col">"This version"</th>
                        <th scope="col">{live_label.clone()}</th>
                        <th scope="col">"Difference"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
    });
    let run_line = |who: String, run: Option<RunSummary>| {
        run.map(|run| {
            let metrics = run.metrics_line();
            view! {
                <p>
                    {format!("{who}'s newest run in {}: {metrics} ", run.environment)}
                    <span class="muted">{format!("(run {}, finished {})", run.run_id, run.finished_at)}</span>
                </p>
            }
        })
    };
    let runs = (
        run_line("This version".to_owned(), evidence.candidate_run),
        run_line(format!("Version {live}"), evidence.live_run),
    );
    let changed = evidence.changes.iter().filter(|c| c.changed).count();
    let compared = evidence.changes.len();
    let changes = evidence
        .changes
        .into_iter()
        .map(|c| {
            let (class, status) = if c.changed {
                ("changed", "changed")
            } else {
                ("", "same")
            };
            view! {
                <tr class=class>
                    <th scope="row">{c.field}</th>
                    <td><code>{c.live}</code></td>
                    <td><code>{c.candidate}</code></td>
                    <td>{status}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel evidence" aria-labelledby="evidence-heading">
            <h2 id="evidence-heading">{heading}</h2>
            {metrics}
            {runs}
            <table class="list diff">
                <caption>{format!("What changed from version {live}: {changed} of {compared}")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Field"</th>
                        <th scope="col">{live_label}</th>
                        <th scope="col">"This version"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>{changes}</tbody>
            </table>
            <Charts charts=evidence.charts/>
        </section>
    }
    .into_any()
}

/// Each metric over the group's recent versions.
#[component]
fn Charts(charts: Vec<MetricChart>) -> impl IntoView {
    (!charts.is_empty()).then(|| {
        view! {
            <h3>"Over recent versions"</h3>
            <p class="muted">"Large dots: this version (filled) and the live one (ringed)."</p>
            <ul class="charts">
                {charts
                    .into_iter()
                    .map(|chart| {
                        view! {
                            <li>
                                <span class="chart-name">{chart.name}</span>
                                <div class="chart" inner_html=chart.svg></div>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    })
}

/// The step waiting for decisions: for whom and since when, who has signed, who is still
/// needed, who may not, and whether its approvers were told.
#[component]
fn WaitingPanel(waiting: WaitingDetail) -> impl IntoView {
    let step = waiting.waiting;
    let signed = if waiting.signed_by.is_empty() {
        "Nobody has approved it yet".to_owned()
    } else {
        format!("Approved so far by {}", waiting.signed_by.join(", "))
    };
    let needed = match waiting.still_needed {
        1 => "1 more approval is needed".to_owned(),
        n => format!("{n} more approvals are needed"),
    };
    let progress = step
        .approvals
        .map_or_else(String::new, |a| format!(" ({a})"));
    let request_class = if waiting.request_failed {
        "warning request"
    } else {
        "muted request"
    };
    view! {
        <section class="panel waiting" aria-labelledby="waiting-heading" data-environment=step.environment.clone()>
            <h2 id="waiting-heading">{format!("Waiting for {}", step.who)}</h2>
            <p>
                {format!("For {} (since {}). {signed}; {needed}{progress}.", step.waited, step.since)}
            </p>
            {waiting.may_not.map(|name| view! {
                <p>{format!("{name} registered this version and may not approve it.")}</p>
            })}
            <p class=request_class>{waiting.request}</p>
            {waiting
                .follow_ups
                .into_iter()
                .map(|(sentence, failed)| {
                    let class = if failed { "warning request" } else { "muted request" };
                    view! { <p class=class>{sentence}</p> }
                })
                .collect_view()}
        </section>
    }
}

/// How a refused decision or rollback begins.
const NOT_RECORDED: &str = "Not recorded: ";

/// A decision form (approve or reject, or a rollback), its fields the server-rendered
/// children. In the browser a refused decision is shown without leaving the page, so the
/// reason typed stays; an accepted one leads to the confirmation step.
#[island]
fn DecisionForm(class: String, children: Children) -> impl IntoView {
    let decide = ServerAction::<PrepareSignature>::new();
    view! {
        <ActionForm action=decide attr:class=class>
            {children()}
            {refused_in_browser(*decide, NOT_RECORDED)}
        </ActionForm>
    }
}

#[component]
fn Step(step: StepView, group: String, version: u32) -> impl IntoView {
    let env = step.environment.clone();
    let needs = (step.required_approvals > 1).then(|| {
        view! {
            <span class="muted">
                {format!("{} of {} approvals", step.approvals_given, step.required_approvals)}
            </span>
        }
    });
    let rollback_form = step.rollback_offered.then(|| {
        let (env, group) = (env.clone(), group.clone());
        let reason_id = format!("rollback-reason-{env}");
        view! {
            <DecisionForm class="rollback".to_owned()>
                <input type="hidden" name="group" value=group/>
                <input type="hidden" name="version" value=version/>
                <input type="hidden" name="environment" value=env.clone()/>
                <input type="hidden" name="verdict" value="rollback"/>
                <label for=reason_id.clone()>
                    {format!("Why return {env} to version {version}?")}
                </label>
                <textarea id=reason_id name="reason" rows="2" maxlength="2000" required></textarea>
                <div class="actions">
                    <button type="submit" class="reject">
                        {format!("Roll {env} back to version {version}")}
                    </button>
                </div>
            </DecisionForm>
        }
    });
    let live = step
        .live
        .then(|| view! { <span class="pill live">"Live"</span> });
    let form = step.decidable.then(|| {
        let reason_id = format!("reason-{env}");
        let meaning_id = format!("meaning-{env}");
        let placeholder = if step.reason_required {
            format!("Required for every decision in {env}")
        } else {
            "Required to reject; recorded with an approval".to_owned()
        };
        // What the signature will mean: said outright when each verdict has one meaning,
        // chosen when the policy offers more (a meaning for the other verdict is refused).
        let (approve_meanings, reject_meanings) =
            (step.approve_meanings.clone(), step.reject_meanings.clone());
        let meaning = if approve_meanings.len() <= 1 && reject_meanings.len() <= 1 {
            view! {
                <p class="muted signing-means">
                    {format!(
                        "Your signature means \u{201c}{}\u{201d} if you approve, \u{201c}{}\u{201d} if you reject.",
                        approve_meanings.first().cloned().unwrap_or_default(),
                        reject_meanings.first().cloned().unwrap_or_default()
                    )}
                </p>
            }
            .into_any()
        } else {
            let options = |meanings: Vec<String>| {
                meanings
                    .into_iter()
                    .map(|m| {
                        let value = m.clone();
                        view! { <option value=value>{m}</option> }
                    })
                    .collect_view()
            };
            view! {
                <label for=meaning_id.clone()>"Meaning of your signature"</label>
                <select id=meaning_id name="meaning">
                    <option value="">"The first meaning of the verdict you choose"</option>
                    <optgroup label="If you approve">{options(approve_meanings)}</optgroup>
                    <optgroup label="If you reject">{options(reject_meanings)}</optgroup>
                </select>
            }
            .into_any()
        };
        view! {
            <DecisionForm class="decision".to_owned()>
                <input type="hidden" name="group" value=group/>
                <input type="hidden" name="version" value=version/>
                <input type="hidden" name="environment" value=env.clone()/>
                <label for=reason_id.clone()>{format!("Reason for {env}")}</label>
                <textarea
                    id=reason_id
                    name="reason"
                    rows="2"
                    maxlength="2000"
                    placeholder=placeholder
                ></textarea>
                {meaning}
                <div class="actions">
                    <button type="submit" name="verdict" value="approve" class="approve">
                        {format!("Approve {env}")}
                    </button>
                    <button type="submit" name="verdict" value="reject" class="reject">
                        {format!("Reject {env}")}
                    </button>
                </div>
            </DecisionForm>
        }
    });
    view! {
        <li class="step" data-environment=step.environment.clone() data-state=step.state.as_str()>
            <div class="step-head">
                <strong class="env">{step.environment.clone()}</strong>
                <StatePill state=step.state/>
                {live}
                {needs}
            </div>
            <ul class="step-decisions">
                {step
                    .decisions
                    .into_iter()
                    .map(|d| view! { <li><DecisionLine decision=d/></li> })
                    .collect_view()}
            </ul>
            {form}
            {rollback_form}
        </li>
    }
}

#[component]
fn TimelineLine(entry: TimelineEntry) -> impl IntoView {
    match entry {
        TimelineEntry::Registered { by, at } => {
            view! { <span>{format!("Registered by {by} on {at}")}</span> }.into_any()
        }
        TimelineEntry::Decided(decision) => view! { <DecisionLine decision/> }.into_any(),
        TimelineEntry::Reported {
            environment,
            run_id,
            at,
        } => view! {
            <span>{format!("Run {run_id} in {environment} reported on {at}")}</span>
        }
        .into_any(),
        TimelineEntry::Attempted {
            by,
            environment,
            verdict,
            what,
            at,
        } => view! {
            <span class="attempt">
                {format!("Signature ({verdict} {environment}) by {by} not made on {at}: {what}")}
            </span>
        }
        .into_any(),
    }
}

#[component]
pub(crate) fn DecisionLine(decision: DecisionView) -> impl IntoView {
    let action = match (decision.verdict, decision.rollback_to) {
        (VerdictView::Approve, _) => format!("Approved {}", decision.environment),
        (VerdictView::Rollback, Some(to)) => {
            format!("Rolled back {} to version {to}", decision.environment)
        }
        (VerdictView::Rollback, None) => format!("Rolled back {}", decision.environment),
        (VerdictView::Reject, _) => format!("Rejected {}", decision.environment),
    };
    view! {
        <span class="decision">
            <span class="verb">{format!("{action} by ")}</span>
            <span class="by" title=decision.decided_by_email>{decision.decided_by}</span>
            <span class="muted">{format!(" on {}", decision.decided_at)}</span>
            {decision.reason.map(|r| view! { <q class="reason">{r}</q> })}
            {decision.signature.map(|signature| {
                let short = signature.record_digest.chars().take(12).collect::<String>();
                let mismatch = (!signature.still_binds)
                    .then(|| view! { <strong class="mismatch">" · no longer matches the registry entry"</strong> });
                view! {
                    <span class="signature">
                        "Signed: "
                        <span class="meaning">{signature.meaning}</span>
                        " · record "
                        <code title=signature.record_digest.clone() data-record-digest=signature.record_digest>
                            {short}
                        </code>
                        " · "
                        <SignedAt utc=signature.signed_at_utc shown=decision.decided_at.clone()/>
                        {mismatch}
                    </span>
                }
                // Erased: the history page nests this line deep enough to exhaust the
                // compiler's type recursion.
                .into_any()
            })}
        </span>
    }
}

/// When a signature was made: UTC as recorded, and (once the page runs its script) the
/// viewer's local time beside it (21 CFR 11.50).
#[component]
fn SignedAt(
    /// RFC 3339, UTC.
    utc: String,
    /// The same moment as the page shows times.
    shown: String,
) -> impl IntoView {
    view! {
        <time datetime=utc.clone()>{shown}</time>
        <LocalTime utc/>
    }
}

/// A moment in the viewer's own time zone, which only the browser knows.
#[island]
fn LocalTime(
    /// RFC 3339.
    utc: String,
) -> impl IntoView {
    let local = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&utc));
        if !date.get_time().is_nan() {
            let text = date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED);
            local.set(Some(String::from(text)));
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = utc;
    move || {
        local
            .get()
            .map(|time| view! { <span class="local-time">{format!(" (your time: {time})")}</span> })
    }
}

#[server(prefix = "/rpc", endpoint = "version_detail")]
pub async fn get_version(group: String, version: u32) -> Result<VersionDetail, AppError> {
    use crate::context::{group_name, serve, version_number};
    use countersign_domain::PageRequest;
    use view_model::{evidence, version_detail, LiveBeside, Told};
    serve(|portal, actor| async move {
        let (group, version) = (group_name(&group)?, version_number(version)?);
        let services = &portal.services;
        let (record, reports, attempts, live) = futures::join!(
            services.version_record(&group, version),
            services.reports_for_version(&group, version),
            services.attempts_for_version(&group, version),
            services.live_state(&group)
        );
        let record = record?;
        let desk = &portal.notifications;
        let policy = services.policy();
        let reports = reports?;
        let awaiting = record.version.steps.awaiting(policy.environments());
        let (request, follow_ups) = match awaiting {
            Some(env) => (
                desk.notifications.request_for(&record.version, env).await?,
                desk.notifications
                    .follow_ups_for(&record.version, env)
                    .await?,
            ),
            None => (None, Default::default()),
        };
        let evidence = match awaiting {
            Some(environment) => {
                // What is live there (and its runs) and the recent versions, side by side.
                let live_and_runs = async {
                    let live = services.live_version(&group, environment).await?;
                    let runs = match &live {
                        Some(live) => services.reports_for_version(&group, live.version).await?,
                        None => Vec::new(),
                    };
                    Ok::<_, countersign_domain::service::ServiceError>((live, runs))
                };
                let recent = services.list_versions(
                    &group,
                    PageRequest {
                        offset: 0,
                        limit: RECENT_VERSIONS,
                    },
                );
                let ((live, live_reports), recent) =
                    futures::try_join!(live_and_runs, async { Ok(recent.await?.items) })?;
                let beside = LiveBeside {
                    environment,
                    live: live.as_ref().map(|live| (live, live_reports.as_slice())),
                    recent: &recent,
                };
                Some(evidence(policy, &record.version, &reports, beside))
            }
            None => None,
        };
        let told = Told {
            request,
            follow_ups,
            outbox_only: desk.outbox_only,
            now: services.now(),
        };
        let mut detail =
            version_detail(policy, &record, &reports, &attempts?, &live?, &actor, &told);
        detail.evidence = evidence;
        Ok(detail)
    })
    .await
}
