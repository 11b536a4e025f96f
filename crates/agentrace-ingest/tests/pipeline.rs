//! The pipeline with two batches in flight, on PostgreSQL (the store that
//! writes two at once): each request is acknowledged only once its own batch
//! committed, a request of a trace being written waits for that write
//! without taking the other write's place, a request whose data the store
//! refuses fails alone, and shutting down waits for both writes and the
//! queue behind them.
//!
//! Another session of the test database holds trace rows locked, so a
//! write touching them stays inside its transaction, uncommitted, for as
//! long as a test needs.

use std::sync::Arc;
use std::time::Duration;

use agentrace_core::time::parse_rfc3339;
use agentrace_core::{SpanId, SpanPiece, SpanType, TraceId};
use agentrace_ingest::pipeline::Pipeline;
use agentrace_ingest::{Ingestor, PipelineConfig, SubmitError};
use agentrace_store::{StoreError, TraceStore, WriteBatch};
use agentrace_store_postgres::PostgresStore;
use agentrace_testkit::postgres::{fresh_database, TestDatabase};
use tokio::task::JoinHandle;

/// Fails a test that would otherwise hang on a lock that is never granted.
const PATIENCE: Duration = Duration::from_secs(30);

async fn postgres_pipeline() -> (TestDatabase, Arc<dyn TraceStore>, Pipeline) {
    let database = fresh_database().await.expect("a fresh PostgreSQL database");
    agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
    let store: Arc<dyn TraceStore> = Arc::new(PostgresStore::connect(database.url(), 4).await.expect("connect"));
    assert_eq!(store.max_concurrent_writes(), 2, "these tests need two writes in flight");
    let pipeline = Pipeline::start(Arc::clone(&store), PipelineConfig::default());
    (database, store, pipeline)
}

fn span(trace: &str, span: &str, name: &str) -> WriteBatch {
    let mut piece = SpanPiece::new(TraceId::parse(trace).unwrap(), SpanId::parse(span).unwrap());
    piece.span_type = Some(SpanType::ToolCall);
    piece.name = Some(name.into());
    piece.start_time = Some(parse_rfc3339("2026-03-01T10:00:00Z").unwrap());
    WriteBatch { spans: vec![piece], ..WriteBatch::default() }
}

fn submit(ingestor: &Ingestor, batch: WriteBatch) -> JoinHandle<Result<(), SubmitError>> {
    let ingestor = ingestor.clone();
    tokio::spawn(async move { ingestor.submit(batch).await })
}

async fn is_stored(store: &dyn TraceStore, trace: &str, span: &str) -> bool {
    store.span(&TraceId::parse(trace).unwrap(), &SpanId::parse(span).unwrap()).await.unwrap().is_some()
}

/// Locks the rows of `traces` in a transaction of another session, which
/// holds them until it is rolled back.
async fn hold_traces(database: &TestDatabase, traces: &[&str]) -> tokio_postgres::Client {
    let holder = database.connect().await.unwrap();
    holder.batch_execute("BEGIN").await.unwrap();
    let traces: Vec<String> = traces.iter().map(|trace| trace.to_string()).collect();
    let locked =
        holder.execute("SELECT 1 FROM agent.traces WHERE trace_id = ANY($1) FOR UPDATE", &[&traces]).await.unwrap();
    assert_eq!(locked, traces.len() as u64, "the held traces exist");
    holder
}

/// Submits a request to each of t-held-1 and t-held-2 (held by another
/// session) one after the other, so that each is a batch of its own, and
/// returns once both batches wait for their locks.
async fn two_writes_in_flight(
    database: &TestDatabase,
    ingestor: &Ingestor,
) -> [JoinHandle<Result<(), SubmitError>>; 2] {
    let first = submit(ingestor, span("t-held-1", "a", "search"));
    database.wait_for_lock_waiters(1).await.unwrap();
    let second = submit(ingestor, span("t-held-2", "a", "search"));
    database.wait_for_lock_waiters(2).await.unwrap();
    [first, second]
}

/// A constraint the adapters know nothing of: only the store can refuse a
/// span named "poison".
async fn refuse_spans_named_poison(database: &TestDatabase) {
    database
        .connect()
        .await
        .unwrap()
        .batch_execute("ALTER TABLE agent.spans ADD CONSTRAINT no_poison CHECK (name <> 'poison')")
        .await
        .unwrap();
}

