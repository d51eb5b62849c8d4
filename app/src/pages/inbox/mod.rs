//! `/inbox`: every step waiting for the signed-in person's decision, across all groups.

pub mod wire;

use crate::components::{loaded, GroupNameFilter, Pager};
use crate::wire::*;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use wire::*;

/// Metrics the one-line comparison names; the review page shows them all.
const METRICS_IN_A_LINE: usize = 3;

/// Steps a page of the inbox lists, the longest waiting first.
pub const INBOX_PAGE: u32 = 50;

#[component]
pub fn InboxPage() -> impl IntoView {
    let query = use_query_map();
    let asked = move || {
        let query = query.read();
        let page = query.get("page").and_then(|p| p.parse::<u32>().ok());
        (query.get("q").unwrap_or_default(), page.unwrap_or(1))
    };
    let inbox = Resource::new(asked, |(text, page)| inbox(Some(text), Some(page)));
    view! {
        <Title text="Inbox"/>
        {loaded(inbox, |inbox| view! { <InboxView inbox/> })}
    }
}

#[component]
fn InboxView(inbox: InboxListing) -> impl IntoView {
    let count = inbox.total;
    let filter = inbox.filter.clone();
    let pager = view! {
        <Pager page=inbox.page pages=inbox.pages base=crate::routes::matching(crate::routes::INBOX, &filter)/>
    };
    let summary = match (count, filter.is_empty()) {
        (0, true) => "Nothing waits for your decision.".to_owned(),
        (0, false) => format!("No step waiting for your decision is in a group whose name contains {filter:?}."),
        (1, true) => "One step waits for your decision.".to_owned(),
        (1, false) => {
            format!("One step in a group whose name contains {filter:?} waits for your decision.")
        }
        (n, true) => format!("{n} steps wait for your decision, the longest waiting first."),
        (n, false) => format!(
            "{n} steps in groups whose name contains {filter:?} wait for your decision, the longest waiting first."
        ),
    };
    let body = if !inbox.approver {
        view! {
            <p class="panel">
                "You approve no environment, so nothing waits for you here. "
                <a href=crate::routes::MINE>"Your models"</a>
                " shows where the versions you registered stand."
            </p>
        }
        .into_any()
    } else if count == 0 && !filter.is_empty() {
        view! {
            <p class="panel">
                <a href=crate::routes::INBOX>"Everything waiting for you"</a>
            </p>
        }
        .into_any()
    } else if count == 0 {
        view! {
            <p class="panel">
                "When a version needs your signature it appears here, and you get an e-mail. "
                <a href=crate::routes::MODELS>"All model groups"</a>
            </p>
        }
        .into_any()
    } else {
        view! {
            <table class="list inbox">
                <thead>
                    <tr>
                        <th scope="col">"Version"</th>
                        <th scope="col">"Environment"</th>
                        <th scope="col">"Waiting"</th>
                        <th scope="col">"Registered by"</th>
                        <th scope="col">"Compared with what is live"</th>
                    </tr>
                </thead>
                <tbody>{inbox.rows.into_iter().map(|row| view! { <InboxLine row/> }).collect_view()}</tbody>
            </table>
            {pager}
        }
        .into_any()
    };
    view! {
        <h1>"Inbox"</h1>
        <GroupNameFilter action=crate::routes::INBOX id="inbox-filter" value=filter/>
        <p class="muted" data-waiting=count>{summary}</p>
        {body}
    }
}

#[component]
fn InboxLine(row: InboxRow) -> impl IntoView {
    let label = format!("{} version {}", row.group, row.version);
    let waiting = row.waiting;
    let environment = waiting.environment.clone();
    let approvals = waiting
        .approvals
        .map(|a| view! { <span class="muted">{format!(" ({a})")}</span> });
    let disagreements = (!row.disagreements.is_empty()).then(|| {
        let sentences = row.disagreements.into_iter().map(|d| view! { <li>{d}</li> }).collect_view();
        view! {
            <div class="warning" role="alert">
                "The decision log disagrees with the audit trail; the approvals shown are the trail's:"
                <ul>{sentences}</ul>
            </div>
        }
    });
    view! {
        <tr
            data-group=row.group.clone()
            data-version=row.version
            data-environment=environment
        >
            <td>
                <a href=row.review>{label}</a>
            </td>
            <td>{waiting.environment}{approvals}{disagreements}</td>
            <td>
                {waiting.waited}
                <span class="muted">{format!(" (since {})", waiting.since)}</span>
            </td>
            <td>{row.registrant}</td>
            <td>
                <MetricLine live_version=row.live_version metrics=row.metrics/>
            </td>
        </tr>
    }
    .into_any()
}

