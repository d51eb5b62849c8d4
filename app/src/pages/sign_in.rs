use crate::components::loaded;
use crate::wire::SignInMethod;
use crate::wire::*;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let return_to = move || query.read().get("return_to").unwrap_or_else(|| "/".into());
    // Sent here by a signature that needs a fresh sign-in: the identity chosen now is the
    // authentication the signature records.
    let again = move || query.read().get("again").is_some();
    let method = Resource::new(|| (), |_| how_to_sign_in());
    view! {
        <Title text="Sign in"/>
        {loaded(method, move |data| {
            match data {
                SignInMethod::SingleSignOn => {
                    view! {
                        <section class="panel">
                            <h1>"Sign in"</h1>
                            <p>"Countersign uses your organisation's account."</p>
                            <form method="get" action=crate::routes::auth::LOGIN>
                                <input type="hidden" name="return_to" value=return_to/>
                                <button type="submit" class="approve">
                                    "Sign in with your organisation's account"
                                </button>
                            </form>
                        </section>
                    }
                        .into_any()
                }
                SignInMethod::Development { choices } => {
                    view! {
                        <section class="panel">
                            <h1>
                                {move || if again() { "Sign in again to sign" } else { "Development sign-in" }}
                            </h1>
                            {move || again().then(|| view! {
                                <p role="status">
                                    "Your signature needs a fresh sign-in. Choose your identity again: the decision you confirmed is signed when you do."
                                </p>
                            })}
                            <p class="warning">
                                "This is the development sign-in of the embedded store: anyone who can reach this
                                loopback address can choose any identity below. Corporate SSO replaces it in production."
                            </p>
                            <ul class="choices">
                                {choices
                                    .into_iter()
                                    .map(|choice| {
                                        view! {
                                            <li>
                                                <form method="post" action=crate::routes::auth::DEV_SIGN_IN>
                                                    <input type="hidden" name="subject" value=choice.subject/>
                                                    <input type="hidden" name="return_to" value=return_to/>
                                                    <button type="submit">{format!("Sign in as {}", choice.name)}</button>
                                                    <span class="muted">{choice.description}</span>
                                                </form>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        </section>
                    }
                        .into_any()
                }
            }
        })}
    }
}

#[server(prefix = "/rpc", endpoint = "how_to_sign_in")]
pub async fn how_to_sign_in() -> Result<SignInMethod, AppError> {
    use crate::context::{portal, with_status};
    with_status(async move { Ok(portal()?.authenticator.sign_in_method()) }.await)
}
