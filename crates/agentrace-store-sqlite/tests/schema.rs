//! The SQLite mirror of the `agent` schema: the documented reference
//! queries, the tree view's edge cases and the query plans that keep both
//! views O(one trace), on a freshly migrated database file attached as
//! `agent`, the way agentrace opens it.
//!
//! The rows and the expected answers live in
//! `agentrace-testkit/fixtures/schema/reference.json`, which the PostgreSQL
//! schema test reads too: both stores must answer alike.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use agentrace_store_sqlite::{connection, migrations};
use agentrace_testkit::sqlite::TempSqlite;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection, Statement};
use serde_json::Value;

const FIXTURE: &str = include_str!("../../agentrace-testkit/fixtures/schema/reference.json");

/// Columns holding JSON text, compared as JSON.
const JSON_COLUMNS: &[&str] = &["input", "output", "metadata", "tags", "tokens_used", "events", "path"];

fn migrated() -> (TempSqlite, Connection) {
    let file = TempSqlite::new();
    let mut connection = connection::open(file.path()).expect("open the database");
    migrations::apply(&mut connection).expect("migrate");
    (file, connection)
}

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("reference.json is JSON")
}

/// Inserts one fixture object into `table`: strings as text (timestamps are
/// already in the stored fixed-width form), JSON columns as JSON text.
fn insert(connection: &Connection, table: &str, row: &Value) {
    let object = row.as_object().expect("fixture rows are objects");
    let columns: Vec<&str> = object.keys().map(String::as_str).collect();
    let values: Vec<SqlValue> = object
        .iter()
        .map(|(column, value)| match value {
            Value::Null => SqlValue::Null,
            other if JSON_COLUMNS.contains(&column.as_str()) => SqlValue::Text(other.to_string()),
            Value::String(text) => SqlValue::Text(text.clone()),
            Value::Number(number) if number.is_i64() => SqlValue::Integer(number.as_i64().unwrap()),
            Value::Number(number) => SqlValue::Real(number.as_f64().unwrap()),
            other => panic!("{table}.{column}: no SQLite form for {other}"),
        })
        .collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("?{n}")).collect();
    let sql = format!("INSERT INTO agent.{table} ({}) VALUES ({})", columns.join(", "), placeholders.join(", "));
    connection.execute(&sql, params_from_iter(values)).unwrap_or_else(|error| panic!("{sql}: {error}"));
}

fn load_fixture(connection: &Connection, fixture: &Value) {
    for trace in fixture["traces"].as_array().unwrap() {
        insert(connection, "traces", trace);
    }
    for span in fixture["spans"].as_array().unwrap() {
        insert(connection, "spans", span);
    }
}

/// One result value in the fixture's terms: JSON text as JSON, is_orphan as
/// a boolean (SQLite has only 0 and 1).
fn cell(column: &str, value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(number) if column == "is_orphan" => Value::from(number != 0),
        ValueRef::Integer(number) => Value::from(number),
        ValueRef::Real(number) => Value::from(number),
        ValueRef::Text(bytes) => {
            let text = std::str::from_utf8(bytes).expect("UTF-8 text");
            if JSON_COLUMNS.contains(&column) {
                serde_json::from_str(text).unwrap_or_else(|error| panic!("{column} is not JSON ({error}): {text}"))
            } else {
                Value::from(text)
            }
        }
        ValueRef::Blob(_) => panic!("{column} is a blob"),
    }
}

fn query_rows(statement: &mut Statement<'_>, params: &[&dyn rusqlite::ToSql], ignored: &[String]) -> Vec<Vec<Value>> {
    let names: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = statement.query(params).unwrap();
    let mut result = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        result.push(
            (0..names.len())
                .filter(|&i| !ignored.contains(&names[i]))
                .map(|i| cell(&names[i], row.get_ref(i).unwrap()))
                .collect(),
        );
    }
    result
}

/// Equality with a tolerance for numbers: SQLite sums REAL, PostgreSQL sums
/// NUMERIC exactly, and the fixture writes one decimal literal for both.
fn same(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            (a - b).abs() <= 1e-9 * a.abs().max(1.0)
        }
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(key, value)| b.get(key).is_some_and(|other| same(value, other)))
        }
        _ => left == right,
    }
}

