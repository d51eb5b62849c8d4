//! The Countersign portal: the pages people see, and the server functions behind them.
//!
//! Compiled twice: with `ssr` into the server (rendering pages, running server functions),
//! and with `hydrate` to WASM for the browser. The pages are islands of interactivity in
//! server-rendered HTML: only `#[island]` components (the decision, signing and resend forms,
//! a signature's local time) run in the browser, so only they and the server functions they
//! call reach the WASM; every page works without it. Each page's module holds its view and the
//! server functions behind it; what those share on the server (`context`, `format`,
//! `view_model`) is compiled with `ssr` only, so the WASM build never links the store,
//! tokio or any cloud client.

#[cfg(feature = "ssr")]
pub mod chart;
pub mod components;
#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod format;
pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod view_model;
pub mod wire;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/countersign.css"/>
        <Title formatter=|text| format!("{text} · Countersign")/>
        <Router>
            <components::Header/>
            <main>
                <Routes fallback=|| view! { <pages::NotFound/> }>
                    <Route path=path!("/") view=pages::HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/inbox") view=pages::InboxPage ssr=SsrMode::Async/>
                    <Route path=path!("/mine") view=pages::MinePage ssr=SsrMode::Async/>
                    <Route path=path!("/models") view=pages::GroupsPage ssr=SsrMode::Async/>
                    <Route path=path!("/models/:group") view=pages::VersionsPage ssr=SsrMode::Async/>
                    <Route
                        path=path!("/models/:group/history")
                        view=pages::HistoryPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/models/:group/versions/:version")
                        view=pages::VersionPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/models/:group/versions/:version/record")
                        view=pages::SignedRecordPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/models/:group/versions/:version/sign")
                        view=pages::SigningPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/reviews/trail")
                        view=pages::TrailReviewPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/reviews/access")
                        view=pages::AccessReviewPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/sign-in") view=pages::SignInPage ssr=SsrMode::Async/>
                    <Route
                        path=path!("/notifications")
                        view=pages::NotificationsPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the browser console in debug builds; release builds abort quietly.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // Lets end-to-end tests (and curious people) tell a hydrated page from a server-rendered
    // one. The islands are hydrated by the loader script right after this function returns,
    // in microtasks: a zero timeout runs after all of them.
    set_timeout(
        || {
            if let Some(body) = document().body() {
                let _ = body.set_attribute("data-hydrated", "true");
            }
        },
        std::time::Duration::ZERO,
    );
}
