//! The embedded backend: the model registry, the parameter store, the decision log, the
//! inference reports and the notification outbox in one SQLite file, so Countersign runs on
//! a laptop with no cloud account.
//!
//! One file means one transaction can hold a whole decision, which is how this adapter
//! keeps the ports' promise that a decision is applied completely or not at all. The schema
//! mirrors what the AWS backend stores: per-environment step states are a JSON object shaped
//! like SageMaker custom metadata, and each environment's deployments are numbered like SSM
//! parameter versions.

mod audit;
mod outbox;
mod reports;
mod revocations;

use async_trait::async_trait;
pub use audit::CheckpointFile;
use countersign_domain::ports::*;
use countersign_domain::*;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use std::path::Path;
use std::sync::{Arc, Mutex};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE model_versions (
    group_name      TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    arn             TEXT    NOT NULL UNIQUE,
    approval_status TEXT    NOT NULL,
    steps           TEXT    NOT NULL,
    image_uri       TEXT    NOT NULL,
    model_data_url  TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    metrics         TEXT    NOT NULL,
    registered_by_subject TEXT NOT NULL,
    registered_by_name    TEXT NOT NULL,
    registered_by_email   TEXT NOT NULL,
    registered_at   TEXT    NOT NULL,
    revision        INTEGER NOT NULL,
    PRIMARY KEY (group_name, version)
);
CREATE TABLE decisions (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    group_name      TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    environment     TEXT    NOT NULL,
    verdict         TEXT    NOT NULL,
    reason          TEXT,
    decided_by_subject TEXT NOT NULL,
    decided_by_name    TEXT NOT NULL,
    decided_by_email   TEXT NOT NULL,
    decided_at      TEXT    NOT NULL,
    resulting_state TEXT    NOT NULL
);
CREATE INDEX decisions_by_version ON decisions (group_name, version, seq);
CREATE TABLE deployments (
    group_name      TEXT    NOT NULL,
    environment     TEXT    NOT NULL,
    parameter_version INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    arn             TEXT    NOT NULL,
    image_uri       TEXT    NOT NULL,
    model_data_url  TEXT    NOT NULL,
    approved_by_subject TEXT NOT NULL,
    approved_by_name    TEXT NOT NULL,
    approved_by_email   TEXT NOT NULL,
    approved_at     TEXT    NOT NULL,
    decision_id     TEXT    NOT NULL,
    PRIMARY KEY (group_name, environment, parameter_version)
);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE outbox (
    key             TEXT PRIMARY KEY,
    recipients      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    -- Times in Unix milliseconds, so that SQL compares them as numbers.
    created_ms      INTEGER NOT NULL,
    next_attempt_ms INTEGER,
    lease_until_ms  INTEGER,
    sent_ms         INTEGER
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);
"#,
    r#"
CREATE TABLE reports (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    group_name  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    environment TEXT    NOT NULL,
    run_id      TEXT    NOT NULL,
    -- The report document (countersign_domain::ReportDocument), as the AWS backend stores it.
    document    TEXT    NOT NULL,
    UNIQUE (group_name, version, environment, run_id)
);
"#,
    r#"
-- The version a rollback pointed the environment back to; NULL for other decisions.
ALTER TABLE decisions ADD COLUMN rollback_to INTEGER;
"#,
    r#"
CREATE TABLE session_revocations (
    whose              TEXT    NOT NULL PRIMARY KEY,
    issued_before_ms   INTEGER NOT NULL
);
"#,
    r#"
ALTER TABLE model_versions ADD COLUMN registered_through TEXT;
"#,
    r#"
ALTER TABLE decisions ADD COLUMN signature_meaning TEXT;
ALTER TABLE decisions ADD COLUMN record_digest TEXT;
ALTER TABLE decisions ADD COLUMN signature_replaces INTEGER;
"#,
    r#"
-- How the signer had last authenticated (countersign_domain::signature::Authentication, JSON).
ALTER TABLE decisions ADD COLUMN signature_authentication TEXT;
"#,
    r#"
