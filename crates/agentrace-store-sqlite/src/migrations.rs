//! The SQLite migration runner: applies the files of `migrations/sqlite`,
//! embedded at build time, and keeps the ledger `agent.schema_migrations`
//! with the same columns and rules as the PostgreSQL one.
//!
//! - files apply in version order (the three-digit prefix);
//! - each file and its ledger row (version, file name, sha256 hex of the
//!   file's bytes) commit in one transaction, so a failed file leaves no
//!   trace; a file must not contain transaction control;
//! - a recorded version with the same checksum is skipped; with another
//!   checksum it is refused: an applied migration is never edited;
//! - SQLite's write lock stands in for PostgreSQL's advisory lock: each
//!   pending file is re-checked and applied inside a `BEGIN IMMEDIATE`
//!   transaction, so concurrent runs (the server and `agentrace migrate` on
//!   one file) apply it once. A run with nothing to do takes no write lock.
//!
//! Ordering, checksums and the two refusals are `agentrace_store::migrations`,
//! shared with the PostgreSQL runner; the ledger, lock and transactions are
//! here.
//!
//! Expects a connection from [`crate::connection::open`], where the database
//! file is attached as `agent`.

use agentrace_store::migrations::{in_version_order, is_applied};
pub use agentrace_store::migrations::{AppliedMigration, Migration, MigrationConflict};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

const CREATE_LEDGER: &str = "
CREATE TABLE IF NOT EXISTS agent.schema_migrations (
    version    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
";

/// Every file of `migrations/sqlite`, in version order.
pub const MIGRATIONS: &[Migration] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("could not {action}: {error}")]
    Ledger { action: &'static str, error: rusqlite::Error },

    #[error("migration {name} failed: {error}")]
    Apply { name: String, error: rusqlite::Error },

    /// A changed applied file, or two files with one version.
    #[error(transparent)]
    Conflict(#[from] MigrationConflict),
}

/// Applies [`MIGRATIONS`] over `connection`.
pub fn apply(connection: &mut Connection) -> Result<Vec<AppliedMigration>, MigrationError> {
    apply_migrations(connection, MIGRATIONS)
}

/// Applies `migrations` (sorted here by version) under the rules of this
/// module. agentrace itself only ever passes [`MIGRATIONS`]; tests pass
/// their own sets.
pub fn apply_migrations(
    connection: &mut Connection,
    migrations: &[Migration],
) -> Result<Vec<AppliedMigration>, MigrationError> {
    let ordered = in_version_order(migrations)?;
    let ledger_exists: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM agent.sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
            [],
            |row| row.get(0),
        )
        .map_err(ledger_error("look for the migration ledger agent.schema_migrations"))?;
    if !ledger_exists {
        connection
            .execute_batch(CREATE_LEDGER)
            .map_err(ledger_error("create the migration ledger agent.schema_migrations"))?;
    }

    let mut applied = Vec::new();
    for migration in &ordered {
        let checksum = migration.checksum();
        // Read without a write lock first: on a run with nothing to do, no
        // file needs one.
        if is_recorded(connection, migration, &checksum)? {
            continue;
        }
        let failed = |error| MigrationError::Apply { name: migration.name.to_owned(), error };
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
        // Again under the lock: a concurrent run may have applied it since.
        if is_recorded(&transaction, migration, &checksum)? {
            continue;
        }
        transaction.execute_batch(migration.sql).map_err(failed)?;
        transaction
            .execute(
                "INSERT INTO agent.schema_migrations (version, name, checksum) VALUES (?1, ?2, ?3)",
                [migration.version, migration.name, &checksum],
            )
            .map_err(failed)?;
        transaction.commit().map_err(failed)?;
        tracing::info!(migration = migration.name, "applied migration");
        applied.push(migration.applied(checksum));
    }
    Ok(applied)
}

/// Whether `migration` is applied already; an error if it was applied with
/// other contents.
fn is_recorded(connection: &Connection, migration: &Migration, checksum: &str) -> Result<bool, MigrationError> {
    let recorded: Option<String> = connection
        .query_row("SELECT checksum FROM agent.schema_migrations WHERE version = ?1", [migration.version], |row| {
            row.get(0)
        })
        .optional()
        .map_err(ledger_error("read the migration ledger agent.schema_migrations"))?;
    Ok(is_applied(migration, checksum, recorded.as_deref())?)
}

fn ledger_error(action: &'static str) -> impl Fn(rusqlite::Error) -> MigrationError {
    move |error| MigrationError::Ledger { action, error }
}

#[cfg(test)]
mod tests {
    use agentrace_testkit::sqlite::TempSqlite;

    use super::*;
    use crate::connection;

    const THINGS: Migration = Migration {
        version: "001",
        name: "001_create_things.sql",
        sql: "CREATE TABLE agent.things (id INTEGER PRIMARY KEY);\n",
    };
    const PARTS: Migration = Migration {
        version: "002",
        name: "002_create_parts.sql",
        sql: "CREATE TABLE agent.parts (thing INTEGER REFERENCES things (id));\n",
    };
    const VIEW: Migration = Migration {
        version: "003",
        name: "003_create_thing_view.sql",
        sql: "CREATE VIEW agent.thing_parts AS SELECT * FROM things JOIN parts ON thing = id;\n",
    };

