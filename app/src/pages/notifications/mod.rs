pub mod wire;

use crate::components::{
    loaded, outcome_in_browser, refused_in_browser, refused_without_script, ErrorPanel, Pager,
};
use crate::wire::*;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use wire::*;

/// The outbox: every message Countersign queued, how its delivery went, and a way to send
/// again one that was given up. Without an SMTP server, the messages are read here.
#[component]
pub fn NotificationsPage() -> impl IntoView {
    let refused = refused_without_script::<ResendNotification>();
    let query = use_query_map();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1)
    };
    let listing = Resource::new(page, list_notifications);
    view! {
        <Title text="Notifications"/>
        <h1>"Notifications"</h1>
        {refused.map(|error| view! { <ErrorPanel error/> })}
        {loaded(listing, move |view| {
            let note = view
                .outbox_only
                .then(|| {
                    view! {
                        <p class="panel">
                            "No SMTP server is configured (COUNTERSIGN_SMTP_URL), so messages are kept here and in the log instead of being sent."
                        </p>
                    }
                });
            let table = if view.rows.is_empty() {
                view! { <p class="panel">"No messages yet."</p> }.into_any()
            } else {
                view! {
                    <table class="list">
                        <thead>
                            <tr>
                                <th scope="col">"Message"</th>
                                <th scope="col">"To"</th>
                                <th scope="col">"State"</th>
                                <th scope="col">"Attempts"</th>
                                <th scope="col">"Queued"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {view
                                .rows
                                .into_iter()
                                .map(|row| {
                                    let kept = view.outbox_only;
                                    view! { <NotificationLine row kept/> }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            };
            view! {
                {note}
                <p class="muted">{format!("{} messages, the latest first.", view.total)}</p>
                {table}
                <Pager page=view.page pages=view.pages base=crate::routes::NOTIFICATIONS.to_owned()/>
            }
                .into_any()
        })}
    }
}

/// Sends a message again, its fields the server-rendered children. In the browser the outcome
/// shows beside the button.
#[island]
fn ResendForm(children: Children) -> impl IntoView {
    let resend = ServerAction::<ResendNotification>::new();
    let queued = move || {
        outcome_in_browser(*resend)
            .and_then(Result::ok)
            .map(|message| view! { <p class="notice ok" role="status">{message}</p> })
    };
    view! {
        <ActionForm action=resend>
            {children()}
            {queued}
            {refused_in_browser(*resend, "")}
        </ActionForm>
    }
}

#[component]
fn NotificationLine(
    row: NotificationRow,
    /// No SMTP server: a mail "delivered" was kept here, not sent to anyone (a chat message
    /// was posted all the same).
    kept: bool,
) -> impl IntoView {
    let state_text = match row.state {
        DeliveryView::Sent if kept && !row.chat => format!(
            "Kept here, not sent (no SMTP server) {}",
            row.sent.clone().unwrap_or_default()
        ),
        DeliveryView::Sent => format!("Sent {}", row.sent.clone().unwrap_or_default()),
        DeliveryView::GaveUp => "Gave up".to_owned(),
        DeliveryView::Pending => match &row.next_attempt {
            Some(at) if row.attempts > 0 => format!("Retrying at {at}"),
            _ => "Waiting to be sent".to_owned(),
        },
    };
    let error = row
        .last_error
        .clone()
        .map(|e| view! { <div class="muted">{format!("Last error: {e}")}</div> });
    let subject = row.subject.clone();
    let body = row.body.clone().map(|text| {
        view! {
            <details>
                <summary>"Message"</summary>
                <pre class="mail">{text}</pre>
            </details>
        }
    });
    let key = row.key.clone();
    let again = (row.state != DeliveryView::Pending).then(move || {
        let label = format!("Send again: {}", row.subject);
        view! {
            <ResendForm>
                <input type="hidden" name="key" value=key/>
                <button type="submit" aria-label=label>"Send again"</button>
            </ResendForm>
        }
    });
    view! {
        <tr data-key=row.key data-state=row.state.as_str()>
            <td>{subject} {body}</td>
            <td>{row.to.clone()}</td>
            <td>{state_text} {error} {again}</td>
            <td>{row.attempts}</td>
            <td>{row.created.clone()}</td>
        </tr>
    }
}

/// Each message shown costs the AWS backend one read, so a page stays short.
#[cfg(feature = "ssr")]
const NOTIFICATIONS_PER_PAGE: u32 = 50;

#[server(prefix = "/rpc", endpoint = "list_notifications")]
pub async fn list_notifications(page: u32) -> Result<NotificationsView, AppError> {
    use crate::context::serve;
    use crate::format::display_time;
    serve(|portal, actor| async move {
        let desk = &portal.notifications;
        let page = page.max(1);
        let listed = desk
            .notifications
            .recent(
                &actor,
                countersign_domain::PageRequest {
                    offset: u64::from(page - 1) * u64::from(NOTIFICATIONS_PER_PAGE),
                    limit: NOTIFICATIONS_PER_PAGE,
                },
            )
            .await?;
        let rows = listed
            .items
            .into_iter()
            .map(|e| NotificationRow {
                chat: countersign_domain::notification::chat_environment(&e.message.to).is_some(),
                key: e.message.key,
                to: e.message.to.join(", "),
                subject: e.message.subject,
                state: e.state.into(),
                attempts: e.attempts,
                last_error: e.last_error,
                created: display_time(e.created_at),
                sent: e.sent_at.map(display_time),
                next_attempt: e.next_attempt_at.map(display_time),
                body: desk.outbox_only.then_some(e.message.text),
            })
            .collect();
        Ok(NotificationsView {
            rows,
            outbox_only: desk.outbox_only,
            page,
            pages: listed
                .total
                .div_ceil(u64::from(NOTIFICATIONS_PER_PAGE))
                .max(1) as u32,
            total: listed.total,
        })
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "resend_notification")]
pub async fn resend_notification(key: String) -> Result<String, AppError> {
    use crate::context::serve;
    serve(|portal, actor| async move {
        let desk = &portal.notifications;
        desk.notifications.resend(&actor, &key).await?;
        tracing::info!(key = ?key, subject = %actor.person.subject, "notification sent again on request");
        (desk.wake)();
        Ok(format!("{key} is queued to be sent again."))
    })
    .await
}

#[cfg(feature = "ssr")]
impl From<countersign_domain::ports::DeliveryState> for DeliveryView {
    fn from(state: countersign_domain::ports::DeliveryState) -> Self {
        use countersign_domain::ports::DeliveryState;
        match state {
            DeliveryState::Pending => DeliveryView::Pending,
            DeliveryState::Sent => DeliveryView::Sent,
            DeliveryState::GaveUp => DeliveryView::GaveUp,
        }
    }
}
