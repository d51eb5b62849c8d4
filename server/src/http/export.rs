//! A model group's history for auditors: JSON (what was live and when, and every decision)
//! and CSV (one file of decisions, one of live periods), for a signed-in viewer at
//! `/models/{group}/export/history.json`, `.../history.csv` and `.../deployments.csv`, and
//! for pipelines at `GET /api/v1/models/{group}/history`; and the audit trail's bundle,
//! which `countersign audit verify` checks offline, at `.../audit.json` and
//! `GET /api/v1/models/{group}/audit`.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use countersign_app::context::Authenticator;
use countersign_audit::desk::{AuditDesk, Period};
use countersign_audit::CertifiedCopy;
use countersign_domain::audit::SystemEvent;
use countersign_domain::service::{ServiceError, Services};
use countersign_domain::*;
use std::sync::Arc;

mod access;
mod history;
pub use access::access_review_csv;
pub use history::{DecisionJson, DriftJson, HistoryJson, LivePeriodJson, TrailStatusJson};

/// What a signed-in viewer's export needs.
#[derive(Clone)]
pub struct ExportState {
    pub services: Services,
    pub authenticator: Arc<dyn Authenticator>,
    pub audit: AuditDesk,
}

/// `?certified=true`: the export as a certified copy, signed with the audit key.
#[derive(serde::Deserialize, Default)]
pub struct ExportOptions {
    #[serde(default)]
    pub certified: bool,
}

/// `GET /models/{group}/export/{file}`: `history.json`, `history.csv`, `deployments.csv` or
/// `audit.json`; with `?certified=true`, as a certified copy.
pub async fn export(
    State(state): State<ExportState>,
    Path((group, file)): Path<(String, String)>,
    Query(options): Query<ExportOptions>,
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
    let Ok(group) = GroupName::parse(&group) else {
        return (StatusCode::NOT_FOUND, "No such model group.").into_response();
    };
    let Some(kind) = ExportKind::named(&file) else {
        return (StatusCode::NOT_FOUND, "No such export.").into_response();
    };
    let body = match kind.write(&state, &group).await {
        Ok(body) => body,
        Err(e) => return unavailable(e),
    };
    let name = format!("{group}-{}", kind.name);
    let kept_as = if options.certified {
        format!("{file} (certified copy)")
    } else {
        file.clone()
    };
    if let Err(refused) = exported(&state, &actor, &group, &kept_as).await {
        return refused;
    }
    if !options.certified {
        return attachment(kind.content_type, &name, body);
    }
    let by = format!("{} {}", actor.person.subject, actor.person.name);
    let copy = CertifiedCopy::make(
        &state.audit.notary,
        group.as_str(),
        &name,
        kind.content_type,
        body,
        &by,
        state.services.now(),
    );
    attachment(
        "application/json",
        &format!("{name}.certified.json"),
        serde_json::to_string_pretty(&copy).expect("a certified copy serialises"),
    )
}

/// One kind of export: its name in the download, its type, and what it holds.
struct ExportKind {
    name: &'static str,
    content_type: &'static str,
    holds: Holds,
}

enum Holds {
    AuditBundle,
    History(fn(&HistoryJson) -> String),
}

impl ExportKind {
    fn named(file: &str) -> Option<Self> {
        let (name, content_type, holds) = match file {
            "audit.json" => ("audit.json", "application/json", Holds::AuditBundle),
            "history.json" => (
                "history.json",
                "application/json",
                Holds::History(|h| serde_json::to_string_pretty(h).expect("history serializes")),
            ),
            "history.csv" => (
                "decisions.csv",
                "text/csv; charset=utf-8",
                Holds::History(HistoryJson::decisions_csv),
            ),
            "deployments.csv" => (
                "deployments.csv",
                "text/csv; charset=utf-8",
                Holds::History(HistoryJson::live_csv),
            ),
            _ => return None,
        };
        Some(Self {
            name,
            content_type,
            holds,
        })
    }

    async fn write(&self, state: &ExportState, group: &GroupName) -> Result<String, ServiceError> {
        match self.holds {
            Holds::AuditBundle => {
                let bundle = state.audit.bundle(group, Period::default()).await?;
                Ok(serde_json::to_string_pretty(&bundle).expect("a bundle serialises"))
            }
            Holds::History(write) => {
                let history = HistoryJson::read(&state.services, &state.audit, group).await?;
                Ok(write(&history))
            }
        }
    }
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