/// "auc 0.93 vs 0.91 (+0.02, better)" for the first few metrics both versions have.
#[component]
fn MetricLine(live_version: Option<u32>, metrics: Vec<MetricDelta>) -> impl IntoView {
    let Some(live) = live_version else {
        return view! { <span class="muted">"Nothing is live here yet"</span> }.into_any();
    };
    let compared: Vec<MetricDelta> = metrics
        .into_iter()
        .filter(|m| m.change != ChangeView::Unknown)
        .collect();
    if compared.is_empty() {
        return view! { <span class="muted">{format!("No metric in common with version {live}")}</span> }
            .into_any();
    }
    let more = compared.len().saturating_sub(METRICS_IN_A_LINE);
    let items = compared
        .into_iter()
        .take(METRICS_IN_A_LINE)
        .map(|m| {
            let (class, words) = m.change.class_and_words();
            view! {
                <li>
                    {format!("{} {} vs {} ", m.name, m.candidate, m.live)}
                    <span class=class>{format!("({}, {words})", m.difference)}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <span class="muted">{format!("vs version {live}: ")}</span>
        <ul class="metric-line">{items}</ul>
        {(more > 0).then(|| view! { <span class="muted">{format!(" and {more} more")}</span> })}
    }
    .into_any()
}

#[server(prefix = "/rpc", endpoint = "inbox")]
pub async fn inbox(filter: Option<String>, page: Option<u32>) -> Result<InboxListing, AppError> {
    use crate::context::serve;
    use crate::view_model::{metric_deltas, waiting_view};
    use countersign_domain::model::{GroupFilter, PageRequest};
    serve(|portal, actor| async move {
        let services = &portal.services;
        let filter = filter.unwrap_or_default().trim().to_owned();
        let groups = GroupFilter::new(&filter);
        let asked = page.unwrap_or(1).max(1);
        let listed = services
            .inbox_rows(
                &actor,
                &groups,
                PageRequest {
                    offset: u64::from(asked - 1) * u64::from(INBOX_PAGE),
                    limit: INBOX_PAGE,
                },
            )
            .await?;
        let (policy, now) = (services.policy(), services.now());
        let mut attested = attested_steps(&portal.audit, &listed.items).await?;
        let rows = listed
            .items
            .iter()
            .map(|row| {
                let version = &row.record.version;
                let key = (version.group.clone(), version.version);
                let (decisions, disagreements) = attested.remove(&key).unwrap_or_default();
                // The approvals counted are those the trail holds; should the trail say the
                // step waits elsewhere, the log's step is shown, beside the disagreement.
                let from_trail = countersign_domain::workflow::waiting(policy, version, &decisions)
                    .filter(|w| w.environment == row.waiting.environment);
                let waiting = from_trail.as_ref().unwrap_or(&row.waiting);
                InboxRow {
                    group: version.group.to_string(),
                    version: version.version.get(),
                    review: crate::routes::version_at(
                        version.group.as_str(),
                        version.version,
                        waiting.environment.as_str(),
                    ),
                    waiting: waiting_view(policy, waiting, now),
                    registrant: version.registered_by.name.clone(),
                    live_version: row.live.as_ref().map(|v| v.version.get()),
                    metrics: row
                        .live
                        .as_ref()
                        .map(|live| metric_deltas(&version.metrics, &live.metrics))
                        .unwrap_or_default(),
                    disagreements,
                }
            })
            .collect();
        Ok(InboxListing {
            approver: policy.approves_anything(&actor),
            rows,
            total: listed.total,
            page: asked,
            pages: listed.total.div_ceil(u64::from(INBOX_PAGE)).max(1) as u32,
            filter,
        })
    })
    .await
}

/// The decisions of each listed step's version as the trail holds them (a row the trail
/// lacks left out), and what the log says otherwise, a sentence each: the page's decisions
/// read by key beside their entries, so a page costs its own rows.
#[cfg(feature = "ssr")]
async fn attested_steps(
    desk: &countersign_audit::desk::AuditDesk,
    rows: &[countersign_domain::service::InboxRow],
) -> Result<std::collections::BTreeMap<VersionKey, AttestedStep>, AppError> {
    use countersign_audit::desk::Standing;
    let decisions: Vec<_> = rows
        .iter()
        .flat_map(|row| row.record.decisions.iter().cloned())
        .collect();
    let attested = desk
        .attest_across_groups(&decisions)
        .await
        .map_err(countersign_domain::service::ServiceError::from)?;
    let mut steps = std::collections::BTreeMap::<_, AttestedStep>::new();
    for decision in attested {
        let record = decision.record.clone();
        let (held, disagreements) = steps
            .entry((record.group.clone(), record.version))
            .or_default();
        if let Some(alert) = decision.alert() {
            tracing::error!(group = %record.group, disagreement = ?alert, "the decision log and the audit trail disagree");
            disagreements.push(alert);
        }
        if decision.standing != Standing::NotInTrail {
            held.push(record);
        }
    }
    Ok(steps)
}

#[cfg(feature = "ssr")]
type VersionKey = (
    countersign_domain::GroupName,
    countersign_domain::VersionNumber,
);

/// A step's decisions as the trail holds them, and the log's disagreements, a sentence each.
#[cfg(feature = "ssr")]
type AttestedStep = (Vec<countersign_domain::DecisionRecord>, Vec<String>);
