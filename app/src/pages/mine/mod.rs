//! `/mine`: where the versions the signed-in person registered stand.

pub mod wire;

use crate::components::{loaded, MiniTrack};
use crate::wire::*;
use leptos::prelude::*;
use leptos_meta::Title;
use wire::*;

/// The newest versions the page lists.
#[cfg(feature = "ssr")]
const NEWEST: u32 = 50;

#[component]
pub fn MinePage() -> impl IntoView {
    let mine = Resource::new(|| (), |_| my_versions());
    view! {
        <Title text="Your models"/>
        <h1>"Your models"</h1>
        {loaded(mine, move |data| {
            match data {
                mine if mine.versions.is_empty() => {
                    view! {
                        <p class="panel">
                            "No version registered by you yet. A training pipeline registers one with "
                            <code>"POST /api/v1/models/{group}/versions"</code>
                            ", naming you as "
                            <code>"registered_by"</code>
                            ". "
                            <a href=crate::routes::MODELS>"All model groups"</a>
                        </p>
                    }
                        .into_any()
                }
                mine => view! { <MineView mine/> }.into_any(),
            }
        })}
    }
}

#[component]
fn MineView(mine: MyVersionList) -> impl IntoView {
    let shown = mine.versions.len();
    let summary = if shown as u32 >= mine.limit {
        format!("Your newest {shown} versions, newest first.")
    } else {
        format!("{shown} versions registered by you, newest first.")
    };
    view! {
        <p class="muted">{summary}</p>
        <table class="list mine">
            <thead>
                <tr>
                    <th scope="col">"Version"</th>
                    <th scope="col">"Promotion"</th>
                    <th scope="col">"Waiting for"</th>
                    <th scope="col">"Latest runs"</th>
                </tr>
            </thead>
            <tbody>{mine.versions.into_iter().map(|version| view! { <MineLine version/> }).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn MineLine(version: MyVersion) -> impl IntoView {
    let href = crate::routes::version(&version.group, version.version);
    let label = format!("{} version {}", version.group, version.version);
    let waiting = match version.waiting {
        Some(waiting) => {
            let approvals = waiting.approvals.map(|a| format!(", {a}"));
            view! {
                <span>{waiting.who}</span>
                <span class="muted">
                    {format!(" for {} (since {}){}", waiting.waited, waiting.since, approvals.unwrap_or_default())}
                </span>
            }
                .into_any()
        }
        None => view! { <span class="muted">"Nobody: no step waits"</span> }.into_any(),
    };
    let runs = if version.runs.is_empty() {
        view! { <span class="muted">"No run reported"</span> }.into_any()
    } else {
        view! {
            <ul class="runs">
                {version
                    .runs
                    .into_iter()
                    .map(|run| {
                        let metrics = run.metrics_line();
                        view! {
                            <li>
                                <strong>{run.environment}</strong>
                                {format!(": {metrics} ")}
                                <span class="muted">{format!("(run {}, {})", run.run_id, run.finished_at)}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
            .into_any()
    };
    view! {
        <tr data-group=version.group.clone() data-version=version.version>
            <td>
                <a href=href>{label}</a>
                <br/>
                <span class="muted">{format!("registered {}", version.registered_at)}</span>
            </td>
            <td>
                <MiniTrack steps=version.steps/>
            </td>
            <td>{waiting}</td>
            <td>{runs}</td>
        </tr>
    }
    .into_any()
}

#[server(prefix = "/rpc", endpoint = "my_versions")]
pub async fn my_versions() -> Result<MyVersionList, AppError> {
    use crate::context::serve;
    use crate::format::display_time;
    use crate::view_model::{run_summary, step_badges, waiting_view};
    use countersign_domain::report::newest_report;
    use countersign_domain::workflow;
    serve(|portal, actor| async move {
        let services = &portal.services;
        let registered = services.my_versions(&actor.person, NEWEST).await?;
        let (policy, now) = (services.policy(), services.now());
        let versions = registered
            .iter()
            .map(|registered| {
                let (version, reports) = (&registered.record.version, &registered.reports);
                MyVersion {
                    group: version.group.to_string(),
                    version: version.version.get(),
                    registered_at: display_time(version.registered_at),
                    steps: step_badges(policy, version),
                    waiting: workflow::waiting(policy, version, &registered.record.decisions)
                        .map(|waiting| waiting_view(policy, &waiting, now)),
                    runs: policy
                        .environments()
                        .iter()
                        .filter_map(|env| newest_report(reports, env, env))
                        .map(run_summary)
                        .collect(),
                }
            })
            .collect();
        Ok(MyVersionList {
            versions,
            limit: NEWEST,
        })
    })
    .await
}
