//! `/`: leads an approver to their inbox and anyone else to their models.

use crate::components::{ErrorPanel, Loading};
use crate::wire::*;
use leptos::prelude::*;
use leptos_router::components::Redirect;

#[component]
pub fn HomePage() -> impl IntoView {
    let destination = Resource::new(|| (), |_| home());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match destination.await {
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    Ok(path) => {
                        view! {
                            <Redirect path=path.clone()/>
                            <p>
                                <a href=path>"Continue"</a>
                            </p>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Where the signed-in person's home is.
#[server(prefix = "/rpc", endpoint = "home")]
pub async fn home() -> Result<String, AppError> {
    use crate::context::serve;
    serve(|portal, actor| async move {
        Ok(if portal.services.policy().approves_anything(&actor) {
            crate::routes::INBOX
        } else {
            crate::routes::MINE
        }
        .to_owned())
    })
    .await
}
