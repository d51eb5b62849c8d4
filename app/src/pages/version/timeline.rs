//! The version's timeline: each decision with who, when (in UTC and the viewer's own time)
//! and why, and what happened outside the portal.

use super::wire::*;
use crate::wire::{DecisionView, VerdictView};
use leptos::prelude::*;

#[component]
pub(super) fn TimelineLine(entry: TimelineEntry) -> impl IntoView {
    match entry {
        TimelineEntry::Registered { by, at } => {
            view! { <span>{format!("Registered by {by} on {at}")}</span> }.into_any()
        }
        TimelineEntry::Decided(decision) => view! { <DecisionLine decision/> }.into_any(),
        TimelineEntry::Reported {
            environment,
            run_id,
            at,
        } => view! {
            <span>{format!("Run {run_id} in {environment} reported on {at}")}</span>
        }
        .into_any(),
        TimelineEntry::Attempted {
            by,
            environment,
            verdict,
            what,
            at,
        } => view! {
            <span class="attempt">
                {format!("Signature ({verdict} {environment}) by {by} not made on {at}: {what}")}
            </span>
        }
        .into_any(),
    }
}

#[component]
pub(crate) fn DecisionLine(decision: DecisionView) -> impl IntoView {
    let action = match (decision.verdict, decision.rollback_to) {
        (VerdictView::Approve, _) => format!("Approved {}", decision.environment),
        (VerdictView::Rollback, Some(to)) => {
            format!("Rolled back {} to version {to}", decision.environment)
        }
        (VerdictView::Rollback, None) => format!("Rolled back {}", decision.environment),
        (VerdictView::Reject, _) => format!("Rejected {}", decision.environment),
    };
    view! {
        <span class="decision">
            <span class="verb">{format!("{action} by ")}</span>
            <span class="by" title=decision.decided_by_email>{decision.decided_by}</span>
            <span class="muted">{format!(" on {}", decision.decided_at)}</span>
            {decision.reason.map(|r| view! { <q class="reason">{r}</q> })}
            {decision
                .disagreement
                .map(|how| view! { <strong class="mismatch">{format!(" · shown as the audit trail holds it: {how}")}</strong> })}
            {decision.signature.map(|signature| {
                let short = signature.record_digest.chars().take(12).collect::<String>();
                let mismatch = (!signature.still_binds)
                    .then(|| view! { <strong class="mismatch">" · no longer matches the registry entry"</strong> });
                view! {
                    <span class="signature">
                        "Signed: "
                        <span class="meaning">{signature.meaning}</span>
                        " · record "
                        <code title=signature.record_digest.clone() data-record-digest=signature.record_digest>
                            {short}
                        </code>
                        " · "
                        <SignedAt utc=signature.signed_at_utc shown=decision.decided_at.clone()/>
                        {mismatch}
                    </span>
                }
                // Erased: the history page nests this line deep enough to exhaust the
                // compiler's type recursion.
                .into_any()
            })}
        </span>
    }
}

/// When a signature was made: UTC as recorded, and (once the page runs its script) the
/// viewer's local time beside it (21 CFR 11.50).
#[component]
fn SignedAt(
    /// RFC 3339, UTC.
    utc: String,
    /// The same moment as the page shows times.
    shown: String,
) -> impl IntoView {
    view! {
        <time datetime=utc.clone()>{shown}</time>
        <LocalTime utc/>
    }
}

/// A moment in the viewer's own time zone, which only the browser knows.
#[island]
fn LocalTime(
    /// RFC 3339.
    utc: String,
) -> impl IntoView {
    let local = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&utc));
        if !date.get_time().is_nan() {
            let text = date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED);
            local.set(Some(String::from(text)));
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = utc;
    move || {
        local
            .get()
            .map(|time| view! { <span class="local-time">{format!(" (your time: {time})")}</span> })
    }
}
