pub mod wire;

use crate::components::{ErrorPanel, Loading};
use crate::wire::*;
use leptos::prelude::*;
use leptos_meta::Title;
use wire::*;

#[component]
pub fn GroupsPage() -> impl IntoView {
    let groups = Resource::new(|| (), |_| list_groups());
    view! {
        <Title text="Model groups"/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match groups.await {
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    Ok(groups) if groups.is_empty() => {
                        view! {
                            <h1>"Model groups"</h1>
                            <p class="panel">
                                "No model versions are registered yet. A training pipeline registers one with "
                                <code>"POST /api/v1/models/{group}/versions"</code> "."
                            </p>
                        }
                            .into_any()
                    }
                    Ok(groups) => {
                        view! {
                            <h1>"Model groups"</h1>
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
                                    {groups
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
        </Suspense>
    }
}

#[server(prefix = "/rpc", endpoint = "list_groups")]
pub async fn list_groups() -> Result<Vec<GroupRow>, AppError> {
    use crate::context::serve;
    use crate::format::display_time;
    serve(|portal, _actor| async move {
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
    })
    .await
}
