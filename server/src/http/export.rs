//! A model group's history for auditors: JSON (what was live and when, and every decision)
//! and CSV (one file of decisions, one of live periods), for a signed-in viewer at
//! `/models/{group}/export/history.json`, `.../history.csv` and `.../deployments.csv`, and
//! for pipelines at `GET /api/v1/models/{group}/history`; and the audit trail's bundle,
//! which `countersign audit verify` checks offline, at `.../audit.json` and
//! `GET /api/v1/models/{group}/audit`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use countersign_app::context::Authenticator;
use countersign_audit::desk::{AuditDesk, Period, Standing, TrailCheck};
use countersign_domain::audit::SystemEvent;
use countersign_domain::service::{ServiceError, Services};
use countersign_domain::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Serialize, Deserialize, Debug, PartialEq, utoipa::ToSchema)]
pub struct HistoryJson {
    pub model_package_group: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub exported_at: OffsetDateTime,
    pub live: Vec<LivePeriodJson>,
    /// Each decision as the group's audit trail holds it, oldest first.
    pub decisions: Vec<DecisionJson>,
    pub audit_trail: TrailStatusJson,
}

/// Whether the group's audit trail verifies and the decision log agrees with it about every
/// decision, checked when the document was made.
#[derive(Serialize, Deserialize, Debug, PartialEq, utoipa::ToSchema)]
pub struct TrailStatusJson {
    /// True when every entry verifies against this portal's key and no decision is in
    /// `trail_mismatch`.
    pub holds: bool,
    /// What is wrong, one sentence each; empty when it holds.
    pub problems: Vec<String>,
}

/// How the decision log tells a decision otherwise than the audit trail, whose record of it
/// the document carries.
#[derive(Serialize, Deserialize, Debug, PartialEq, utoipa::ToSchema)]
pub struct TrailMismatchJson {
    /// `differs` (both hold it, `fields` differ), `not_in_trail` (only the log holds it) or
    /// `not_in_log` (only the trail holds it).
    pub kind: String,
    /// For `differs`: the fields the log tells otherwise, e.g. `reason`, `signer`.
    pub fields: Vec<String>,
}

impl TrailMismatchJson {
    fn of(standing: &Standing) -> Option<Self> {
        let (kind, fields) = match standing {
            Standing::Recorded | Standing::BeforeTheTrail => return None,
            Standing::Differs(fields) => {
                ("differs", fields.iter().map(|f| f.to_string()).collect())
            }
            Standing::NotInTrail => ("not_in_trail", Vec::new()),
            Standing::NotInLog => ("not_in_log", Vec::new()),
        };
        Some(Self {
            kind: kind.to_owned(),
            fields,
        })
    }

    /// One CSV cell: the kind, and for `differs` the fields after a colon.
    fn cell(&self) -> String {
        match self.fields.as_slice() {
            [] => self.kind.clone(),
            fields => format!("{}: {}", self.kind, fields.join(", ")),
        }
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq, utoipa::ToSchema)]
pub struct LivePeriodJson {
    pub environment: String,
    pub model_package_version: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub from: OffsetDateTime,
    /// `null` while it is live.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
    pub deployed_by: Person,
    pub decision_id: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, utoipa::ToSchema)]
pub struct DecisionJson {
    pub decision_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub decided_at: OffsetDateTime,
    pub model_package_version: u32,
    pub environment: String,
    /// `approve`, `reject` or `rollback`.
    pub verdict: String,
    pub resulting_state: String,
    pub rollback_to: Option<u32>,
    pub decided_by: Person,
    pub reason: Option<String>,
    /// The electronic signature's meaning (e.g. "Approved for release to prod"); `null` for
    /// decisions taken before signatures were recorded.
    pub meaning: Option<String>,
    /// When it was signed (the decision's time), UTC.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub signed_at: OffsetDateTime,
    /// When the signer last authenticated at the identity provider, where known.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub auth_time: Option<OffsetDateTime>,
    /// The authentication context class of that sign-in (`acr`), where the provider said.
    pub acr: Option<String>,
    /// How the signer authenticated (`amr`, e.g. `pwd`, `mfa`), and Entra ID's
    /// authentication contexts satisfied (`acrs`), where the provider said.
    pub amr: Vec<String>,
    pub acrs: Vec<String>,
    /// Lower-case hex SHA-256 of the canonical JSON (RFC 8785) of what was signed.
    pub record_digest: Option<String>,
    /// Present where the decision log disagrees with the audit trail about this decision.
    pub trail_mismatch: Option<TrailMismatchJson>,
}