-- Signatures that were not made (countersign_domain::signature::SigningAttempt, JSON).
CREATE TABLE signing_attempts (
    id          TEXT    NOT NULL PRIMARY KEY,
    group_name  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    attempt     TEXT    NOT NULL,
    seq         INTEGER NOT NULL UNIQUE
);
CREATE INDEX signing_attempts_by_version ON signing_attempts (group_name, version, seq);
"#,
    r#"
-- The artifacts' digests where known (countersign_domain::ArtifactDigests).
ALTER TABLE model_versions ADD COLUMN image_digest TEXT;
ALTER TABLE model_versions ADD COLUMN model_data_etag TEXT;
"#,
    r#"
-- The audit trail (countersign-audit): each group's entries exactly as they were hashed,
-- and the head an append continues from. Entries are never changed or removed.
CREATE TABLE audit_entries (
    group_name  TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    entry       TEXT    NOT NULL,
    PRIMARY KEY (group_name, seq),
    UNIQUE (group_name, key)
);
CREATE TABLE audit_heads (
    group_name  TEXT    NOT NULL PRIMARY KEY,
    head        TEXT    NOT NULL
);
CREATE TRIGGER audit_entries_are_never_changed BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_are_never_removed BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
"#,
    r#"
-- A pipeline's own metadata (countersign_domain::CustomMetadata), as a JSON object.
ALTER TABLE model_versions ADD COLUMN custom_metadata TEXT NOT NULL DEFAULT '{}';
"#,
];

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the SQLite store: {0}")]
    Sqlite(rusqlite::Error),
    #[error("cannot migrate the SQLite store: {0}")]
    Migration(rusqlite_migration::Error),
    #[error("cannot make the SQLite store readable by its owner only: {0}")]
    Permissions(std::io::Error),
}

/// The embedded store. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct LocalStore {
    connection: Arc<Mutex<Connection>>,
}

impl LocalStore {
    /// Opens (creating and migrating when needed) the store at `path`.
    /// Opens (creating it if needed) the store at `path`. The file is readable by its owner
    /// only: it keeps the session key, and whoever reads that can sign in as anyone.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let connection = Connection::open(path).map_err(OpenError::Sqlite)?;
        // Before the first write: SQLite gives its -wal and -shm files the database's mode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(OpenError::Permissions)?;
        }
        Self::prepare(connection)
    }

    pub fn open_in_memory() -> Result<Self, OpenError> {
        Self::prepare(Connection::open_in_memory().map_err(OpenError::Sqlite)?)
    }

    fn prepare(mut connection: Connection) -> Result<Self, OpenError> {
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(OpenError::Sqlite)?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(OpenError::Sqlite)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(OpenError::Sqlite)?;
        Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
            .to_latest(&mut connection)
            .map_err(OpenError::Migration)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Returns the stored setting, storing `make()` first when there is none. Used for
    /// secrets the server generates once and must keep across restarts.
    pub fn setting_or_insert(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String, PortError> {
        let connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let existing: Option<String> = connection
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(unavailable)?;
        if let Some(value) = existing {
            return Ok(value);
        }
        let value = make();
        connection
            .execute(
                "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map_err(unavailable)?;
        connection
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .map_err(unavailable)
    }

    /// Runs blocking SQLite work off the async runtime.
    pub(crate) async fn with<T, F>(&self, work: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, PortError> + Send + 'static,
    {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = connection.lock().unwrap_or_else(|p| p.into_inner());
            work(&mut connection)
        })
        .await
        .map_err(|e| PortError::Unavailable(format!("store task failed: {e}")))?
    }
}

pub(crate) fn unavailable(e: rusqlite::Error) -> PortError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..) => {
            PortError::Corrupt(e.to_string())
        }
        other => PortError::Unavailable(other.to_string()),
    }
}

/// Runs a query and maps every row it returns.
pub(crate) fn all_rows<T>(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>, PortError> {
    let mut statement = connection.prepare_cached(sql).map_err(unavailable)?;
    let rows = statement.query_map(params, map).map_err(unavailable)?;
    rows.collect::<Result<_, _>>().map_err(unavailable)
}

fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("{what} {value:?} is not valid").into(),
    )
}

pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .expect("UTC timestamps always format as RFC 3339")
}

pub(crate) fn parse_timestamp(text: &str) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| corrupt("timestamp", text))
}

