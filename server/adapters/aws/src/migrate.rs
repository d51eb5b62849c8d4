//! `countersign migrate --from-ssm`: moves what a portal before the table kept in SSM into
//! the table, idempotently, and checks that everything arrived.
//!
//! The SSM layout it reads, under the prefix:
//! - `{group}/_decisions/{version}/{seq}`: a decision log entry. Entries are carried over
//!   only when the portal vouches for them (signed under the log key, or unsigned and
//!   written before the key existed) and are signed in the table.
//! - `{group}/_reports/{version}/{environment}/{run id}`: an inference report.
//! - `_outbox/messages/{key}` and `_outbox/state/{key}`: a message and its delivery.
//! - `_sessions/revoked/{hex}`: a session revocation.
//! - `{group}/{environment}`: a live deployment, which becomes its environment's guard
//!   where none is.
//!
//! Nothing in SSM is changed or deleted: once the figures agree, an operator deletes the
//! moved parameters (README, "Moving from the SSM layout").

use crate::log::LogEntry;
use crate::outbox::Delivery;
use crate::table::millis;
use crate::AwsBackend;
use aws_sdk_ssm::types::Parameter;
use countersign_domain::ports::*;
use countersign_domain::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What one kind of record came to: found in SSM, newly written to the table, and found in
/// the table after the move (written now or by an earlier run).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub found: u64,
    pub written: u64,
    pub in_table: u64,
}

impl Moved {
    fn complete(&self) -> bool {
        self.in_table == self.found
    }
}

/// The move's figures, kind by kind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Migration {
    pub decisions: Moved,
    pub reports: Moved,
    pub messages: Moved,
    pub revocations: Moved,
    pub guards: Moved,
    /// Live parameters no logged decision explains (written outside the portal): not
    /// guarded, and reported as drift by the portal.
    pub unexplained_live: Vec<String>,
}

impl Migration {
    pub fn complete(&self) -> bool {
        [
            self.decisions,
            self.reports,
            self.messages,
            self.revocations,
            self.guards,
        ]
        .iter()
        .all(Moved::complete)
    }
}

impl std::fmt::Display for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (kind, moved) in [
            ("decisions", self.decisions),
            ("reports", self.reports),
            ("messages", self.messages),
            ("revocations", self.revocations),
            ("guards", self.guards),
        ] {
            writeln!(
                f,
                "{kind:<12} in SSM {:>6}   written now {:>6}   in the table {:>6}   {}",
                moved.found,
                moved.written,
                moved.in_table,
                if moved.complete() { "ok" } else { "MISSING" }
            )?;
        }
        for live in &self.unexplained_live {
            writeln!(f, "not guarded: {live}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct StoredMessage {
    to: Vec<String>,
    subject: String,
    text: String,
    html: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

#[derive(Deserialize)]
struct DeliveryRecord {
    state: String,
    round: u32,
    attempts: u32,
    last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    sent_at: Option<OffsetDateTime>,
}

#[derive(Deserialize)]
struct StoredRevocation {
    whose: String,
    #[serde(with = "time::serde::rfc3339")]
    issued_before: OffsetDateTime,
}

/// An SSM parameter of the old layout, by what its name says it is.
enum Old<'a> {
    Decision {
        group: GroupName,
        version: VersionNumber,
        seq: u64,
    },
    Report,
    Message {
        key: &'a str,
    },
    DeliveryState {
        key: &'a str,
    },
    Revocation,
    Live {
        group: GroupName,
        environment: &'a str,
    },
    Other,
}

fn classify<'a>(relative: &'a str, environments: &Environments) -> Old<'a> {
    if let Some(key) = relative.strip_prefix("_outbox/messages/") {
        return Old::Message { key };
    }
    if let Some(key) = relative.strip_prefix("_outbox/state/") {
        return Old::DeliveryState { key };
    }
    if relative.starts_with("_sessions/revoked/") {
        return Old::Revocation;
    }
    let segments: Vec<&str> = relative.split('/').collect();
    let Some(group) = segments.first().and_then(|g| GroupName::parse(g).ok()) else {
        return Old::Other;
    };
    match segments[1..] {
        ["_decisions", version, seq] => match (VersionNumber::parse(version), seq.parse::<u64>()) {
            (Ok(version), Ok(seq)) => Old::Decision {
                group,
                version,
                seq,
            },
            _ => Old::Other,
        },
        ["_reports", _, _, _] => Old::Report,
        [environment]
            if Environment::parse(environment)
                .is_ok_and(|e| environments.iter().any(|known| *known == e)) =>
        {
            Old::Live { group, environment }
        }
        _ => Old::Other,
    }
}

