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
