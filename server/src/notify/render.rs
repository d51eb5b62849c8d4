//! A notice as a message: subject, plain text and HTML, and who receives it. Pure: the
//! tests read the texts whole.

use countersign_app::format::display_time;
use countersign_domain::notification::LiveComparison;
use countersign_domain::ports::*;
use countersign_domain::*;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::collections::BTreeMap;
use std::fmt::Write;
use time::OffsetDateTime;

/// The review page, opened at the environment to decide. Opening it decides nothing (mail
/// scanners open every link).
pub fn review_link(public_url: &str, version: &ModelVersion, environment: &Environment) -> String {
    format!(
        "{public_url}{}",
        countersign_app::routes::version_at(
            version.group.as_str(),
            version.version,
            environment.as_str()
        )
    )
}

/// Who receives what, per environment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recipients {
    /// Environments with an incoming webhook (`COUNTERSIGN_WEBHOOK_URL_<ENV>`): their
    /// approvers' channel hears of each request and reminder too.
    pub chat: std::collections::BTreeSet<String>,
    /// Told when a version waits for the environment (`COUNTERSIGN_NOTIFY_<ENV>`).
    pub notify: BTreeMap<String, Vec<String>>,
    /// Told when a step there waits too long (`COUNTERSIGN_ESCALATE_TO_<ENV>`).
    pub escalate_to: BTreeMap<String, Vec<String>>,
}

impl Recipients {
    /// Only `notify`: nobody to escalate to.
    pub fn notifying(notify: BTreeMap<String, Vec<String>>) -> Self {
        Self {
            notify,
            ..Self::default()
        }
    }

    fn of(map: &BTreeMap<String, Vec<String>>, environment: &Environment) -> Vec<String> {
        map.get(environment.as_str()).cloned().unwrap_or_default()
    }
}

