//! The promotion track: each environment's step, the step waiting (who has signed, who is
//! still needed, who was told) and the decision and rollback forms.

use super::wire::*;
use super::DecisionLine;
use crate::components::{refused_in_browser, StatePill};
use crate::pages::signing::PrepareSignature;
use leptos::prelude::*;

/// The step waiting for decisions: for whom and since when, who has signed, who is still
/// needed, who may not, and whether its approvers were told.
#[component]
pub(super) fn WaitingPanel(waiting: WaitingDetail) -> impl IntoView {
    let step = waiting.waiting;
    let signed = if waiting.signed_by.is_empty() {
        "Nobody has approved it yet".to_owned()
    } else {
        format!("Approved so far by {}", waiting.signed_by.join(", "))
    };
    let needed = match waiting.still_needed {
        1 => "1 more approval is needed".to_owned(),
        n => format!("{n} more approvals are needed"),
    };
    let progress = step
        .approvals
        .map_or_else(String::new, |a| format!(" ({a})"));
    let request_class = if waiting.request_failed {
        "warning request"
    } else {
        "muted request"
    };
    view! {
        <section class="panel waiting" aria-labelledby="waiting-heading" data-environment=step.environment.clone()>
            <h2 id="waiting-heading">{format!("Waiting for {}", step.who)}</h2>
            <p>
                {format!("For {} (since {}). {signed}; {needed}{progress}.", step.waited, step.since)}
            </p>
            {waiting.may_not.map(|name| view! {
                <p>{format!("{name} registered this version and may not approve it.")}</p>
            })}
            <p class=request_class>{waiting.request}</p>
            {waiting
                .follow_ups
                .into_iter()
                .map(|(sentence, failed)| {
                    let class = if failed { "warning request" } else { "muted request" };
                    view! { <p class=class>{sentence}</p> }
                })
                .collect_view()}
        </section>
    }
}

/// How a refused decision or rollback begins.
pub(super) const NOT_RECORDED: &str = "Not recorded: ";

/// A decision form (approve or reject, or a rollback), its fields the server-rendered
/// children. In the browser a refused decision is shown without leaving the page, so the
/// reason typed stays; an accepted one leads to the confirmation step.
#[island]
fn DecisionForm(class: String, children: Children) -> impl IntoView {
    let decide = ServerAction::<PrepareSignature>::new();
    view! {
        <ActionForm action=decide attr:class=class>
            {children()}
            {refused_in_browser(*decide, NOT_RECORDED)}
        </ActionForm>
    }
}

#[component]
pub(super) fn Step(step: StepView, group: String, version: u32) -> impl IntoView {
    let env = step.environment.clone();
    let needs = (step.required_approvals > 1).then(|| {
        view! {
            <span class="muted">
                {format!("{} of {} approvals", step.approvals_given, step.required_approvals)}
            </span>
        }
    });
    let rollback_form = step.rollback_offered.then(|| {
        let (env, group) = (env.clone(), group.clone());
        let reason_id = format!("rollback-reason-{env}");
        view! {
            <DecisionForm class="rollback".to_owned()>
                <input type="hidden" name="group" value=group/>
                <input type="hidden" name="version" value=version/>
                <input type="hidden" name="environment" value=env.clone()/>
                <input type="hidden" name="verdict" value="rollback"/>
                <label for=reason_id.clone()>
                    {format!("Why return {env} to version {version}?")}
                </label>
                <textarea id=reason_id name="reason" rows="2" maxlength="2000" required></textarea>
                <div class="actions">
                    <button type="submit" class="reject">
                        {format!("Roll {env} back to version {version}")}
                    </button>
                </div>
            </DecisionForm>
        }
    });
    let live = step
        .live
        .then(|| view! { <span class="pill live">"Live"</span> });
    let form = step.decidable.then(|| {
        let reason_id = format!("reason-{env}");
        let meaning_id = format!("meaning-{env}");
        let placeholder = if step.reason_required {
            format!("Required for every decision in {env}")
        } else {
            "Required to reject; recorded with an approval".to_owned()
        };
        // What the signature will mean: said outright when each verdict has one meaning,
        // chosen when the policy offers more (a meaning for the other verdict is refused).
        let (approve_meanings, reject_meanings) =
            (step.approve_meanings.clone(), step.reject_meanings.clone());
        let meaning = if approve_meanings.len() <= 1 && reject_meanings.len() <= 1 {
            view! {
                <p class="muted signing-means">
                    {format!(
                        "Your signature means \u{201c}{}\u{201d} if you approve, \u{201c}{}\u{201d} if you reject.",
                        approve_meanings.first().cloned().unwrap_or_default(),
                        reject_meanings.first().cloned().unwrap_or_default()
                    )}
                </p>
            }
            .into_any()
        } else {
            let options = |meanings: Vec<String>| {
                meanings
                    .into_iter()
                    .map(|m| {
                        let value = m.clone();
                        view! { <option value=value>{m}</option> }
                    })
                    .collect_view()
            };
            view! {
                <label for=meaning_id.clone()>"Meaning of your signature"</label>
                <select id=meaning_id name="meaning">
                    <option value="">"The first meaning of the verdict you choose"</option>
                    <optgroup label="If you approve">{options(approve_meanings)}</optgroup>
                    <optgroup label="If you reject">{options(reject_meanings)}</optgroup>
                </select>
            }
            .into_any()
        };
        view! {
            <DecisionForm class="decision".to_owned()>
                <input type="hidden" name="group" value=group/>
                <input type="hidden" name="version" value=version/>
                <input type="hidden" name="environment" value=env.clone()/>
                <label for=reason_id.clone()>{format!("Reason for {env}")}</label>
                <textarea
                    id=reason_id
                    name="reason"
                    rows="2"
                    maxlength="2000"
                    placeholder=placeholder
                ></textarea>
                {meaning}
                <div class="actions">
                    <button type="submit" name="verdict" value="approve" class="approve">
                        {format!("Approve {env}")}
                    </button>
                    <button type="submit" name="verdict" value="reject" class="reject">
                        {format!("Reject {env}")}
                    </button>
                </div>
            </DecisionForm>
        }
    });
    view! {
        <li class="step" data-environment=step.environment.clone() data-state=step.state.as_str()>
            <div class="step-head">
                <strong class="env">{step.environment.clone()}</strong>
                <StatePill state=step.state/>
                {live}
                {needs}
            </div>
            <ul class="step-decisions">
                {step
                    .decisions
                    .into_iter()
                    .map(|d| view! { <li><DecisionLine decision=d/></li> })
                    .collect_view()}
            </ul>
            {form}
            {rollback_form}
        </li>
    }
}
