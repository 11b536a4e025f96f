//! The plans of the write path's lookups hold whatever the statistics say:
//! a plan that is fast only while the statistics describe today's data
//! turns into multi-second writes when the data changes under them.

use agentrace_testkit::postgres::fresh_database;

/// The lookup of the stored spans a batch merges into, by (trace_id,
/// span_id), planned once the statistics say span ids are unique (random
/// ids, as OpenTelemetry's) and run for ids like "s3", which repeat in
/// every trace of a native client that numbers its spans.
#[tokio::test]
async fn the_stored_span_lookup_matches_both_key_columns_in_any_index() {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
    let client = database.connect().await.unwrap();
    client
        .batch_execute(
            // OpenTelemetry's shapes: 32 hex digits of trace id, 16 of span
            // id, so that the span id index is the smaller one.
            "INSERT INTO agent.traces (trace_id, session_id)
                 SELECT md5('trace' || n), md5('trace' || n) FROM generate_series(1, 5000) AS n;
             INSERT INTO agent.spans (trace_id, span_id, span_type, name)
                 SELECT md5('trace' || (n % 5000 + 1)), left(md5('span' || n), 16), 'custom', 'step'
                 FROM generate_series(1, 100000) AS n;
             ANALYZE agent.spans;",
        )
        .await
        .unwrap();
    let lookup = include_str!("../src/queries/select_spans_by_key.sql");
    client.batch_execute(&format!("PREPARE lookup(text[], text[]) AS {lookup}")).await.unwrap();
    client.batch_execute("SET plan_cache_mode = force_generic_plan").await.unwrap();
    let plan: Vec<String> = client
        .query("EXPLAIN EXECUTE lookup('{0123456789abcdef0123456789abcdef}', '{s3}')", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("Index Cond"), "the lookup reads an index:\n{plan}");
    assert!(!plan.contains("Filter"), "both key columns are index conditions, none a filter:\n{plan}");
}

/// The write statements that read stored rows, each with the name it is
/// prepared under. Every parameter is cast in the statement itself, so
/// `PREPARE` needs no types.
const READING_WRITES: [(&str, &str); 5] = [
    ("lock_traces", include_str!("../src/queries/lock_traces.sql")),
    ("select_spans", include_str!("../src/queries/select_spans_by_key.sql")),
    ("span_extents", include_str!("../src/queries/span_extents.sql")),
    ("root_spans", include_str!("../src/queries/root_spans.sql")),
    ("update_traces", include_str!("../src/queries/update_traces.sql")),
];

/// The generic plan of each reading write statement, prepared on `client`.
async fn generic_plans(client: &tokio_postgres::Client) -> Vec<(&'static str, String)> {
    let mut plans = Vec::new();
    for (name, sql) in READING_WRITES {
        let parameters = (1..=30).take_while(|n| sql.contains(&format!("${n}"))).count();
        client.batch_execute(&format!("PREPARE {name} AS {sql}")).await.unwrap();
        let nulls = vec!["NULL"; parameters].join(", ");
        let plan: Vec<String> = client
            .query(&format!("EXPLAIN EXECUTE {name}({nulls})"), &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        plans.push((name, plan.join("\n")));
    }
    plans
}

/// Write statements are prepared once per connection and their plans kept.
/// Prepared on a new database, where every table is still empty and never
/// analysed, a plan that scans a whole table looks cheapest, and it would
/// stay in use as the table grows: each write would read every stored
/// trace. The write connections' settings keep each lookup on its index.
#[tokio::test]
async fn write_statements_prepared_on_a_new_database_read_through_indexes() {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");

    // The counterexample: with PostgreSQL's defaults, some of these plans
    // scan a table.
    let defaults = database.connect().await.unwrap();
    defaults.batch_execute("SET plan_cache_mode = force_generic_plan").await.unwrap();
    let scanning: Vec<&str> = generic_plans(&defaults)
        .await
        .into_iter()
        .filter(|(_, plan)| plan.contains("Seq Scan"))
        .map(|(name, _)| name)
        .collect();
    assert!(!scanning.is_empty(), "with the default settings, some write statement scans a table");

    let writer = database.connect().await.unwrap();
    for (name, value) in agentrace_store_postgres::store::WRITER_SETTINGS {
        writer.batch_execute(&format!("SET {name} = '{value}'")).await.unwrap();
    }
    for (name, plan) in generic_plans(&writer).await {
        assert!(!plan.contains("Seq Scan"), "{name} reads through an index, not a table scan:\n{plan}");
    }
}