/// How a decision's signer had authenticated, where it was recorded.
fn authentication(
    decision: &countersign_domain::DecisionRecord,
) -> Option<&countersign_domain::signature::Authentication> {
    decision.signature.as_ref()?.authentication.as_ref()
}

impl HistoryJson {
    /// `group`'s history, its decisions as its audit trail holds them.
    pub async fn read(
        services: &Services,
        audit: &AuditDesk,
        group: &GroupName,
    ) -> Result<Self, ServiceError> {
        let history = services.group_history(group).await?;
        let check = audit.check(group, &history.decisions).await?;
        Ok(Self::new(&history, &check, services.now()))
    }

    pub fn new(history: &GroupHistory, check: &TrailCheck, now: OffsetDateTime) -> Self {
        let problems = check.problems();
        Self {
            model_package_group: history.group.to_string(),
            exported_at: now,
            live: history
                .live
                .iter()
                .map(|p| LivePeriodJson {
                    environment: p.environment.to_string(),
                    model_package_version: p.version.get(),
                    from: p.from,
                    until: p.until,
                    deployed_by: p.deployed_by.clone(),
                    decision_id: p.decision_id.clone(),
                })
                .collect(),
            audit_trail: TrailStatusJson {
                holds: problems.is_empty(),
                problems,
            },
            decisions: check
                .decisions
                .iter()
                .map(|attested| (&attested.record, &attested.standing))
                .map(|(d, standing)| DecisionJson {
                    decision_id: d.id.clone(),
                    decided_at: d.decided_at,
                    model_package_version: d.version.get(),
                    environment: d.environment.to_string(),
                    verdict: d.verdict.as_str().to_owned(),
                    resulting_state: d.resulting_state.as_str().to_owned(),
                    rollback_to: d.rollback_to.map(VersionNumber::get),
                    decided_by: d.decided_by.clone(),
                    reason: d.reason.clone(),
                    meaning: d.signature.as_ref().map(|s| s.meaning.clone()),
                    signed_at: d.decided_at,
                    auth_time: authentication(d).and_then(|a| a.at),
                    acr: authentication(d).and_then(|a| a.acr.clone()),
                    amr: authentication(d).map(|a| a.amr.clone()).unwrap_or_default(),
                    acrs: authentication(d)
                        .map(|a| a.acrs.clone())
                        .unwrap_or_default(),
                    record_digest: d.signature.as_ref().map(|s| s.record_digest.clone()),
                    trail_mismatch: TrailMismatchJson::of(standing),
                })
                .collect(),
        }
    }

    /// Every decision, one row each, oldest first.
    pub fn decisions_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record([
            "decided_at",
            "model_package_version",
            "environment",
            "verdict",
            "resulting_state",
            "rollback_to",
            "decided_by_name",
            "decided_by_email",
            "decided_by_subject",
            "reason",
            "meaning",
            "record_digest",
            "auth_time",
            "decision_id",
            "trail_mismatch",
        ]);
        for d in &self.decisions {
            write_cells(
                &mut writer,
                [
                    rfc3339(d.decided_at),
                    d.model_package_version.to_string(),
                    d.environment.clone(),
                    d.verdict.clone(),
                    d.resulting_state.clone(),
                    d.rollback_to.map(|v| v.to_string()).unwrap_or_default(),
                    d.decided_by.name.clone(),
                    d.decided_by.email.clone(),
                    d.decided_by.subject.clone(),
                    d.reason.clone().unwrap_or_default(),
                    d.meaning.clone().unwrap_or_default(),
                    d.record_digest.clone().unwrap_or_default(),
                    d.auth_time.map(rfc3339).unwrap_or_default(),
                    d.decision_id.clone(),
                    d.trail_mismatch
                        .as_ref()
                        .map(TrailMismatchJson::cell)
                        .unwrap_or_default(),
                ],
            );
        }
        csv_text(writer)
    }

    /// Every period a version was live in an environment, newest first per environment.
    pub fn live_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record([
            "environment",
            "model_package_version",
            "from",
            "until",
            "deployed_by_name",
            "deployed_by_email",
            "decision_id",
        ]);
        for p in &self.live {
            write_cells(
                &mut writer,
                [
                    p.environment.clone(),
                    p.model_package_version.to_string(),
                    rfc3339(p.from),
                    p.until.map(rfc3339).unwrap_or_default(),
                    p.deployed_by.name.clone(),
                    p.deployed_by.email.clone(),
                    p.decision_id.clone(),
                ],
            );
        }
        csv_text(writer)
    }
}

