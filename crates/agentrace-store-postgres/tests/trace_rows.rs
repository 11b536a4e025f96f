//! What a write does to the row of its trace (the shared scenario:
//! `agentrace_store::conformance::unchanged_trace_rows_are_left_alone`),
//! seen through `xmin`, the transaction that wrote the row's current
//! version.

use std::sync::Arc;

use agentrace_store_postgres::PostgresStore;
use agentrace_testkit::postgres::fresh_database;

#[tokio::test]
async fn a_span_that_changes_nothing_in_its_trace_leaves_the_trace_row_alone() {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
    let store = PostgresStore::connect(database.url(), 2).await.expect("connect");
    let client = database.connect().await.unwrap();
    let row_version = || async {
        client
            .query_one("SELECT xmin::text FROM agent.traces WHERE trace_id = 't-rows'", &[])
            .await
            .unwrap()
            .get::<_, String>(0)
    };
    agentrace_store::conformance::unchanged_trace_rows_are_left_alone(Arc::new(store), row_version).await;
}

/// A trace that arrives whole in one write gets its row written once, as
/// the batch makes it, not created empty and rewritten once its spans are
/// in: a rewrite costs a new version in every index of agent.traces, the
/// free-text trigrams included. Counted by a row trigger on UPDATE.
#[tokio::test]
async fn a_trace_that_arrives_whole_is_written_once() {
    use agentrace_core::time::parse_rfc3339;
    use agentrace_core::{SpanId, SpanPiece, SpanType, Status, TraceId, TracePiece};
    use agentrace_store::{TraceStore, WriteBatch};

    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
    let store = PostgresStore::connect(database.url(), 2).await.expect("connect");
    let client = database.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE trace_updates (trace_id TEXT);
             CREATE FUNCTION note_trace_update() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN INSERT INTO trace_updates VALUES (NEW.trace_id); RETURN NULL; END $$;
             CREATE TRIGGER note_update AFTER UPDATE ON agent.traces
                 FOR EACH ROW EXECUTE FUNCTION note_trace_update();",
        )
        .await
        .unwrap();
    let updates = || async {
        let rows = client.query("SELECT trace_id FROM trace_updates ORDER BY trace_id", &[]).await.unwrap();
        rows.iter().map(|row| row.get(0)).collect::<Vec<String>>()
    };
    let at = |second: u32| parse_rfc3339(&format!("2026-03-01T10:00:{second:02}Z")).unwrap();
    let span = |trace: &str, id: &str, parent: Option<&str>, start: u32, end: u32| {
        let mut piece = SpanPiece::new(TraceId::parse(trace).unwrap(), SpanId::parse(id).unwrap());
        piece.parent_span_id = parent.map(|parent| SpanId::parse(parent).unwrap());
        piece.span_type = Some(if parent.is_none() { SpanType::Agent } else { SpanType::ModelCall });
        piece.name = Some(format!("op-{id}"));
        piece.start_time = Some(at(start));
        piece.end_time = Some(at(end));
        piece.status = Some(Status::Success);
        piece.input = Some(serde_json::json!({"question": format!("asked of {id}")}));
        piece.output = Some(serde_json::json!({"answer": format!("answered by {id}")}));
        piece
    };
    let mut named = TracePiece::new(TraceId::parse("t-named").unwrap());
    named.session_id = Some("conversation".into());
    named.name = Some("checkout".into());
    let batch = WriteBatch {
        traces: vec![named],
        spans: vec![
            span("t-whole", "child", Some("root"), 2, 3),
            span("t-whole", "root", None, 1, 5),
            span("t-whole", "late-root", None, 4, 6),
            span("t-named", "root", None, 1, 2),
        ],
        ..WriteBatch::default()
    };
    store.write(batch).await.unwrap();
    assert_eq!(updates().await, Vec::<String>::new(), "whole traces are written once");
    let whole = store.trace(&TraceId::parse("t-whole").unwrap()).await.unwrap().unwrap().trace;
    assert_eq!((whole.name.as_deref(), whole.start_time, whole.end_time), (Some("op-root"), Some(at(1)), Some(at(6))));
    assert_eq!(whole.input, Some(serde_json::json!({"question": "asked of root"})));
    let named = store.trace(&TraceId::parse("t-named").unwrap()).await.unwrap().unwrap().trace;
    assert_eq!((named.session_id.as_str(), named.name.as_deref()), ("conversation", Some("checkout")));

    // A later span that moves the trace's end rewrites the stored row.
    store
        .write(WriteBatch { spans: vec![span("t-whole", "tool", Some("root"), 5, 9)], ..WriteBatch::default() })
        .await
        .unwrap();
    assert_eq!(updates().await, ["t-whole"]);
    let whole = store.trace(&TraceId::parse("t-whole").unwrap()).await.unwrap().unwrap().trace;
    assert_eq!(whole.end_time, Some(at(9)));
}