fn steps_json(steps: &Steps) -> String {
    let map: serde_json::Map<String, serde_json::Value> = steps
        .iter()
        .map(|(env, state)| (env.to_string(), state.as_str().into()))
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn parse_steps(text: &str) -> rusqlite::Result<Steps> {
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|_| corrupt("steps", text))?;
    map.into_iter()
        .map(|(env, state)| {
            let env = Environment::parse(&env).map_err(|_| corrupt("environment", &env))?;
            let state = StepState::parse(&state).ok_or_else(|| corrupt("step state", &state))?;
            Ok((env, state))
        })
        .collect()
}

fn person(row: &Row, first_column: usize) -> rusqlite::Result<Person> {
    Ok(Person {
        subject: row.get(first_column)?,
        name: row.get(first_column + 1)?,
        email: row.get(first_column + 2)?,
    })
}

fn group_name(text: String) -> rusqlite::Result<GroupName> {
    GroupName::parse(&text).map_err(|_| corrupt("group name", &text))
}

fn version_number(n: i64) -> rusqlite::Result<VersionNumber> {
    u32::try_from(n)
        .ok()
        .and_then(|n| VersionNumber::new(n).ok())
        .ok_or_else(|| corrupt("version", &n.to_string()))
}

fn environment(text: String) -> rusqlite::Result<Environment> {
    Environment::parse(&text).map_err(|_| corrupt("environment", &text))
}

const VERSION_COLUMNS: &str = "group_name, version, arn, approval_status, steps, image_uri, \
     model_data_url, description, metrics, registered_by_subject, registered_by_name, \
     registered_by_email, registered_at, revision, registered_through, image_digest, model_data_etag, custom_metadata";

fn version_from_row(row: &Row) -> rusqlite::Result<ModelVersion> {
    let status: String = row.get(3)?;
    let metrics: String = row.get(8)?;
    let metadata: String = row.get(17)?;
    // Versions here are registered through the API only: the declared registrant is all
    // there is to attribute them to.
    let registrant = person(row, 9)?;
    Ok(ModelVersion {
        group: group_name(row.get(0)?)?,
        version: version_number(row.get(1)?)?,
        arn: row.get(2)?,
        approval_status: ApprovalStatus::parse(&status)
            .ok_or_else(|| corrupt("approval status", &status))?,
        steps: parse_steps(&row.get::<_, String>(4)?)?,
        image_uri: row.get(5)?,
        model_data_url: row.get(6)?,
        digests: ArtifactDigests {
            image: row.get(15)?,
            model_data: row.get(16)?,
        },
        description: row.get(7)?,
        metrics: serde_json::from_str(&metrics).map_err(|_| corrupt("metrics", &metrics))?,
        metadata: serde_json::from_str(&metadata).map_err(|_| corrupt("metadata", &metadata))?,
        registered_by: registrant.clone(),
        attributed_to: Attribution::of(&registrant),
        registered_through: row.get(14)?,
        registered_at: parse_timestamp(&row.get::<_, String>(12)?)?,
        drift: Vec::new(),
        revision: row.get::<_, i64>(13)? as u64,
    })
}

const DECISION_COLUMNS: &str = "id, group_name, version, environment, verdict, reason, \
     decided_by_subject, decided_by_name, decided_by_email, decided_at, resulting_state, \
     rollback_to, signature_meaning, record_digest, signature_replaces, signature_authentication";

fn decision_from_row(row: &Row) -> rusqlite::Result<DecisionRecord> {
    let verdict: String = row.get(4)?;
    let state: String = row.get(10)?;
    Ok(DecisionRecord {
        id: row.get(0)?,
        group: group_name(row.get(1)?)?,
        version: version_number(row.get(2)?)?,
        environment: environment(row.get(3)?)?,
        verdict: Verdict::parse(&verdict).ok_or_else(|| corrupt("verdict", &verdict))?,
        reason: row.get(5)?,
        decided_by: person(row, 6)?,
        decided_at: parse_timestamp(&row.get::<_, String>(9)?)?,
        resulting_state: StepState::parse(&state).ok_or_else(|| corrupt("step state", &state))?,
        rollback_to: row
            .get::<_, Option<i64>>(11)?
            .map(version_number)
            .transpose()?,
        signature: match (row.get(12)?, row.get(13)?) {
            (Some(meaning), Some(record_digest)) => Some(Signature {
                meaning,
                record_digest,
                replaces_version: row.get(14)?,
                authentication: match row.get::<_, Option<String>>(15)? {
                    Some(json) => Some(
                        serde_json::from_str(&json)
                            .map_err(|_| corrupt("signature authentication", &json))?,
                    ),
                    None => None,
                },
            }),
            _ => None,
        },
    })
}

