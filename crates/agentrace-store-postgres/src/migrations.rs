//! The migration runner behind `agentrace migrate`: applies the SQL files of
//! `migrations/postgres`, embedded at build time, and keeps the ledger
//! `agent.schema_migrations` that `migrations/postgres/run_migrations.sh`
//! keeps too, so either tool can follow the other.
//!
//! Rules, shared with the script:
//! - files apply in version order (the three-digit prefix);
//! - each file and its ledger row (version, file name, sha256 hex of the
//!   file's bytes) commit in one transaction, so a failed file leaves no
//!   trace and is retried next time; a file must therefore not contain
//!   transaction control or statements that refuse a transaction block;
//! - a recorded version with the same checksum is skipped; with another
//!   checksum it is refused: an applied migration is never edited, a new one
//!   is added instead;
//! - the whole run holds the session advisory lock [`MIGRATION_LOCK_KEY`], so
//!   concurrent runs (two instances starting, the script beside the binary)
//!   apply each file once.
//!
//! Ordering, checksums and the two refusals are `agentrace_store::migrations`,
//! shared with the SQLite runner; the ledger, lock and transactions are here.

use std::collections::HashMap;

use agentrace_store::migrations::{in_version_order, is_applied};
pub use agentrace_store::migrations::{AppliedMigration, Migration, MigrationConflict};
use tokio_postgres::error::ErrorPosition;
use tokio_postgres::{Client, NoTls};

/// Key of the session advisory lock held while migrating: "agentmig" in
/// ASCII. `run_migrations.sh` takes the same key.
pub const MIGRATION_LOCK_KEY: i64 = 0x6167_656e_746d_6967;

const CREATE_LEDGER: &str = include_str!("queries/create_migration_ledger.sql");

/// Every file of `migrations/postgres`, in version order.
pub const MIGRATIONS: &[Migration] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Why migrating stopped. Messages carry the server's words (message,
/// detail, hint, line of the file), not the driver's bare "db error".
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("could not connect to PostgreSQL: {detail}")]
    Connect { detail: String, error: tokio_postgres::Error },

    #[error("could not {action}: {detail}")]
    Ledger { action: &'static str, detail: String, error: tokio_postgres::Error },

    #[error("migration {name} failed: {detail}")]
    Apply { name: String, detail: String, error: tokio_postgres::Error },

    /// A changed applied file, or two files with one version.
    #[error(transparent)]
    Conflict(#[from] MigrationConflict),
}

/// Connects to `url` (no TLS) and applies [`MIGRATIONS`].
pub async fn apply_url(url: &str) -> Result<Vec<AppliedMigration>, MigrationError> {
    let (mut client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|error| MigrationError::Connect { detail: describe(&error, None), error })?;
    let connection = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(error = %describe(&error, None), "migration connection ended with an error");
        }
    });
    let applied = apply(&mut client).await;
    drop(client);
    let _ = connection.await;
    applied
}

/// Applies [`MIGRATIONS`] over `client`.
pub async fn apply(client: &mut Client) -> Result<Vec<AppliedMigration>, MigrationError> {
    apply_migrations(client, MIGRATIONS).await
}

/// Applies `migrations` (sorted here by version) under the rules of this
/// module. agentrace itself only ever passes [`MIGRATIONS`]; tests pass
/// their own sets.
pub async fn apply_migrations(
    client: &mut Client,
    migrations: &[Migration],
) -> Result<Vec<AppliedMigration>, MigrationError> {
    let ordered = in_version_order(migrations)?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(ledger_error("take the migration lock"))?;
    let outcome = apply_locked(client, &ordered).await;
    // Unlock even after a failure: the caller may keep using this session.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(ledger_error("release the migration lock"));
    let applied = outcome?;
    unlocked?;
    Ok(applied)
}