async fn wait_until_stored(store: &dyn TraceStore, trace: &str, span: &str, expectation: &str) {
    tokio::time::timeout(PATIENCE, async {
        while !is_stored(store, trace, span).await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect(expectation);
}

async fn wait_until_queued(ingestor: &Ingestor, items: usize) {
    tokio::time::timeout(PATIENCE, async {
        while ingestor.queued_items() < items {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the requests reach the queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_batch_is_acknowledged_while_the_first_waits_for_its_commit() {
    let (database, store, pipeline) = postgres_pipeline().await;
    let ingestor = pipeline.ingestor();
    ingestor.submit(span("t-held", "root", "planner")).await.unwrap();

    let holder = hold_traces(&database, &["t-held"]).await;
    let waiting = submit(&ingestor, span("t-held", "child", "search"));
    database.wait_for_lock_waiters(1).await.unwrap();

    tokio::time::timeout(PATIENCE, ingestor.submit(span("t-free", "root", "planner")))
        .await
        .expect("the second batch is written beside the first")
        .unwrap();
    assert!(is_stored(&*store, "t-free", "root").await);
    assert!(!waiting.is_finished(), "no acknowledgement before the commit");
    assert!(!is_stored(&*store, "t-held", "child").await);

    holder.batch_execute("ROLLBACK").await.unwrap();
    tokio::time::timeout(PATIENCE, waiting).await.expect("acknowledged once committed").unwrap().unwrap();
    assert!(is_stored(&*store, "t-held", "child").await, "acknowledged means stored");
    pipeline.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_store_refuses_fails_alone_with_two_batches_in_flight() {
    let (database, store, pipeline) = postgres_pipeline().await;
    let ingestor = pipeline.ingestor();
    // The refused request joins a batch with good ones.
    refuse_spans_named_poison(&database).await;
    ingestor.submit(span("t-held-1", "root", "planner")).await.unwrap();
    ingestor.submit(span("t-held-2", "root", "planner")).await.unwrap();

    // Two writes wait on held traces, so the requests after them queue up
    // and are written together, as one batch, once those writes commit.
    let holder = hold_traces(&database, &["t-held-1", "t-held-2"]).await;
    let in_flight = two_writes_in_flight(&database, &ingestor).await;
    let good: Vec<_> =
        (0..8).map(|index| submit(&ingestor, span(&format!("t-good-{index}"), "root", "planner"))).collect();
    let poisoned = submit(&ingestor, span("t-poisoned", "root", "poison"));
    wait_until_queued(&ingestor, 2 + 8 + 1).await;
    holder.batch_execute("ROLLBACK").await.unwrap();

    for write in in_flight.into_iter().chain(good) {
        tokio::time::timeout(PATIENCE, write).await.unwrap().unwrap().expect("good requests are acknowledged");
    }
    let refused = tokio::time::timeout(PATIENCE, poisoned).await.unwrap().unwrap();
    assert!(
        matches!(&refused, Err(SubmitError::Store(StoreError::Rejected(message))) if message.contains("no_poison")),
        "the refused request gets the store's reason: {refused:?}"
    );
    for index in 0..8 {
        assert!(is_stored(&*store, &format!("t-good-{index}"), "root").await, "t-good-{index}");
    }
    assert!(!is_stored(&*store, "t-poisoned", "root").await);
    pipeline.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_both_writes_in_flight_and_the_queue_behind_them() {
    let (database, store, pipeline) = postgres_pipeline().await;
    let ingestor = pipeline.ingestor();
    ingestor.submit(span("t-held-1", "root", "planner")).await.unwrap();
    ingestor.submit(span("t-held-2", "root", "planner")).await.unwrap();

    let holder = hold_traces(&database, &["t-held-1", "t-held-2"]).await;
    let in_flight = two_writes_in_flight(&database, &ingestor).await;
    let queued = submit(&ingestor, span("t-queued", "root", "planner"));
    wait_until_queued(&ingestor, 3).await;

    let mut shutdown = tokio::spawn(pipeline.shutdown());
    let early = tokio::time::timeout(Duration::from_millis(300), &mut shutdown).await;
    assert!(early.is_err(), "shutdown waits while writes are in flight");
    holder.batch_execute("ROLLBACK").await.unwrap();
    tokio::time::timeout(PATIENCE, shutdown).await.expect("shutdown ends once everything is written").unwrap();

    // Answered before shutdown returned: a request the writer dropped would
    // read `ShuttingDown` here.
    for write in in_flight.into_iter().chain([queued]) {
        write.await.unwrap().expect("acknowledged");
    }
    for (trace, span) in [("t-held-1", "a"), ("t-held-2", "a"), ("t-queued", "root")] {
        assert!(is_stored(&*store, trace, span).await, "{trace}/{span} written before the pipeline stopped");
    }
    assert!(
        matches!(ingestor.submit(span("t-late", "root", "planner")).await, Err(SubmitError::ShuttingDown)),
        "a stopped pipeline takes no more work"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_of_a_trace_being_written_waits_for_that_write_and_others_pass_it() {
    let (database, store, pipeline) = postgres_pipeline().await;
    let ingestor = pipeline.ingestor();
    ingestor.submit(span("t-busy", "root", "planner")).await.unwrap();

    let holder = hold_traces(&database, &["t-busy"]).await;
    let first = submit(&ingestor, span("t-busy", "step", "first name"));
    database.wait_for_lock_waiters(1).await.unwrap();
    let second = submit(&ingestor, span("t-busy", "step", "second name"));
    wait_until_queued(&ingestor, 2).await;

    // The second request of t-busy waits in the pipeline, not in the
    // database: the other write slot stays free for other traces.
    tokio::time::timeout(PATIENCE, ingestor.submit(span("t-other", "root", "planner")))
        .await
        .expect("a request of another trace passes the held one")
        .unwrap();
    assert!(!first.is_finished() && !second.is_finished());

    holder.batch_execute("ROLLBACK").await.unwrap();
    for request in [first, second] {
        tokio::time::timeout(PATIENCE, request).await.unwrap().unwrap().expect("acknowledged");
    }
    let step = store.span(&TraceId::parse("t-busy").unwrap(), &SpanId::parse("step").unwrap()).await.unwrap();
    assert_eq!(
        step.unwrap().span.name.as_deref(),
        Some("second name"),
        "the requests of one trace were written in arrival order"
    );
    pipeline.shutdown().await;
}

/// Exporters cut batches by size, so consecutive requests sent side by side
/// often share a trace. Only the shared trace's part waits for the write in
/// flight; the request's other traces are written meanwhile, and the request
/// is acknowledged once both parts are committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sharing_a_trace_with_a_write_in_flight_writes_its_other_traces_meanwhile() {
    let (database, store, pipeline) = postgres_pipeline().await;
    let ingestor = pipeline.ingestor();
    ingestor.submit(span("t-busy", "root", "planner")).await.unwrap();

    let holder = hold_traces(&database, &["t-busy"]).await;
    let first = submit(&ingestor, span("t-busy", "step", "first name"));
    database.wait_for_lock_waiters(1).await.unwrap();
    let mut straddling = span("t-busy", "step", "second name");
    straddling.extend(span("t-next", "root", "planner"));
    let second = submit(&ingestor, straddling);

    wait_until_stored(&*store, "t-next", "root", "the request's other trace is written while its shared trace waits")
        .await;
    assert!(!second.is_finished(), "no acknowledgement before every part is committed");
    assert!(!first.is_finished());

    holder.batch_execute("ROLLBACK").await.unwrap();
    for request in [first, second] {
        tokio::time::timeout(PATIENCE, request).await.unwrap().unwrap().expect("acknowledged");
    }
    let step = store.span(&TraceId::parse("t-busy").unwrap(), &SpanId::parse("step").unwrap()).await.unwrap();
    assert_eq!(
        step.unwrap().span.name.as_deref(),
        Some("second name"),
        "the shared trace's parts were written in arrival order"
    );
    assert_eq!(ingestor.queued_items(), 0, "every part released its share of the queue");
    pipeline.shutdown().await;
}

/// A request whose held part the store refuses fails with the store's
/// reason, though its other part was written: the client sends it again,
/// and writing the same pieces twice changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_held_part_the_store_refuses_fails() {
    let (database, store, pipeline) = postgres_pipeline().await;
    let ingestor = pipeline.ingestor();
    refuse_spans_named_poison(&database).await;
    ingestor.submit(span("t-busy", "root", "planner")).await.unwrap();

    let holder = hold_traces(&database, &["t-busy"]).await;
    let first = submit(&ingestor, span("t-busy", "step", "search"));
    database.wait_for_lock_waiters(1).await.unwrap();
    let mut straddling = span("t-busy", "bad", "poison");
    straddling.extend(span("t-next", "root", "planner"));
    let second = submit(&ingestor, straddling);
    wait_until_stored(&*store, "t-next", "root", "the part that need not wait is written").await;
    assert!(!second.is_finished(), "no answer before every part is written");

    holder.batch_execute("ROLLBACK").await.unwrap();
    tokio::time::timeout(PATIENCE, first).await.unwrap().unwrap().expect("the first request is acknowledged");
    let refused = tokio::time::timeout(PATIENCE, second).await.unwrap().unwrap();
    assert!(
        matches!(&refused, Err(SubmitError::Store(StoreError::Rejected(message))) if message.contains("no_poison")),
        "the request gets the store's reason for its held part: {refused:?}"
    );
    assert!(!is_stored(&*store, "t-busy", "bad").await);
    pipeline.shutdown().await;
}

/// Background work (the statistics rollups) yields while requests arrive:
/// `idle_for` counts from the last submission, not from its commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_for_counts_from_the_last_submission() {
    let (_database, _store, pipeline) = postgres_pipeline().await;
    let ingestor = pipeline.ingestor();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before_any = ingestor.idle_for();
    assert!(before_any >= Duration::from_millis(300), "idle since the start: {before_any:?}");

    ingestor.submit(span("idle-1", "s1", "first")).await.unwrap();
    let after_one = ingestor.idle_for();
    assert!(after_one < before_any, "a submission resets it: {after_one:?} after {before_any:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(ingestor.idle_for() >= Duration::from_millis(200), "and it grows again");
    pipeline.shutdown().await;
}
