//! How PostgreSQL writes share the database: a write waits only for writes
//! of the traces it touches, a write PostgreSQL picks as a deadlock's victim
//! is tried again instead of failing its batch, so is a write whose trace
//! is deleted while it waits for its lock, and a write refused in its
//! last statements (sent with the COMMIT) leaves nothing behind. Another
//! session of the same database stands in for a concurrent writer, holding
//! trace rows locked for as long as the test needs.

use std::time::Duration;

use agentrace_core::time::parse_rfc3339;
use agentrace_core::{SpanId, SpanPiece, SpanType, Status, TraceId, TracePiece};
use agentrace_store::{StoreError, TraceStore, WriteBatch};
use agentrace_store_postgres::PostgresStore;
use agentrace_testkit::postgres::{fresh_database, TestDatabase};
use serde_json::json;

/// Fails a test that would otherwise hang on a lock that is never granted.
const PATIENCE: Duration = Duration::from_secs(30);

async fn migrated_store() -> (TestDatabase, PostgresStore) {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
    let store = PostgresStore::connect(database.url(), 4).await.expect("connect");
    (database, store)
}

fn started(trace: &str) -> SpanPiece {
    let mut piece = SpanPiece::new(TraceId::parse(trace).unwrap(), SpanId::parse("root").unwrap());
    piece.span_type = Some(SpanType::Agent);
    piece.name = Some("planner".into());
    piece.start_time = Some(parse_rfc3339("2026-03-01T10:00:00Z").unwrap());
    piece.input = Some(json!({"question": "flights to Lisbon?"}));
    piece
}

fn ended(trace: &str) -> SpanPiece {
    let mut piece = SpanPiece::new(TraceId::parse(trace).unwrap(), SpanId::parse("root").unwrap());
    piece.end_time = Some(parse_rfc3339("2026-03-01T10:00:02Z").unwrap());
    piece.status = Some(Status::Success);
    piece.output = Some(json!({"answer": "three found"}));
    piece
}

fn spans(pieces: Vec<SpanPiece>) -> WriteBatch {
    WriteBatch { spans: pieces, ..WriteBatch::default() }
}