    fn ledger(connection: &Connection) -> Vec<(String, String, String, String)> {
        let mut statement = connection
            .prepare("SELECT version, name, checksum, applied_at FROM agent.schema_migrations ORDER BY version")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn names(applied: &[AppliedMigration]) -> Vec<&str> {
        applied.iter().map(|migration| migration.name.as_str()).collect()
    }

    #[test]
    fn applies_in_version_order_whatever_the_given_order() {
        let file = TempSqlite::new();
        let mut connection = connection::open(file.path()).unwrap();

        let applied = apply_migrations(&mut connection, &[VIEW, THINGS, PARTS]).unwrap();

        assert_eq!(names(&applied), ["001_create_things.sql", "002_create_parts.sql", "003_create_thing_view.sql"]);
        let recorded = ledger(&connection);
        assert_eq!(recorded.len(), 3);
        assert_eq!(
            (recorded[1].0.as_str(), recorded[1].1.as_str(), recorded[1].2.clone()),
            ("002", "002_create_parts.sql", PARTS.checksum())
        );
        assert!(recorded[1].3.ends_with('Z'), "applied_at is RFC 3339 UTC: {}", recorded[1].3);
    }

    #[test]
    fn a_second_run_skips_everything_and_writes_nothing() {
        let file = TempSqlite::new();
        let mut connection = connection::open(file.path()).unwrap();
        apply_migrations(&mut connection, &[THINGS, PARTS]).unwrap();
        let before = ledger(&connection);

        let again = apply_migrations(&mut connection, &[THINGS, PARTS]).unwrap();

        assert!(again.is_empty());
        assert_eq!(ledger(&connection), before);
    }

    #[test]
    fn the_ledger_lives_in_the_file_not_the_connection() {
        let file = TempSqlite::new();
        apply_migrations(&mut connection::open(file.path()).unwrap(), &[THINGS]).unwrap();

        let applied = apply_migrations(&mut connection::open(file.path()).unwrap(), &[THINGS, PARTS]).unwrap();

        assert_eq!(names(&applied), ["002_create_parts.sql"]);
    }

    #[test]
    fn a_changed_applied_file_is_refused_by_name_and_nothing_after_it_runs() {
        let file = TempSqlite::new();
        let mut connection = connection::open(file.path()).unwrap();
        apply_migrations(&mut connection, &[THINGS, PARTS]).unwrap();
        let edited = Migration { sql: "CREATE TABLE agent.parts (thing INTEGER);\n", ..PARTS };

        let error = apply_migrations(&mut connection, &[THINGS, edited, VIEW]).unwrap_err();

        assert_eq!(
            error.to_string(),
            format!(
                "migration 002_create_parts.sql was changed after it was applied (checksum {}, recorded {}); \
                 add a new migration instead of editing an applied one",
                edited.checksum(),
                PARTS.checksum()
            )
        );
        assert_eq!(ledger(&connection).len(), 2);
    }

    #[test]
    fn a_failing_file_rolls_back_whole() {
        let file = TempSqlite::new();
        let mut connection = connection::open(file.path()).unwrap();
        let broken =
            Migration { sql: "CREATE TABLE agent.parts (thing INTEGER);\nCREATE TABLE agent.oops (;\n", ..PARTS };

        let error = apply_migrations(&mut connection, &[THINGS, broken, VIEW]).unwrap_err();

        let message = error.to_string();
        assert!(message.starts_with("migration 002_create_parts.sql failed: "), "{message}");
        assert!(message.contains("syntax error"), "{message}");
        let versions: Vec<String> = ledger(&connection).into_iter().map(|row| row.0).collect();
        assert_eq!(versions, ["001"]);
        let parts_exists: bool = connection
            .query_row("SELECT EXISTS (SELECT 1 FROM agent.sqlite_master WHERE name = 'parts')", [], |row| row.get(0))
            .unwrap();
        assert!(!parts_exists, "the failed file's first statement must be rolled back");
        let applied = apply_migrations(&mut connection, &[THINGS, PARTS, VIEW]).unwrap();
        assert_eq!(names(&applied), ["002_create_parts.sql", "003_create_thing_view.sql"]);
    }

    #[test]
    fn concurrent_runs_apply_each_file_once() {
        let file = TempSqlite::new();
        // Opened one after another: concurrent first opens of a new file
        // race on switching it to WAL, which is connection::open's concern,
        // not the runner's.
        let connections: Vec<Connection> = (0..4).map(|_| connection::open(file.path()).unwrap()).collect();
        let mut applied_names: Vec<String> = std::thread::scope(|scope| {
            let runs: Vec<_> = connections
                .into_iter()
                .map(|mut connection| {
                    scope.spawn(move || apply_migrations(&mut connection, &[THINGS, PARTS, VIEW]).unwrap())
                })
                .collect();
            runs.into_iter().flat_map(|run| run.join().unwrap()).map(|migration| migration.name).collect()
        });
        applied_names.sort();
        assert_eq!(applied_names, ["001_create_things.sql", "002_create_parts.sql", "003_create_thing_view.sql"]);
    }

    #[test]
    fn two_files_with_one_version_are_refused() {
        let file = TempSqlite::new();
        let mut connection = connection::open(file.path()).unwrap();
        let twin = Migration { name: "001_other.sql", ..THINGS };

        let error = apply_migrations(&mut connection, &[THINGS, twin]).unwrap_err();

        assert!(matches!(error, MigrationError::Conflict(MigrationConflict::DuplicateVersion { .. })), "{error}");
    }

    #[test]
    fn the_embedded_migrations_apply_to_a_fresh_file_then_are_up_to_date() {
        for migration in MIGRATIONS {
            assert!(migration.name.starts_with(&format!("{}_", migration.version)), "{}", migration.name);
        }
        let file = TempSqlite::new();
        let mut connection = connection::open(file.path()).unwrap();

        let first = apply(&mut connection).unwrap();
        let second = apply(&mut connection).unwrap();

        assert_eq!(first.len(), MIGRATIONS.len());
        assert!(second.is_empty());
    }
}
