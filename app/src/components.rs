//! Pieces shared by several pages.

use crate::wire::AppError;
use crate::wire::*;
use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// The current path and query, to come back to after signing in.
pub fn current_path() -> String {
    let location = use_location();
    let path = location.pathname.get_untracked();
    let query = location.search.get_untracked();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

#[component]
pub fn Header() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    view! {
        <header class="top">
            <a class="brand" href=crate::routes::HOME>
                "Countersign"
            </a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) => {
                            let inbox = user.waiting.map(|waiting| view! { <InboxLink waiting/> });
                            let notifications = user
                                .approver
                                .then(|| view! { <a href=crate::routes::NOTIFICATIONS>"Notifications"</a> });
                            let access = user
                                .audit_reviewer
                                .then(|| view! {
                                    <a href=crate::routes::TRAIL_REVIEW>"Audit review"</a>
                                    <a href=crate::routes::ACCESS_REVIEW>"Access review"</a>
                                });
                            view! {
                                <nav aria-label="Main">
                                    {inbox}
                                    <a href=crate::routes::MINE>"Your models"</a>
                                    <a href=crate::routes::MODELS>"Model groups"</a>
                                    {notifications}
                                    {access}
                                </nav>
                                <div class="who">
                                    <span class="who-name" title=user.email.clone()>
                                        {user.name}
                                    </span>
                                    <span class="who-roles">{user.roles}</span>
                                    <form method="post" action=crate::routes::auth::SIGN_OUT>
                                        <button type="submit" class="link">
                                            "Sign out"
                                        </button>
                                    </form>
                                </div>
                            }
                                .into_any()
                        }
                        _ => {
                            let href = crate::routes::sign_in(&current_path());
                            view! {
                                <nav aria-label="Main">
                                    <a href=crate::routes::MODELS>"Model groups"</a>
                                </nav>
                                <div class="who">
                                    <a href=href>"Sign in"</a>
                                </div>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </header>
    }
}

/// The inbox in the header, with how many steps wait: the count shown, and said in words to
/// screen readers (the visible text stays part of the link's name, WCAG 2.5.3).
#[component]
fn InboxLink(waiting: u32) -> impl IntoView {
    let words = if waiting == 1 {
        " step waiting"
    } else {
        " steps waiting"
    };
    let count_class = if waiting > 0 { "count" } else { "count none" };
    view! {
        <a href=crate::routes::INBOX data-waiting=waiting>
            "Inbox "
            <span class=count_class>{waiting}</span>
            <span class="visually-hidden">{words}</span>
        </a>
    }
}

/// A friendly page-level error, served with the matching HTTP status.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::context::set_page_status(&error);
    let (title, hint) = match &error {
        AppError::SignInRequired => ("Sign in to continue", None),
        AppError::NotFound(_) => (
            "Not found",
            Some("Check the address, or start from the model groups."),
        ),
        AppError::Forbidden(_) => ("Not allowed", None),
        AppError::Unavailable => ("Temporarily unavailable", None),
        _ => ("Something went wrong", None),
    };
    let sign_in = matches!(error, AppError::SignInRequired).then(|| {
        let href = crate::routes::sign_in(&current_path());
        view! {
            <p>
                <a class="button" href=href>
                    "Sign in"
                </a>
            </p>
        }
    });
    view! {
        <leptos_meta::Title text=title/>
        <section class="panel error-panel" role="alert">
            <h1>{title}</h1>
            <p>{error.to_string()}</p>
            {hint.map(|h| view! { <p class="muted">{h}</p> })}
            {sign_in}
        </section>
    }
}

/// Why a form's request was refused, announced as soon as it shows.
#[component]
pub fn Refused(
    /// What was not done, e.g. "Not recorded: ".
    prefix: &'static str,
    error: AppError,
) -> impl IntoView {
    view! { <p class="notice refused" role="alert">{format!("{prefix}{error}")}</p> }
}

/// Why the action `S` that a browser without JavaScript just posted was refused: the server
/// encodes it into the URL it redirects back to, and the page shows it.
pub fn refused_without_script<S>() -> Option<AppError>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    ServerAction::<S>::new()
        .value()
        .get_untracked()
        .and_then(Result::err)
}

/// The outcome of a form's action sent from the browser, once there is one. An island shows
/// only these: an outcome that came back without JavaScript is in the URL, and the
/// server-rendered page shows it; the island starts empty on both sides, so its hydration
/// matches.
pub fn outcome_in_browser<I, O>(
    action: Action<I, Result<O, AppError>>,
) -> Option<Result<O, AppError>>
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    if action.version().get() == 0 {
        return None;
    }
    action.value().get()
}

/// The refusal of a form's action sent from the browser (see [`outcome_in_browser`]).
pub fn refused_in_browser<I, O>(
    action: Action<I, Result<O, AppError>>,
    prefix: &'static str,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    move || {
        outcome_in_browser(action)
            .and_then(Result::err)
            .map(|error| view! { <Refused prefix error/> }.into_any())
    }
}

/// A step or version state as a coloured label.
#[component]
pub fn StatePill(state: StateView) -> impl IntoView {
    let (class, label) = match state {
        StateView::Approved => ("pill approved", "Approved"),
        StateView::Rejected => ("pill rejected", "Rejected"),
        StateView::RolledBack => ("pill rejected", "Rolled back"),
        StateView::PendingManualApproval => ("pill pending", "Pending approval"),
        StateView::NotRequested => ("pill idle", "Not requested"),
    };
    view! { <span class=class data-state=state.as_str()>{label}</span> }
}

