//! How the domain's values are written into columns and read back: timestamps, step
//! states, people, and whole versions, decisions and deployments.

use countersign_domain::ports::*;
use countersign_domain::*;
use rusqlite::{Connection, Row};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Statements run from the connection's cache of prepared statements: parsing and planning
/// the same SQL again for every write was a sixth of a registration's time.
pub(crate) trait CachedStatements {
    fn execute_cached(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;

    fn query_row_cached<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
}

impl CachedStatements for Connection {
    fn execute_cached(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, read)
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

pub(crate) fn corrupt(what: &str, value: &str) -> rusqlite::Error {
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

pub(crate) fn steps_json(steps: &Steps) -> String {
    let map: serde_json::Map<String, serde_json::Value> = steps
        .iter()
        .map(|(env, state)| (env.to_string(), state.as_str().into()))
        .collect();
    serde_json::Value::Object(map).to_string()
}

pub(crate) fn parse_steps(text: &str) -> rusqlite::Result<Steps> {
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

pub(crate) fn person(row: &Row, first_column: usize) -> rusqlite::Result<Person> {
    Ok(Person {
        subject: row.get(first_column)?,
        name: row.get(first_column + 1)?,
        email: row.get(first_column + 2)?,
    })
}

pub(crate) fn group_name(text: String) -> rusqlite::Result<GroupName> {
    GroupName::parse(&text).map_err(|_| corrupt("group name", &text))
}

pub(crate) fn version_number(n: i64) -> rusqlite::Result<VersionNumber> {
    u32::try_from(n)
        .ok()
        .and_then(|n| VersionNumber::new(n).ok())
        .ok_or_else(|| corrupt("version", &n.to_string()))
}

pub(crate) fn environment(text: String) -> rusqlite::Result<Environment> {
    Environment::parse(&text).map_err(|_| corrupt("environment", &text))
}

pub(crate) const VERSION_COLUMNS: &str = "group_name, version, arn, approval_status, steps, image_uri, \
     model_data_url, description, metrics, registered_by_subject, registered_by_name, \
     registered_by_email, registered_at, revision, registered_through, image_digest, model_data_etag, custom_metadata, registrant_verified";

pub(crate) fn version_from_row(row: &Row) -> rusqlite::Result<ModelVersion> {
    let status: String = row.get(3)?;
    let metrics: String = row.get(8)?;
    let metadata: String = row.get(17)?;
    // Versions here are registered through the API only: the registrant it named is all
    // there is to attribute them to, established only when the caller was bound to them.
    let registrant = person(row, 9)?;
    let verified = row.get::<_, Option<bool>>(18)?.unwrap_or(false);
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
        attributed_to: Attribution::declared(&registrant).and_verified_when(verified),
        registered_through: row.get(14)?,
        registered_at: parse_timestamp(&row.get::<_, String>(12)?)?,
        drift: Vec::new(),
        revision: row.get::<_, i64>(13)? as u64,
    })
}

pub(crate) const DECISION_COLUMNS: &str = "id, group_name, version, environment, verdict, reason, \
     decided_by_subject, decided_by_name, decided_by_email, decided_at, resulting_state, \
     rollback_to, signature_meaning, record_digest, signature_replaces, signature_authentication, \
     signature_identity_evidence, signature_groups";

pub(crate) fn decision_from_row(row: &Row) -> rusqlite::Result<DecisionRecord> {
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
                authentication: json_column(row, 15, "signature authentication")?,
                identity_evidence: json_column(row, 16, "signature identity evidence")?,
                groups: json_column(row, 17, "signature groups")?.unwrap_or_default(),
            }),
            _ => None,
        },
    })
}

/// The JSON column `index`, read as `T`; `None` when NULL.
fn json_column<T: serde::de::DeserializeOwned>(
    row: &Row,
    index: usize,
    what: &str,
) -> rusqlite::Result<Option<T>> {
    row.get::<_, Option<String>>(index)?
        .map(|json| serde_json::from_str(&json).map_err(|_| corrupt(what, &json)))
        .transpose()
}

pub(crate) const DEPLOYMENT_COLUMNS: &str = "group_name, version, arn, environment, image_uri, \
     model_data_url, approved_by_subject, approved_by_name, approved_by_email, approved_at, \
     decision_id";

pub(crate) fn deployment_from_row(row: &Row) -> rusqlite::Result<Deployment> {
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
