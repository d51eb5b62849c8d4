pub mod wire;

use crate::components::{loaded, DriftWarning, Pager};
use crate::pages::version::DecisionLine;
use crate::wire::*;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use wire::*;

/// A model group's history: what was live in each environment and when, and every
/// decision with who, when and why, a page of them at a time; exportable as CSV and JSON.
#[component]
pub fn HistoryPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let history = Resource::new(
        move || {
            let group = params.read().get("group").unwrap_or_default();
            let page = query
                .read()
                .get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1);
            (group, page)
        },
        |(group, page)| group_history(group, Some(page)),
    );
    view! {
        {loaded(history, move |history| {
            view! { <History history/> }.into_any()
        })}
    }
}

#[component]
fn History(history: HistoryView) -> impl IntoView {
    let group = history.group.clone();
    let export = |file: &str| crate::routes::export(&group, file);
    let certified = |file: &str| crate::routes::certified_export(&group, file);
    let pager = view! {
        <Pager
            page=history.page
            pages=history.pages
            base=crate::routes::history(&group)
        />
    };
    view! {
        <Title text=format!("{group} history")/>
        <p class="crumbs">
            <a href=crate::routes::MODELS>"Model groups"</a>
            " / "
            <a href=crate::routes::group(&group)>{group.clone()}</a>
            " / "
        </p>
        <h1>{format!("{group}: history")}</h1>
        <DriftWarning drift=history.drift.clone()/>
        <p class="exports">
            "Export: "
            <a href=export("history.csv") download>"decisions (CSV)"</a>
            " · "
            <a href=export("deployments.csv") download>"what was live (CSV)"</a>
            " · "
            <a href=export("history.json") download>"everything (JSON)"</a>
            " · "
            <a href=export("audit.json") download>"audit trail (bundle to verify)"</a>
        </p>
        <p class="exports">
            "Certified copies, signed with the portal's audit key ("
            <code>"countersign audit verify"</code>
            " checks them): "
            <a href=certified("history.csv") download>"decisions"</a>
            " · "
            <a href=certified("deployments.csv") download>"what was live"</a>
            " · "
            <a href=certified("history.json") download>"everything"</a>
        </p>
        <TrailCheck trail=history.trail/>
        <section class="panel" aria-labelledby="live-heading">
            <h2 id="live-heading">"What was live"</h2>
            {history
                .environments
                .into_iter()
                .map(|env| view! { <EnvironmentHistory env group=group.clone()/> })
                .collect_view()}
        </section>
        <section class="panel" aria-labelledby="decisions-heading">
            <h2 id="decisions-heading">
                {format!("Every decision, newest first ({})", history.decision_count)}
            </h2>
            {if history.decisions.is_empty() {
                view! { <p class="muted">"No decisions yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="history">
                        {history
                            .decisions
                            .into_iter()
                            .map(|d| {
                                let href = crate::routes::version(&history.group, d.version);
                                view! {
                                    <li>
                                        <a href=href>{format!("Version {}", d.version)}</a>
                                        ": "
                                        <DecisionLine decision=d/>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                    {pager}
                }
                    .into_any()
            }}
        </section>
    }
}

/// Whether the trail verifies, said plainly; a trail that does not is an alert.
#[component]
fn TrailCheck(trail: TrailCheckView) -> impl IntoView {
    let (class, role) = if trail.intact {
        ("panel trail intact", "status")
    } else {
        ("panel trail broken", "alert")
    };
    view! {
        <section class=class role=role aria-labelledby="trail-heading">
            <h2 id="trail-heading">{trail.headline}</h2>
            <details>
                <summary>"What was checked"</summary>
                <ul>{trail.details.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul>
                <p class="muted">
                    "Anyone can check the downloaded bundle offline with "
                    <code>"countersign audit verify"</code>
                    " and the key at "
                    <a href="/api/v1/audit/public-key">"/api/v1/audit/public-key"</a>
                    "."
                </p>
            </details>
        </section>
    }
}

#[component]
fn EnvironmentHistory(env: EnvironmentHistoryView, group: String) -> impl IntoView {
    view! {
        <h3>{env.environment.clone()}</h3>
        {(env.earlier > 0)
            .then(|| {
                view! {
                    <p class="muted">
                        {format!(
                            "The latest {} periods; {} earlier ones are in the export.",
                            env.periods.len(),
                            env.earlier,
                        )}
                    </p>
                }
            })}
        {if env.periods.is_empty() {
            view! { <p class="muted">"Nothing has been live here yet."</p> }.into_any()
        } else {
            view! {
                <table class="list" data-environment=env.environment.clone()>
                    <thead>
                        <tr>
                            <th scope="col">"Version"</th>
                            <th scope="col">"From"</th>
                            <th scope="col">"Until"</th>
                            <th scope="col">"Deployed by"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {env
                            .periods
                            .into_iter()
                            .map(|p| {
                                let href = crate::routes::version(&group, p.version);
                                view! {
                                    <tr>
                                        <td>
                                            <a href=href>{p.version}</a>
                                        </td>
                                        <td>{p.from}</td>
                                        <td>{p.until.unwrap_or_else(|| "live now".to_owned())}</td>
                                        <td>{p.deployed_by}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            }
                .into_any()
        }}
    }
}

/// What the group's trail check found, in words, logged where it is wrong: a trail that does
/// not verify, or a decision log that tells a decision otherwise than the trail.
#[cfg(feature = "ssr")]
fn trail_check_view(
    group: &countersign_domain::GroupName,
    check: &countersign_audit::desk::TrailCheck,
) -> TrailCheckView {
    let summary = |verified: &countersign_audit::Verified| -> Vec<String> {
        verified.summary().lines().map(str::to_owned).collect()
    };
    let alerts = check.alerts();
    if !alerts.is_empty() {
        tracing::error!(%group, "the decision log and the audit trail disagree: {alerts:?}");
    }
    match &check.verdict {
        Err(violation) => {
            tracing::error!(%group, "the audit trail does not verify: {violation}");
            TrailCheckView {
                headline: format!("The audit trail does not verify: {violation}."),
                details: alerts.into_iter().chain(summary(&violation.verified)).collect(),
                intact: false,
            }
        }
        Ok(verified) if !alerts.is_empty() => TrailCheckView {
            headline: format!(
                "The decision log and the audit trail disagree about {} decision{}; each is shown as the trail holds it.",
                alerts.len(),
                if alerts.len() == 1 { "" } else { "s" }
            ),
            details: alerts.into_iter().chain(summary(verified)).collect(),
            intact: false,
        },
        Ok(verified) => TrailCheckView {
            headline: match verified.last {
                Some(_) => format!("Audit trail {}.", verified.headline()),
                None => "The audit trail has no entries yet.".into(),
            },
            details: summary(verified),
            intact: true,
        },
    }
}

/// How many decisions the history page shows at a time, and how many periods of what was
/// live per environment.
#[cfg(feature = "ssr")]
const HISTORY_PAGE: usize = 50;

#[server(prefix = "/rpc", endpoint = "group_history")]
pub async fn group_history(group: String, page: Option<u32>) -> Result<HistoryView, AppError> {
    use crate::context::{group_name, serve};
    use crate::format::display_time;
    use crate::view_model::{decision_view, reported_drift};
    serve(|portal, _actor| async move {
        let history = portal.services.group_history(&group_name(&group)?).await?;
        let environments = portal
            .services
            .policy()
            .environments()
            .iter()
            .map(|env| {
                let periods: Vec<_> = history
                    .live
                    .iter()
                    .filter(|p| &p.environment == env)
                    .collect();
                EnvironmentHistoryView {
                    environment: env.to_string(),
                    earlier: periods.len().saturating_sub(HISTORY_PAGE),
                    periods: periods
                        .into_iter()
                        .take(HISTORY_PAGE)
                        .map(|p| LivePeriodView {
                            version: p.version.get(),
                            from: display_time(p.from),
                            until: p.until.map(display_time),
                            deployed_by: p.deployed_by.name.clone(),
                        })
                        .collect(),
                }
            })
            .collect();
        // Newest first, a page at a time; the trail is checked for the page's decisions.
        let count = history.decisions.len();
        let pages = count.div_ceil(HISTORY_PAGE).max(1) as u32;
        let page = page.unwrap_or(1).clamp(1, pages);
        let shown: std::collections::BTreeSet<&str> = history
            .decisions
            .iter()
            .rev()
            .skip((page as usize - 1) * HISTORY_PAGE)
            .take(HISTORY_PAGE)
            .map(|d| d.id.as_str())
            .collect();
        let check = portal
            .audit
            .check_page(&history.group, &history.decisions, &shown)
            .await
            .map_err(countersign_domain::service::ServiceError::from)?;
        Ok(HistoryView {
            trail: trail_check_view(&history.group, &check),
            drift: reported_drift(&history.group, &[], &history.drift),
            group,
            environments,
            decision_count: count,
            page,
            pages,
            decisions: check
                .decisions
                .iter()
                .rev()
                .map(|d| DecisionView {
                    disagreement: d.standing.disagreement(),
                    ..decision_view(&d.record, None)
                })
                .collect(),
        })
    })
    .await
}
