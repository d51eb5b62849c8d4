//! `GET /reviews/access.csv?from=&to=[&certified=true]`: the access review as CSV for the
//! audit reviewers (`COUNTERSIGN_AUDIT_REVIEWERS`), plain or as a certified copy: per
//! environment who may sign and who did within the period, and each person's last sign-in.

use super::history::{csv_text, rfc3339, write_cells, FORMULA_NOTE};
use super::{attachment, exported, unavailable, ExportState};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use countersign_audit::desk::Period;
use countersign_audit::CertifiedCopy;
use countersign_domain::service::AccessReview;
use countersign_domain::GroupName;

#[derive(serde::Deserialize, Default)]
pub struct AccessQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    certified: bool,
}

const FILE: &str = "access-review.csv";

pub async fn access_review_csv(
    State(state): State<ExportState>,
    Query(query): Query<AccessQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(actor) = state.authenticator.actor(&headers) else {
        return Redirect::to(&countersign_app::routes::sign_in(
            countersign_app::routes::ACCESS_REVIEW,
        ))
        .into_response();
    };
    let policy = state.services.policy();
    if !policy.reviews_audit(&actor) {
        if !policy.may_view(&actor) {
            if let Err(error) = state
                .services
                .note_access_refused(&actor.person, countersign_app::routes::ACCESS_REVIEW_CSV)
                .await
            {
                tracing::error!(%error, "a refusal was not kept in the portal's own trail");
            }
        }
        return (
            StatusCode::FORBIDDEN,
            "Only audit reviewers (COUNTERSIGN_AUDIT_REVIEWERS) may export the access review.",
        )
            .into_response();
    }
    let period = match Period::of_dates(&query.from, &query.to) {
        Ok(period) => period,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let review = async {
        let sign_ins = state.audit.sign_ins().await?;
        state
            .services
            .access_review(period.from, period.to, sign_ins)
            .await
    };
    let review = match review.await {
        Ok(review) => review,
        Err(e) => return unavailable(e),
    };
    let kept_as = if query.certified {
        format!("{FILE} (certified copy)")
    } else {
        FILE.to_owned()
    };
    let system = GroupName::system_trail();
    if let Err(refused) = exported(&state, &actor, &system, &kept_as).await {
        return refused;
    }
    let name = format!("countersign-{FILE}");
    let content_type = "text/csv; charset=utf-8";
    let body = csv(&review, state.services.now());
    if !query.certified {
        return attachment(content_type, &name, body);
    }
    let copy = CertifiedCopy::make(
        &state.audit.notary,
        system.as_str(),
        &name,
        content_type,
        body,
        &format!("{} {}", actor.person.subject, actor.person.name),
        state.services.now(),
    );
    attachment(
        "application/json",
        &format!("{name}.certified.json"),
        serde_json::to_string_pretty(&copy).expect("a certified copy serialises"),
    )
}

/// One row per signer per environment (`signed`), per environment nobody signed in
/// (`nobody_signed`), and per person's last sign-in (`last_sign_in`).
fn csv(review: &AccessReview, now: time::OffsetDateTime) -> String {
    let open = |end: Option<time::OffsetDateTime>, word: &str| {
        end.map(rfc3339).unwrap_or_else(|| word.to_owned())
    };
    let preamble = format!(
        "# Countersign: access review of signatures from {} to {} exported {}\n# {FORMULA_NOTE}\n",
        open(review.from, "the first"),
        open(review.to, "now"),
        rfc3339(now),
    );
    let mut writer = csv::Writer::from_writer(preamble.into_bytes());
    let _ = writer.write_record([
        "row",
        "environment",
        "approver_groups",
        "required_approvals",
        "name",
        "email",
        "identifier",
        "signatures",
        "at",
    ]);
    for env in &review.environments {
        let groups = env.approver_groups.join(";");
        let required = env.required_approvals.to_string();
        if env.signers.is_empty() {
            write_cells(
                &mut writer,
                [
                    "nobody_signed".into(),
                    env.environment.to_string(),
                    groups.clone(),
                    required.clone(),
                    String::new(),
                    String::new(),
                    String::new(),
                    "0".into(),
                    String::new(),
                ],
            );
        }
        for signer in &env.signers {
            write_cells(
                &mut writer,
                [
                    "signed".into(),
                    env.environment.to_string(),
                    groups.clone(),
                    required.clone(),
                    signer.person.name.clone(),
                    signer.person.email.clone(),
                    signer.person.subject.clone(),
                    signer.signatures.to_string(),
                    rfc3339(signer.last_signed),
                ],
            );
        }
    }
    for (person, at) in &review.last_sign_ins {
        write_cells(
            &mut writer,
            [
                "last_sign_in".into(),
                String::new(),
                String::new(),
                String::new(),
                person.name.clone(),
                person.email.clone(),
                person.subject.clone(),
                String::new(),
                rfc3339(*at),
            ],
        );
    }
    csv_text(writer)
}
