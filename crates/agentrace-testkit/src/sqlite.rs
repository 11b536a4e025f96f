//! Temporary SQLite database files.
//!
//! SQLite in WAL mode writes `-wal` and `-shm` files beside the database, so a
//! test gets a whole private directory rather than a lone temporary file:
//! dropping the directory removes all three.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// A path for a fresh SQLite database (not yet created) in a temporary
/// directory that is removed, with everything in it, when this is dropped.
#[derive(Debug)]
pub struct TempSqlite {
    path: PathBuf,
    // Held only for its Drop, which removes the directory.
    _directory: TempDir,
}

impl TempSqlite {
    /// # Panics
    /// When the temporary directory cannot be created: a test cannot go on
    /// without it, and the panic message says why.
    pub fn new() -> TempSqlite {
        let directory = tempfile::Builder::new()
            .prefix("agentrace-testkit-sqlite-")
            .tempdir()
            .expect("create a temporary directory for a SQLite test database");
        let path = directory.path().join("agentrace.db");
        TempSqlite { path, _directory: directory }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for TempSqlite {
    fn default() -> Self {
        TempSqlite::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_instance_has_its_own_path_and_cleans_up() {
        let first = TempSqlite::new();
        let second = TempSqlite::new();
        assert_ne!(first.path(), second.path());
        std::fs::write(first.path(), b"x").unwrap();
        std::fs::write(first.path().with_extension("db-wal"), b"x").unwrap();
        let directory = first.path().parent().unwrap().to_path_buf();
        drop(first);
        assert!(!directory.exists());
    }
}