fn corrupt(name: &str, e: impl std::fmt::Display) -> PortError {
    PortError::Corrupt(format!("{name}: {e}"))
}

impl AwsBackend {
    /// Moves the SSM layout of a portal before the table into the table. Safe to run again,
    /// and while the portal serves: what is in the table already is left as it is.
    pub async fn migrate_from_ssm(&self) -> Result<Migration, PortError> {
        let prefix = format!("{}/", self.settings.ssm_prefix);
        let parameters = self
            .parameters_under(prefix.trim_end_matches('/'), true)
            .await?;
        let key = self.log_key().await?;
        let mut figures = Migration::default();
        let mut messages: BTreeMap<&str, &Parameter> = BTreeMap::new();
        let mut states: BTreeMap<&str, &Parameter> = BTreeMap::new();
        let mut decisions = Vec::new();
        let mut revocations = Vec::new();
        let mut lives = Vec::new();
        let mut reports = Vec::new();
        for parameter in &parameters {
            let name = parameter.name.as_deref().unwrap_or_default();
            let value = parameter.value.as_deref().unwrap_or_default();
            let Some(relative) = name.strip_prefix(&prefix) else {
                continue;
            };
            match classify(relative, self.environments()) {
                Old::Decision {
                    group,
                    version,
                    seq,
                } => {
                    let entry: LogEntry =
                        serde_json::from_str(value).map_err(|e| corrupt(name, e))?;
                    if !key.vouches_for(&entry, parameter.last_modified_date) {
                        return Err(PortError::Corrupt(format!(
                            "{name} was not written by this portal (its MAC does not verify): nothing was moved past it; an operator must look at it"
                        )));
                    }
                    decisions.push((group, version, seq, entry));
                }
                Old::Report => reports.push(
                    InferenceReport::from_document_json(value).map_err(|e| corrupt(name, e))?,
                ),
                Old::Message { key } => {
                    messages.insert(key, parameter);
                }
                Old::DeliveryState { key } => {
                    states.insert(key, parameter);
                }
                Old::Revocation => {
                    let stored: StoredRevocation =
                        serde_json::from_str(value).map_err(|e| corrupt(name, e))?;
                    revocations.push(Revocation {
                        whose: Revoked::from_key(&stored.whose)
                            .ok_or_else(|| corrupt(name, "names nobody"))?,
                        issued_before: stored.issued_before,
                    });
                }
                Old::Live { group, environment } => {
                    let document: DeploymentDocument =
                        serde_json::from_str(value).map_err(|e| corrupt(name, e))?;
                    lives.push((group, environment, document));
                }
                Old::Other => {}
            }
        }
        self.move_decisions(decisions, &mut figures.decisions)
            .await?;
        for (group, environment, document) in lives {
            self.guard_moved(&group, environment, &document, &mut figures)
                .await?;
        }
        self.move_revocations(revocations, &mut figures.revocations)
            .await?;
        self.move_reports(reports, &mut figures.reports).await?;
        for (key, message) in messages {
            figures.messages.found += 1;
            let name = message.name.as_deref().unwrap_or_default();
            let stored: StoredMessage =
                serde_json::from_str(message.value.as_deref().unwrap_or_default())
                    .map_err(|e| corrupt(name, e))?;
            let record: Option<DeliveryRecord> = states
                .get(key)
                .map(|state| serde_json::from_str(state.value.as_deref().unwrap_or_default()))
                .transpose()
                .map_err(|e| corrupt(name, e))?;
            let delivery = match record {
                Some(record) => Delivery {
                    state: DeliveryState::parse(&record.state)
                        .ok_or_else(|| corrupt(name, "unknown delivery state"))?,
                    round: record.round,
                    attempts: record.attempts,
                    last_error: record.last_error,
                    next_attempt_at: record.next_attempt_at,
                    sent_at: record.sent_at,
                },
                // Queued, and stopped before its state was written: still to be sent.
                None => Delivery {
                    state: DeliveryState::Pending,
                    round: 0,
                    attempts: 0,
                    last_error: None,
                    next_attempt_at: Some(stored.created_at),
                    sent_at: None,
                },
            };
            let outgoing = OutgoingMessage {
                key: key.to_owned(),
                to: stored.to,
                subject: stored.subject,
                text: stored.text,
                html: stored.html,
            };
            let item = self.message_item(&outgoing, stored.created_at, &delivery);
            if self.table.put_new(item).await? {
                figures.messages.written += 1;
            }
            if Outbox::entry(self, key).await?.is_some() {
                figures.messages.in_table += 1;
            }
        }
        Ok(figures)
    }

