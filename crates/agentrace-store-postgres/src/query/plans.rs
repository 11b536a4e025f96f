//! The plans of the trace listing's queries, exactly as the store builds
//! them, among 100,000 spans in 20,000 analyzed traces: the first page, the
//! session, model, tag, metadata, error and free-text filters, a later page
//! and the traces without a start, and the per-row statistics, each read
//! through indexes and cheap enough never to be compiled by JIT.

use agentrace_core::time::parse_rfc3339;
use agentrace_store::query::keyset::{Segment, SortValue};
use agentrace_store::query::{TraceFilter, TraceSort};
use agentrace_testkit::postgres::fresh_database;
use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use super::{trace_segment_sql, Sql};

/// 20,000 traces of 5 spans, ten a session, a second apart; a gpt-4o call
/// in each, a few traces with a rare model, tag or region, one with a
/// phrase in its input; some failed spans; a few traces without a start.
/// (A trace listing reads agent.traces first: what makes its plans is how
/// many traces there are.)
const LOAD: &str = "
INSERT INTO agent.traces (trace_id, session_id, project, start_time, end_time, duration_ms, status, input, output,
                          tags, metadata)
SELECT 'trace-' || t, 'session-' || (t / 10), 'project-' || (t % 4),
       timestamptz '2026-11-28 00:00:00+00' + t * interval '1 second',
       timestamptz '2026-11-28 00:00:00+00' + t * interval '1 second' + (t % 97) * interval '10 milliseconds',
       (t % 97) * 10,
       CASE WHEN t % 50 = 0 THEN 'error' ELSE 'success' END,
       jsonb_build_object('question', 'question number ' || t
                                      || CASE WHEN t = 12345 THEN ' holds the needle phrase' ELSE '' END),
       jsonb_build_object('answer', repeat('lorem ipsum dolor sit amet ', 10) || t),
       CASE WHEN t % 100 = 0 THEN ARRAY['rare-tag'] ELSE ARRAY['common'] END,
       jsonb_build_object('region', CASE WHEN t % 200 = 0 THEN 'antarctica' ELSE 'eu' END, 'tier', t % 3)
FROM generate_series(0, 19999) AS t;
INSERT INTO agent.traces (trace_id, session_id) SELECT 'unstarted-' || t, 'unstarted-' || t FROM generate_series(0, 9) AS t;
INSERT INTO agent.spans (trace_id, span_id, parent_span_id, span_type, name, start_time, end_time, duration_ms, status,
                         model, tokens_used)
SELECT 'trace-' || t, 'span-' || s, CASE WHEN s > 0 THEN 'span-' || ((s - 1) / 5) END,
       (ARRAY['node', 'model_call', 'tool_call', 'mcp_call', 'agent'])[1 + s % 5], 'op-' || s,
       timestamptz '2026-11-28 00:00:00+00' + t * interval '1 second' + s * interval '1 millisecond',
       timestamptz '2026-11-28 00:00:00+00' + t * interval '1 second' + s * interval '2 millisecond',
       s, CASE WHEN s = 2 AND t % 40 = 0 THEN 'error' ELSE 'success' END,
       CASE WHEN s = 1 AND t % 5000 = 0 THEN 'rare-model' WHEN s = 1 THEN 'gpt-4o' END,
       CASE WHEN s = 1 THEN jsonb_build_object('prompt', 10, 'completion', 5, 'total', 15) END
FROM generate_series(0, 19999) AS t, generate_series(0, 4) AS s;
-- What agentrace's writes keep for the trace list.
INSERT INTO agent.trace_totals
SELECT trace_id, total_spans, model_calls, tool_calls, mcp_calls, error_spans, prompt_tokens, completion_tokens,
       total_tokens, cost_usd
FROM agent.trace_stats WHERE total_spans > 0;
ANALYZE agent.traces;
ANALYZE agent.spans;
ANALYZE agent.trace_totals;
";

/// Past `jit_above_cost` (100000 by default) PostgreSQL compiles a query,
/// which takes longer than running it.
const JIT_ABOVE_COST: f64 = 100_000.0;

fn sequential_scans(plan: &Value, relations: &mut Vec<String>) {
    if plan["Node Type"] == "Seq Scan" {
        relations.push(plan["Relation Name"].as_str().unwrap_or_default().to_owned());
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        sequential_scans(child, relations);
    }
}

async fn assert_indexed(client: &Client, context: &str, text: &str, params: &[&(dyn ToSql + Sync)]) {
    let explain = format!("EXPLAIN (FORMAT JSON) {text}");
    let rows = client.query(&explain, params).await.unwrap_or_else(|error| panic!("{context}: {error}\n{text}"));
    let document: Value = rows[0].get(0);
    let mut sequential = Vec::new();
    sequential_scans(&document[0]["Plan"], &mut sequential);
    assert!(sequential.is_empty(), "{context}: sequential scans of {sequential:?}\n{text}\n{document:#}");
    // JIT looks at the whole plan's cost: below a LIMIT, a scan's total
    // cost is what reading it to the end would cost, not what the page does.
    let cost = document[0]["Plan"]["Total Cost"].as_f64().unwrap_or_default();
    assert!(cost < JIT_ABOVE_COST, "{context}: estimated cost {cost} would trigger JIT\n{document:#}");
}

