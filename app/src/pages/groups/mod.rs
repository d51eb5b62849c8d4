pub mod wire;

use crate::components::{loaded, GroupNameFilter};
use crate::wire::*;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use wire::*;

#[component]
pub fn GroupsPage() -> impl IntoView {
    let query = use_query_map();
    let matching = move || query.read().get("q").unwrap_or_default();
    let groups = Resource::new(matching, |text| list_groups(Some(text)));
    view! {
        <Title text="Model groups"/>
        <h1>"Model groups"</h1>
        <GroupNameFilter action=crate::routes::MODELS id="group-filter" value=Signal::derive(matching)/>
        {loaded(groups, move |data| {
            match data {
                listing if listing.groups.is_empty() && !listing.filter.is_empty() => {
                    view! {
                        <p class="panel" role="status">
                            {format!("No model group's name contains {:?}. ", listing.filter)}
                            <a href=crate::routes::MODELS>"Every group"</a>
                        </p>
                    }
                        .into_any()
                }
                listing if listing.groups.is_empty() => {
                    view! {
                        <p class="panel">
                            "No model versions are registered yet. A training pipeline registers one with "
                            <code>"POST /api/v1/models/{group}/versions"</code> "."
                        </p>
                    }
                        .into_any()
                }
                listing => {
                    let summary = if listing.filter.is_empty() {
                        format!("{} groups", listing.groups.len())
                    } else {
                        format!("{} of {} groups", listing.groups.len(), listing.total)
                    };
                    view! {
                        <p class="muted" role="status">{summary}</p>
                        <table class="list">
                            <thead>
                                <tr>
                                    <th scope="col">"Group"</th>
                                    <th scope="col">"Versions"</th>
                                    <th scope="col">"Latest"</th>
                                    <th scope="col">"Registered"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {listing
                                    .groups
                                    .into_iter()
                                    .map(|g| {
                                        let href = crate::routes::group(&g.name);
                                        view! {
                                            <tr>
                                                <td>
                                                    <a href=href>{g.name}</a>
                                                </td>
                                                <td>
                                                    {g
                                                        .version_count
                                                        .map_or_else(|| "—".to_owned(), |n| n.to_string())}
                                                </td>
                                                <td>{g.latest_version}</td>
                                                <td>{g.latest_registered_at}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                        .into_any()
                }
            }
        })}
    }
}

/// The groups whose names contain `filter` (any case; none: every group), by name.
#[server(prefix = "/rpc", endpoint = "list_groups")]
pub async fn list_groups(filter: Option<String>) -> Result<GroupListing, AppError> {
    use crate::context::serve;
    use crate::format::display_time;
    serve(|portal, _actor| async move {
        let groups = portal.services.list_groups().await?;
        let total = groups.len();
        let filter = filter.unwrap_or_default().trim().to_owned();
        let wanted = countersign_domain::model::GroupFilter::new(&filter);
        let groups = groups
            .into_iter()
            .filter(|g| wanted.matches(&g.group))
            .map(|g| GroupRow {
                name: g.group.to_string(),
                version_count: g.version_count,
                latest_version: g.latest_version.map(|v| v.get()),
                latest_registered_at: g.latest_registered_at.map(display_time),
            })
            .collect();
        Ok(GroupListing {
            groups,
            total,
            filter,
        })
    })
    .await
}