const DEPLOYMENT_COLUMNS: &str = "group_name, version, arn, environment, image_uri, \
     model_data_url, approved_by_subject, approved_by_name, approved_by_email, approved_at, \
     decision_id";

fn deployment_from_row(row: &Row) -> rusqlite::Result<Deployment> {
    Ok(Deployment {
        group: group_name(row.get(0)?)?,
        version: version_number(row.get(1)?)?,
        arn: row.get(2)?,
        environment: environment(row.get(3)?)?,
        image_uri: row.get(4)?,
        model_data_url: row.get(5)?,
        approved_by: person(row, 6)?,
        approved_at: parse_timestamp(&row.get::<_, String>(9)?)?,
        decision_id: row.get(10)?,
    })
}

#[async_trait]
impl ModelRegistry for LocalStore {
    async fn list_groups(&self) -> Result<Vec<GroupSummary>, PortError> {
        // `registered_at` is a bare column beside MAX(version): SQLite takes it from the
        // row holding the maximum, i.e. the latest version. (MAX over the RFC 3339 text
        // would misorder timestamps whose fractional seconds differ in length.)
        self.with(|c| {
            all_rows(
                c,
                "SELECT group_name, COUNT(*), MAX(version), registered_at \
                     FROM model_versions GROUP BY group_name ORDER BY group_name",
                [],
                |row| {
                    let latest: Option<String> = row.get(3)?;
                    Ok(GroupSummary {
                        group: group_name(row.get(0)?)?,
                        version_count: Some(row.get::<_, i64>(1)? as u64),
                        latest_version: row
                            .get::<_, Option<i64>>(2)?
                            .map(version_number)
                            .transpose()?,
                        latest_registered_at: latest.as_deref().map(parse_timestamp).transpose()?,
                    })
                },
            )
        })
        .await
    }