/// A version's steps in promotion order, one pill each.
#[component]
pub fn MiniTrack(steps: Vec<StepBadge>) -> impl IntoView {
    view! {
        <span class="mini-track">
            {steps
                .into_iter()
                .map(|s| {
                    view! {
                        <span class="mini-step">
                            {s.environment}
                            " "
                            <StatePill state=s.state/>
                        </span>
                    }
                })
                .collect_view()}
        </span>
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted" aria-busy="true">"Loading…"</p> }
}

/// The data of a page whose address names a version (`/models/{group}/versions/{version}`),
/// read by `read`; not found when the version in the address is no number.
pub fn about_the_version_addressed<T, F, Fut>(read: F) -> Resource<Result<T, AppError>>
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Fn(String, u32) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    let params = leptos_router::hooks::use_params_map();
    Resource::new(
        move || {
            let params = params.read();
            (
                params.get("group").unwrap_or_default(),
                params.get("version").unwrap_or_default(),
            )
        },
        move |(group, version)| async move {
            match version.parse::<u32>() {
                Ok(number) => read(group, number).await,
                Err(_) => Err(AppError::NotFound(format!(
                    "{version:?} is not a version number."
                ))),
            }
        },
    )
}

/// A page's frame: "Loading…" until `data` is read, then `show` with it, or the error
/// panel (with the error's status) when it could not be.
pub fn loaded<T, V>(
    data: Resource<Result<T, AppError>>,
    show: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=Loading>
            {move || {
                let show = show.clone();
                Suspend::new(async move {
                    match data.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(data) => show(data).into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// What the stores hold that the decision log does not explain: shown above everything
/// else, because someone may have changed what runs without a signature.
/// The filter of a list by group name (`?q=`): a plain GET form, so it works without
/// JavaScript and its address can be shared.
#[component]
pub fn GroupNameFilter(
    /// The list's own address.
    action: &'static str,
    /// The field's id, unique on the page.
    id: &'static str,
    /// What the names were asked to contain.
    #[prop(into)]
    value: Signal<String>,
) -> impl IntoView {
    view! {
        <form method="get" action=action class="filter" role="search">
            <label for=id>"Groups whose name contains"</label>
            <input id=id type="search" name="q" value=value/>
            <button type="submit">"Filter"</button>
        </form>
    }
}

#[component]
pub fn DriftWarning(drift: Vec<String>) -> impl IntoView {
    (!drift.is_empty()).then(|| {
        view! {
            <section class="warning drift" role="alert" aria-labelledby="drift-heading">
                <h2 id="drift-heading">"Not explained by the decision log"</h2>
                <p>
                    "These were changed outside Countersign, or a decision has not finished going live. \
                     Decisions follow the log; ask an operator to look before relying on what is live."
                </p>
                <ul>{drift.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul>
            </section>
        }
    })
}

/// Links to the newer and older pages (`base?page=n`) of a list shown newest first;
/// nothing for one page. A page past the last (an old link to a list that shrank) says so
/// and leads to the last.
#[component]
pub fn Pager(page: u32, pages: u32, base: String) -> impl IntoView {
    // An empty list still has its first page.
    let last = pages.max(1);
    let past_the_last = page > last;
    (pages > 1 || past_the_last).then(|| {
        let href = |page: u32| crate::routes::page(&base, page);
        let (previous, where_) = if past_the_last {
            (
                Some((href(last), "Last page")),
                format!("Page {page} is past the last, page {last}"),
            )
        } else {
            (
                (page > 1).then(|| (href(page - 1), "Newer")),
                format!("Page {page} of {pages}"),
            )
        };
        let next = (page < pages).then(|| href(page + 1));
        view! {
            <nav class="pager" aria-label="Pages">
                {previous.map(|(href, label)| view! { <a href=href rel="prev">{label}</a> })}
                <span>{where_}</span>
                {next.map(|href| view! { <a href=href rel="next">"Older"</a> })}
            </nav>
        }
    })
}

#[server(prefix = "/rpc", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    use crate::context::{optional_actor, portal, with_status};
    use crate::view_model::user_view;
    with_status(
        async move {
            let portal = portal()?;
            let Some(actor) = optional_actor(&portal).await? else {
                return Ok(None);
            };
            let policy = portal.services.policy();
            let waiting = if policy.approves_anything(&actor) {
                Some(portal.services.waiting_for(&actor).await? as u32)
            } else {
                None
            };
            Ok(Some(user_view(policy, &actor, waiting)))
        }
        .await,
    )
}

/// The `from` and `to` dates a review page's address carries (empty when absent).
pub fn period_in_query() -> impl Fn() -> (String, String) + Copy + Send + Sync + 'static {
    let query = leptos_router::hooks::use_query_map();
    move || {
        let query = query.read();
        (
            query.get("from").unwrap_or_default(),
            query.get("to").unwrap_or_default(),
        )
    }
}

/// The period a review page shows, as a form sent as a link: no script needed.
#[component]
pub fn PeriodForm(action: &'static str, from: String, to: String) -> impl IntoView {
    view! {
        <form class="filter" method="get" action=action>
            <label for="from">"From"</label>
            <input id="from" name="from" type="date" value=from/>
            <label for="to">"To"</label>
            <input id="to" name="to" type="date" value=to/>
            <button type="submit">"Show"</button>
        </form>
    }
}
