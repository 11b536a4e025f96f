//! `PostgresStore`: the production backend.
//!
//! Each batch is one transaction made of a fixed number of set-based
//! statements (arrays bound through `unnest`), whatever the batch size: the
//! cost of a commit is paid once for thousands of spans.
//!
//! Merging needs the stored state, so each write reads it first, and no two
//! writes may merge into the same stored state. A write locks the rows of
//! the traces it touches before reading anything: it inserts the missing
//! ones (`ON CONFLICT DO NOTHING`, which waits for a concurrent insert of
//! the same trace to commit), then locks them all `FOR NO KEY UPDATE` in
//! trace-id order. Every span and attachment belongs to one trace, so two
//! writes touching a trace serialise on its row, including writes from other
//! agentrace processes sharing the database, while writes of disjoint traces
//! proceed side by side. Locking in one order keeps writers from deadlocking
//! each other; a deadlock or serialization failure that still happens (a
//! foreign session holding rows in another order) is retried from the start,
//! and so is a write one of whose traces was deleted between its insert and
//! its lock.
//!
//! Writes have connections of their own, [`WRITE_CONNECTIONS`] of them, so
//! that one batch is written while the previous one commits; more would
//! mostly add contention on two cores. A connection keeps the buffers of the
//! largest message it ever sent (a batch of thousands of spans is megabytes),
//! so batches spread over the read pool would hold that memory once per
//! pooled connection. The write statements are prepared once per connection
//! and sent in pipelined groups: a batch costs three round trips (BEGIN,
//! the locks and the reads; the span writes; the trace rows and COMMIT)
//! whatever it holds, which is what lets small batches (one span per
//! request) commit often.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use agentrace_core::time::Timestamp;
use agentrace_core::{
    Attachment, AttachmentInfo, Feedback, SpanId, SpanPiece, SpanType, Status, StoredSpan, StoredTrace, TokenUsage,
    TraceId,
};
use agentrace_store::{
    json_text, FoldedBatch, SpanAggregates, StoreError, TraceDetail, TraceRow, TraceStats, TraceStore, WriteBatch,
};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde_json::{Map, Value};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Statement};

/// Connections reserved for writes, and so the writes run at once.
pub const WRITE_CONNECTIONS: usize = 2;

/// Items after which a batch is written. A batch's fixed cost (three round
/// trips, a dozen statements, the commit's flush) is a few milliseconds,
/// small beside 500 spans of about 1.5 KB. Larger batches made the two
/// connections take turns: the one gathering took every queued request
/// while the other was committing, and then the other found none. In the
/// ingest benchmark's batch phase (500-span requests from 8 clients),
/// batches of one request instead of up to three kept both connections
/// writing: acknowledgement p99 243–313 ms instead of 331–380, peak RSS
/// 55–61 MB instead of 92–97, at the same rate.
pub const PREFERRED_BATCH_ITEMS: usize = 500;

/// Session settings of the write connections.
///
/// Every write statement finds its rows through an index, and is prepared
/// once with its plan cached. A plan made while a table is young (a fresh
/// database whose statistics were never gathered) scans the whole table,
/// and stays cached as the table grows, until autovacuum analyses it: each
/// write meanwhile reads every trace row. Ruling sequential scans out keeps
/// the index plans whatever the statistics say, and with that the generic
/// plan is always as good as one made for the parameters at hand: planning
/// a statement anew for each batch cost more than running it (170 µs
/// against 100 µs for the trace update of a small batch).
pub const WRITER_SETTINGS: [(&str, &str); 2] = [("enable_seqscan", "off"), ("plan_cache_mode", "force_generic_plan")];

/// Attempts of a write that keeps losing to deadlocks or serialization
/// failures before its error is returned.
const WRITE_ATTEMPTS: u32 = 5;

pub struct PostgresStore {
    pool: Pool,
    /// For `write` only (see the module docs).
    writers: Pool,
}