    async fn list_versions(
        &self,
        group: &GroupName,
        page: PageRequest,
    ) -> Result<Page<ModelVersion>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            let total: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM model_versions WHERE group_name = ?1",
                    [&group],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            let items = all_rows(
                c,
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM model_versions WHERE group_name = ?1 \
                     ORDER BY version DESC LIMIT ?2 OFFSET ?3"
                ),
                params![group, page.limit, page.offset as i64],
                version_from_row,
            )?;
            Ok(Page {
                items,
                total: total as u64,
            })
        })
        .await
    }

    async fn find_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<ModelVersion>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            c.query_row(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM model_versions \
                     WHERE group_name = ?1 AND version = ?2"
                ),
                params![group, version.get()],
                version_from_row,
            )
            .optional()
            .map_err(unavailable)
        })
        .await
    }

    async fn register(&self, new: NewVersion) -> Result<ModelVersion, PortError> {
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let r = &new.registration;
            let next: i64 = tx
                .query_row(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE group_name = ?1",
                    [r.group.as_str()],
                    |row| row.get(0),
                )
                .map_err(unavailable)?;
            let version = version_number(next).map_err(unavailable)?;
            let arn = format!("local:model-package/{}/{}", r.group, version);
            let metrics = serde_json::to_string(&r.metrics)
                .map_err(|e| PortError::Corrupt(e.to_string()))?;
            let custom_metadata = serde_json::to_string(&r.metadata)
                .map_err(|e| PortError::Corrupt(e.to_string()))?;
            tx.execute(
                &format!("INSERT INTO model_versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?15, ?16, ?17)"),
                params![
                    r.group.as_str(),
                    next,
                    arn,
                    new.approval_status.as_str(),
                    steps_json(&new.steps),
                    r.image_uri,
                    r.model_data_url,
                    r.description,
                    metrics,
                    r.registered_by.subject,
                    r.registered_by.name,
                    r.registered_by.email,
                    timestamp(new.registered_at),
                    r.registered_through,
                    r.digests.image,
                    r.digests.model_data,
                    custom_metadata,
                ],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(new.into_version(version, arn))
        })
        .await
    }

    async fn undecided_versions(&self) -> Result<Vec<ModelVersion>, PortError> {
        self.with(|c| {
            all_rows(
                c,
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM model_versions \
                     WHERE approval_status = 'PendingManualApproval' ORDER BY group_name, version"
                ),
                [],
                version_from_row,
            )
        })
        .await
    }

    async fn versions_registered_by(
        &self,
        person: &Person,
        limit: u32,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError> {
        // A person has at most two identifiers (subject, e-mail); one is passed twice.
        let identifiers: Vec<String> = person.identifiers().into_iter().collect();
        let Some(first) = identifiers.first().cloned() else {
            return Ok(Vec::new());
        };
        let second = identifiers.get(1).cloned().unwrap_or_else(|| first.clone());
        self.with(move |c| {
            all_rows(
                c,
                "SELECT group_name, version FROM model_versions \
                 WHERE lower(trim(registered_by_subject)) IN (?1, ?2) \
                    OR lower(trim(registered_by_email)) IN (?1, ?2) \
                 ORDER BY registered_at DESC, group_name, version DESC LIMIT ?3",
                params![first, second, limit],
                |row| Ok((group_name(row.get(0)?)?, version_number(row.get(1)?)?)),
            )
        })
        .await
    }

    async fn versions_with_a_pending_step(
        &self,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError> {
        self.with(|c| {
            all_rows(
                c,
                "SELECT group_name, version FROM model_versions \
                 WHERE steps LIKE '%PendingManualApproval%' ORDER BY group_name, version",
                [],
                |row| Ok((group_name(row.get(0)?)?, version_number(row.get(1)?)?)),
            )
        })
        .await
    }
}

#[async_trait]
impl ParameterStore for LocalStore {
    async fn live(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        let (group, environment) = (group.to_string(), environment.to_string());
        self.with(move |c| {
            c.prepare_cached(&format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments \
                 WHERE group_name = ?1 AND environment = ?2 \
                 ORDER BY parameter_version DESC LIMIT 1"
            ))
            .and_then(|mut s| {
                s.query_row(params![group, environment], deployment_from_row)
                    .optional()
            })
            .map_err(unavailable)
        })
        .await
    }

    async fn history(&self, group: &GroupName) -> Result<Vec<Deployment>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            all_rows(
                c,
                // Rows are inserted as decisions commit, so the rowid orders them in time.
                &format!(
                    "SELECT {DEPLOYMENT_COLUMNS} FROM deployments \
                     WHERE group_name = ?1 ORDER BY rowid DESC"
                ),
                params![group],
                deployment_from_row,
            )
        })
        .await
    }
}

#[async_trait]
impl AuditLog for LocalStore {
    async fn decisions_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<DecisionRecord>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            all_rows(
                c,
                &format!(
                    "SELECT {DECISION_COLUMNS} FROM decisions \
                     WHERE group_name = ?1 AND version = ?2 ORDER BY seq"
                ),
                params![group, version.get()],
                decision_from_row,
            )
        })
        .await
    }

    async fn decisions_for_group(
        &self,
        group: &GroupName,
    ) -> Result<Vec<DecisionRecord>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            all_rows(
                c,
                &format!(
                    "SELECT {DECISION_COLUMNS} FROM decisions WHERE group_name = ?1 ORDER BY seq"
                ),
                params![group],
                decision_from_row,
            )
        })
        .await
    }

    async fn record_attempt(&self, attempt: &SigningAttempt) -> Result<(), PortError> {
        let attempt = attempt.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO signing_attempts (id, group_name, version, attempt, seq) \
                 SELECT ?1, ?2, ?3, ?4, COALESCE(MAX(seq), 0) + 1 FROM signing_attempts \
                 WHERE true ON CONFLICT (id) DO NOTHING",
                params![
                    attempt.id,
                    attempt.group,
                    attempt.version,
                    attempt.to_json()
                ],
            )
            .map(|_| ())
            .map_err(unavailable)
        })
        .await
    }

    async fn attempts_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<SigningAttempt>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            all_rows(
                c,
                "SELECT attempt FROM signing_attempts WHERE group_name = ?1 AND version = ?2 ORDER BY seq",
                params![group, version.get()],
                |row| {
                    let json: String = row.get(0)?;
                    SigningAttempt::from_json(&json).map_err(|_| corrupt("signing attempt", &json))
                },
            )
        })
        .await
    }
}

