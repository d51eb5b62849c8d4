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
mod commit;
mod key_file;
mod log;
mod outbox;
mod parameters;
mod registry;
mod reports;
mod revocations;
mod rows;
mod schema;
mod sign_ins;
mod waiting;

pub use audit::CheckpointFile;
use countersign_domain::ports::*;
pub use key_file::AuditKeyFile;
use rows::*;
use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use schema::MIGRATIONS;
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the SQLite store: {0}")]
    Sqlite(rusqlite::Error),
    #[error("cannot migrate the SQLite store: {0}")]
    Migration(rusqlite_migration::Error),
    #[error("cannot make the SQLite store readable by its owner only: {0}")]
    Permissions(std::io::Error),
}

/// How many prepared statements the connection keeps (the store runs some fifty).
const STATEMENTS_CACHED: usize = 128;

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
        // Room for every statement the store runs, so that none is parsed twice.
        connection.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
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
            .query_row_cached("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(unavailable)?;
        if let Some(value) = existing {
            return Ok(value);
        }
        let value = make();
        connection
            .execute_cached(
                "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map_err(unavailable)?;
        connection
            .query_row_cached("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .map_err(unavailable)
    }

    /// The stored setting `key`, if any.
    pub fn setting(&self, key: &str) -> Result<Option<String>, PortError> {
        let connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        connection
            .query_row_cached("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(unavailable)
    }

    /// Removes the setting `key` (one kept elsewhere now).
    pub fn forget_setting(&self, key: &str) -> Result<(), PortError> {
        let connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        connection
            .execute_cached("DELETE FROM settings WHERE key = ?1", [key])
            .map_err(unavailable)?;
        Ok(())
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