/// Writes one row whose cells a spreadsheet never takes for a formula: a cell starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return (a reason such as
/// `=HYPERLINK("https://evil.example",...)`, or a display name) gets a leading `'`, as
/// OWASP's advice on CSV injection says.
fn write_cells<const N: usize>(writer: &mut csv::Writer<Vec<u8>>, cells: [String; N]) {
    let safe = cells.map(|cell| {
        if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{cell}")
        } else {
            cell
        }
    });
    let _ = writer.write_record(safe);
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC timestamps format")
}

fn csv_text(writer: csv::Writer<Vec<u8>>) -> String {
    let bytes = writer.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("every field is text")
}

/// What a signed-in viewer's export needs.
#[derive(Clone)]
pub struct ExportState {
    pub services: Services,
    pub authenticator: Arc<dyn Authenticator>,
    pub audit: AuditDesk,
}

/// `GET /models/{group}/export/{file}`: `history.json`, `history.csv` or `deployments.csv`.
pub async fn export(
    State(state): State<ExportState>,
    Path((group, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(actor) = state.authenticator.actor(&headers) else {
        return Redirect::to(&countersign_app::routes::sign_in(
            &countersign_app::routes::export(group.as_str(), &file),
        ))
        .into_response();
    };
    if !state.services.policy().may_view(&actor) {
        let what = countersign_app::routes::export(&group, &file);
        if let Err(error) = state
            .services
            .note_access_refused(&actor.person, &what)
            .await
        {
            tracing::error!(%error, "a refusal was not kept in the portal's own trail");
        }
        return (
            StatusCode::FORBIDDEN,
            "You are not allowed to use Countersign.",
        )
            .into_response();
    }
    let Ok(group_name) = GroupName::parse(&group) else {
        return (StatusCode::NOT_FOUND, "No such model group.").into_response();
    };
    if file == "audit.json" {
        return match state.audit.bundle(&group_name, Period::default()).await {
            Ok(bundle) => match exported(&state, &actor, &group_name, &file).await {
                Ok(()) => attachment(
                    "application/json",
                    &format!("{group_name}-audit.json"),
                    serde_json::to_string_pretty(&bundle).expect("a bundle serialises"),
                ),
                Err(refused) => refused,
            },
            Err(e) => unavailable(e.into()),
        };
    }
    // What each export is: its type, its name in the download, and how it is written.
    let (content_type, name, write): (&str, &str, fn(&HistoryJson) -> String) = match file.as_str()
    {
        "history.json" => ("application/json", "history.json", |h| {
            serde_json::to_string_pretty(h).expect("history serializes")
        }),
        "history.csv" => (
            "text/csv; charset=utf-8",
            "decisions.csv",
            HistoryJson::decisions_csv,
        ),
        "deployments.csv" => (
            "text/csv; charset=utf-8",
            "deployments.csv",
            HistoryJson::live_csv,
        ),
        _ => return (StatusCode::NOT_FOUND, "No such export.").into_response(),
    };
    let group = group_name;
    let history = match HistoryJson::read(&state.services, &state.audit, &group).await {
        Ok(history) => history,
        Err(e) => return unavailable(e),
    };
    if let Err(refused) = exported(&state, &actor, &group, &file).await {
        return refused;
    }
    attachment(content_type, &format!("{group}-{name}"), write(&history))
}

/// Keeps, in the portal's own trail, that `actor` took `file` of `group` away; an export that
/// cannot be kept is not given (503).
async fn exported(
    state: &ExportState,
    actor: &countersign_domain::Actor,
    group: &GroupName,
    file: &str,
) -> Result<(), Response> {
    let event = SystemEvent::Exported {
        group: group.to_string(),
        file: file.to_owned(),
        person: actor.person.clone(),
    };
    state
        .services
        .record_system_event(&actor.person.subject, event)
        .await
        .map_err(unavailable)
}

fn attachment(content_type: &str, name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

fn unavailable(error: ServiceError) -> Response {
    match error {
        ServiceError::Port(e) => {
            tracing::error!(error = %e, "export failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The store is unavailable; retry later.",
            )
                .into_response()
        }
        e => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    }
}
