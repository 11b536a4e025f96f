//! The `agent` schema as users meet it in `psql`: the documented reference
//! queries, the tree view's edge cases and the query plans that keep both
//! views O(one trace), on a freshly migrated PostgreSQL database.
//!
//! The rows and the expected answers live in
//! `agentrace-testkit/fixtures/schema/reference.json`, which the SQLite
//! schema test reads too: both stores must answer alike.

use std::time::Duration;

use agentrace_testkit::postgres::{fresh_database, TestDatabase};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::types::{FromSql, ToSql, Type};
use tokio_postgres::{Client, Row};

const FIXTURE: &str = include_str!("../../agentrace-testkit/fixtures/schema/reference.json");

/// Long enough for any query here on a slow machine, short enough that a
/// tree walk that fails to stop on a cycle fails the test instead of hanging.
const STATEMENT_TIMEOUT: &str = "SET statement_timeout = '30s'";

async fn migrated() -> (TestDatabase, Client) {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
    let client = database.connect().await.expect("connect");
    client.batch_execute(STATEMENT_TIMEOUT).await.unwrap();
    (database, client)
}

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("reference.json is JSON")
}

/// The PostgreSQL type of each column the fixture fills; anything else is TEXT.
fn column_type(column: &str) -> &'static str {
    match column {
        "start_time" | "end_time" | "created_at" | "updated_at" => "timestamptz",
        "input" | "output" | "metadata" | "tokens_used" | "events" => "jsonb",
        "duration_ms" => "bigint",
        "sent_fields" => "integer",
        "cost_usd" => "numeric",
        _ => "text",
    }
}

/// Inserts one fixture object into `table`, every value bound as text and
/// cast by the server, so that the fixture's literal forms are what is tested.
async fn insert(client: &Client, table: &str, row: &Value) {
    let object = row.as_object().expect("fixture rows are objects");
    let mut columns = Vec::new();
    let mut values = Vec::new();
    let mut params: Vec<Option<String>> = Vec::new();
    for (column, value) in object {
        params.push(match value {
            Value::Null => None,
            Value::String(text) if column_type(column) != "jsonb" && column != "tags" => Some(text.clone()),
            other => Some(other.to_string()),
        });
        let n = params.len();
        columns.push(column.as_str());
        values.push(if column == "tags" {
            format!("ARRAY(SELECT jsonb_array_elements_text(${n}::text::jsonb))")
        } else {
            format!("${n}::text::{}", column_type(column))
        });
    }
    let sql = format!("INSERT INTO agent.{table} ({}) VALUES ({})", columns.join(", "), values.join(", "));
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    client.execute(&sql, &refs).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
}

async fn load_fixture(client: &Client, fixture: &Value) {
    for trace in fixture["traces"].as_array().unwrap() {
        insert(client, "traces", trace).await;
    }
    for span in fixture["spans"].as_array().unwrap() {
        insert(client, "spans", span).await;
    }
}

