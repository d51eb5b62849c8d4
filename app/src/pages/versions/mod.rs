#[cfg(feature = "ssr")]
mod view_model;
pub mod wire;

use crate::components::{ErrorPanel, Loading, Pager, StatePill};
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
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match versions.await {
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    Ok(listing) => {
                        let group = listing.group.clone();
                        let pager = view! {
                            <Pager page=listing.page pages=listing.pages base=crate::routes::group(&group)/>
                        };
                        view! {
                            <Title text=group.clone()/>
                            <p class="crumbs">
                                <a href="/">"Model groups"</a>
                                " / "
                            </p>
                            <h1>{group.clone()}</h1>
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
                                                    <td class="mini-track">
                                                        {v
                                                            .steps
                                                            .into_iter()
                                                            .map(|s| {
                                                                let title = format!("{}: {}", s.environment, s.state);
                                                                view! {
                                                                    <span class="mini-step" title=title>
                                                                        {s.environment}
                                                                        " "
                                                                        <StatePill state=s.state/>
                                                                    </span>
                                                                }
                                                            })
                                                            .collect_view()}
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
                    }
                }
            })}
        </Suspense>
    }
}

/// Versions on one page of a group.
#[cfg(feature = "ssr")]
const VERSIONS_PER_PAGE: u32 = 50;

#[server(prefix = "/rpc", endpoint = "list_versions")]
pub async fn list_versions(group: String, page: u32) -> Result<VersionList, AppError> {
    use crate::context::{group_name, serve};
    use countersign_domain::PageRequest;
    use view_model::version_row;
    serve(|portal, _actor| async move {
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
        Ok(VersionList {
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
    })
    .await
}