fn assert_rows(context: &str, actual: &[Vec<Value>], expected: &[Value]) {
    let expected: Vec<Vec<Value>> = expected.iter().map(|row| row.as_array().unwrap().clone()).collect();
    let render =
        |rows: &[Vec<Value>]| rows.iter().map(|row| format!("  {}\n", Value::from(row.clone()))).collect::<String>();
    let matches = actual.len() == expected.len()
        && actual.iter().zip(&expected).all(|(a, e)| a.len() == e.len() && a.iter().zip(e).all(|(a, e)| same(a, e)));
    assert!(matches, "{context}\nexpected:\n{}actual:\n{}", render(&expected), render(actual));
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|item| item.as_str().unwrap().to_owned()).collect()
}

#[test]
fn reference_queries_return_the_documented_rows() {
    let (_file, connection) = migrated();
    let fixture = fixture();
    load_fixture(&connection, &fixture);

    for query in fixture["queries"].as_array().unwrap() {
        let sql = query["sql"].as_str().unwrap();
        let mut statement = connection.prepare(sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
        let names: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
        assert_eq!(names, strings(&query["columns"]), "columns of {sql}");
        let actual = query_rows(&mut statement, &[], &strings(&query["ignored_columns"]));
        assert_rows(sql, &actual, query["rows"].as_array().unwrap());
    }
}

#[test]
fn trace_tree_edge_cases() {
    let (_file, connection) = migrated();
    for case in fixture()["tree_cases"].as_array().unwrap() {
        insert(&connection, "traces", &case["trace"]);
        for span in case["spans"].as_array().unwrap() {
            insert(&connection, "spans", span);
        }
        let sql = format!("SELECT {} FROM agent.trace_tree WHERE trace_id = ?1", strings(&case["columns"]).join(", "));
        let mut statement = connection.prepare(&sql).unwrap();
        let trace_id = case["trace"]["trace_id"].as_str().unwrap();
        let actual = query_rows(&mut statement, &[&trace_id], &[]);
        assert_rows(case["name"].as_str().unwrap(), &actual, case["rows"].as_array().unwrap());
    }
}

#[test]
fn a_parent_cycle_returns_promptly() {
    let (_file, connection) = migrated();
    connection
        .execute_batch(
            "INSERT INTO agent.traces (trace_id, session_id) VALUES ('loop', 'loop');
             INSERT INTO agent.spans (trace_id, span_id, parent_span_id) VALUES ('loop', 'a', 'b'), ('loop', 'b', 'a');",
        )
        .unwrap();
    // A walk that never stops is interrupted, and the query fails.
    let interrupt = connection.get_interrupt_handle();
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(Duration::from_secs(5)).is_err() {
            interrupt.interrupt();
        }
    });
    let rows: Vec<(String, i64)> = connection
        .prepare("SELECT span_id, level FROM agent.trace_tree WHERE trace_id = 'loop'")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .expect("the tree of a cycle ends");
    done.send(()).unwrap();
    watchdog.join().unwrap();
    assert_eq!(rows, [("a".to_owned(), 1), ("b".to_owned(), 2)]);
}

#[test]
fn a_chain_a_thousand_levels_deep() {
    let (_file, connection) = migrated();
    connection
        .execute_batch(
            "INSERT INTO agent.traces (trace_id, session_id) VALUES ('deep', 'deep');
             WITH RECURSIVE depth (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM depth WHERE n < 1000)
             INSERT INTO agent.spans (trace_id, span_id, parent_span_id, start_time)
             SELECT 'deep', 'level-' || n, CASE WHEN n > 1 THEN 'level-' || (n - 1) END,
                    strftime('%Y-%m-%dT%H:%M:%S', '2026-11-28 12:00:00') || printf('.%06dZ', n * 1000)
             FROM depth;",
        )
        .unwrap();
    let mut statement =
        connection.prepare("SELECT span_id, level, path FROM agent.trace_tree WHERE trace_id = 'deep'").unwrap();
    let rows: Vec<(String, i64, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 1000);
    for (index, (span_id, level, _)) in rows.iter().enumerate() {
        let depth = index as i64 + 1;
        assert_eq!((span_id.as_str(), *level), (format!("level-{depth}").as_str(), depth));
    }
    let deepest: Vec<String> = serde_json::from_str(&rows[999].2).unwrap();
    assert_eq!(deepest.len(), 1000);
    assert_eq!(deepest[0], "level-1");
}