async fn apply_locked(client: &mut Client, ordered: &[Migration]) -> Result<Vec<AppliedMigration>, MigrationError> {
    let ledger_exists: bool = client
        .query_one("SELECT to_regclass('agent.schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(ledger_error("look for the migration ledger agent.schema_migrations"))?
        .get(0);
    // Only when missing: a run with nothing to do must write nothing.
    if !ledger_exists {
        client
            .batch_execute(CREATE_LEDGER)
            .await
            .map_err(ledger_error("create the migration ledger agent.schema_migrations"))?;
    }
    let recorded: HashMap<String, String> = client
        .query("SELECT version, checksum FROM agent.schema_migrations", &[])
        .await
        .map_err(ledger_error("read the migration ledger agent.schema_migrations"))?
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();

    let mut applied = Vec::new();
    for migration in ordered {
        let checksum = migration.checksum();
        if is_applied(migration, &checksum, recorded.get(migration.version).map(String::as_str))? {
            continue;
        }
        apply_one(client, migration, &checksum).await?;
        tracing::info!(migration = migration.name, "applied migration");
        applied.push(migration.applied(checksum));
    }
    Ok(applied)
}

async fn apply_one(client: &mut Client, migration: &Migration, checksum: &str) -> Result<(), MigrationError> {
    let failed = |error: tokio_postgres::Error| MigrationError::Apply {
        name: migration.name.to_owned(),
        detail: describe(&error, Some(migration.sql)),
        error,
    };
    let transaction = client.transaction().await.map_err(failed)?;
    transaction.batch_execute(migration.sql).await.map_err(failed)?;
    transaction
        .execute(
            "INSERT INTO agent.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&migration.version, &migration.name, &checksum],
        )
        .await
        .map_err(failed)?;
    transaction.commit().await.map_err(failed)
}

fn ledger_error(action: &'static str) -> impl Fn(tokio_postgres::Error) -> MigrationError {
    move |error| MigrationError::Ledger { action, detail: describe(&error, None), error }
}

/// The server's own account of an error, with the line of `sql` it points
/// at; the driver's Display says only "db error".
fn describe(error: &tokio_postgres::Error, sql: Option<&str>) -> String {
    let Some(database_error) = error.as_db_error() else {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        return text;
    };
    let mut text =
        format!("{} {}: {}", database_error.severity(), database_error.code().code(), database_error.message());
    if let (Some(sql), Some(ErrorPosition::Original(position))) = (sql, database_error.position()) {
        // The position counts characters from 1 across the whole file.
        let line = 1 + sql.chars().take(*position as usize - 1).filter(|c| *c == '\n').count();
        text.push_str(&format!(" (line {line})"));
    }
    if let Some(detail) = database_error.detail() {
        text.push_str(&format!("; detail: {detail}"));
    }
    if let Some(hint) = database_error.hint() {
        text.push_str(&format!("; hint: {hint}"));
    }
    if let Some(context) = database_error.where_() {
        text.push_str(&format!("; where: {context}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use agentrace_testkit::postgres::{fresh_database, TestDatabase};

    use super::*;

    const TRACES: Migration = Migration {
        version: "001",
        name: "001_create_things.sql",
        sql: "CREATE SCHEMA IF NOT EXISTS agent;\nCREATE TABLE agent.things (id int PRIMARY KEY);\n",
    };
    const SPANS: Migration = Migration {
        version: "002",
        name: "002_create_parts.sql",
        sql: "CREATE TABLE agent.parts (thing int REFERENCES agent.things);\n",
    };
    const VIEWS: Migration = Migration {
        version: "003",
        name: "003_create_thing_view.sql",
        sql: "CREATE VIEW agent.thing_parts AS SELECT * FROM agent.things JOIN agent.parts ON thing = id;\n",
    };

    async fn client_of(database: &TestDatabase) -> Client {
        database.connect().await.unwrap()
    }

    async fn ledger(client: &Client) -> Vec<(String, String, String, String)> {
        client
            .query(
                "SELECT version, name, checksum, applied_at::text FROM agent.schema_migrations ORDER BY version",
                &[],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
            .collect()
    }

    fn names(applied: &[AppliedMigration]) -> Vec<&str> {
        applied.iter().map(|migration| migration.name.as_str()).collect()
    }

    #[tokio::test]
    async fn applies_in_version_order_whatever_the_given_order() {
        let database = fresh_database().await.unwrap();
        let mut client = client_of(&database).await;

        let applied = apply_migrations(&mut client, &[VIEWS, TRACES, SPANS]).await.unwrap();

        assert_eq!(names(&applied), ["001_create_things.sql", "002_create_parts.sql", "003_create_thing_view.sql"]);
        let recorded = ledger(&client).await;
        assert_eq!(recorded.len(), 3);
        assert_eq!(recorded[1].0, "002");
        assert_eq!(recorded[1].1, "002_create_parts.sql");
        assert_eq!(recorded[1].2, SPANS.checksum());
    }

    #[tokio::test]
    async fn a_second_run_skips_everything_and_writes_nothing() {
        let database = fresh_database().await.unwrap();
        let mut client = client_of(&database).await;
        apply_migrations(&mut client, &[TRACES, SPANS]).await.unwrap();
        let before = ledger(&client).await;

        let again = apply_migrations(&mut client, &[TRACES, SPANS]).await.unwrap();

        assert!(again.is_empty());
        assert_eq!(ledger(&client).await, before);
    }

    #[tokio::test]
    async fn only_new_files_apply_on_a_later_run() {
        let database = fresh_database().await.unwrap();
        let mut client = client_of(&database).await;
        apply_migrations(&mut client, &[TRACES]).await.unwrap();

        let applied = apply_migrations(&mut client, &[TRACES, SPANS, VIEWS]).await.unwrap();

        assert_eq!(names(&applied), ["002_create_parts.sql", "003_create_thing_view.sql"]);
    }

    #[tokio::test]
    async fn a_changed_applied_file_is_refused_by_name_and_nothing_after_it_runs() {
        let database = fresh_database().await.unwrap();
        let mut client = client_of(&database).await;
        apply_migrations(&mut client, &[TRACES, SPANS]).await.unwrap();
        let edited = Migration { sql: "CREATE TABLE agent.parts (thing int);\n", ..SPANS };

        let error = apply_migrations(&mut client, &[TRACES, edited, VIEWS]).await.unwrap_err();

        assert_eq!(
            error.to_string(),
            format!(
                "migration 002_create_parts.sql was changed after it was applied (checksum {}, recorded {}); \
                 add a new migration instead of editing an applied one",
                edited.checksum(),
                SPANS.checksum()
            )
        );
        assert_eq!(ledger(&client).await.len(), 2, "003 must not run past the refused file");
    }

    #[tokio::test]
    async fn a_failing_file_rolls_back_whole_and_is_reported_with_its_line() {
        let database = fresh_database().await.unwrap();
        let mut client = client_of(&database).await;
        let broken = Migration {
            sql: "CREATE TABLE agent.parts (thing int);\nCREATE TABLE agent.more (x nosuchtype);\n",
            ..SPANS
        };

        let error = apply_migrations(&mut client, &[TRACES, broken, VIEWS]).await.unwrap_err();

        assert_eq!(
            error.to_string(),
            "migration 002_create_parts.sql failed: ERROR 42704: type \"nosuchtype\" does not exist (line 2)"
        );
        let versions: Vec<String> = ledger(&client).await.into_iter().map(|row| row.0).collect();
        assert_eq!(versions, ["001"]);
        let parts_exists: bool =
            client.query_one("SELECT to_regclass('agent.parts') IS NOT NULL", &[]).await.unwrap().get(0);
        assert!(!parts_exists, "the failed file's first statement must be rolled back");
        // The session is still usable and unlocked: the fixed file applies.
        let applied = apply_migrations(&mut client, &[TRACES, SPANS, VIEWS]).await.unwrap();
        assert_eq!(names(&applied), ["002_create_parts.sql", "003_create_thing_view.sql"]);
    }

    #[tokio::test]
    async fn concurrent_runs_apply_each_file_once() {
        let database = fresh_database().await.unwrap();
        let runs = (0..4).map(|_| {
            let url = database.url().to_owned();
            tokio::spawn(async move {
                let (mut client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
                tokio::spawn(connection);
                apply_migrations(&mut client, &[TRACES, SPANS, VIEWS]).await.unwrap()
            })
        });
        let mut applied_names = Vec::new();
        for run in runs.collect::<Vec<_>>() {
            applied_names.extend(run.await.unwrap().into_iter().map(|migration| migration.name));
        }
        applied_names.sort();
        assert_eq!(applied_names, ["001_create_things.sql", "002_create_parts.sql", "003_create_thing_view.sql"]);
    }

    #[tokio::test]
    async fn two_files_with_one_version_are_refused() {
        let database = fresh_database().await.unwrap();
        let mut client = client_of(&database).await;
        let twin = Migration { name: "001_other.sql", ..TRACES };

        let error = apply_migrations(&mut client, &[TRACES, twin]).await.unwrap_err();

        assert!(matches!(error, MigrationError::Conflict(MigrationConflict::DuplicateVersion { .. })), "{error}");
    }

    #[test]
    fn embedded_files_are_named_numbered_and_ordered() {
        for migration in MIGRATIONS {
            assert!(migration.name.starts_with(&format!("{}_", migration.version)), "{}", migration.name);
            assert!(migration.name.ends_with(".sql"), "{}", migration.name);
        }
        assert!(MIGRATIONS.windows(2).all(|pair| pair[0].version < pair[1].version));
    }

    #[tokio::test]
    async fn the_embedded_migrations_apply_to_a_fresh_database_then_are_up_to_date() {
        let database = fresh_database().await.unwrap();

        let first = apply_url(database.url()).await.unwrap();
        let second = apply_url(database.url()).await.unwrap();

        assert_eq!(first.len(), MIGRATIONS.len());
        assert!(second.is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_connect_error_with_the_reason() {
        let error = apply_url("postgres://nobody@127.0.0.1:1/none").await.unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("could not connect to PostgreSQL: error connecting to server"), "{message}");
        assert!(!message.ends_with("error connecting to server"), "no reason given: {message}");
    }
}