async fn assert_merged(store: &PostgresStore, trace: &str) {
    let stored = store
        .span(&TraceId::parse(trace).unwrap(), &SpanId::parse("root").unwrap())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{trace}: root span stored"))
        .span;
    assert_eq!(stored.input, Some(json!({"question": "flights to Lisbon?"})), "{trace}: started piece kept");
    assert_eq!(stored.output, Some(json!({"answer": "three found"})), "{trace}: ended piece kept");
    assert_eq!(stored.status, Some(Status::Success), "{trace}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waits_only_for_the_traces_it_touches() {
    let (database, store) = migrated_store().await;
    let store = std::sync::Arc::new(store);
    store.write(spans(vec![started("t-held"), started("t-free")])).await.unwrap();

    let holder = database.connect().await.unwrap();
    holder.batch_execute("BEGIN; SELECT 1 FROM agent.traces WHERE trace_id = 't-held' FOR UPDATE").await.unwrap();
    let blocked = {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move { store.write(spans(vec![ended("t-held")])).await })
    };
    database.wait_for_lock_waiters(1).await.unwrap();

    tokio::time::timeout(PATIENCE, store.write(spans(vec![ended("t-free")])))
        .await
        .expect("a write of another trace does not wait for the held one")
        .unwrap();
    assert_merged(&store, "t-free").await;
    assert!(!blocked.is_finished(), "the write of the held trace waits for its lock");
    let unmerged = store.span(&TraceId::parse("t-held").unwrap(), &SpanId::parse("root").unwrap()).await.unwrap();
    assert_eq!(unmerged.unwrap().span.output, None, "nothing of the waiting write is visible");

    holder.batch_execute("ROLLBACK").await.unwrap();
    tokio::time::timeout(PATIENCE, blocked).await.expect("the lock is granted once released").unwrap().unwrap();
    assert_merged(&store, "t-held").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_victim_is_written_on_a_later_attempt() {
    let (database, store) = migrated_store().await;
    let store = std::sync::Arc::new(store);
    store.write(spans(vec![started("t-a"), started("t-b")])).await.unwrap();

    // The other session locks t-b, the write locks t-a and waits for t-b,
    // then the other session asks for t-a: a deadlock. The write's session
    // runs the deadlock check first (the server's one-second timeout; the
    // other session's is a minute), so the write is the victim.
    let holder = database.connect().await.unwrap();
    holder
        .batch_execute(
            "SET deadlock_timeout = '60s'; BEGIN; SELECT 1 FROM agent.traces WHERE trace_id = 't-b' FOR UPDATE",
        )
        .await
        .unwrap();
    let write = {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move { store.write(spans(vec![ended("t-b"), ended("t-a")])).await })
    };
    database.wait_for_lock_waiters(1).await.unwrap();
    tokio::time::timeout(
        PATIENCE,
        holder.batch_execute("SELECT 1 FROM agent.traces WHERE trace_id = 't-a' FOR UPDATE"),
    )
    .await
    .expect("the write, chosen as the victim, rolls back and frees t-a")
    .unwrap();
    holder.batch_execute("COMMIT").await.unwrap();

    tokio::time::timeout(PATIENCE, write).await.expect("the write is tried again").unwrap().unwrap();
    assert_merged(&store, "t-a").await;
    assert_merged(&store, "t-b").await;
    let deadlocks: i64 = holder
        .query_one("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(deadlocks >= 1, "PostgreSQL saw the deadlock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_refused_with_its_commit_leaves_nothing_behind() {
    let (database, store) = migrated_store().await;
    store.write(spans(vec![started("t-kept")])).await.unwrap();
    // Trace rows are written in the last group, beside the COMMIT, after
    // the spans: refusing one must take the batch's spans with it.
    database
        .connect()
        .await
        .unwrap()
        .batch_execute("ALTER TABLE agent.traces ADD CONSTRAINT no_poison CHECK (project <> 'poison')")
        .await
        .unwrap();
    let mut poisoned = TracePiece::new(TraceId::parse("t-kept").unwrap());
    poisoned.project = Some("poison".into());
    let refused = store
        .write(WriteBatch {
            traces: vec![poisoned],
            spans: vec![ended("t-kept"), started("t-new")],
            ..WriteBatch::default()
        })
        .await;
    assert!(matches!(&refused, Err(StoreError::Rejected(message)) if message.contains("no_poison")), "{refused:?}");
    let kept = store.span(&TraceId::parse("t-kept").unwrap(), &SpanId::parse("root").unwrap()).await.unwrap();
    assert_eq!(kept.unwrap().span.output, None, "the refused batch's span piece was rolled back");
    assert!(store.trace(&TraceId::parse("t-new").unwrap()).await.unwrap().is_none(), "nor its new trace kept");

    // The write connections are usable again, outside any transaction.
    for _ in 0..2 {
        store.write(spans(vec![ended("t-kept")])).await.unwrap();
    }
    assert_merged(&store, "t-kept").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_trace_is_deleted_while_it_waits_starts_over() {
    let (database, store) = migrated_store().await;
    let store = std::sync::Arc::new(store);
    store.write(spans(vec![started("t-deleted")])).await.unwrap();

    let holder = database.connect().await.unwrap();
    holder.batch_execute("BEGIN; SELECT 1 FROM agent.traces WHERE trace_id = 't-deleted' FOR UPDATE").await.unwrap();
    let write = {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move { store.write(spans(vec![ended("t-deleted")])).await })
    };
    // The write found the trace's row and waits to lock it; the row goes.
    database.wait_for_lock_waiters(1).await.unwrap();
    holder.batch_execute("DELETE FROM agent.traces WHERE trace_id = 't-deleted'; COMMIT").await.unwrap();

    tokio::time::timeout(PATIENCE, write).await.expect("the write ends").unwrap().expect("written on a later attempt");
    let trace = store.trace(&TraceId::parse("t-deleted").unwrap()).await.unwrap().expect("the trace is back");
    assert_eq!(trace.spans.len(), 1);
    assert_eq!(trace.spans[0].span.output, Some(json!({"answer": "three found"})));
    assert_eq!(trace.spans[0].span.input, None, "the deleted piece stays deleted");
}