/// Subject, plain text and HTML for a notice, and who receives it.
pub fn render(notice: &Notice, public_url: &str, recipients: &Recipients) -> OutgoingMessage {
    let notify = &recipients.notify;
    match notice {
        Notice::ApprovalRequested {
            version,
            environment,
        } => {
            let link = review_link(public_url, version, environment);
            let by = &version.registered_by;
            let facts = version_facts(version);
            let subject = format!(
                "[Countersign] {} version {} awaits approval for {environment}",
                version.group, version.version
            );
            let intro = format!(
                "{} ({}) registered version {} of {} on {}. It waits for an approver of {environment}.",
                by.name,
                by.email,
                version.version,
                version.group,
                display_time(version.registered_at)
            );
            let rows: Vec<Vec<String>> = facts
                .into_iter()
                .map(|(label, value)| vec![label.to_owned(), value])
                .collect();
            let (plain_table, html_table) = table(None, &rows);
            let plain =
                format!("{intro}\n\n{plain_table}\nReview it: {link}\n\n{LINK_DECIDES_NOTHING}\n");
            let html = format!(
                "<p>{}</p>\n{html_table}<p><a href=\"{}\">Review version {} of {}</a></p>\n<p>{LINK_DECIDES_NOTHING}</p>\n",
                text(&intro),
                attr(&link),
                version.version,
                text(version.group.as_str())
            );
            OutgoingMessage {
                key: notice.key(),
                to: Recipients::of(notify, environment),
                subject,
                text: plain,
                html,
            }
        }
        Notice::PromotionRequested {
            version,
            target,
            report,
            live,
        } => {
            let link = review_link(public_url, version, target);
            let subject = format!(
                "[Countersign] {} version {} ran in {}: promote it to {target}?",
                version.group, version.version, report.environment
            );
            let intro = format!(
                "Version {} of {} ran in {} (run {}, {} samples, finished {}). It waits for an approver of {target} to promote it.",
                version.version,
                version.group,
                report.environment,
                report.run_id,
                report.sample_count,
                display_time(report.finished_at)
            );
            let candidate = format!("v{} in {}", version.version, report.environment);
            let (live_column, live_metrics, live_note) = match live.as_deref() {
                None => (None, None, format!("Nothing is live in {target} yet.")),
                Some(LiveComparison {
                    deployment,
                    report: None,
                }) => (
                    None,
                    None,
                    format!(
                        "Version {} is live in {target}; it has no report to compare with.",
                        deployment.version
                    ),
                ),
                Some(LiveComparison {
                    deployment,
                    report: Some(live_report),
                }) => (
                    Some(format!(
                        "v{} (live in {target}) in {}",
                        deployment.version, live_report.environment
                    )),
                    Some(&live_report.metrics),
                    format!("Version {} is live in {target}.", deployment.version),
                ),
            };
            let mut header = vec!["Metric".to_owned(), candidate];
            header.extend(live_column);
            let names: std::collections::BTreeSet<&String> = report
                .metrics
                .keys()
                .chain(live_metrics.into_iter().flat_map(|m| m.keys()))
                .collect();
            let figure = |metrics: &Metrics, name: &String| {
                metrics
                    .get(name)
                    .map_or_else(|| "–".to_owned(), f64::to_string)
            };
            let rows: Vec<Vec<String>> = names
                .into_iter()
                .map(|name| {
                    let mut row = vec![name.clone(), figure(&report.metrics, name)];
                    row.extend(live_metrics.map(|m| figure(m, name)));
                    row
                })
                .collect();
            let (plain_table, html_table) = table(Some(&header), &rows);
            let artifacts = report
                .artifacts_url
                .as_ref()
                .map(|url| format!("Run artifacts: {}", inert(url)))
                .unwrap_or_default();
            let plain = format!(
                "{intro}\n{live_note}\n\n{plain_table}{artifacts}\n\nReview it: {link}\n\n{LINK_DECIDES_NOTHING}\n"
            );
            let html = format!(
                "<p>{}</p>\n<p>{}</p>\n{html_table}<p>{}</p>\n<p><a href=\"{}\">Review version {} of {}</a></p>\n<p>{LINK_DECIDES_NOTHING}</p>\n",
                text(&intro),
                text(&live_note),
                text(&artifacts),
                attr(&link),
                version.version,
                text(version.group.as_str())
            );
            OutgoingMessage {
                key: notice.key(),
                to: Recipients::of(notify, target),
                subject,
                text: plain,
                html,
            }
        }
        Notice::Reminder {
            version,
            environment,
            since,
        }
        | Notice::Escalation {
            version,
            environment,
            since,
        } => follow_up(
            notice,
            (version, environment, since),
            matches!(notice, Notice::Escalation { .. }),
            public_url,
            recipients,
        ),
        Notice::Decided { version, record } => {
            let link = review_link(public_url, version, &record.environment);
            let verb = match record.verdict {
                Verdict::Approve => "approved",
                Verdict::Reject => "rejected",
                Verdict::Rollback => "rolled back",
            };
            let subject = format!(
                "[Countersign] {} version {} {verb} for {} by {}",
                version.group, version.version, record.environment, record.decided_by.name
            );
            let mut sentence = format!(
                "{} {verb} {} for version {} of {} on {}.",
                record.decided_by.name,
                record.environment,
                version.version,
                version.group,
                display_time(record.decided_at)
            );
            if let Some(target) = record.rollback_to {
                let _ = write!(
                    sentence,
                    " {} runs version {target} again.",
                    record.environment
                );
            }
            if record.verdict == Verdict::Approve
                && record.resulting_state == StepState::PendingManualApproval
            {
                sentence.push_str(" The step needs another approver before it takes effect.");
            }
            let reason = record
                .reason
                .clone()
                .unwrap_or_else(|| "(none given)".into());
            // A rollback is an incident in that environment: its approvers hear of it too.
            let mut to: Vec<String> = Some(version.registered_by.email.clone())
                .filter(|e| !e.is_empty())
                .into_iter()
                .collect();
            if record.verdict == Verdict::Rollback {
                for address in notify
                    .get(record.environment.as_str())
                    .into_iter()
                    .flatten()
                {
                    if !to.contains(address) {
                        to.push(address.clone());
                    }
                }
            }
            // The signature's manifestation (21 CFR 11.50): printed name, time and meaning.
            let signed = record.signature.as_ref().map(|signature| {
                format!(
                    "Signed by {} on {}, meaning \"{}\" (record digest {}).",
                    record.decided_by.name,
                    display_time(record.decided_at),
                    signature.meaning,
                    signature.record_digest
                )
            });
            let signed_text = signed
                .as_ref()
                .map(|line| format!("{line}\n\n"))
                .unwrap_or_default();
            let signed_html = signed
                .as_ref()
                .map(|line| format!("<p>{}</p>\n", text(line)))
                .unwrap_or_default();
            OutgoingMessage {
                key: notice.key(),
                to,
                subject,
                text: format!(
                    "{sentence}\n\nReason: {reason}\n\n{signed_text}The version: {link}\n"
                ),
                html: format!(
                    "<p>{}</p>\n<p><strong>Reason:</strong> {}</p>\n{signed_html}<p><a href=\"{}\">The version</a></p>\n",
                    text(&sentence),
                    text(&reason),
                    attr(&link)
                ),
            }
        }
    }
}

/// The chat message beside a request or a reminder, where its environment has a webhook:
/// what waits and the link, nothing to decide with.
pub fn chat_message(
    notice: &Notice,
    public_url: &str,
    recipients: &Recipients,
) -> Option<OutgoingMessage> {
    let (version, environment, what) = match notice {
        Notice::ApprovalRequested {
            version,
            environment,
        } => (version, environment, "awaits approval for"),
        Notice::PromotionRequested {
            version, target, ..
        } => (version, target, "asks to be promoted to"),
        Notice::Reminder {
            version,
            environment,
            ..
        } => (version, environment, "still awaits approval for"),
        Notice::Escalation { .. } | Notice::Decided { .. } => return None,
    };
    if !recipients.chat.contains(environment.as_str()) {
        return None;
    }
    let link = review_link(public_url, version, environment);
    let subject = format!(
        "{} version {} {what} {environment}",
        version.group, version.version
    );
    Some(OutgoingMessage {
        key: countersign_domain::notification::chat_key(&notice.key()),
        to: vec![countersign_domain::notification::chat_recipient(environment.as_str())],
        text: format!(
            "{subject} (registered by {}). Review it: {link} (the link decides nothing: approvers sign in and decide on the page)",
            chat_inert(&version.registered_by.name)
        ),
        html: String::new(),
        subject,
    })
}

