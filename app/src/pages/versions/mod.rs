#[cfg(feature = "ssr")]
mod view_model;
pub mod wire;

use crate::components::{loaded, DriftWarning, MiniTrack, Pager, StatePill};
use crate::wire::*;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use wire::*;

#[component]
pub fn VersionsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let versions = Resource::new(
        move || {
            let group = params.read().get("group").unwrap_or_default();
            let page = query
                .read()
                .get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1);
            (group, page)
        },
        |(group, page)| list_versions(group, page),
    );
    view! {
        {loaded(versions, move |listing| {
            let group = listing.group.clone();
            let pager = view! {
                <Pager page=listing.page pages=listing.pages base=crate::routes::group(&group)/>
            };
            view! {
                <Title text=group.clone()/>
                <p class="crumbs">
                    <a href=crate::routes::MODELS>"Model groups"</a>
                    " / "
                </p>
                <h1>{group.clone()}</h1>
                <DriftWarning drift=listing.drift/>
                <LiveNow group=group.clone() live=listing.live/>
                <p>
                    <a href=crate::routes::history(&group)>
                        "History: what was live where, every decision, exports"
                    </a>
                </p>
                <p class="muted">{format!("{} versions, newest first", listing.total)}</p>
                <table class="list">
                    <thead>
                        <tr>
                            <th scope="col">"Version"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Promotion"</th>
                            <th scope="col">"Registered by"</th>
                            <th scope="col">"Registered"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {listing
                            .versions
                            .into_iter()
                            .map(|v| {
                                let href = crate::routes::version(&group, v.version);
                                view! {
                                    <tr>
                                        <td>
                                            <a href=href>{format!("Version {}", v.version)}</a>
                                        </td>
                                        <td>
                                            <StatePill state=v.status/>
                                        </td>
                                        <td>
                                            <MiniTrack steps=v.steps/>
                                        </td>
                                        <td>{v.registered_by}</td>
                                        <td>{v.registered_at}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
                {pager}
            }
                .into_any()
        })}
    }
}

/// Which version is live in each environment, and since when.
#[component]
fn LiveNow(group: String, live: Vec<LiveInEnvironment>) -> impl IntoView {
    view! {
        <section aria-labelledby="live-heading">
            <h2 id="live-heading">"Live now"</h2>
            <ul class="live-now">
                {live
                    .into_iter()
                    .map(|env| {
                        let what = match env.live {
                            Some((version, since)) => {
                                view! {
                                    <a href=crate::routes::version(&group, version)>{format!("Version {version}")}</a>
                                    <span class="muted">{format!(" since {since}")}</span>
                                }
                                    .into_any()
                            }
                            None => view! { <span class="muted">"Nothing live"</span> }.into_any(),
                        };
                        let name = env.environment;
                        let attribute = name.clone();
                        view! {
                            <li data-environment=attribute>
                                <strong>{name}</strong>
                                ": "
                                {what}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// Versions on one page of a group.
#[cfg(feature = "ssr")]
const VERSIONS_PER_PAGE: u32 = 50;

#[server(prefix = "/rpc", endpoint = "list_versions")]
pub async fn list_versions(group: String, page: u32) -> Result<VersionList, AppError> {
    use crate::context::{group_name, serve};
    use crate::format::display_time;
    use crate::view_model::reported_drift;
    use countersign_domain::PageRequest;
    use view_model::version_row;
    serve(|portal, _actor| async move {
        let group = group_name(&group)?;
        let page = page.max(1);
        let found = portal
            .services
            .group_versions(
                &group,
                PageRequest {
                    offset: u64::from(page - 1) * u64::from(VERSIONS_PER_PAGE),
                    limit: VERSIONS_PER_PAGE,
                },
            )
            .await?;
        let (listed, state) = (&found.page, &found.live);
        let policy = portal.services.policy();
        let live = policy
            .environments()
            .iter()
            .map(|env| LiveInEnvironment {
                environment: env.to_string(),
                live: state
                    .versions
                    .get(env)
                    .map(|live| (live.version.get(), display_time(live.since))),
            })
            .collect();
        Ok(VersionList {
            group: group.to_string(),
            live,
            drift: reported_drift(&group, &[], &state.drift),
            versions: listed
                .items
                .iter()
                .map(|v| version_row(policy, v))
                .collect(),
            page,
            pages: listed.total.div_ceil(u64::from(VERSIONS_PER_PAGE)) as u32,
            total: listed.total,
        })
    })
    .await
}