/// "Node Type on Index Name" of every node of `plan` reading `relation`.
fn reads_of(plan: &Value, relation: &str, reads: &mut Vec<String>) {
    if plan["Relation Name"] == relation {
        let index = plan["Index Name"].as_str().unwrap_or("(no index)");
        reads.push(format!("{} on {index}", plan["Node Type"].as_str().unwrap_or_default()));
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        reads_of(child, relation, reads);
    }
}

async fn assert_sql_indexed(client: &Client, context: &str, sql: &Sql) {
    let params: Vec<&(dyn ToSql + Sync)> = sql.params.iter().map(|param| param.as_ref() as _).collect();
    assert_indexed(client, context, &sql.text, &params).await;
    let rows = client.query(&sql.text, &params).await.unwrap();
    assert!(!rows.is_empty(), "{context}: the query finds something");
}

#[tokio::test]
async fn trace_listing_reads_indexes_among_100k_spans() {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    crate::migrations::apply_url(database.url()).await.expect("migrate");
    let client = database.connect().await.expect("connect");
    client.batch_execute(LOAD).await.unwrap();

    let first = Segment::Valued { after: None };
    let cases = [
        ("first page", TraceFilter::default()),
        ("session", TraceFilter { session_id: Some("session-123".into()), ..TraceFilter::default() }),
        ("model", TraceFilter { model: Some("gpt-4o".into()), ..TraceFilter::default() }),
        ("rare model", TraceFilter { model: Some("rare-model".into()), ..TraceFilter::default() }),
        ("q", TraceFilter { q: Some("NEEDLE phrase".into()), ..TraceFilter::default() }),
        ("common q", TraceFilter { q: Some("lorem ipsum".into()), ..TraceFilter::default() }),
        ("tag", TraceFilter { tag: Some("rare-tag".into()), ..TraceFilter::default() }),
        ("metadata", TraceFilter { metadata: vec![("region".into(), "antarctica".into())], ..TraceFilter::default() }),
        ("has_error", TraceFilter { has_error: Some(true), ..TraceFilter::default() }),
        ("project", TraceFilter { project: Some("project-2".into()), ..TraceFilter::default() }),
    ];
    for (context, filter) in &cases {
        for sort in [TraceSort::StartTimeDesc, TraceSort::StartTimeAsc] {
            let sql = trace_segment_sql(filter, sort, &first, false, 51);
            assert_sql_indexed(&client, &format!("{context}, {sort:?}"), &sql).await;
        }
    }

    let middle = parse_rfc3339("2026-11-28T02:46:40Z").unwrap();
    let later = Segment::Valued { after: Some((SortValue::Time(middle), vec!["trace-10000".into()])) };
    let sql = trace_segment_sql(&TraceFilter::default(), TraceSort::StartTimeDesc, &later, false, 51);
    assert_sql_indexed(&client, "a later page", &sql).await;
    let unstarted = Segment::Unvalued { after: Some(vec!["unstarted-5".into()]) };
    let sql = trace_segment_sql(&TraceFilter::default(), TraceSort::StartTimeDesc, &unstarted, false, 51);
    assert_sql_indexed(&client, "the traces without a start", &sql).await;
    let sql = trace_segment_sql(&TraceFilter::default(), TraceSort::DurationDesc, &first, false, 51);
    assert_sql_indexed(&client, "the slowest first", &sql).await;

    // The model filter asks of each trace in turn whether one of its spans
    // used the model: answered from the index alone, not by reading every
    // span of the trace (850 ms a page among 1,000,000 spans for a model 2%
    // of the traces use, in query-bench, before spans_model_trace_idx).
    for model in ["gpt-4o", "rare-model"] {
        let filter = TraceFilter { model: Some(model.into()), ..TraceFilter::default() };
        let sql = trace_segment_sql(&filter, TraceSort::StartTimeDesc, &first, false, 51);
        let params: Vec<&(dyn ToSql + Sync)> = sql.params.iter().map(|param| param.as_ref() as _).collect();
        let rows = client.query(&format!("EXPLAIN (FORMAT JSON) {}", sql.text), &params).await.unwrap();
        let document: Value = rows[0].get(0);
        let mut reads = Vec::new();
        reads_of(&document[0]["Plan"], "spans", &mut reads);
        assert_eq!(reads, ["Index Only Scan on spans_model_trace_idx"], "model {model}:\n{document:#}");
    }

    let page: Vec<String> = (10000..10050).map(|t| format!("trace-{t}")).collect();
    assert_indexed(&client, "per-row statistics", include_str!("../queries/trace_stats_of.sql"), &[&page]).await;
}