/// A reminder (to the environment's approvers) or an escalation (to whom the environment
/// escalates): the step has waited since `since`.
fn follow_up(
    notice: &Notice,
    (version, environment, since): (&ModelVersion, &Environment, &OffsetDateTime),
    escalation: bool,
    public_url: &str,
    recipients: &Recipients,
) -> OutgoingMessage {
    let link = review_link(public_url, version, environment);
    let by = &version.registered_by;
    let (subject, intro, to) = if escalation {
        (
            format!(
                "[Countersign] Escalation: {} version {} has waited for {environment} approvers since {}",
                version.group,
                version.version,
                display_time(*since)
            ),
            format!(
                "Version {} of {}, registered by {} ({}), has waited for an approver of {environment} since {}, and no reminder has moved it. You are told because {} names you: please find an approver of {environment}.",
                version.version,
                version.group,
                by.name,
                by.email,
                display_time(*since),
                countersign_domain::notification::escalation_setting(environment)
            ),
            Recipients::of(&recipients.escalate_to, environment),
        )
    } else {
        (
            format!(
                "[Countersign] Reminder: {} version {} still awaits approval for {environment}",
                version.group, version.version
            ),
            format!(
                "Version {} of {}, registered by {} ({}), has waited for an approver of {environment} since {}.",
                version.version,
                version.group,
                by.name,
                by.email,
                display_time(*since)
            ),
            Recipients::of(&recipients.notify, environment),
        )
    };
    OutgoingMessage {
        key: notice.key(),
        to,
        subject,
        text: format!("{intro}\n\nReview it: {link}\n\n{LINK_DECIDES_NOTHING}\n"),
        html: format!(
            "<p>{}</p>\n<p><a href=\"{}\">Review version {} of {}</a></p>\n<p>{LINK_DECIDES_NOTHING}</p>\n",
            text(&intro),
            attr(&link),
            version.version,
            text(version.group.as_str())
        ),
    }
}

const LINK_DECIDES_NOTHING: &str =
    "Opening the link decides nothing: you sign in and decide on the page.";

/// A table as aligned plain text and as HTML; the header row, when given, is emphasised.
fn table(header: Option<&[String]>, rows: &[Vec<String>]) -> (String, String) {
    let columns = rows
        .iter()
        .map(Vec::len)
        .chain(header.map(<[String]>::len))
        .max()
        .unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in header.into_iter().chain(rows.iter().map(Vec::as_slice)) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut plain = String::new();
    let mut html = String::from("<table>\n");
    let mut line = |row: &[String], cell_tag: &str, first_tag: &str| {
        let padded: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| format!("{cell:<width$}", width = widths[i]))
            .collect();
        let _ = writeln!(plain, "{}", padded.join("  ").trim_end());
        html.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let tag = if i == 0 { first_tag } else { cell_tag };
            let _ = write!(html, "<{tag} align=\"left\">{}</{tag}>", text(cell));
        }
        html.push_str("</tr>\n");
    };
    if let Some(header) = header {
        line(header, "th", "th");
    }
    for row in rows {
        line(row, "td", "th");
    }
    html.push_str("</table>\n");
    (plain, html)
}

/// Text a pipeline supplied, made inert for mail clients: a zero-width space after each
/// `://` and each dot keeps them from turning it into a link, so the only link in a message
/// from Countersign is the portal's own (a registration cannot plant a phishing link in a
/// mail from the trusted sender). It reads the same.
fn inert(text: &str) -> String {
    text.replace("://", "://\u{200B}").replace('.', ".\u{200B}")
}

/// Pipeline-supplied text as a chat shows it: no link (as in mail), and none of Slack's
/// control characters, so `<!channel>` or `<https://x|y>` stay text.
fn chat_inert(text: &str) -> String {
    inert(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn version_facts(version: &ModelVersion) -> Vec<(&'static str, String)> {
    let metrics = if version.metrics.is_empty() {
        "none reported".to_owned()
    } else {
        version
            .metrics
            .iter()
            .map(|(name, value)| format!("{name} {value}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut facts = vec![
        ("Metrics", metrics),
        ("Image", inert(&version.image_uri)),
        ("Model data", inert(&version.model_data_url)),
    ];
    if !version.description.is_empty() {
        facts.push(("Description", inert(&version.description)));
    }
    facts
}

#[cfg(test)]
mod tests;