#[async_trait]
impl DecisionCommitter for LocalStore {
    async fn commit(
        &self,
        effect: &DecisionEffect,
        entry: &countersign_domain::audit::AuditRecord,
    ) -> Result<countersign_domain::audit::Appended, PortError> {
        let effect = effect.clone();
        let entry = entry.clone();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let record = &effect.record;
            let already: bool = tx
                .query_row("SELECT 1 FROM decisions WHERE id = ?1", [&record.id], |_| Ok(()))
                .optional()
                .map_err(unavailable)?
                .is_some();
            if already {
                // The same decision committed again (a retry): it is already whole, its
                // entry with it.
                return audit::append_in(&tx, &entry);
            }
            if let Some(d) = &effect.deployment {
                let live: Option<String> = tx
                    .query_row(
                        "SELECT decision_id FROM deployments WHERE group_name = ?1 AND environment = ?2 \
                         ORDER BY parameter_version DESC LIMIT 1",
                        params![d.group.as_str(), d.environment.as_str()],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(unavailable)?;
                if !effect.may_replace(live.as_deref()) {
                    return Err(PortError::Conflict);
                }
            }
            let changed = tx
                .execute(
                    "UPDATE model_versions SET approval_status = ?1, steps = ?2, revision = revision + 1 \
                     WHERE group_name = ?3 AND version = ?4 AND revision = ?5",
                    params![
                        effect.approval_status.as_str(),
                        steps_json(&effect.steps),
                        record.group.as_str(),
                        record.version.get(),
                        effect.based_on_revision as i64,
                    ],
                )
                .map_err(unavailable)?;
            if changed != 1 {
                return Err(PortError::Conflict);
            }
            tx.execute(
                &format!("INSERT INTO decisions ({DECISION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"),
                params![
                    record.id,
                    record.group.as_str(),
                    record.version.get(),
                    record.environment.as_str(),
                    record.verdict.as_str(),
                    record.reason,
                    record.decided_by.subject,
                    record.decided_by.name,
                    record.decided_by.email,
                    timestamp(record.decided_at),
                    record.resulting_state.as_str(),
                    record.rollback_to.map(VersionNumber::get),
                    record.signature.as_ref().map(|s| &s.meaning),
                    record.signature.as_ref().map(|s| &s.record_digest),
                    record.signature.as_ref().and_then(|s| s.replaces_version),
                    record
                        .signature
                        .as_ref()
                        .and_then(|s| s.authentication.as_ref())
                        .map(|a| serde_json::to_string(a).expect("authentication serialises")),
                ],
            )
            .map_err(unavailable)?;
            if let Some(d) = &effect.deployment {
                tx.execute(
                    "INSERT INTO deployments (group_name, environment, parameter_version, version, arn, \
                     image_uri, model_data_url, approved_by_subject, approved_by_name, approved_by_email, \
                     approved_at, decision_id) \
                     SELECT ?1, ?2, COALESCE(MAX(parameter_version), 0) + 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 \
                     FROM deployments WHERE group_name = ?1 AND environment = ?2",
                    params![
                        d.group.as_str(),
                        d.environment.as_str(),
                        d.version.get(),
                        d.arn,
                        d.image_uri,
                        d.model_data_url,
                        d.approved_by.subject,
                        d.approved_by.name,
                        d.approved_by.email,
                        timestamp(d.approved_at),
                        d.decision_id,
                    ],
                )
                .map_err(unavailable)?;
            }
            let appended = audit::append_in(&tx, &entry)?;
            tx.commit().map_err(unavailable)?;
            Ok(appended)
        })
        .await
    }
}