/// NUMERIC in the binary wire format, read as f64: enough to compare sums of
/// costs, and tokio-postgres has no NUMERIC support of its own.
struct Numeric(f64);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let word = |index: usize| i16::from_be_bytes([raw[2 * index], raw[2 * index + 1]]);
        let (digits, weight, sign) = (word(0) as usize, word(1) as i32, word(2) as u16);
        if sign == 0xC000 {
            return Ok(Numeric(f64::NAN));
        }
        let magnitude: f64 =
            (0..digits).map(|index| f64::from(word(4 + index)) * 10_000f64.powi(weight - index as i32)).sum();
        Ok(Numeric(if sign == 0x4000 { -magnitude } else { magnitude }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

/// One result value in the fixture's terms: timestamps in the fixed-width
/// UTC text form, arrays and JSON as JSON, numbers as numbers.
fn cell(row: &Row, index: usize) -> Value {
    let ty = row.columns()[index].type_().clone();
    let value = match ty {
        Type::TEXT | Type::VARCHAR | Type::NAME => row.get::<_, Option<String>>(index).map(Value::from),
        Type::INT2 => row.get::<_, Option<i16>>(index).map(Value::from),
        Type::INT4 => row.get::<_, Option<i32>>(index).map(Value::from),
        Type::INT8 => row.get::<_, Option<i64>>(index).map(Value::from),
        Type::FLOAT8 => row.get::<_, Option<f64>>(index).map(Value::from),
        Type::NUMERIC => row.get::<_, Option<Numeric>>(index).map(|number| Value::from(number.0)),
        Type::BOOL => row.get::<_, Option<bool>>(index).map(Value::from),
        Type::TIMESTAMPTZ => row
            .get::<_, Option<DateTime<Utc>>>(index)
            .map(|time| Value::from(time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())),
        Type::JSONB | Type::JSON => row.get::<_, Option<Value>>(index),
        Type::TEXT_ARRAY => row.get::<_, Option<Vec<String>>>(index).map(Value::from),
        other => panic!("column {} has type {other}, which this test does not read", row.columns()[index].name()),
    };
    value.unwrap_or(Value::Null)
}

/// Equality with a tolerance for numbers: PostgreSQL sums NUMERIC exactly,
/// SQLite sums REAL, and the fixture writes one decimal literal for both.
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
    let expected: Vec<&Vec<Value>> = expected.iter().map(|row| row.as_array().unwrap()).collect();
    let render =
        |rows: &[&Vec<Value>]| rows.iter().map(|row| format!("  {}\n", Value::from(row.to_vec()))).collect::<String>();
    let actual_refs: Vec<&Vec<Value>> = actual.iter().collect();
    let matches = actual.len() == expected.len()
        && actual
            .iter()
            .zip(&expected)
            .all(|(a, e)| a.len() == e.len() && a.iter().zip(e.iter()).all(|(a, e)| same(a, e)));
    assert!(matches, "{context}\nexpected:\n{}actual:\n{}", render(&expected), render(&actual_refs));
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|item| item.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn reference_queries_return_the_documented_rows() {
    let (_database, client) = migrated().await;
    let fixture = fixture();
    load_fixture(&client, &fixture).await;

    for query in fixture["queries"].as_array().unwrap() {
        let sql = query["sql"].as_str().unwrap();
        let statement = client.prepare(sql).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
        let names: Vec<String> = statement.columns().iter().map(|column| column.name().to_owned()).collect();
        assert_eq!(names, strings(&query["columns"]), "columns of {sql}");
        let ignored = strings(&query["ignored_columns"]);
        let rows = client.query(&statement, &[]).await.unwrap();
        let actual: Vec<Vec<Value>> = rows
            .iter()
            .map(|row| (0..names.len()).filter(|&i| !ignored.contains(&names[i])).map(|i| cell(row, i)).collect())
            .collect();
        assert_rows(sql, &actual, query["rows"].as_array().unwrap());
    }
}

#[tokio::test]
async fn trace_tree_edge_cases() {
    let (_database, client) = migrated().await;
    for case in fixture()["tree_cases"].as_array().unwrap() {
        insert(&client, "traces", &case["trace"]).await;
        for span in case["spans"].as_array().unwrap() {
            insert(&client, "spans", span).await;
        }
        let sql = format!("SELECT {} FROM agent.trace_tree WHERE trace_id = $1", strings(&case["columns"]).join(", "));
        let trace_id = case["trace"]["trace_id"].as_str().unwrap();
        let rows = client.query(&sql, &[&trace_id]).await.unwrap_or_else(|error| panic!("{}: {error}", case["name"]));
        let actual: Vec<Vec<Value>> = rows.iter().map(|row| (0..row.len()).map(|i| cell(row, i)).collect()).collect();
        assert_rows(case["name"].as_str().unwrap(), &actual, case["rows"].as_array().unwrap());
    }
}

#[tokio::test]
async fn a_parent_cycle_returns_promptly() {
    let (_database, client) = migrated().await;
    client
        .batch_execute(
            "INSERT INTO agent.traces (trace_id, session_id) VALUES ('loop', 'loop');
             INSERT INTO agent.spans (trace_id, span_id, parent_span_id) VALUES ('loop', 'a', 'b'), ('loop', 'b', 'a');",
        )
        .await
        .unwrap();
    let query = client.query("SELECT span_id, level FROM agent.trace_tree WHERE trace_id = 'loop'", &[]);
    let rows = tokio::time::timeout(Duration::from_secs(5), query).await.expect("the tree of a cycle ends").unwrap();
    let rows: Vec<(String, i32)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(rows, [("a".to_owned(), 1), ("b".to_owned(), 2)]);
}

#[tokio::test]
async fn a_chain_a_thousand_levels_deep() {
    let (_database, client) = migrated().await;
    client
        .batch_execute(
            "INSERT INTO agent.traces (trace_id, session_id) VALUES ('deep', 'deep');
             INSERT INTO agent.spans (trace_id, span_id, parent_span_id, start_time)
             SELECT 'deep', 'level-' || depth, CASE WHEN depth > 1 THEN 'level-' || (depth - 1) END,
                    timestamptz '2026-11-28 12:00:00+00' + depth * interval '1 millisecond'
             FROM generate_series(1, 1000) AS depth;",
        )
        .await
        .unwrap();
    let rows =
        client.query("SELECT span_id, level, path FROM agent.trace_tree WHERE trace_id = 'deep'", &[]).await.unwrap();
    assert_eq!(rows.len(), 1000);
    for (index, row) in rows.iter().enumerate() {
        let depth = index as i32 + 1;
        assert_eq!(row.get::<_, String>(0), format!("level-{depth}"));
        assert_eq!(row.get::<_, i32>(1), depth);
    }
    let deepest: Vec<String> = rows[999].get(2);
    assert_eq!(deepest.len(), 1000);
    assert_eq!(deepest[0], "level-1");
}

#[tokio::test]
async fn trace_stats_counts_a_trace_without_spans_as_zeros_and_its_cost_as_unknown() {
    let (_database, client) = migrated().await;
    client.batch_execute("INSERT INTO agent.traces (trace_id, session_id) VALUES ('empty', 's')").await.unwrap();
    let row = client
        .query_one(
            "SELECT total_spans, model_calls, error_spans, prompt_tokens, total_tokens, cost_usd::float8
             FROM agent.trace_stats WHERE trace_id = 'empty'",
            &[],
        )
        .await
        .unwrap();
    let counts: Vec<i64> = (0..5).map(|i| row.get(i)).collect();
    assert_eq!(counts, [0; 5]);
    assert_eq!(row.get::<_, Option<f64>>(5), None);
}

#[tokio::test]
async fn unusable_token_counts_do_not_break_trace_stats() {
    let (_database, client) = migrated().await;
    client
        .batch_execute(
            r#"INSERT INTO agent.traces (trace_id, session_id) VALUES ('odd', 'odd');
               INSERT INTO agent.spans (trace_id, span_id, span_type, tokens_used) VALUES
                   ('odd', 'a', 'model_call', '{"prompt": "many", "completion": 5}'),
                   ('odd', 'b', 'model_call', '[1, 2]'),
                   ('odd', 'c', 'model_call', '{"prompt": 10, "total": 12}');"#,
        )
        .await
        .unwrap();
    let row = client
        .query_one(
            "SELECT prompt_tokens, completion_tokens, total_tokens FROM agent.trace_stats WHERE trace_id = 'odd'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2)), (10, 5, 17));
}

/// Traces stored before migration 012 get their `agent.trace_totals` row
/// from it: the figures of `agent.trace_stats`, odd token counts included.
#[tokio::test]
async fn trace_totals_are_filled_in_for_traces_stored_before_them() {
    use agentrace_store_postgres::migrations::{apply, apply_migrations, MIGRATIONS};
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    let mut client = database.connect().await.expect("connect");
    let before: Vec<_> = MIGRATIONS.iter().filter(|migration| migration.version < "012").copied().collect();
    apply_migrations(&mut client, &before).await.expect("migrate to 011");
    client
        .batch_execute(
            r#"INSERT INTO agent.traces (trace_id, session_id) VALUES ('full', 'full'), ('odd', 'odd'), ('empty', 'empty');
               INSERT INTO agent.spans (trace_id, span_id, span_type, status, tokens_used, cost_usd) VALUES
                   ('full', 'a', 'agent', 'success', '{"prompt": 500, "completion": 50}', NULL),
                   ('full', 'b', 'model_call', 'error', '{"prompt": 100, "completion": 10, "total": 111}', 0.25),
                   ('full', 'c', 'embedding', 'success', '{"prompt": 7}', NULL),
                   ('full', 'd', 'tool_call', 'success', NULL, NULL),
                   ('full', 'e', 'mcp_call', 'success', NULL, NULL),
                   ('odd', 'a', 'model_call', 'success', '{"prompt": "many", "completion": 5}', NULL),
                   ('odd', 'b', 'model_call', 'success', '[1, 2]', NULL);"#,
        )
        .await
        .unwrap();
    apply(&mut client).await.expect("migrate to the latest");
    let columns = "trace_id, total_spans, model_calls, tool_calls, mcp_calls, error_spans, prompt_tokens::numeric, \
                   completion_tokens::numeric, total_tokens::numeric, cost_usd";
    let differences = format!(
        "(SELECT {columns} FROM agent.trace_stats WHERE total_spans > 0 EXCEPT SELECT {columns} FROM agent.trace_totals)
         UNION ALL
         (SELECT {columns} FROM agent.trace_totals EXCEPT SELECT {columns} FROM agent.trace_stats)"
    );
    let rows = client.query(&differences, &[]).await.unwrap();
    let differing: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    assert!(differing.is_empty(), "totals unlike agent.trace_stats: {differing:?}");
    let totals: Vec<(String, i64, i64)> = client
        .query("SELECT trace_id, total_spans, total_tokens::int8 FROM agent.trace_totals ORDER BY trace_id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(totals, [("full".to_owned(), 5, 118), ("odd".to_owned(), 2, 5)], "a trace without spans has no row");
}

#[tokio::test]
async fn every_migration_can_run_again() {
    let (_database, client) = migrated().await;
    for migration in agentrace_store_postgres::migrations::MIGRATIONS {
        client.batch_execute(migration.sql).await.unwrap_or_else(|error| panic!("{} again: {error}", migration.name));
    }
}

#[tokio::test]
async fn every_table_view_and_column_is_documented_where_needed() {
    let (_database, client) = migrated().await;
    let undocumented: Vec<String> = client
        .query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'agent' AND c.relkind IN ('r', 'v') AND obj_description(c.oid, 'pg_class') IS NULL",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(undocumented.is_empty(), "tables and views without COMMENT: {undocumented:?}");
    let described: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'agent' AND c.relname IN ('traces', 'spans') AND a.attnum > 0
               AND col_description(c.oid, a.attnum) IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(described >= 20, "only {described} columns of agent.traces and agent.spans are commented");
}

/// Names of the relations a plan reads with a sequential scan, and whether it
/// reads agent.spans through an index at all.
fn scans(plan: &Value, seq_scanned: &mut Vec<String>, span_index_used: &mut bool, max_cost: &mut f64) {
    let node_type = plan["Node Type"].as_str().unwrap_or_default();
    let relation = plan["Relation Name"].as_str().unwrap_or_default();
    if node_type == "Seq Scan" {
        seq_scanned.push(relation.to_owned());
    }
    // A bitmap scan names the table on its heap node, the index below it.
    if relation == "spans" && (node_type.contains("Index") || node_type == "Bitmap Heap Scan") {
        *span_index_used = true;
    }
    *max_cost = max_cost.max(plan["Total Cost"].as_f64().unwrap_or_default());
    for child in plan["Plans"].as_array().into_iter().flatten() {
        scans(child, seq_scanned, span_index_used, max_cost);
    }
}

async fn check_plan(client: &Client, explain: &str, params: &[&(dyn ToSql + Sync)]) {
    let rows = client.query(explain, params).await.unwrap_or_else(|error| panic!("{explain}: {error}"));
    let document: Value = rows[0].get(0);
    let (mut seq_scanned, mut span_index_used, mut max_cost) = (Vec::new(), false, 0.0);
    scans(&document[0]["Plan"], &mut seq_scanned, &mut span_index_used, &mut max_cost);
    assert!(seq_scanned.is_empty(), "{explain}: sequential scans of {seq_scanned:?}\n{document:#}");
    assert!(span_index_used, "{explain}: agent.spans is not read through an index\n{document:#}");
    // Past jit_above_cost (100000 by default) PostgreSQL compiles the query,
    // which takes longer than running it.
    assert!(max_cost < 100_000.0, "{explain}: estimated cost {max_cost} would trigger JIT\n{document:#}");
}

#[tokio::test]
async fn both_views_read_one_trace_through_indexes_among_100k_spans() {
    let (_database, client) = migrated().await;
    client
        .batch_execute(
            "INSERT INTO agent.traces (trace_id, session_id, start_time)
             SELECT 'trace-' || t, 'session-' || (t / 10), timestamptz '2026-11-28 00:00:00+00' + t * interval '1 second'
             FROM generate_series(0, 1999) AS t;
             INSERT INTO agent.spans (trace_id, span_id, parent_span_id, span_type, name, start_time, model, tokens_used)
             SELECT 'trace-' || t, 'span-' || s, CASE WHEN s > 0 THEN 'span-' || ((s - 1) / 5) END,
                    (ARRAY['node', 'model_call', 'tool_call', 'mcp_call', 'agent'])[1 + s % 5], 'op-' || s,
                    timestamptz '2026-11-28 00:00:00+00' + t * interval '1 second' + s * interval '1 millisecond',
                    CASE WHEN s % 5 = 1 THEN 'gpt-4o' END,
                    CASE WHEN s % 5 = 1 THEN jsonb_build_object('prompt', 10, 'completion', 5, 'total', 15) END
             FROM generate_series(0, 1999) AS t, generate_series(0, 49) AS s;
             ANALYZE agent.traces;
             ANALYZE agent.spans;",
        )
        .await
        .unwrap();
    let spans: i64 = client.query_one("SELECT count(*) FROM agent.spans", &[]).await.unwrap().get(0);
    assert!(spans >= 100_000);

    let tree = "SELECT * FROM agent.trace_tree WHERE trace_id = $1";
    let stats = "SELECT * FROM agent.trace_stats WHERE session_id = $1";
    // A custom plan (the value known when planning), as for a one-off query.
    check_plan(&client, &format!("EXPLAIN (FORMAT JSON) {tree}"), &[&"trace-1234"]).await;
    check_plan(&client, &format!("EXPLAIN (FORMAT JSON) {stats}"), &[&"session-123"]).await;
    // The generic plan a driver's prepared statement settles on.
    client
        .batch_execute(&format!(
            "SET plan_cache_mode = force_generic_plan; PREPARE tree(text) AS {tree}; PREPARE stats(text) AS {stats};"
        ))
        .await
        .unwrap();
    check_plan(&client, "EXPLAIN (FORMAT JSON) EXECUTE tree('trace-1234')", &[]).await;
    check_plan(&client, "EXPLAIN (FORMAT JSON) EXECUTE stats('session-123')", &[]).await;

    let rows = client.query(tree, &[&"trace-1234"]).await.unwrap();
    assert_eq!(rows.len(), 50);
    let rows = client.query(stats, &[&"session-123"]).await.unwrap();
    assert_eq!(rows.len(), 10);
}

/// A trace's feedback (that naming the trace, and that naming only one of
/// its spans) is read through indexes, whatever else agent.feedback holds:
/// reading a trace must not cost more as feedback on other traces piles up.
#[tokio::test]
async fn a_traces_feedback_is_read_through_indexes_among_100k_rows() {
    let (_database, client) = migrated().await;
    client
        .batch_execute(
            "INSERT INTO agent.traces (trace_id, session_id) SELECT 'trace-' || t, 'trace-' || t
             FROM generate_series(0, 1999) AS t;
             INSERT INTO agent.spans (trace_id, span_id, span_type, name)
             SELECT 'trace-' || t, 'span-' || t || '-' || s, 'node', 'op'
             FROM generate_series(0, 1999) AS t, generate_series(0, 49) AS s;
             INSERT INTO agent.feedback (feedback_id, trace_id, span_id, key, score)
             SELECT 'trace-fb-' || f, 'trace-' || (f % 2000), NULL, 'user_score', 1 FROM generate_series(0, 49999) AS f;
             INSERT INTO agent.feedback (feedback_id, trace_id, span_id, key, score)
             SELECT 'span-fb-' || f, NULL, 'span-' || (f % 2000) || '-' || (f / 2000), 'correctness', 0
             FROM generate_series(0, 49999) AS f;
             ANALYZE agent.spans;
             ANALYZE agent.feedback;",
        )
        .await
        .unwrap();
    let select = include_str!("../src/queries/select_feedback.sql");
    let rows = client.query(&format!("EXPLAIN (FORMAT JSON) {select}"), &[&"trace-7"]).await.unwrap();
    let document: Value = rows[0].get(0);
    let (mut seq_scanned, mut span_index_used, mut max_cost) = (Vec::new(), false, 0.0);
    scans(&document[0]["Plan"], &mut seq_scanned, &mut span_index_used, &mut max_cost);
    assert!(seq_scanned.is_empty(), "sequential scans of {seq_scanned:?}\n{document:#}");
    let rows = client.query(select, &[&"trace-7"]).await.unwrap();
    let ids: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(ids.len(), 50, "25 naming the trace, 25 naming one of its spans: {ids:?}");
    assert_eq!(ids.iter().filter(|id| id.starts_with("trace-fb-")).count(), 25, "{ids:?}");
}

/// A database administrator may create the schema and let agentrace's own
/// role fill it: the migrations must not need to own the schema. (The role
/// still needs CREATE on the database: PostgreSQL checks it for
/// `CREATE SCHEMA IF NOT EXISTS` even when the schema exists.)
#[tokio::test]
async fn a_role_that_does_not_own_the_schema_can_migrate() {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    let admin = database.connect().await.unwrap();
    let role = format!("{}_app", database.name());
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{role}\" LOGIN;
             CREATE SCHEMA agent;
             GRANT USAGE, CREATE ON SCHEMA agent TO \"{role}\";
             GRANT CREATE ON DATABASE \"{name}\" TO \"{role}\";",
            name = database.name()
        ))
        .await
        .unwrap();
    let url = database.url().replacen("postgres@", &format!("{role}@"), 1);
    let migrated = agentrace_store_postgres::migrations::apply_url(&url).await;
    drop(admin);
    drop(database);
    // Roles outlive the test's database; this one is of no further use.
    let elsewhere = fresh_database().await.unwrap();
    let cleanup = elsewhere.connect().await.unwrap();
    cleanup.batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\"")).await.unwrap();
    migrated.expect("migrating as a role that may create in the schema but does not own it");
}
