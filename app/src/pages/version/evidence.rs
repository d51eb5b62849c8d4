//! The review page's evidence: the candidate's metrics and runs beside what is live where
//! it waits, what changed, and each metric over the group's recent versions.

use super::wire::*;
use crate::wire::RunSummary;
use leptos::prelude::*;

#[component]
pub(super) fn MetricsTable(metrics: Vec<(String, String)>) -> impl IntoView {
    view! {
        <table class="metrics">
            <tbody>
                {metrics
                    .into_iter()
                    .map(|(name, value)| view! {
                        <tr>
                            <th scope="row">{name}</th>
                            <td>{value}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub(super) fn Report(report: ReportView) -> impl IntoView {
    view! {
        <article class="report" data-environment=report.environment.clone()>
            <p>
                <strong>{format!("Run {} in {}", report.run_id, report.environment)}</strong>
                <span class="muted">
                    {format!(
                        " {} to {}, {} samples, reported by {}",
                        report.started_at,
                        report.finished_at,
                        report.sample_count,
                        report.reported_by,
                    )}
                </span>
            </p>
            <MetricsTable metrics=report.metrics/>
            {report.artifacts_url.map(|url| view! {
                <p>"Artifacts: " <code>{url}</code></p>
            })}
        </article>
    }
}

/// The candidate beside what is live where it waits: metrics, runs, what changed, charts.
#[component]
pub(super) fn EvidencePanel(evidence: Evidence) -> impl IntoView {
    let environment = evidence.environment.clone();
    let heading = format!("Compared with what is live in {environment}");
    let Some(live) = evidence.live_version else {
        return view! {
            <section class="panel evidence" aria-labelledby="evidence-heading">
                <h2 id="evidence-heading">{heading}</h2>
                <p>{format!("Nothing is live in {environment} yet: this version would be the first.")}</p>
                <Charts charts=evidence.charts/>
            </section>
        }
        .into_any();
    };
    let live_label = format!("Version {live} (live)");
    let metrics = (!evidence.metrics.is_empty()).then(|| {
        let rows = evidence
            .metrics
            .into_iter()
            .map(|m| {
                let (class, words) = m.change.class_and_words();
                let difference = if m.difference.is_empty() {
                    words.to_owned()
                } else {
                    format!("{} ({words})", m.difference)
                };
                view! {
                    <tr>
                        <th scope="row">{m.name}</th>
                        <td>{m.candidate}</td>
                        <td>{m.live}</td>
                        <td class=class>{difference}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="list compare">
                <caption>{format!("Registered metrics: this version beside version {live}")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Metric"</th>
                        <th scope="col">"This version"</th>
                        <th scope="col">{live_label.clone()}</th>
                        <th scope="col">"Difference"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
    });
    let run_line = |who: String, run: Option<RunSummary>| {
        run.map(|run| {
            let metrics = run.metrics_line();
            view! {
                <p>
                    {format!("{who}'s newest run in {}: {metrics} ", run.environment)}
                    <span class="muted">{format!("(run {}, finished {})", run.run_id, run.finished_at)}</span>
                </p>
            }
        })
    };
    let runs = (
        run_line("This version".to_owned(), evidence.candidate_run),
        run_line(format!("Version {live}"), evidence.live_run),
    );
    let changed = evidence.changes.iter().filter(|c| c.changed).count();
    let compared = evidence.changes.len();
    let changes = evidence
        .changes
        .into_iter()
        .map(|c| {
            let (class, status) = if c.changed {
                ("changed", "changed")
            } else {
                ("", "same")
            };
            view! {
                <tr class=class>
                    <th scope="row">{c.field}</th>
                    <td><code>{c.live}</code></td>
                    <td><code>{c.candidate}</code></td>
                    <td>{status}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel evidence" aria-labelledby="evidence-heading">
            <h2 id="evidence-heading">{heading}</h2>
            {metrics}
            {runs}
            <table class="list diff">
                <caption>{format!("What changed from version {live}: {changed} of {compared}")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Field"</th>
                        <th scope="col">{live_label}</th>
                        <th scope="col">"This version"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>{changes}</tbody>
            </table>
            <Charts charts=evidence.charts/>
        </section>
    }
    .into_any()
}

/// Each metric over the group's recent versions.
#[component]
fn Charts(charts: Vec<MetricChart>) -> impl IntoView {
    (!charts.is_empty()).then(|| {
        view! {
            <h3>"Over recent versions"</h3>
            <p class="muted">"Large dots: this version (filled) and the live one (ringed)."</p>
            <ul class="charts">
                {charts
                    .into_iter()
                    .map(|chart| {
                        view! {
                            <li>
                                <span class="chart-name">{chart.name}</span>
                                <div class="chart" inner_html=chart.svg></div>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    })
}