impl PostgresStore {
    /// Connects to `url` with a pool of `max_connections`; does not migrate.
    pub async fn connect(url: &str, max_connections: usize) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|error| StoreError::Unavailable(format!("invalid database URL: {error}")))?;
        let pool_of = |config: tokio_postgres::Config, size: usize| {
            let manager =
                Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
            Pool::builder(manager).max_size(size).build().map_err(|error| StoreError::Internal(error.to_string()))
        };
        let mut writer_config = config.clone();
        // Appended, so that options given in the URL still apply.
        let mut writer_options = config.get_options().unwrap_or_default().to_owned();
        for (name, value) in WRITER_SETTINGS {
            writer_options.push_str(&format!(" -c {name}={value}"));
        }
        writer_config.options(writer_options.trim_start());
        let store = PostgresStore {
            pool: pool_of(config, max_connections)?,
            writers: pool_of(writer_config, WRITE_CONNECTIONS)?,
        };
        store.ping().await?;
        Ok(store)
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        checked_out(self.pool.get().await)
    }

    async fn writer_client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        checked_out(self.writers.get().await)
    }
}

/// A read statement, prepared once per pooled connection: each read is then
/// one round trip instead of two (parse and describe, then execute). Their
/// plans may turn generic after a few runs, which suits them: each looks up
/// one trace or span by key.
async fn read_statement(client: &deadpool_postgres::Object, sql: &str) -> Result<Statement, StoreError> {
    client.prepare_cached(sql).await.map_err(store_error)
}

fn checked_out(
    result: Result<deadpool_postgres::Object, deadpool_postgres::PoolError>,
) -> Result<deadpool_postgres::Object, StoreError> {
    result.map_err(|error| match error {
        deadpool_postgres::PoolError::Backend(error) => store_error(error),
        other => StoreError::Unavailable(other.to_string()),
    })
}

/// Turns a driver error into what it means for the caller.
pub(crate) fn store_error(error: tokio_postgres::Error) -> StoreError {
    let Some(code) = error.code() else {
        return StoreError::Unavailable(error.to_string());
    };
    let message = error.as_db_error().map_or_else(|| error.to_string(), |db| db.message().to_owned());
    let class = &code.code()[..2];
    if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || *code == SqlState::QUERY_CANCELED
    {
        StoreError::Busy(message)
    } else if class == "08" || class == "53" || class == "57" {
        StoreError::Unavailable(message)
    } else if class == "23" || class == "22" {
        StoreError::Rejected(message)
    } else {
        StoreError::Internal(format!("{message} (SQLSTATE {})", code.code()))
    }
}

