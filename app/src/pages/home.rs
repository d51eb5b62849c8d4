//! `/`: leads an approver to their inbox and anyone else to their models.

use crate::components::loaded;
use crate::wire::*;
use leptos::prelude::*;
use leptos_router::components::Redirect;

#[component]
pub fn HomePage() -> impl IntoView {
    let destination = Resource::new(|| (), |_| home());
    view! {
        {loaded(destination, move |path| {
            view! {
                <Redirect path=path.clone()/>
                <p>
                    <a href=path>"Continue"</a>
                </p>
            }
                .into_any()
        })}
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