    /// Guards an environment with the logged decision its live parameter names. A live
    /// value no logged decision explains was written outside the portal: left unguarded,
    /// and shown, as it is on the group's page, as drift.
    async fn guard_moved(
        &self,
        group: &GroupName,
        environment: &str,
        document: &DeploymentDocument,
        figures: &mut Migration,
    ) -> Result<(), PortError> {
        let version = VersionNumber::new(document.model_package_version).ok();
        let logged = match version {
            Some(version) => self.table.version_log(group, version).await?,
            None => Vec::new(),
        };
        let Some(decision) = logged
            .into_iter()
            .find(|stored| stored.decision_id == document.decision_id)
        else {
            figures.unexplained_live.push(format!(
                "{}/{group}/{environment} names decision {}, which is not in the log",
                self.settings.ssm_prefix, document.decision_id
            ));
            return Ok(());
        };
        figures.guards.found += 1;
        if self
            .table
            .guard_if_unguarded(group, environment, &decision)
            .await?
        {
            figures.guards.written += 1;
        }
        if self.table.guard(group, environment).await?.is_some() {
            figures.guards.in_table += 1;
        }
        Ok(())
    }

    /// Writes each report, then reads each version's reports back once.
    async fn move_reports(
        &self,
        reports: Vec<InferenceReport>,
        figures: &mut Moved,
    ) -> Result<(), PortError> {
        let mut by_version: BTreeMap<(GroupName, VersionNumber), Vec<InferenceReport>> =
            BTreeMap::new();
        for report in reports {
            figures.found += 1;
            if matches!(
                ReportStore::add_report(self, &report).await?,
                ReportStored::Added
            ) {
                figures.written += 1;
            }
            by_version
                .entry((report.group.clone(), report.version))
                .or_default()
                .push(report);
        }
        for ((group, version), moved) in by_version {
            let stored = ReportStore::reports_for_version(self, &group, version).await?;
            figures.in_table += moved
                .iter()
                .filter(|report| stored.iter().any(|r| r.same_run_as(report)))
                .count() as u64;
        }
        Ok(())
    }

    /// Revocations the table has at least as late, kept; the others written.
    async fn move_revocations(
        &self,
        revocations: Vec<Revocation>,
        figures: &mut Moved,
    ) -> Result<(), PortError> {
        // The table keeps times to the millisecond.
        let covers = |table: &[Revocation], old: &Revocation| {
            table.iter().any(|r| {
                r.whose == old.whose && millis(r.issued_before) >= millis(old.issued_before)
            })
        };
        let before = self.revocations().await?;
        for revocation in &revocations {
            figures.found += 1;
            if !covers(&before, revocation) {
                self.revoke(revocation).await?;
                figures.written += 1;
            }
        }
        let after = self.revocations().await?;
        figures.in_table = revocations.iter().filter(|r| covers(&after, r)).count() as u64;
        Ok(())
    }

    /// Appends each version's entries in their order, signed, then reads each version's
    /// log back. Guards are not moved by entries: the live parameters give them.
    async fn move_decisions(
        &self,
        mut decisions: Vec<(GroupName, VersionNumber, u64, LogEntry)>,
        figures: &mut Moved,
    ) -> Result<(), PortError> {
        decisions.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
        let mut moved: BTreeMap<(GroupName, VersionNumber), Vec<String>> = BTreeMap::new();
        for (group, version, seq, entry) in decisions {
            figures.found += 1;
            let unsigned = LogEntry { mac: None, ..entry };
            if self.append_moved(&group, version, seq, &unsigned).await? {
                figures.written += 1;
            }
            moved.entry((group, version)).or_default().push(unsigned.id);
        }
        for ((group, version), ids) in moved {
            let logged = self.version_log(&group, version).await?;
            figures.in_table += ids
                .iter()
                .filter(|id| logged.iter().any(|l| &l.entry.id == *id))
                .count() as u64;
        }
        Ok(())
    }
}