pub(crate) fn span_from_row(row: &Row) -> Result<StoredSpan, StoreError> {
    let invalid = |error: agentrace_core::IdError| StoreError::Internal(format!("stored id is invalid: {error}"));
    let mut span = SpanPiece::new(
        TraceId::parse(row.get::<_, String>(0)).map_err(invalid)?,
        SpanId::parse(row.get::<_, String>(1)).map_err(invalid)?,
    );
    span.parent_span_id = row.get::<_, Option<String>>(2).and_then(|parent| SpanId::parse(parent).ok());
    span.span_type = row.get::<_, String>(3).parse::<SpanType>().ok();
    span.name = Some(row.get::<_, String>(4)).filter(|name| !name.is_empty());
    span.start_time = row.get(5);
    span.end_time = row.get(6);
    let duration_ms: Option<i64> = row.get(7);
    span.input = row.get(8);
    span.output = row.get(9);
    span.model = row.get(10);
    span.provider = row.get(11);
    span.tokens = row.get::<_, Option<Value>>(12).and_then(|tokens| serde_json::from_value::<TokenUsage>(tokens).ok());
    span.cost_usd = row.get(13);
    span.status = row.get::<_, String>(14).parse::<Status>().ok();
    span.error = row.get(15);
    span.metadata = object(row.get(16));
    span.events = match row.get::<_, Value>(17) {
        Value::Array(events) => events,
        _ => Vec::new(),
    };
    Ok(StoredSpan { span, duration_ms })
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub(crate) fn trace_from_row(row: &Row) -> Result<(StoredTrace, i32), StoreError> {
    let trace_id = TraceId::parse(row.get::<_, String>(0))
        .map_err(|error| StoreError::Internal(format!("stored trace id is invalid: {error}")))?;
    let trace = StoredTrace {
        trace_id,
        session_id: row.get(1),
        user_id: row.get(2),
        project: row.get(3),
        name: row.get(4),
        start_time: row.get(5),
        end_time: row.get(6),
        duration_ms: row.get(7),
        input: row.get(8),
        output: row.get(9),
        status: row.get::<_, String>(10).parse::<Status>().unwrap_or(Status::Running),
        error: row.get(11),
        metadata: object(row.get(12)),
        tags: row.get(13),
    };
    Ok((trace, row.get(14)))
}

fn optional_json_text(value: &Option<Value>) -> Option<String> {
    value.as_ref().map(json_text)
}

/// The spans of a batch as one array per column, for `unnest`.
#[derive(Default)]
struct SpanColumns {
    trace_id: Vec<String>,
    span_id: Vec<String>,
    parent_span_id: Vec<Option<String>>,
    span_type: Vec<&'static str>,
    name: Vec<String>,
    start_time: Vec<Option<Timestamp>>,
    end_time: Vec<Option<Timestamp>>,
    duration_ms: Vec<Option<i64>>,
    input: Vec<Option<String>>,
    output: Vec<Option<String>>,
    model: Vec<Option<String>>,
    provider: Vec<Option<String>>,
    tokens_used: Vec<Option<String>>,
    cost_usd: Vec<Option<f64>>,
    status: Vec<&'static str>,
    error: Vec<Option<String>>,
    metadata: Vec<String>,
    events: Vec<String>,
}

impl SpanColumns {
    fn push(&mut self, span: SpanPiece) {
        self.duration_ms.push(span.duration_ms());
        self.trace_id.push(span.trace_id.into_string());
        self.span_id.push(span.span_id.into_string());
        self.parent_span_id.push(span.parent_span_id.map(SpanId::into_string));
        self.span_type.push(span.span_type.unwrap_or(SpanType::Custom).as_str());
        self.name.push(span.name.unwrap_or_default());
        self.start_time.push(span.start_time);
        self.end_time.push(span.end_time);
        self.input.push(optional_json_text(&span.input));
        self.output.push(optional_json_text(&span.output));
        self.model.push(span.model);
        self.provider.push(span.provider);
        self.tokens_used.push(span.tokens.and_then(|tokens| serde_json::to_string(&tokens).ok()));
        self.cost_usd.push(span.cost_usd);
        self.status.push(span.status.unwrap_or(Status::Running).as_str());
        self.error.push(span.error);
        self.metadata.push(json_text(&Value::Object(span.metadata)));
        self.events.push(json_text(&Value::Array(span.events)));
    }
}

/// The trace rows of a batch as one array per column, for `unnest`.
#[derive(Default)]
struct TraceColumns {
    trace_id: Vec<String>,
    session_id: Vec<String>,
    user_id: Vec<Option<String>>,
    project: Vec<String>,
    name: Vec<Option<String>>,
    start_time: Vec<Option<Timestamp>>,
    end_time: Vec<Option<Timestamp>>,
    duration_ms: Vec<Option<i64>>,
    input: Vec<Option<String>>,
    output: Vec<Option<String>>,
    status: Vec<&'static str>,
    error: Vec<Option<String>>,
    metadata: Vec<String>,
    tags: Vec<String>,
    sent_fields: Vec<i32>,
}

impl TraceColumns {
    fn push(&mut self, row: TraceRow) {
        let TraceRow { trace, sent_fields } = row;
        self.trace_id.push(trace.trace_id.into_string());
        self.session_id.push(trace.session_id);
        self.user_id.push(trace.user_id);
        self.project.push(trace.project);
        self.name.push(trace.name);
        self.start_time.push(trace.start_time);
        self.end_time.push(trace.end_time);
        self.duration_ms.push(trace.duration_ms);
        self.input.push(optional_json_text(&trace.input));
        self.output.push(optional_json_text(&trace.output));
        self.status.push(trace.status.as_str());
        self.error.push(trace.error);
        self.metadata.push(json_text(&Value::Object(trace.metadata)));
        self.tags.push(serde_json::to_string(&trace.tags).unwrap_or_else(|_| "[]".into()));
        self.sent_fields.push(sent_fields);
    }

    fn of(rows: Vec<TraceRow>) -> Self {
        let mut columns = TraceColumns::default();
        for row in rows {
            columns.push(row);
        }
        columns
    }

    /// The columns as the parameters of `ensure_traces.sql` and
    /// `update_traces.sql`, in their order.
    fn params(&self) -> [&(dyn ToSql + Sync); 15] {
        [
            &self.trace_id,
            &self.session_id,
            &self.user_id,
            &self.project,
            &self.name,
            &self.start_time,
            &self.end_time,
            &self.duration_ms,
            &self.input,
            &self.output,
            &self.status,
            &self.error,
            &self.metadata,
            &self.tags,
            &self.sent_fields,
        ]
    }
}

/// The write path's statements, prepared once per connection (deadpool
/// caches them), so a batch never waits for a parse round trip.
struct WriteStatements {
    ensure_traces: Statement,
    lock_traces: Statement,
    select_spans: Statement,
    upsert_spans: Statement,
    span_extents: Statement,
    root_spans: Statement,
    update_traces: Statement,
    upsert_attachments: Statement,
    upsert_feedback: Statement,
}

impl WriteStatements {
    async fn prepare(client: &deadpool_postgres::Object) -> Result<Self, StoreError> {
        let (ensure_traces, lock_traces, select_spans, upsert_spans, span_extents, root_spans, update_traces) =
            tokio::try_join!(
                client.prepare_cached(include_str!("queries/ensure_traces.sql")),
                client.prepare_cached(include_str!("queries/lock_traces.sql")),
                client.prepare_cached(include_str!("queries/select_spans_by_key.sql")),
                client.prepare_cached(include_str!("queries/upsert_spans.sql")),
                client.prepare_cached(include_str!("queries/span_extents.sql")),
                client.prepare_cached(include_str!("queries/root_spans.sql")),
                client.prepare_cached(include_str!("queries/update_traces.sql")),
            )
            .map_err(store_error)?;
        let (upsert_attachments, upsert_feedback) = tokio::try_join!(
            client.prepare_cached(include_str!("queries/upsert_attachments.sql")),
            client.prepare_cached(include_str!("queries/upsert_feedback.sql")),
        )
        .map_err(store_error)?;
        Ok(WriteStatements {
            ensure_traces,
            lock_traces,
            select_spans,
            upsert_spans,
            span_extents,
            root_spans,
            update_traces,
            upsert_attachments,
            upsert_feedback,
        })
    }
}

/// A writer connection while its transaction is open. Finished with
/// COMMIT or ROLLBACK, it goes back to the pool; abandoned half-way (the
/// write's future dropped), it is closed instead, so no connection ever
/// returns to the pool inside a transaction that holds trace locks.
struct OpenTransaction {
    client: Option<deadpool_postgres::Object>,
}

impl OpenTransaction {
    fn client(&self) -> Result<&deadpool_postgres::Object, StoreError> {
        self.client.as_ref().ok_or_else(|| StoreError::Internal("the write transaction was already finished".into()))
    }

    async fn finish(mut self, written: Result<(), StoreError>) -> Result<(), StoreError> {
        let client = self.client()?;
        let ended = match &written {
            Ok(()) => client.batch_execute("COMMIT").await,
            Err(_) => client.batch_execute("ROLLBACK").await,
        };
        if ended.is_ok() {
            self.client = None;
        }
        written.and(ended.map_err(store_error))
    }
}

impl OpenTransaction {
    /// Ends a transaction whose last statement group carried the COMMIT
    /// (see [`write_locked`]).
    fn settle(mut self, last_group: LastGroup) -> Result<(), StoreError> {
        let LastGroup { written, ended } = last_group;
        match ended {
            // The server ran the COMMIT, or turned it into a ROLLBACK after
            // a failed statement: either way the transaction is over.
            Ok(()) => {
                self.client = None;
                written
            }
            // A failed COMMIT ends the transaction too; without an error
            // code the connection itself failed, and is closed on drop.
            Err(error) => {
                if error.code().is_some() {
                    self.client = None;
                }
                written.and(Err(store_error(error)))
            }
        }
    }
}

/// The answers to a write's last statement group: its statements, and the
/// COMMIT (or ROLLBACK) sent with them.
struct LastGroup {
    written: Result<(), StoreError>,
    ended: Result<(), tokio_postgres::Error>,
}

impl Drop for OpenTransaction {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// Whether a write lost a race it may win when tried again: PostgreSQL
/// chose it as a deadlock's victim, or found it could not be serialised.
fn lost_a_race(error: &tokio_postgres::Error) -> bool {
    error
        .code()
        .is_some_and(|code| *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE)
}

/// The stored rows a batch merges into, as read under its traces' locks.
struct StoredRows {
    traces: Vec<Row>,
    spans: Vec<Row>,
    /// The traces whose rows this write created, from its provisional rows.
    created: HashSet<String>,
}

// Each group below is pipelined: its statements are sent together and run
// in the order written (`biased` polls, and so sends, them in that order),
// and the next group starts once the whole group has answered. BEGIN goes
// with the first group: on a busy machine a round trip alone can cost more
// than a millisecond, as much as writing dozens of spans.

/// Opens the transaction, creates the touched traces' missing rows (as the
/// batch alone makes them: `provisional`), locks them all in trace-id order
/// and reads what the batch merges into. Nothing of the batch is written
/// yet, so losing a race here costs a retry only.
async fn lock_and_read(
    client: &deadpool_postgres::Object,
    statements: &WriteStatements,
    folded: &FoldedBatch,
    provisional: &TraceColumns,
) -> Result<StoredRows, tokio_postgres::Error> {
    let touched: Vec<&str> = folded.touched_traces.iter().map(TraceId::as_str).collect();
    let (wanted_traces, wanted_spans): (Vec<&str>, Vec<&str>) =
        folded.spans.keys().map(|(trace_id, span_id)| (trace_id.as_str(), span_id.as_str())).unzip();
    // The span read comes after the lock: each statement sees what was
    // committed when it started, and a concurrent write of these traces has
    // committed once the lock is granted.
    let (_, created, traces, spans) = tokio::try_join!(
        biased;
        client.batch_execute("BEGIN"),
        async { client.query(&statements.ensure_traces, &provisional.params()).await },
        async { client.query(&statements.lock_traces, &[&touched]).await },
        async { client.query(&statements.select_spans, &[&wanted_traces, &wanted_spans]).await },
    )?;
    let created = created.iter().map(|row| row.get(0)).collect();
    Ok(StoredRows { traces, spans, created })
}

/// Merges the batch into the stored rows and writes the result, inside the
/// transaction [`lock_and_read`] opened, and ends that transaction unless
/// it fails before its last statement group (then the caller rolls back).
async fn write_locked(
    client: &deadpool_postgres::Object,
    statements: &WriteStatements,
    mut folded: FoldedBatch,
    stored: StoredRows,
    provisional: &HashMap<String, TraceRow>,
) -> Result<LastGroup, StoreError> {
    let mut existing_spans = HashMap::with_capacity(stored.spans.len());
    for row in stored.spans {
        let stored = span_from_row(&row)?.span;
        existing_spans.insert((stored.trace_id.clone(), stored.span_id.clone()), stored);
    }
    let mut existing_traces = HashMap::with_capacity(stored.traces.len());
    let mut stored_rows = HashMap::with_capacity(stored.traces.len());
    for row in stored.traces {
        let (trace, sent_fields) = trace_from_row(&row)?;
        stored_rows.insert(trace.trace_id.to_string(), TraceRow { trace: trace.clone(), sent_fields });
        existing_traces.insert(trace.trace_id.clone(), TraceRow::explicit_piece(trace, sent_fields));
    }

    // Owned, so that the batch's spans can be taken out while these are bound.
    let touched: Vec<String> = folded.touched_traces.iter().map(|trace_id| trace_id.as_str().to_owned()).collect();
    let mut spans = SpanColumns::default();
    for span in folded.take_merged_spans(existing_spans) {
        spans.push(span);
    }
    let (_, extents, roots) = tokio::try_join!(
        biased;
        async {
            client.execute(
                &statements.upsert_spans,
                &[
                    &spans.trace_id,
                    &spans.span_id,
                    &spans.parent_span_id,
                    &spans.span_type,
                    &spans.name,
                    &spans.start_time,
                    &spans.end_time,
                    &spans.duration_ms,
                    &spans.input,
                    &spans.output,
                    &spans.model,
                    &spans.provider,
                    &spans.tokens_used,
                    &spans.cost_usd,
                    &spans.status,
                    &spans.error,
                    &spans.metadata,
                    &spans.events,
                ],
            )
            .await
        },
        async { client.query(&statements.span_extents, &[&touched]).await },
        async { client.query(&statements.root_spans, &[&touched]).await },
    )
    .map_err(store_error)?;
    drop(spans);

    let mut aggregates: HashMap<String, SpanAggregates> = HashMap::new();
    for row in extents {
        let entry = aggregates.entry(row.get(0)).or_default();
        entry.earliest_start = row.get(1);
        entry.latest_end = row.get(2);
    }
    for row in roots {
        let root = span_from_row(&row)?.span;
        let trace_id = root.trace_id.to_string();
        aggregates.entry(trace_id).or_default().root = Some(root);
    }
    let mut traces = TraceColumns::default();
    for explicit in folded.merged_traces(existing_traces) {
        let derived = aggregates.remove(explicit.trace_id.as_str()).unwrap_or_default();
        let row = TraceRow::derive(&explicit, &derived);
        // A row this write created as the batch made it is already final
        // when the stored spans are the batch's alone (the usual case), and
        // a stored row often stays as it was (a child span ending within
        // its trace). Both are left alone, and a batch that changes no
        // trace row sends no update at all.
        let trace_id = row.trace.trace_id.as_str();
        let created_final = stored.created.contains(trace_id) && provisional.get(trace_id) == Some(&row);
        if created_final || stored_rows.get(trace_id) == Some(&row) {
            continue;
        }
        traces.push(row);
    }
    // COMMIT goes with the last group, saving a round trip. Every statement
    // of the group is prepared, so polling it sends it at once, before
    // COMMIT; a statement the server refuses makes the server turn COMMIT
    // into ROLLBACK. One that fails before it is sent (its parameters did
    // not encode) would leave the others to commit alone, so the group then
    // ends with ROLLBACK instead.
    let unsent = AtomicBool::new(false);
    let noted = |result: Result<u64, tokio_postgres::Error>| {
        if result.is_err() {
            unsent.store(true, Ordering::Relaxed);
        }
        result
    };
    let (traces_written, attachments_written, feedback_written, ended) = tokio::join!(
        biased;
        async {
            if traces.trace_id.is_empty() {
                return Ok(0);
            }
            noted(client.execute(&statements.update_traces, &traces.params()).await)
        },
        async { noted(write_attachments(client, &statements.upsert_attachments, &folded.attachments).await) },
        async { noted(write_feedback(client, &statements.upsert_feedback, &folded.feedback).await) },
        async {
            let end = if unsent.load(Ordering::Relaxed) { "ROLLBACK" } else { "COMMIT" };
            client.batch_execute(end).await
        },
    );
    let written = traces_written.and(attachments_written).and(feedback_written).map(drop).map_err(store_error);
    Ok(LastGroup { written, ended })
}

async fn write_attachments(
    client: &tokio_postgres::Client,
    upsert: &Statement,
    attachments: &[Attachment],
) -> Result<u64, tokio_postgres::Error> {
    if attachments.is_empty() {
        return Ok(0);
    }
    let trace_ids: Vec<&str> = attachments.iter().map(|attachment| attachment.trace_id.as_str()).collect();
    let span_ids: Vec<&str> = attachments.iter().map(|attachment| attachment.span_id.as_str()).collect();
    let names: Vec<&str> = attachments.iter().map(|attachment| attachment.name.as_str()).collect();
    let content_types: Vec<&str> = attachments.iter().map(|attachment| attachment.content_type.as_str()).collect();
    let contents: Vec<&[u8]> = attachments.iter().map(|attachment| attachment.content.as_slice()).collect();
    client.execute(upsert, &[&trace_ids, &span_ids, &names, &content_types, &contents]).await
}

async fn write_feedback(
    client: &tokio_postgres::Client,
    upsert: &Statement,
    feedback: &[Feedback],
) -> Result<u64, tokio_postgres::Error> {
    if feedback.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = feedback.iter().map(|item| item.feedback_id.as_str()).collect();
    let trace_ids: Vec<Option<&str>> =
        feedback.iter().map(|item| item.trace_id.as_ref().map(TraceId::as_str)).collect();
    let span_ids: Vec<Option<&str>> = feedback.iter().map(|item| item.span_id.as_ref().map(SpanId::as_str)).collect();
    let keys: Vec<&str> = feedback.iter().map(|item| item.key.as_str()).collect();
    let scores: Vec<Option<f64>> = feedback.iter().map(|item| item.score).collect();
    let values: Vec<Option<String>> = feedback.iter().map(|item| optional_json_text(&item.value)).collect();
    let comments: Vec<Option<&str>> = feedback.iter().map(|item| item.comment.as_deref()).collect();
    let corrections: Vec<Option<String>> = feedback.iter().map(|item| optional_json_text(&item.correction)).collect();
    let sources: Vec<Option<String>> = feedback.iter().map(|item| optional_json_text(&item.source)).collect();
    let metadata: Vec<String> = feedback.iter().map(|item| json_text(&Value::Object(item.metadata.clone()))).collect();
    let created: Vec<Option<Timestamp>> = feedback.iter().map(|item| item.created_at).collect();
    client
        .execute(
            upsert,
            &[
                &ids,
                &trace_ids,
                &span_ids,
                &keys,
                &scores,
                &values,
                &comments,
                &corrections,
                &sources,
                &metadata,
                &created,
            ],
        )
        .await
}

fn feedback_from_row(row: &Row) -> Feedback {
    Feedback {
        feedback_id: row.get(0),
        trace_id: row.get::<_, Option<String>>(1).and_then(|id| TraceId::parse(id).ok()),
        span_id: row.get::<_, Option<String>>(2).and_then(|id| SpanId::parse(id).ok()),
        key: row.get(3),
        score: row.get(4),
        value: row.get(5),
        comment: row.get(6),
        correction: row.get(7),
        source: row.get(8),
        metadata: object(row.get(9)),
        created_at: row.get(10),
    }
}

#[async_trait]
impl TraceStore for PostgresStore {
    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    async fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let folded = FoldedBatch::fold(batch);
        let provisional_rows = folded.provisional_rows();
        let provisional = TraceColumns::of(provisional_rows.clone());
        let provisional_rows: HashMap<String, TraceRow> =
            provisional_rows.into_iter().map(|row| (row.trace.trace_id.to_string(), row)).collect();
        let mut attempt = 1;
        loop {
            let transaction = OpenTransaction { client: Some(self.writer_client().await?) };
            let client = transaction.client()?;
            let statements = WriteStatements::prepare(client).await?;
            let lost = match lock_and_read(client, &statements, &folded, &provisional).await {
                Ok(stored) if stored.traces.len() == folded.touched_traces.len() => {
                    return match write_locked(client, &statements, folded, stored, &provisional_rows).await {
                        Ok(last_group) => transaction.settle(last_group),
                        Err(error) => transaction.finish(Err(error)).await,
                    };
                }
                // A trace row that was there when the write ensured it was
                // deleted before the write could lock it.
                Ok(_) => StoreError::Busy("a trace was deleted while the batch was being written".into()),
                Err(error) if lost_a_race(&error) => store_error(error),
                Err(error) => return transaction.finish(Err(store_error(error))).await,
            };
            if attempt >= WRITE_ATTEMPTS {
                return transaction.finish(Err(lost)).await;
            }
            tracing::debug!(error = %lost, attempt, "write lost a race for its traces; trying again");
            // Rolling back releases this write's locks for the winner.
            let _ = transaction.finish(Err(lost)).await;
            tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(attempt))).await;
            attempt += 1;
        }
    }

    fn max_concurrent_writes(&self) -> usize {
        WRITE_CONNECTIONS
    }

    fn preferred_batch_items(&self) -> usize {
        PREFERRED_BATCH_ITEMS
    }

    async fn trace(&self, trace_id: &TraceId) -> Result<Option<TraceDetail>, StoreError> {
        let client = self.client().await?;
        let ids = [trace_id.as_str()];
        let Some(row) = client
            .query_opt(&read_statement(&client, include_str!("queries/select_traces.sql")).await?, &[&ids.as_slice()])
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let (trace, _) = trace_from_row(&row)?;
        let spans = client
            .query(&read_statement(&client, include_str!("queries/trace_spans.sql")).await?, &[&trace_id.as_str()])
            .await
            .map_err(store_error)?
            .iter()
            .map(span_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(TraceDetail { trace, spans }))
    }

    async fn span(&self, trace_id: &TraceId, span_id: &SpanId) -> Result<Option<StoredSpan>, StoreError> {
        let client = self.client().await?;
        let (traces, spans) = ([trace_id.as_str()], [span_id.as_str()]);
        let row = client
            .query_opt(
                &read_statement(&client, include_str!("queries/select_spans_by_key.sql")).await?,
                &[&traces.as_slice(), &spans.as_slice()],
            )
            .await
            .map_err(store_error)?;
        row.as_ref().map(span_from_row).transpose()
    }

    async fn trace_stats(&self, trace_id: &TraceId) -> Result<Option<TraceStats>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&read_statement(&client, include_str!("queries/trace_stats.sql")).await?, &[&trace_id.as_str()])
            .await
            .map_err(store_error)?;
        Ok(row.map(|row| TraceStats {
            total_spans: row.get(0),
            model_calls: row.get(1),
            tool_calls: row.get(2),
            mcp_calls: row.get(3),
            error_spans: row.get(4),
            prompt_tokens: row.get(5),
            completion_tokens: row.get(6),
            total_tokens: row.get(7),
            cost_usd: row.get(8),
        }))
    }

    async fn span_trace_id(&self, span_id: &SpanId) -> Result<Option<TraceId>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&read_statement(&client, include_str!("queries/span_trace_id.sql")).await?, &[&span_id.as_str()])
            .await
            .map_err(store_error)?;
        row.map(|row| {
            TraceId::parse(row.get::<_, String>(0))
                .map_err(|error| StoreError::Internal(format!("stored trace id is invalid: {error}")))
        })
        .transpose()
    }

    async fn attachments(&self, trace_id: &TraceId) -> Result<Vec<AttachmentInfo>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &read_statement(&client, include_str!("queries/select_attachments.sql")).await?,
                &[&trace_id.as_str()],
            )
            .await
            .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let span_id = SpanId::parse(row.get::<_, String>(1))
                    .map_err(|error| StoreError::Internal(format!("stored span id is invalid: {error}")))?;
                Ok(AttachmentInfo {
                    trace_id: trace_id.clone(),
                    span_id,
                    name: row.get(2),
                    content_type: row.get(3),
                    size_bytes: row.get(4),
                })
            })
            .collect()
    }

    async fn attachment(
        &self,
        trace_id: &TraceId,
        span_id: &SpanId,
        name: &str,
    ) -> Result<Option<Attachment>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &read_statement(&client, include_str!("queries/select_attachment.sql")).await?,
                &[&trace_id.as_str(), &span_id.as_str(), &name],
            )
            .await
            .map_err(store_error)?;
        Ok(row.map(|row| Attachment {
            trace_id: trace_id.clone(),
            span_id: span_id.clone(),
            name: row.get(2),
            content_type: row.get(3),
            content: row.get(4),
        }))
    }

    async fn feedback(&self, trace_id: &TraceId) -> Result<Vec<Feedback>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(&read_statement(&client, include_str!("queries/select_feedback.sql")).await?, &[&trace_id.as_str()])
            .await
            .map_err(store_error)?;
        Ok(rows.iter().map(feedback_from_row).collect())
    }

    async fn count_spans(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client.query_one("SELECT count(*) FROM agent.spans", &[]).await.map_err(store_error)?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.execute("SELECT 1", &[]).await.map_err(store_error).map(drop)
    }
}
