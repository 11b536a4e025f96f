//! What a write does to the row of its trace: a piece that changes nothing
//! in the trace (a child span ending within its root, the same piece twice)
//! leaves the row as it was, since a new version of it costs an entry in
//! every index of `agent.traces`, the free-text trigrams included.

use agentrace_core::time::parse_rfc3339;
use agentrace_core::{SpanId, SpanPiece, SpanType, Status, TraceId};
use agentrace_store::{TraceStore, WriteBatch};
use agentrace_store_postgres::PostgresStore;
use agentrace_testkit::postgres::fresh_database;
use serde_json::json;

fn span(id: &str, parent: Option<&str>, start: &str, end: &str) -> SpanPiece {
    let mut piece = SpanPiece::new(TraceId::parse("t-rows").unwrap(), SpanId::parse(id).unwrap());
    piece.parent_span_id = parent.map(|parent| SpanId::parse(parent).unwrap());
    piece.span_type = Some(if parent.is_none() { SpanType::Agent } else { SpanType::ToolCall });
    piece.name = Some(id.into());
    piece.start_time = Some(parse_rfc3339(start).unwrap());
    piece.end_time = Some(parse_rfc3339(end).unwrap());
    piece.status = Some(Status::Success);
    piece.input = Some(json!({"question": format!("asked of {id}")}));
    piece.output = Some(json!({"answer": format!("answered by {id}")}));
    piece
}

fn batch(pieces: Vec<SpanPiece>) -> WriteBatch {
    WriteBatch { spans: pieces, ..WriteBatch::default() }
}

#[tokio::test]
async fn a_span_that_changes_nothing_in_its_trace_leaves_the_trace_row_alone() {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
    let store = PostgresStore::connect(database.url(), 2).await.expect("connect");
    let client = database.connect().await.unwrap();
    // xmin names the transaction that wrote the row's current version.
    let row_version = || async {
        client
            .query_one("SELECT xmin::text FROM agent.traces WHERE trace_id = 't-rows'", &[])
            .await
            .unwrap()
            .get::<_, String>(0)
    };

    let root = span("root", None, "2026-03-01T10:00:00Z", "2026-03-01T10:00:09Z");
    store.write(batch(vec![root.clone()])).await.unwrap();
    let after_root = row_version().await;

    store.write(batch(vec![span("tool", Some("root"), "2026-03-01T10:00:02Z", "2026-03-01T10:00:03Z")])).await.unwrap();
    store.write(batch(vec![root])).await.unwrap();
    assert_eq!(row_version().await, after_root, "a child within its root and a repeated root change nothing");

    // A child ending after its root stretches the trace: that is a change.
    store.write(batch(vec![span("late", Some("root"), "2026-03-01T10:00:05Z", "2026-03-01T10:00:12Z")])).await.unwrap();
    assert_ne!(row_version().await, after_root, "a child ending after its root moves the trace's end");
    let trace = store.trace(&TraceId::parse("t-rows").unwrap()).await.unwrap().unwrap().trace;
    assert_eq!(trace.end_time, Some(parse_rfc3339("2026-03-01T10:00:12Z").unwrap()));
    assert_eq!(trace.input, Some(json!({"question": "asked of root"})));
}
