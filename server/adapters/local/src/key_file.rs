//! The audit signing key of the embedded store, kept outside the database it protects: in a
//! file of its own beside it (`<database>.audit-key`), readable by its owner only. Someone
//! who can write the database but not read this file can rewrite the trail, but cannot sign
//! a checkpoint over it.

use crate::LocalStore;
use countersign_domain::ports::PortError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the audit signing key lives.
pub struct AuditKeyFile {
    path: PathBuf,
}

/// The settings row older versions kept the key in, inside the database.
const KEPT_IN_THE_DATABASE: &str = "audit_signing_key";

impl AuditKeyFile {
    /// `<database>.audit-key`.
    pub fn beside(database: &Path) -> Self {
        let mut name = database.as_os_str().to_owned();
        name.push(".audit-key");
        Self {
            path: PathBuf::from(name),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key in the file. Without one, the key an older version kept in `store` moves
    /// here (and leaves the database), or `generate()` makes one; the file is created for
    /// its owner only, and of two processes starting together one writes it and both use it.
    pub fn kept(
        &self,
        store: &LocalStore,
        generate: impl FnOnce() -> String,
    ) -> Result<String, PortError> {
        if let Some(key) = self.read()? {
            return Ok(key);
        }
        let earlier = store.setting(KEPT_IN_THE_DATABASE)?;
        let key = earlier.clone().unwrap_or_else(generate);
        match self.create(&key) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(unavailable(&self.path, e)),
        }
        let kept = self.read()?.ok_or_else(|| {
            PortError::Unavailable(format!("{} was written but is empty", self.path.display()))
        })?;
        if earlier.is_some() {
            store.forget_setting(KEPT_IN_THE_DATABASE)?;
        }
        Ok(kept)
    }

    fn read(&self) -> Result<Option<String>, PortError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) if text.trim().is_empty() => Ok(None),
            Ok(text) => Ok(Some(text.trim().to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable(&self.path, e)),
        }
    }

    fn create(&self, key: &str) -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&self.path)?;
        writeln!(file, "{key}")?;
        file.sync_all()
    }
}

fn unavailable(path: &Path, e: std::io::Error) -> PortError {
    PortError::Unavailable(format!("the audit key file {}: {e}", path.display()))
}
