use crate::components::{ErrorPanel, Loading};
use crate::server_fns::sign_in_choices;
use crate::wire::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let return_to = move || query.read().get("return_to").unwrap_or_else(|| "/".into());
    let choices = Resource::new(|| (), |_| sign_in_choices());
    view! {
        <Title text="Sign in"/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match choices.await {
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    Ok(choices) if choices.is_empty() => {
                        view! {
                            <ErrorPanel error=AppError::NotFound(
                                "No sign-in method is configured.".into(),
                            )/>
                        }
                            .into_any()
                    }
                    Ok(choices) => {
                        view! {
                            <section class="panel">
                                <h1>"Development sign-in"</h1>
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
                                                    <form method="post" action="/auth/dev/sign-in">
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
        </Suspense>
    }
}
