//! The two ways of migrating PostgreSQL, `migrations/postgres/run_migrations.sh`
//! and `agentrace migrate`, share one ledger: either may follow the other,
//! both refuse an edited applied file, and concurrent runs apply each file
//! once. Every test gets a fresh database in a real cluster.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use agentrace_testkit::postgres::{bin_dir, fresh_database, TestDatabase};
use tempfile::TempDir;

/// version, name, checksum, applied_at
type LedgerRow = (String, String, String, String);

fn repository_migrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres")
}

fn migration_names(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.len() > 4 && name.as_bytes()[..3].iter().all(u8::is_ascii_digit) && name.ends_with(".sql"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no migrations in {}", directory.display());
    names
}

/// The migrations directory with the script in it, copied so that a test can
/// edit or add files; the script applies the files of its own directory.
fn migrations_copy() -> TempDir {
    let copy = tempfile::Builder::new().prefix("agentrace-migrations-").tempdir().unwrap();
    for entry in fs::read_dir(repository_migrations()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            // fs::copy keeps the mode, so the script stays executable.
            fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
        }
    }
    copy
}

/// A command with no connection settings inherited from the machine, and the
/// cluster's own psql first on PATH.
fn isolated(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for variable in ["DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSERVICE"] {
        command.env_remove(variable);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut directories = vec![bin_dir().unwrap()];
    directories.extend(std::env::split_paths(&path));
    command.env("PATH", std::env::join_paths(directories).unwrap());
    command.stdin(Stdio::null());
    command
}

fn run_script(directory: &Path, database: &TestDatabase) -> Output {
    isolated(directory.join("run_migrations.sh")).env("DATABASE_URL", database.url()).output().unwrap()
}

fn agentrace_migrate(database: &TestDatabase) -> Command {
    let mut command = isolated(env!("CARGO_BIN_EXE_agentrace"));
    command.args(["migrate", "--database-url", database.url()]);
    command
}

fn run_binary(database: &TestDatabase) -> Output {
    agentrace_migrate(database).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}

async fn ledger(database: &TestDatabase) -> Vec<LedgerRow> {
    let client = database.connect().await.unwrap();
    client
        .query("SELECT version, name, checksum, applied_at::text FROM agent.schema_migrations ORDER BY version", &[])
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect()
}

fn sha256_hex(path: &Path) -> String {
    let output = Command::new("sha256sum").arg(path).output().unwrap();
    text(&output.stdout).split_whitespace().next().unwrap().to_owned()
}

/// What the ledger must say once every file of `directory` is applied.
fn expected_ledger(directory: &Path) -> Vec<(String, String, String)> {
    migration_names(directory)
        .into_iter()
        .map(|name| (name[..3].to_owned(), name.clone(), sha256_hex(&directory.join(&name))))
        .collect()
}

fn without_times(ledger: &[LedgerRow]) -> Vec<(String, String, String)> {
    ledger.iter().map(|(version, name, checksum, _)| (version.clone(), name.clone(), checksum.clone())).collect()
}

/// The file the edit tests change: the second, when there is one, so that a
/// file before it is applied and unchanged.
fn file_to_edit(directory: &Path) -> String {
    let names = migration_names(directory);
    names[1.min(names.len() - 1)].clone()
}

fn append(path: &Path, extra: &str) {
    let mut contents = fs::read_to_string(path).unwrap();
    contents.push_str(extra);
    fs::write(path, contents).unwrap();
}

#[tokio::test]
async fn the_binary_after_the_script_applies_nothing() {
    let database = fresh_database().await.unwrap();
    let scripts = migrations_copy();

    let script = run_script(scripts.path(), &database);
    assert_success(&script, "run_migrations.sh");
    let after_script = ledger(&database).await;
    assert_eq!(without_times(&after_script), expected_ledger(&repository_migrations()));

    let binary = run_binary(&database);
    assert_success(&binary, "agentrace migrate");
    assert!(text(&binary.stdout).contains("nothing applied"), "stdout: {}", text(&binary.stdout));
    assert_eq!(ledger(&database).await, after_script, "the ledger must be untouched");
}

#[tokio::test]
async fn the_script_after_the_binary_applies_nothing() {
    let database = fresh_database().await.unwrap();
    let scripts = migrations_copy();

    let binary = run_binary(&database);
    assert_success(&binary, "agentrace migrate");
    let after_binary = ledger(&database).await;
    assert_eq!(without_times(&after_binary), expected_ledger(&repository_migrations()));

    let script = run_script(scripts.path(), &database);
    assert_success(&script, "run_migrations.sh");
    let count = migration_names(scripts.path()).len();
    assert_eq!(text(&script.stdout), format!("Nothing to apply: all {count} migrations are already applied.\n"));
    assert_eq!(ledger(&database).await, after_binary, "the ledger must be untouched");
}

#[tokio::test]
async fn a_second_script_run_is_a_no_op() {
    let database = fresh_database().await.unwrap();
    let scripts = migrations_copy();
    assert_success(&run_script(scripts.path(), &database), "first run_migrations.sh");
    let before = ledger(&database).await;

    let again = run_script(scripts.path(), &database);

    assert_success(&again, "second run_migrations.sh");
    assert!(text(&again.stdout).starts_with("Nothing to apply"), "stdout: {}", text(&again.stdout));
    assert_eq!(ledger(&database).await, before);
}

#[tokio::test]
async fn both_tools_create_the_same_ledger_table() {
    let by_script = fresh_database().await.unwrap();
    let by_binary = fresh_database().await.unwrap();
    let scripts = migrations_copy();
    assert_success(&run_script(scripts.path(), &by_script), "run_migrations.sh");
    assert_success(&run_binary(&by_binary), "agentrace migrate");

    async fn ledger_definition(database: &TestDatabase) -> Vec<String> {
        let client = database.connect().await.unwrap();
        client
            .query(
                "SELECT format('%s %s %s %s %s', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                               pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum))
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE a.attrelid = 'agent.schema_migrations'::regclass AND a.attnum > 0
                 UNION ALL SELECT 'table ' || obj_description('agent.schema_migrations'::regclass, 'pg_class')
                 UNION ALL SELECT 'key ' || pg_get_constraintdef(oid) FROM pg_constraint
                           WHERE conrelid = 'agent.schema_migrations'::regclass
                 ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.get(0))
            .collect()
    }
    assert_eq!(ledger_definition(&by_script).await, ledger_definition(&by_binary).await);
}

#[tokio::test]
async fn the_script_refuses_an_applied_file_that_changed() {
    let database = fresh_database().await.unwrap();
    let scripts = migrations_copy();
    assert_success(&run_script(scripts.path(), &database), "run_migrations.sh");
    let before = ledger(&database).await;
    let edited = file_to_edit(scripts.path());
    let original_checksum = sha256_hex(&scripts.path().join(&edited));
    append(&scripts.path().join(&edited), "-- an edit after the fact\n");

    let refused = run_script(scripts.path(), &database);

    assert!(!refused.status.success(), "the script must fail");
    assert_eq!(
        text(&refused.stderr),
        format!(
            "run_migrations.sh: migration {edited} was changed after it was applied (checksum {}, recorded \
             {original_checksum}); add a new migration instead of editing an applied one\n",
            sha256_hex(&scripts.path().join(&edited))
        )
    );
    assert_eq!(ledger(&database).await, before);
}

#[tokio::test]
async fn the_binary_refuses_an_applied_file_that_changed() {
    let database = fresh_database().await.unwrap();
    // The binary embeds the repository's files; have the script apply an
    // edited copy first, so the ledger records a checksum the binary's file
    // no longer has.
    let scripts = migrations_copy();
    let edited = file_to_edit(scripts.path());
    append(&scripts.path().join(&edited), "-- an edit after the fact\n");
    assert_success(&run_script(scripts.path(), &database), "run_migrations.sh on the edited copy");
    let before = ledger(&database).await;

    let refused = run_binary(&database);

    assert!(!refused.status.success(), "agentrace migrate must fail");
    let stderr = text(&refused.stderr);
    let expected = format!(
        "migration {edited} was changed after it was applied (checksum {}, recorded {}); \
         add a new migration instead of editing an applied one",
        sha256_hex(&repository_migrations().join(&edited)),
        sha256_hex(&scripts.path().join(&edited))
    );
    assert!(stderr.contains(&expected), "stderr does not name the file as expected:\n{stderr}");
    assert_eq!(ledger(&database).await, before);
}

#[tokio::test]
async fn the_script_stops_at_a_failing_file_and_keeps_nothing_of_it() {
    let database = fresh_database().await.unwrap();
    let scripts = migrations_copy();
    let names = migration_names(scripts.path());
    let next_version: u32 = names.last().unwrap()[..3].parse::<u32>().unwrap() + 1;
    let broken = format!("{next_version:03}_broken.sql");
    fs::write(
        scripts.path().join(&broken),
        "CREATE TABLE agent.half_done (id int);\nCREATE TABLE agent.never (id no_such_type);\n",
    )
    .unwrap();

    let failed = run_script(scripts.path(), &database);

    assert!(!failed.status.success(), "the script must fail");
    let stderr = text(&failed.stderr);
    assert!(stderr.contains(&format!("psql:{broken}:2: ERROR:")), "stderr must name the file and line:\n{stderr}");
    let recorded: Vec<String> = ledger(&database).await.into_iter().map(|row| row.1).collect();
    assert_eq!(recorded, names, "the files before the broken one stay applied, the broken one is not recorded");
    let client = database.connect().await.unwrap();
    let half_done: bool =
        client.query_one("SELECT to_regclass('agent.half_done') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!half_done, "the broken file's first statement must be rolled back with it");
}

#[tokio::test]
async fn concurrent_binary_runs_apply_each_migration_once() {
    let database = fresh_database().await.unwrap();

    let runs: Vec<_> = (0..4)
        .map(|_| agentrace_migrate(&database).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    let outputs: Vec<Output> = runs.into_iter().map(|run| run.wait_with_output().unwrap()).collect();

    let mut applied_lines = Vec::new();
    for output in &outputs {
        assert_success(output, "concurrent agentrace migrate");
        applied_lines
            .extend(text(&output.stdout).lines().filter(|line| line.starts_with("applied ")).map(str::to_owned));
    }
    applied_lines.sort();
    let expected_lines: Vec<String> =
        migration_names(&repository_migrations()).iter().map(|name| format!("applied {name}")).collect();
    assert_eq!(applied_lines, expected_lines, "each migration applied by exactly one run");
    assert_eq!(without_times(&ledger(&database).await), expected_ledger(&repository_migrations()));
}

#[tokio::test]
async fn the_script_and_the_binary_run_together_apply_each_migration_once() {
    let database = fresh_database().await.unwrap();
    let scripts = migrations_copy();

    let binary = agentrace_migrate(&database).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let script = isolated(scripts.path().join("run_migrations.sh"))
        .env("DATABASE_URL", database.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_success(&binary.wait_with_output().unwrap(), "agentrace migrate");
    assert_success(&script.wait_with_output().unwrap(), "run_migrations.sh");

    assert_eq!(without_times(&ledger(&database).await), expected_ledger(&repository_migrations()));
}

/// A `docker` placed first on PATH: records each command line and its stdin,
/// then runs the psql it was asked to run against the test cluster (the
/// container's psql would reach its own server over its default socket; here
/// PGHOST and PGPORT point it at ours). `-U` and `-d` pass through unchanged.
const STAND_IN_DOCKER: &str = r#"#!/bin/sh
set -eu
log="$AGENTRACE_STAND_IN_DOCKER_LOG"
count=$(($(cat "$log.count" 2>/dev/null || echo 0) + 1))
echo "$count" >"$log.count"
printf '%s\n' "$*" >>"$log"
cat >"$log.stdin.$count"
if [ "$1" != exec ] || [ "$2" != -i ] || [ "$4" != psql ]; then
    echo "stand-in docker: unexpected command: $*" >&2
    exit 2
fi
shift 4
PGHOST=127.0.0.1 PGPORT="$AGENTRACE_STAND_IN_DOCKER_PGPORT" exec psql "$@" <"$log.stdin.$count"
"#;

struct StandInDocker {
    directory: TempDir,
}

impl StandInDocker {
    fn install() -> StandInDocker {
        let directory = tempfile::Builder::new().prefix("agentrace-stand-in-docker-").tempdir().unwrap();
        let docker = directory.path().join("docker");
        fs::write(&docker, STAND_IN_DOCKER).unwrap();
        fs::set_permissions(&docker, fs::Permissions::from_mode(0o755)).unwrap();
        StandInDocker { directory }
    }

    fn log(&self) -> PathBuf {
        self.directory.path().join("calls")
    }

    /// A run_migrations.sh command that finds this docker first on PATH.
    fn script(&self, scripts: &Path, database: &TestDatabase) -> Command {
        let mut command = isolated(scripts.join("run_migrations.sh"));
        let path = command.get_envs().find(|(key, _)| *key == "PATH").and_then(|(_, value)| value).unwrap().to_owned();
        let mut directories = vec![self.directory.path().to_path_buf()];
        directories.extend(std::env::split_paths(&path));
        let port = database.url().rsplit(':').next().unwrap().split('/').next().unwrap().to_owned();
        command
            .env("PATH", std::env::join_paths(directories).unwrap())
            .env("AGENTRACE_STAND_IN_DOCKER_LOG", self.log())
            .env("AGENTRACE_STAND_IN_DOCKER_PGPORT", port);
        command
    }

    /// Each call: its command line (without "docker") and what it read on stdin.
    fn calls(&self) -> Vec<(String, Vec<u8>)> {
        let lines = fs::read_to_string(self.log()).unwrap_or_default();
        lines
            .lines()
            .enumerate()
            .map(|(index, line)| {
                let stdin = fs::read(format!("{}.stdin.{}", self.log().display(), index + 1)).unwrap();
                (line.to_owned(), stdin)
            })
            .collect()
    }
}

/// Asserts that every file of `scripts` went, in order, through exactly the
/// documented command.
fn assert_files_ran_as(calls: &[(String, Vec<u8>)], scripts: &Path, expected_command: &str) {
    let per_file: Vec<&Vec<u8>> =
        calls.iter().filter(|(command, _)| command == expected_command).map(|(_, stdin)| stdin).collect();
    let files: Vec<Vec<u8>> =
        migration_names(scripts).iter().map(|name| fs::read(scripts.join(name)).unwrap()).collect();
    assert_eq!(
        per_file.len(),
        files.len(),
        "one `docker {expected_command} < FILE` per migration; calls were:\n{}",
        calls.iter().map(|(command, _)| command.as_str()).collect::<Vec<_>>().join("\n")
    );
    for (index, (sent, file)) in per_file.iter().zip(&files).enumerate() {
        assert!(*sent == file, "call {index} of the per-file command did not send migration {index}'s file");
    }
}

#[tokio::test]
async fn docker_mode_runs_each_file_with_the_documented_command() {
    let database = fresh_database().await.unwrap();
    let scripts = migrations_copy();
    let docker = StandInDocker::install();

    let output = docker
        .script(scripts.path(), &database)
        .args(["--docker", "agentrace-db", "--user", "postgres", "--db", database.name()])
        .output()
        .unwrap();

    assert_success(&output, "run_migrations.sh --docker");
    let expected_command = format!("exec -i agentrace-db psql -v ON_ERROR_STOP=1 -U postgres -d {}", database.name());
    assert_files_ran_as(&docker.calls(), scripts.path(), &expected_command);
    assert!(
        docker.calls().iter().all(|(command, _)| command.starts_with("exec -i agentrace-db psql ")),
        "every call goes through the container"
    );
    assert_eq!(without_times(&ledger(&database).await), expected_ledger(scripts.path()));

    // The ledger it wrote is the shared one.
    let binary = run_binary(&database);
    assert_success(&binary, "agentrace migrate after --docker");
    assert!(text(&binary.stdout).contains("nothing applied"), "stdout: {}", text(&binary.stdout));
}

#[tokio::test]
async fn docker_mode_takes_user_and_database_from_pguser_and_pgdatabase_and_a_second_run_does_nothing() {
    let database = fresh_database().await.unwrap();
    let scripts = migrations_copy();
    let docker = StandInDocker::install();
    let run = || {
        docker
            .script(scripts.path(), &database)
            .args(["--docker", "agentrace-db"])
            .env("PGUSER", "postgres")
            .env("PGDATABASE", database.name())
            .output()
            .unwrap()
    };

    assert_success(&run(), "run_migrations.sh --docker");
    let expected_command = format!("exec -i agentrace-db psql -v ON_ERROR_STOP=1 -U postgres -d {}", database.name());
    assert_files_ran_as(&docker.calls(), scripts.path(), &expected_command);
    let calls_before = docker.calls().len();

    let again = run();
    assert_success(&again, "second run_migrations.sh --docker");
    assert!(text(&again.stdout).starts_with("Nothing to apply"), "stdout: {}", text(&again.stdout));
    let new_calls = &docker.calls()[calls_before..];
    assert!(new_calls.iter().all(|(command, _)| *command != expected_command), "nothing re-applied: {new_calls:?}");
}

#[test]
fn the_script_explains_itself() {
    let output = isolated(repository_migrations().join("run_migrations.sh")).arg("--help").output().unwrap();

    assert_success(&output, "run_migrations.sh --help");
    let help = text(&output.stdout);
    assert!(
        help.starts_with("Usage: run_migrations.sh [--docker CONTAINER [--user USER] [--db DATABASE]]\n"),
        "{help}"
    );
    for mention in ["DATABASE_URL", "PGUSER", "agent.schema_migrations", "sha256", "ON_ERROR_STOP=1"] {
        assert!(help.contains(mention), "--help does not mention {mention}:\n{help}");
    }
}

#[test]
fn the_script_refuses_unknown_arguments_and_stray_user_or_db() {
    for arguments in [&["--frobnicate"][..], &["--user", "someone"], &["--db", "somewhere"]] {
        let output = isolated(repository_migrations().join("run_migrations.sh")).args(arguments).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{arguments:?}");
        assert!(text(&output.stderr).starts_with("run_migrations.sh: "), "{arguments:?}: {}", text(&output.stderr));
    }
}

#[test]
fn the_script_is_executable_and_strict() {
    let script = repository_migrations().join("run_migrations.sh");
    let mode = fs::metadata(&script).unwrap().permissions().mode();
    assert_ne!(mode & 0o111, 0, "run_migrations.sh must be executable");
    let source = fs::read_to_string(&script).unwrap();
    assert!(source.starts_with("#!/usr/bin/env bash\n"));
    assert!(source.contains("\nset -euo pipefail\n"));
}

#[test]
fn agentrace_migrate_explains_itself() {
    let output = isolated(env!("CARGO_BIN_EXE_agentrace")).args(["migrate", "--help"]).output().unwrap();
    assert_success(&output, "agentrace migrate --help");
    assert!(text(&output.stdout).contains("--database-url"), "{}", text(&output.stdout));
}