#[test]
fn trace_stats_counts_a_trace_without_spans_as_zeros_and_its_cost_as_unknown() {
    let (_file, connection) = migrated();
    connection.execute_batch("INSERT INTO agent.traces (trace_id, session_id) VALUES ('empty', 's')").unwrap();
    let row: (i64, i64, i64, i64, i64, Option<f64>) = connection
        .query_row(
            "SELECT total_spans, model_calls, error_spans, prompt_tokens, total_tokens, cost_usd
             FROM agent.trace_stats WHERE trace_id = 'empty'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)),
        )
        .unwrap();
    assert_eq!(row, (0, 0, 0, 0, 0, None));
}

#[test]
fn unusable_token_counts_do_not_break_trace_stats() {
    let (_file, connection) = migrated();
    connection
        .execute_batch(
            r#"INSERT INTO agent.traces (trace_id, session_id) VALUES ('odd', 'odd');
               INSERT INTO agent.spans (trace_id, span_id, span_type, tokens_used) VALUES
                   ('odd', 'a', 'model_call', '{"prompt": "many", "completion": 5}'),
                   ('odd', 'b', 'model_call', '[1, 2]'),
                   ('odd', 'c', 'model_call', '{"prompt": 10, "total": 12}');"#,
        )
        .unwrap();
    let row: (i64, i64, i64) = connection
        .query_row(
            "SELECT prompt_tokens, completion_tokens, total_tokens FROM agent.trace_stats WHERE trace_id = 'odd'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(row, (10, 5, 17));
}

#[test]
fn the_tables_refuse_what_postgresql_would() {
    let (_file, connection) = migrated();
    connection.execute_batch("INSERT INTO agent.traces (trace_id, session_id) VALUES ('t', 't')").unwrap();
    for refused in [
        "INSERT INTO agent.traces (trace_id, session_id) VALUES ('', 'x')",
        "INSERT INTO agent.traces (trace_id, session_id, status) VALUES ('u', 'u', 'done')",
        "INSERT INTO agent.traces (trace_id, session_id, metadata) VALUES ('v', 'v', 'not json')",
        "INSERT INTO agent.traces (trace_id, session_id, duration_ms) VALUES ('w', 'w', 'long')",
        "INSERT INTO agent.spans (trace_id, span_id, span_type) VALUES ('t', 's', 'llm')",
        "INSERT INTO agent.spans (trace_id, span_id) VALUES ('no-such-trace', 's')",
    ] {
        assert!(connection.execute_batch(refused).is_err(), "accepted: {refused}");
    }
    connection.execute_batch("INSERT INTO agent.spans (trace_id, span_id) VALUES ('t', 's')").unwrap();
    connection.execute_batch("DELETE FROM agent.traces WHERE trace_id = 't'").unwrap();
    let left: i64 = connection.query_row("SELECT count(*) FROM agent.spans", [], |row| row.get(0)).unwrap();
    assert_eq!(left, 0, "deleting a trace deletes its spans");
}

#[test]
fn every_migration_can_run_again() {
    let (_file, connection) = migrated();
    for migration in migrations::MIGRATIONS {
        connection.execute_batch(migration.sql).unwrap_or_else(|error| panic!("{} again: {error}", migration.name));
    }
}

#[test]
fn the_views_work_under_any_schema_name() {
    let (file, connection) = migrated();
    load_fixture(&connection, &fixture());
    drop(connection);

    let count = |connection: &Connection, schema: &str| -> (i64, i64) {
        let tree = format!("SELECT count(*) FROM {schema}.trace_tree WHERE trace_id = 'trace_456'");
        let stats = format!("SELECT total_spans FROM {schema}.trace_stats WHERE trace_id = 'trace_456'");
        (
            connection.query_row(&tree, [], |row| row.get(0)).unwrap(),
            connection.query_row(&stats, [], |row| row.get(0)).unwrap(),
        )
    };
    // Opened directly, as `sqlite3 agentrace.db` does.
    let direct = Connection::open(file.path()).unwrap();
    assert_eq!(count(&direct, "main"), (9, 9));
    // Attached under another name, next to an unrelated table called spans.
    let other = Connection::open_in_memory().unwrap();
    other.execute_batch("CREATE TABLE spans (trace_id TEXT, span_id TEXT, parent_span_id TEXT)").unwrap();
    other.execute("ATTACH DATABASE ?1 AS traces_db", [file.path().to_string_lossy().as_ref()]).unwrap();
    assert_eq!(count(&other, "traces_db"), (9, 9));
}

/// 2,000 traces of 50 spans (a root, five children each, and so on), ten
/// traces a session, then ANALYZE.
const LOAD_100K_SPANS: &str = "
BEGIN;
WITH RECURSIVE trace (t) AS (SELECT 0 UNION ALL SELECT t + 1 FROM trace WHERE t < 1999)
INSERT INTO agent.traces (trace_id, session_id, start_time)
SELECT 'trace-' || t, 'session-' || (t / 10), strftime('%Y-%m-%dT%H:%M:%S.000000Z', 1795305600 + t, 'unixepoch')
FROM trace;
WITH RECURSIVE trace (t) AS (SELECT 0 UNION ALL SELECT t + 1 FROM trace WHERE t < 1999),
     span (s) AS (SELECT 0 UNION ALL SELECT s + 1 FROM span WHERE s < 49)
INSERT INTO agent.spans (trace_id, span_id, parent_span_id, span_type, name, start_time, model, tokens_used)
SELECT 'trace-' || t, 'span-' || s, CASE WHEN s > 0 THEN 'span-' || ((s - 1) / 5) END,
       CASE s % 5 WHEN 0 THEN 'node' WHEN 1 THEN 'model_call' WHEN 2 THEN 'tool_call'
                  WHEN 3 THEN 'mcp_call' ELSE 'agent' END,
       'op-' || s,
       strftime('%Y-%m-%dT%H:%M:%S', 1795305600 + t, 'unixepoch') || printf('.%06dZ', s * 1000),
       CASE WHEN s % 5 = 1 THEN 'gpt-4o' END,
       CASE WHEN s % 5 = 1 THEN '{\"prompt\": 10, \"completion\": 5, \"total\": 15}' END
FROM trace, span;
COMMIT;
ANALYZE agent;
";

/// The two queries whose plans must not scan a table, each with an argument.
const PLANNED: [(&str, &str); 2] = [
    ("SELECT * FROM agent.trace_tree WHERE trace_id = ?1", "trace-1234"),
    ("SELECT * FROM agent.trace_stats WHERE session_id = ?1", "session-123"),
];

/// The lines of an `EXPLAIN QUERY PLAN` that scan a table from end to end.
/// Every other `SCAN` reads one of the views' CTEs, subqueries or json_each
/// calls, known by name here; a new one must be added (after checking its
/// plan line is not a table).
fn table_scans(plan: &[String]) -> Vec<String> {
    const NOT_TABLES: &[&str] = &["node", "totals", "tree", "tops", "roots", "climb", "ordered", "size"];
    plan.iter()
        .filter(|detail| {
            detail
                .strip_prefix("SCAN ")
                .is_some_and(|rest| !NOT_TABLES.contains(&rest.split_whitespace().next().unwrap_or_default()))
        })
        .cloned()
        .collect()
}

fn check_plan(context: &str, plan: &[String]) {
    let scans = table_scans(plan);
    assert!(scans.is_empty(), "{context}: full scans {scans:?} in\n{}", plan.join("\n"));
    assert!(
        plan.iter().any(|detail| detail.contains("USING INDEX spans_trace_parent_idx")),
        "{context}: spans_trace_parent_idx unused in\n{}",
        plan.join("\n")
    );
}

#[test]
fn both_views_read_one_trace_through_indexes_among_100k_spans() {
    let (_file, connection) = migrated();
    connection.execute_batch(LOAD_100K_SPANS).unwrap();
    let spans: i64 = connection.query_row("SELECT count(*) FROM agent.spans", [], |row| row.get(0)).unwrap();
    assert!(spans >= 100_000);

    for (sql, argument) in PLANNED {
        let mut explain = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> =
            explain.query_map([argument], |row| row.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
        check_plan(sql, &plan);
    }
    let [(tree, trace_id), (stats, session_id)] = PLANNED;
    assert_eq!(query_rows(&mut connection.prepare(tree).unwrap(), &[&trace_id], &[]).len(), 50);
    assert_eq!(query_rows(&mut connection.prepare(stats).unwrap(), &[&session_id], &[]).len(), 10);
}

/// The trace list's model filter (the condition `query.rs` builds) asks of
/// each trace in turn whether one of its spans used the model: one lookup
/// in spans_model_trace_idx, not a read of every span of the trace (which
/// took seconds a page among 200,000 spans for a model few traces use, in
/// query-bench, before that index).
#[test]
fn the_model_filter_asks_the_index_alone_among_100k_spans() {
    let (_file, connection) = migrated();
    connection.execute_batch(LOAD_100K_SPANS).unwrap();
    let sql = "SELECT t.trace_id FROM agent.traces t \
               WHERE EXISTS (SELECT 1 FROM agent.spans m WHERE m.trace_id = t.trace_id AND m.model = ?1) \
               ORDER BY t.start_time DESC LIMIT 51";
    let mut explain = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let plan: Vec<String> =
        explain.query_map(["gpt-4o"], |row| row.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
    let span_reads: Vec<&String> = plan.iter().filter(|detail| detail.contains(" m ")).collect();
    assert_eq!(
        span_reads,
        ["SEARCH m USING COVERING INDEX spans_model_trace_idx (model=? AND trace_id=?)"],
        "plan:\n{}",
        plan.join("\n")
    );
    assert_eq!(query_rows(&mut connection.prepare(sql).unwrap(), &[&"gpt-4o"], &[]).len(), 51);
}

/// Runs `script` in the system's `sqlite3` shell (Debian 12 ships 3.40, older
/// than the SQLite agentrace bundles) with `path` attached as `agent`.
fn sqlite3_shell(path: &Path, script: &str) -> String {
    let version = Command::new("sqlite3")
        .arg("--version")
        .output()
        .expect("the sqlite3 shell is needed for this test: install Debian's sqlite3 package (scripts/test does)");
    eprintln!("system sqlite3: {}", String::from_utf8_lossy(&version.stdout).trim());
    let input = format!("ATTACH '{}' AS agent;\n{script}", path.display());
    let output = Command::new("sqlite3")
        .args(["-bail", ":memory:"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(input.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run sqlite3");
    assert!(output.status.success(), "sqlite3 failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Users open the file in the `sqlite3` shell of their system, whose SQLite
/// may be older than the bundled one: the migrations and the reference
/// queries must work there too.
#[test]
fn the_system_sqlite3_shell_runs_the_migrations_and_reference_queries() {
    let file = TempSqlite::new();
    let migrations_sql: String = migrations::MIGRATIONS.iter().map(|migration| migration.sql).collect();
    sqlite3_shell(file.path(), &migrations_sql);
    let fixture = fixture();
    load_fixture(&connection::open(file.path()).unwrap(), &fixture);

    for query in fixture["queries"].as_array().unwrap() {
        let sql = query["sql"].as_str().unwrap();
        let output = sqlite3_shell(file.path(), &format!(".mode json\n{sql}\n"));
        let objects: Vec<serde_json::Map<String, Value>> =
            if output.trim().is_empty() { Vec::new() } else { serde_json::from_str(&output).unwrap() };
        let ignored = strings(&query["ignored_columns"]);
        let columns: Vec<String> = strings(&query["columns"]).into_iter().filter(|c| !ignored.contains(c)).collect();
        let actual: Vec<Vec<Value>> = objects
            .iter()
            .map(|object| {
                columns
                    .iter()
                    .map(|column| match &object[column] {
                        Value::String(text) if JSON_COLUMNS.contains(&column.as_str()) => {
                            serde_json::from_str(text).unwrap()
                        }
                        Value::Number(number) if column == "is_orphan" => Value::from(number.as_i64() != Some(0)),
                        other => other.clone(),
                    })
                    .collect()
            })
            .collect();
        assert_rows(&format!("sqlite3 shell: {sql}"), &actual, query["rows"].as_array().unwrap());
    }
}

/// The plan trap this schema avoids was measured on SQLite 3.40: the
/// system's shell must plan both views without a table scan too.
#[test]
fn the_system_sqlite3_shell_plans_both_views_through_indexes() {
    let file = TempSqlite::new();
    let mut connection = connection::open(file.path()).unwrap();
    migrations::apply(&mut connection).unwrap();
    connection.execute_batch(LOAD_100K_SPANS).unwrap();
    drop(connection);

    for (sql, argument) in PLANNED {
        let literal = sql.replace("?1", &format!("'{argument}'"));
        let output = sqlite3_shell(file.path(), &format!("EXPLAIN QUERY PLAN {literal};\n"));
        // The shell draws the plan as a tree: "|--SEARCH …", "`--SCAN …".
        let plan: Vec<String> = output
            .lines()
            .filter(|line| *line != "QUERY PLAN")
            .map(|line| line.trim_start_matches(['|', '`', '-', ' ']).to_owned())
            .collect();
        check_plan(&format!("sqlite3 shell: {literal}"), &plan);
    }
}

/// The free-text index (in a file of its own, see `search.rs`) follows
/// agent.traces by rowid through agent.trace_search_queue: the triggers must
/// queue every change of a searched column and every deletion, and VACUUM
/// must keep the rowids.
#[test]
fn the_search_queue_follows_the_traces_table_through_vacuum() {
    let (file, connection) = migrated();
    let queued = |connection: &Connection| -> Vec<String> {
        connection
            .prepare(
                "SELECT coalesce(t.trace_id, 'deleted') FROM agent.trace_search_queue q \
                 LEFT JOIN agent.traces t ON t.rowid = q.trace_rowid ORDER BY q.seq",
            )
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    connection
        .execute_batch(
            r#"WITH RECURSIVE n (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 199)
               INSERT INTO agent.traces (trace_id, session_id) SELECT 'trace-' || i, 's' FROM n;
               UPDATE agent.traces SET input = '{"question": "Weather in Paris?"}' WHERE trace_id = 'trace-150';
               UPDATE agent.traces SET output = '"Snow in Oslo"', error = 'Quota exceeded' WHERE trace_id = 'trace-151';
               UPDATE agent.traces SET name = 'renamed', output = '"Snow in Oslo"' WHERE trace_id = 'trace-151';
               INSERT INTO agent.traces (trace_id, session_id, error) VALUES ('late-one', 's', 'boom');
               DELETE FROM agent.traces WHERE trace_id LIKE 'trace-%' AND CAST(substr(trace_id, 7) AS INTEGER) < 100;"#,
        )
        .unwrap();
    // Traces without text are not queued; an update that leaves the text
    // as it was is not either; the hundred deletions are.
    let mut expected = vec!["trace-150".to_owned(), "trace-151".to_owned(), "late-one".to_owned()];
    expected.extend(std::iter::repeat_n("deleted".to_owned(), 100));
    assert_eq!(queued(&connection), expected);

    let rowid_of = |connection: &Connection, trace_id: &str| -> i64 {
        connection
            .query_row("SELECT rowid FROM agent.traces WHERE trace_id = ?1", [trace_id], |row| row.get(0))
            .unwrap()
    };
    let before = rowid_of(&connection, "trace-150");
    drop(connection);
    let connection = connection::open(file.path()).unwrap();
    connection.execute_batch("VACUUM agent").unwrap();
    assert_eq!(rowid_of(&connection, "trace-150"), before, "VACUUM keeps the rowids the index is keyed by");
    assert_eq!(queued(&connection)[..3], expected[..3]);
}
