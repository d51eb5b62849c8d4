//! The history document: what was live and when, every decision as the audit trail holds it
//! with its signature's manifestation (printed name, time, meaning, role, whether it still
//! binds its record, drift), as JSON and as two CSV files.

use countersign_audit::desk::{AuditDesk, Standing, TrailCheck};
use countersign_domain::service::{Binding, ServiceError, Services};
use countersign_domain::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// Environments whose live value the decision log does not explain: changed outside the
    /// portal. Empty when every live value is what a decision deployed.
    pub drift: Vec<DriftJson>,
}

/// An environment whose live value was changed outside the portal.
#[derive(Serialize, Deserialize, Debug, PartialEq, utoipa::ToSchema)]
pub struct DriftJson {
    pub environment: String,
    /// The decision whose deployment was replaced or deleted there, if one was.
    pub decision_id: Option<String>,
    /// What differs, in one sentence.
    pub explanation: String,
}

impl DriftJson {
    fn of(drift: &countersign_domain::history::Drift) -> Self {
        Self {
            environment: drift.environment().to_string(),
            decision_id: drift.logged_decision().map(str::to_owned),
            explanation: drift.explain(),
        }
    }
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
    /// The capacity in which the signer signed, e.g. `approver for prod`; `null` unsigned.
    pub signer_role: Option<String>,
    /// The signer's groups that made them an approver, as their sign-in listed them.
    pub signer_groups: Vec<String>,
    /// Whether the signature still applies to the registry's record of the version it
    /// signed, checked when the document was made (21 CFR 11.70); `null` unsigned.
    pub still_binds: Option<bool>,
    /// Why it no longer binds, when it does not: the record changed after signing, or the
    /// registry no longer holds it.
    pub binding_problem: Option<String>,
    /// The drift in this decision's environment when its deployment there was replaced or
    /// deleted outside the portal.
    pub drift: Option<String>,
    /// Present where the decision log disagrees with the audit trail about this decision.
    pub trail_mismatch: Option<TrailMismatchJson>,
}

/// Why a signature no longer binds its record, in one sentence.
fn binding_problem(decision: &DecisionRecord, binding: Binding) -> Option<String> {
    let version = decision.signed_version();
    match binding {
        Binding::Binds => None,
        Binding::NoLongerBinds => Some(format!(
            "The registry's record of version {version} changed after it was signed."
        )),
        Binding::RecordGone => Some(format!(
            "The registry no longer holds version {version}, which was signed."
        )),
    }
}

/// How a decision's signer had authenticated, where it was recorded.
fn authentication(
    decision: &countersign_domain::DecisionRecord,
) -> Option<&countersign_domain::signature::Authentication> {
    decision.signature.as_ref()?.authentication.as_ref()
}

impl HistoryJson {
    /// `group`'s history, its decisions as its audit trail holds them, each signature
    /// checked against the registry as it is now.
    pub async fn read(
        services: &Services,
        audit: &AuditDesk,
        group: &GroupName,
    ) -> Result<Self, ServiceError> {
        let history = services.group_history(group).await?;
        let check = audit.check(group, &history.decisions).await?;
        let shown: Vec<DecisionRecord> = check
            .decisions
            .iter()
            .map(|attested| attested.record.clone())
            .collect();
        let signatures = services.signatures_now(group, &shown).await?;
        Ok(Self::new(&history, &check, &signatures, services.now()))
    }

    /// The document from what was read: `signatures` says, per decision id, how each
    /// signature stands against the registry now.
    pub fn new(
        history: &GroupHistory,
        check: &TrailCheck,
        signatures: &BTreeMap<String, Binding>,
        now: OffsetDateTime,
    ) -> Self {
        let problems = check.problems();
        let drift_of = |decision: &DecisionRecord| {
            history
                .drift
                .iter()
                .find(|drift| drift.logged_decision() == Some(decision.id.as_str()))
                .map(countersign_domain::history::Drift::explain)
        };
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
            drift: history.drift.iter().map(DriftJson::of).collect(),
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
                    signer_role: d.signer_role(),
                    signer_groups: d
                        .signature
                        .as_ref()
                        .map(|s| s.groups.clone())
                        .unwrap_or_default(),
                    still_binds: signatures.get(&d.id).map(|b| b.holds()),
                    binding_problem: signatures.get(&d.id).and_then(|b| binding_problem(d, *b)),
                    drift: drift_of(d),
                    trail_mismatch: TrailMismatchJson::of(standing),
                })
                .collect(),
        }
    }

    /// Every decision, one row each, oldest first.
    pub fn decisions_csv(&self) -> String {
        let mut writer = self.csv_writer("decisions");
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
            "signer_role",
            "signer_groups",
            "still_binds",
            "binding_problem",
            "drift",
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
                    d.signer_role.clone().unwrap_or_default(),
                    d.signer_groups.join(";"),
                    d.still_binds.map(yes_or_no).unwrap_or_default(),
                    d.binding_problem.clone().unwrap_or_default(),
                    d.drift.clone().unwrap_or_default(),
                ],
            );
        }
        csv_text(writer)
    }

    /// Every period a version was live in an environment, newest first per environment.
    pub fn live_csv(&self) -> String {
        let mut writer = self.csv_writer("live periods");
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
pub(super) fn write_cells<const N: usize>(writer: &mut csv::Writer<Vec<u8>>, cells: [String; N]) {
    let safe = cells.map(|cell| {
        if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{cell}")
        } else {
            cell
        }
    });
    let _ = writer.write_record(safe);
}

pub(super) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC timestamps format")
}

impl HistoryJson {
    /// A CSV writer whose first lines, each starting with `#`, say what the file is, whether
    /// the audit trail held when it was made, and that formula characters were defused
    /// (`write_cells`): a reader of the file alone knows all three. Without commas, so a
    /// spreadsheet shows each in one cell.
    fn csv_writer(&self, what: &str) -> csv::Writer<Vec<u8>> {
        let trail = if self.audit_trail.holds {
            "holds".to_owned()
        } else {
            format!(
                "DOES NOT HOLD (problems: {}; see history.json)",
                self.audit_trail.problems.len()
            )
        };
        let preamble = format!(
            "# Countersign: {what} of model group {} exported {}\n\
             # Audit trail when exported: {trail}\n\
             # {FORMULA_NOTE}\n",
            self.model_package_group,
            rfc3339(self.exported_at),
        );
        csv::Writer::from_writer(preamble.into_bytes())
    }
}

/// What the preamble says about cells `write_cells` changed.
pub const FORMULA_NOTE: &str = "Cells that began with = + - @ a tab or a carriage return \
     begin with an added ' so that no spreadsheet runs them as a formula.";

fn yes_or_no(holds: bool) -> String {
    if holds { "yes" } else { "no" }.to_owned()
}

pub(super) fn csv_text(writer: csv::Writer<Vec<u8>>) -> String {
    let bytes = writer.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("every field is text")
}
