//! `SqliteStore`: one writer connection, a pool of reader connections, WAL.
//!
//! SQLite allows one writer at a time; funnelling every write through a
//! single connection (the ingest pipeline already batches) means no write
//! ever waits on another's lock, so callers never see "database is locked".
//! Readers use their own connections and run beside the writer under WAL.
//!
//! The writer connection lives on a thread of its own rather than on
//! Tokio's blocking pool. Each thread that allocates gets its own malloc
//! arena, and a batch's transient memory (merged pieces, bound text, SQLite's
//! own buffers) is tens of megabytes: spread over whichever pool thread ran
//! each batch, it was kept once per arena, and a 100,000-span burst took the
//! server to 450 MB where one writer thread stays near 250 MB.
//!
//! Free-text search has a database file and a thread of its own
//! ([`crate::search`]): its index is written beside ingest, not inside it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use agentrace_core::time::{parse_fixed_text, to_fixed_text, Timestamp};
use agentrace_core::{
    Attachment, AttachmentInfo, Feedback, SpanId, SpanPiece, SpanType, Status, StoredSpan, StoredTrace, TokenUsage,
    TraceId,
};
use agentrace_store::{
    json_text, FoldedBatch, SpanAggregates, StoreError, TraceDetail, TraceRow, TraceStats, TraceStore, WriteBatch,
};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{Map, Value};

use crate::connection;
use crate::search::{self, Indexer};

/// Readers kept open between reads; more are opened under load and closed after.
const IDLE_READERS: usize = 4;

/// Work for the writer thread; it replies through a channel of its own.
type WriterJob = Box<dyn FnOnce(&mut Connection) + Send>;

pub struct SqliteStore {
    path: PathBuf,
    /// The writer thread's queue; the thread ends when the store is dropped.
    writer: std::sync::mpsc::Sender<WriterJob>,
    idle_readers: Arc<Mutex<Vec<Connection>>>,
    indexer: Indexer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies the
    /// embedded migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|error| StoreError::Unavailable(format!("cannot create {}: {error}", parent.display())))?;
        }
        let mut writer = connection::open(path).map_err(store_error)?;
        crate::migrations::apply(&mut writer).map_err(|error| StoreError::Internal(error.to_string()))?;
        let indexer = Indexer::start(path).map_err(|error| match error {
            search::IndexerError::Database(error) => store_error(error),
            thread => StoreError::Internal(thread.to_string()),
        })?;
        let (jobs, queue) = std::sync::mpsc::channel::<WriterJob>();
        std::thread::Builder::new()
            .name("agentrace-sqlite-writer".into())
            .spawn(move || {
                for job in queue {
                    job(&mut writer);
                }
            })
            .map_err(|error| StoreError::Internal(format!("cannot start the writer thread: {error}")))?;
        Ok(SqliteStore { path: path.to_owned(), writer: jobs, idle_readers: Arc::new(Mutex::new(Vec::new())), indexer })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Traces whose text the search index has not caught up with yet
    /// (searches read their text directly meanwhile).
    pub async fn search_backlog(&self) -> Result<u64, StoreError> {
        self.with_reader(|connection| search::backlog(connection).map_err(store_error)).await
    }

    pub(crate) async fn with_writer<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let stopped = || StoreError::Internal("the SQLite writer thread has stopped".into());
        let (reply, replied) = tokio::sync::oneshot::channel();
        self.writer
            .send(Box::new(move |connection| {
                let _ = reply.send(work(connection));
            }))
            .map_err(|_| stopped())?;
        replied.await.map_err(|_| stopped())?
    }

    pub(crate) async fn with_reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let idle = Arc::clone(&self.idle_readers);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let reused = idle.lock().ok().and_then(|mut readers| readers.pop());
            let reader = match reused {
                Some(reader) => reader,
                None => {
                    let reader = connection::open(&path).map_err(store_error)?;
                    search::attach(&reader, &path).map_err(store_error)?;
                    reader
                }
            };
            let result = work(&reader);
            if let Ok(mut readers) = idle.lock() {
                if readers.len() < IDLE_READERS {
                    readers.push(reader);
                }
            }
            result
        })
        .await
        .map_err(|error| StoreError::Internal(format!("reader task failed: {error}")))?
    }
}

pub(crate) fn store_error(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy(error.to_string()),
        Some(ErrorCode::CannotOpen | ErrorCode::NotADatabase | ErrorCode::ReadOnly | ErrorCode::DiskFull) => {
            StoreError::Unavailable(error.to_string())
        }
        Some(ErrorCode::ConstraintViolation) => StoreError::Rejected(error.to_string()),
        _ => StoreError::Internal(error.to_string()),
    }
}

fn parse_json(text: Option<String>) -> Option<Value> {
    text.and_then(|text| serde_json::from_str(&text).ok())
}

pub(crate) fn parse_time(text: Option<String>) -> Option<Timestamp> {
    text.as_deref().and_then(parse_fixed_text)
}

pub(crate) const SPAN_COLUMNS: &str =
    "trace_id, span_id, parent_span_id, span_type, name, start_time, end_time, duration_ms, \
     input, output, model, provider, tokens_used, cost_usd, status, error, metadata, events";

pub(crate) const TRACE_COLUMNS: &str =
    "trace_id, session_id, user_id, project, name, start_time, end_time, duration_ms, \
     input, output, status, error, metadata, tags, sent_fields";

pub(crate) fn span_from_row(row: &Row<'_>) -> rusqlite::Result<StoredSpan> {
    let trace_id: String = row.get(0)?;
    let span_id: String = row.get(1)?;
    let conversion =
        |message: String| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, message.into());
    let mut span = SpanPiece::new(
        TraceId::parse(trace_id).map_err(|error| conversion(error.to_string()))?,
        SpanId::parse(span_id).map_err(|error| conversion(error.to_string()))?,
    );
    span.parent_span_id = row.get::<_, Option<String>>(2)?.and_then(|parent| SpanId::parse(parent).ok());
    span.span_type = row.get::<_, String>(3)?.parse::<SpanType>().ok();
    span.name = row.get::<_, String>(4).ok().filter(|name| !name.is_empty());
    span.start_time = parse_time(row.get(5)?);
    span.end_time = parse_time(row.get(6)?);
    let duration_ms: Option<i64> = row.get(7)?;
    span.input = parse_json(row.get(8)?);
    span.output = parse_json(row.get(9)?);
    span.model = row.get(10)?;
    span.provider = row.get(11)?;
    span.tokens = parse_json(row.get(12)?).and_then(|tokens| serde_json::from_value::<TokenUsage>(tokens).ok());
    span.cost_usd = row.get(13)?;
    span.status = row.get::<_, String>(14)?.parse::<Status>().ok();
    span.error = row.get(15)?;
    span.metadata = parse_json(row.get(16)?).and_then(object).unwrap_or_default();
    span.events = parse_json(row.get(17)?).and_then(array).unwrap_or_default();
    Ok(StoredSpan { span, duration_ms })
}

fn object(value: Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn array(value: Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

pub(crate) fn trace_from_row(row: &Row<'_>) -> rusqlite::Result<(StoredTrace, i32)> {
    let trace_id: String = row.get(0)?;
    let trace_id = TraceId::parse(trace_id).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, error.to_string().into())
    })?;
    let tags = parse_json(row.get(13)?)
        .and_then(array)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|tag| tag.as_str().map(str::to_owned))
        .collect();
    let trace = StoredTrace {
        trace_id,
        session_id: row.get(1)?,
        user_id: row.get(2)?,
        project: row.get(3)?,
        name: row.get(4)?,
        start_time: parse_time(row.get(5)?),
        end_time: parse_time(row.get(6)?),
        duration_ms: row.get(7)?,
        input: parse_json(row.get(8)?),
        output: parse_json(row.get(9)?),
        status: row.get::<_, String>(10)?.parse::<Status>().unwrap_or(Status::Running),
        error: row.get(11)?,
        metadata: parse_json(row.get(12)?).and_then(object).unwrap_or_default(),
        tags,
    };
    Ok((trace, row.get(14)?))
}

/// A trace row as the parameters of the trace INSERT and UPDATE: the
/// columns in table order from `trace_id` to `sent_fields`, then `now`.
fn trace_row_params(row: &TraceRow, now: &str) -> Vec<Box<dyn rusqlite::ToSql>> {
    let trace = &row.trace;
    vec![
        Box::new(trace.trace_id.as_str().to_owned()),
        Box::new(trace.session_id.clone()),
        Box::new(trace.user_id.clone()),
        Box::new(trace.project.clone()),
        Box::new(trace.name.clone()),
        Box::new(trace.start_time.map(to_fixed_text)),
        Box::new(trace.end_time.map(to_fixed_text)),
        Box::new(trace.duration_ms),
        Box::new(trace.input.as_ref().map(json_text)),
        Box::new(trace.output.as_ref().map(json_text)),
        Box::new(trace.status.as_str()),
        Box::new(trace.error.clone()),
        Box::new(json_text(&Value::Object(trace.metadata.clone()))),
        Box::new(serde_json::to_string(&trace.tags).unwrap_or_else(|_| "[]".into())),
        Box::new(row.sent_fields),
        Box::new(now.to_owned()),
    ]
}

fn write_batch(connection: &mut Connection, mut folded: FoldedBatch) -> Result<(), StoreError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(store_error)?;
    let now = to_fixed_text(agentrace_core::time::to_micros_precision(chrono::Utc::now()));

    let mut existing_spans = HashMap::new();
    {
        let mut select = transaction
            .prepare_cached(&format!("SELECT {SPAN_COLUMNS} FROM agent.spans WHERE trace_id = ?1 AND span_id = ?2"))
            .map_err(store_error)?;
        for (trace_id, span_id) in folded.spans.keys() {
            let stored = select
                .query_row(params![trace_id.as_str(), span_id.as_str()], span_from_row)
                .optional()
                .map_err(store_error)?;
            if let Some(stored) = stored {
                existing_spans.insert((trace_id.clone(), span_id.clone()), stored.span);
            }
        }
    }
    let mut existing_traces = HashMap::new();
    // A trace not stored yet gets the row the batch alone makes (its final
    // row when the batch brings it whole, as most do), not an empty row
    // rewritten once its spans are in.
    let provisional = folded.provisional_rows();
    let mut created = HashMap::new();
    {
        let mut select = transaction
            .prepare_cached(&format!("SELECT {TRACE_COLUMNS} FROM agent.traces WHERE trace_id = ?1"))
            .map_err(store_error)?;
        let mut insert = transaction
            .prepare_cached(
                "INSERT INTO agent.traces (trace_id, session_id, user_id, project, name, start_time, end_time, \
                 duration_ms, input, output, status, error, metadata, tags, sent_fields, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)",
            )
            .map_err(store_error)?;
        // One provisional row per touched trace, in the same order.
        for (trace_id, row) in folded.touched_traces.iter().zip(provisional) {
            let stored = select.query_row([trace_id.as_str()], trace_from_row).optional().map_err(store_error)?;
            match stored {
                Some((trace, sent_fields)) => {
                    existing_traces.insert(trace_id.clone(), TraceRow::explicit_piece(trace, sent_fields));
                }
                None => {
                    insert.execute(rusqlite::params_from_iter(trace_row_params(&row, &now))).map_err(store_error)?;
                    created.insert(trace_id.clone(), row);
                }
            }
        }
    }

    {
        let mut upsert = transaction
            .prepare_cached(&format!(
                "INSERT INTO agent.spans ({SPAN_COLUMNS}, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?19) \
                 ON CONFLICT (trace_id, span_id) DO UPDATE SET parent_span_id = excluded.parent_span_id, \
                 span_type = excluded.span_type, name = excluded.name, start_time = excluded.start_time, \
                 end_time = excluded.end_time, duration_ms = excluded.duration_ms, input = excluded.input, \
                 output = excluded.output, model = excluded.model, provider = excluded.provider, \
                 tokens_used = excluded.tokens_used, cost_usd = excluded.cost_usd, status = excluded.status, \
                 error = excluded.error, metadata = excluded.metadata, events = excluded.events, \
                 updated_at = excluded.updated_at"
            ))
            .map_err(store_error)?;
        for span in folded.take_merged_spans(existing_spans) {
            upsert
                .execute(params![
                    span.trace_id.as_str(),
                    span.span_id.as_str(),
                    span.parent_span_id.as_ref().map(SpanId::as_str),
                    span.span_type.unwrap_or(SpanType::Custom).as_str(),
                    span.name.as_deref().unwrap_or(""),
                    span.start_time.map(to_fixed_text),
                    span.end_time.map(to_fixed_text),
                    span.duration_ms(),
                    span.input.as_ref().map(json_text),
                    span.output.as_ref().map(json_text),
                    span.model,
                    span.provider,
                    span.tokens.map(|tokens| serde_json::to_string(&tokens).unwrap_or_default()),
                    span.cost_usd,
                    span.status.unwrap_or(Status::Running).as_str(),
                    span.error,
                    json_text(&Value::Object(span.metadata)),
                    json_text(&Value::Array(span.events)),
                    now,
                ])
                .map_err(store_error)?;
        }
    }

    {
        let mut extent = transaction
            .prepare_cached("SELECT min(start_time), max(end_time) FROM agent.spans WHERE trace_id = ?1")
            .map_err(store_error)?;
        let mut root = transaction
            .prepare_cached(&format!(
                "SELECT {SPAN_COLUMNS} FROM agent.spans WHERE trace_id = ?1 AND parent_span_id IS NULL \
                 ORDER BY start_time IS NULL, start_time, span_id LIMIT 1"
            ))
            .map_err(store_error)?;
        // A row that would not change is left alone: most spans of a trace
        // (children ending within their root) change nothing in it, and
        // rewriting it costs a write of the row and of each of its indexes.
        let mut update = transaction
            .prepare_cached(
                "UPDATE agent.traces SET session_id = ?2, user_id = ?3, project = ?4, name = ?5, start_time = ?6, \
                 end_time = ?7, duration_ms = ?8, input = ?9, output = ?10, status = ?11, error = ?12, \
                 metadata = ?13, tags = ?14, sent_fields = ?15, updated_at = ?16 WHERE trace_id = ?1 \
                 AND (session_id, user_id, project, name, start_time, end_time, duration_ms, input, output, \
                      status, error, metadata, tags, sent_fields) \
                     IS NOT (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .map_err(store_error)?;
        for explicit in folded.merged_traces(existing_traces) {
            let trace_id = explicit.trace_id.as_str();
            let (earliest_start, latest_end) = extent
                .query_row([trace_id], |row| Ok((parse_time(row.get(0)?), parse_time(row.get(1)?))))
                .map_err(store_error)?;
            let root = root.query_row([trace_id], span_from_row).optional().map_err(store_error)?;
            let aggregates = SpanAggregates { earliest_start, latest_end, root: root.map(|root| root.span) };
            let row = TraceRow::derive(&explicit, &aggregates);
            if created.get(&explicit.trace_id) == Some(&row) {
                continue;
            }
            update.execute(rusqlite::params_from_iter(trace_row_params(&row, &now))).map_err(store_error)?;
        }
    }
    write_attachments(&transaction, &folded.attachments, &now)?;
    write_feedback(&transaction, &folded.feedback, &now)?;
    transaction.commit().map_err(store_error)
}

fn write_attachments(connection: &Connection, attachments: &[Attachment], now: &str) -> Result<(), StoreError> {
    let mut upsert = connection
        .prepare_cached(
            "INSERT INTO agent.attachments \
             (trace_id, span_id, name, content_type, size_bytes, content, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) \
             ON CONFLICT (trace_id, span_id, name) DO UPDATE SET content_type = excluded.content_type, \
             size_bytes = excluded.size_bytes, content = excluded.content, updated_at = excluded.updated_at",
        )
        .map_err(store_error)?;
    for attachment in attachments {
        upsert
            .execute(params![
                attachment.trace_id.as_str(),
                attachment.span_id.as_str(),
                attachment.name,
                attachment.content_type,
                attachment.content.len() as i64,
                attachment.content,
                now,
            ])
            .map_err(store_error)?;
    }
    Ok(())
}

fn write_feedback(connection: &Connection, feedback: &[Feedback], now: &str) -> Result<(), StoreError> {
    // A retry that carries no client time keeps the time of first storage.
    let mut upsert = connection
        .prepare_cached(
            "INSERT INTO agent.feedback (feedback_id, trace_id, span_id, key, score, value, comment, correction, \
             source, metadata, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, coalesce(?11, ?12), ?12) \
             ON CONFLICT (feedback_id) DO UPDATE SET trace_id = excluded.trace_id, span_id = excluded.span_id, \
             key = excluded.key, score = excluded.score, value = excluded.value, comment = excluded.comment, \
             correction = excluded.correction, source = excluded.source, metadata = excluded.metadata, \
             created_at = coalesce(?11, feedback.created_at), updated_at = excluded.updated_at",
        )
        .map_err(store_error)?;
    for item in feedback {
        upsert
            .execute(params![
                item.feedback_id,
                item.trace_id.as_ref().map(TraceId::as_str),
                item.span_id.as_ref().map(SpanId::as_str),
                item.key,
                item.score,
                item.value.as_ref().map(json_text),
                item.comment,
                item.correction.as_ref().map(json_text),
                item.source.as_ref().map(json_text),
                json_text(&Value::Object(item.metadata.clone())),
                item.created_at.map(to_fixed_text),
                now,
            ])
            .map_err(store_error)?;
    }
    Ok(())
}

fn feedback_from_row(row: &Row<'_>) -> rusqlite::Result<Feedback> {
    Ok(Feedback {
        feedback_id: row.get(0)?,
        trace_id: row.get::<_, Option<String>>(1)?.and_then(|id| TraceId::parse(id).ok()),
        span_id: row.get::<_, Option<String>>(2)?.and_then(|id| SpanId::parse(id).ok()),
        key: row.get(3)?,
        score: row.get(4)?,
        value: parse_json(row.get(5)?),
        comment: row.get(6)?,
        correction: parse_json(row.get(7)?),
        source: parse_json(row.get(8)?),
        metadata: parse_json(row.get(9)?).and_then(object).unwrap_or_default(),
        created_at: parse_time(row.get(10)?),
    })
}

fn span_id_column(row: &Row<'_>, index: usize) -> rusqlite::Result<SpanId> {
    SpanId::parse(row.get::<_, String>(index)?).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, error.to_string().into())
    })
}

#[async_trait]
impl TraceStore for SqliteStore {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    async fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let folded = FoldedBatch::fold(batch);
        self.with_writer(move |connection| write_batch(connection, folded)).await?;
        self.indexer.nudge();
        Ok(())
    }

    async fn trace(&self, trace_id: &TraceId) -> Result<Option<TraceDetail>, StoreError> {
        let trace_id = trace_id.clone();
        self.with_reader(move |connection| {
            let stored = connection
                .prepare_cached(&format!("SELECT {TRACE_COLUMNS} FROM agent.traces WHERE trace_id = ?1"))
                .and_then(|mut select| select.query_row([trace_id.as_str()], trace_from_row).optional())
                .map_err(store_error)?;
            let Some((trace, _)) = stored else {
                return Ok(None);
            };
            let mut select = connection
                .prepare_cached(&format!(
                    "SELECT {SPAN_COLUMNS} FROM agent.spans WHERE trace_id = ?1 \
                     ORDER BY start_time IS NULL, start_time, span_id"
                ))
                .map_err(store_error)?;
            let spans = select
                .query_map([trace_id.as_str()], span_from_row)
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
                .map_err(store_error)?;
            Ok(Some(TraceDetail { trace, spans }))
        })
        .await
    }

    async fn span(&self, trace_id: &TraceId, span_id: &SpanId) -> Result<Option<StoredSpan>, StoreError> {
        let (trace_id, span_id) = (trace_id.clone(), span_id.clone());
        self.with_reader(move |connection| {
            connection
                .prepare_cached(&format!("SELECT {SPAN_COLUMNS} FROM agent.spans WHERE trace_id = ?1 AND span_id = ?2"))
                .and_then(|mut select| {
                    select.query_row(params![trace_id.as_str(), span_id.as_str()], span_from_row).optional()
                })
                .map_err(store_error)
        })
        .await
    }

    async fn trace_stats(&self, trace_id: &TraceId) -> Result<Option<TraceStats>, StoreError> {
        let trace_id = trace_id.clone();
        self.with_reader(move |connection| {
            connection
                .prepare_cached(
                    "SELECT total_spans, model_calls, tool_calls, mcp_calls, error_spans, prompt_tokens, \
                     completion_tokens, total_tokens, cost_usd FROM agent.trace_stats WHERE trace_id = ?1",
                )
                .and_then(|mut select| {
                    select
                        .query_row([trace_id.as_str()], |row| {
                            Ok(TraceStats {
                                total_spans: row.get(0)?,
                                model_calls: row.get(1)?,
                                tool_calls: row.get(2)?,
                                mcp_calls: row.get(3)?,
                                error_spans: row.get(4)?,
                                prompt_tokens: row.get(5)?,
                                completion_tokens: row.get(6)?,
                                total_tokens: row.get(7)?,
                                cost_usd: row.get(8)?,
                            })
                        })
                        .optional()
                })
                .map_err(store_error)
        })
        .await
    }

    async fn span_trace_id(&self, span_id: &SpanId) -> Result<Option<TraceId>, StoreError> {
        let span_id = span_id.clone();
        self.with_reader(move |connection| {
            let stored: Option<String> = connection
                .prepare_cached("SELECT trace_id FROM agent.spans WHERE span_id = ?1 ORDER BY trace_id LIMIT 1")
                .and_then(|mut select| select.query_row([span_id.as_str()], |row| row.get(0)).optional())
                .map_err(store_error)?;
            stored
                .map(|id| {
                    TraceId::parse(id)
                        .map_err(|error| StoreError::Internal(format!("stored trace id is invalid: {error}")))
                })
                .transpose()
        })
        .await
    }

    async fn attachments(&self, trace_id: &TraceId) -> Result<Vec<AttachmentInfo>, StoreError> {
        let trace_id = trace_id.clone();
        self.with_reader(move |connection| {
            let mut select = connection
                .prepare_cached(
                    "SELECT span_id, name, content_type, size_bytes FROM agent.attachments WHERE trace_id = ?1 \
                     ORDER BY span_id, name",
                )
                .map_err(store_error)?;
            select
                .query_map([trace_id.as_str()], |row| {
                    Ok(AttachmentInfo {
                        trace_id: trace_id.clone(),
                        span_id: span_id_column(row, 0)?,
                        name: row.get(1)?,
                        content_type: row.get(2)?,
                        size_bytes: row.get(3)?,
                    })
                })
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
                .map_err(store_error)
        })
        .await
    }

    async fn attachment(
        &self,
        trace_id: &TraceId,
        span_id: &SpanId,
        name: &str,
    ) -> Result<Option<Attachment>, StoreError> {
        let (trace_id, span_id, name) = (trace_id.clone(), span_id.clone(), name.to_owned());
        self.with_reader(move |connection| {
            connection
                .prepare_cached(
                    "SELECT content_type, content FROM agent.attachments \
                     WHERE trace_id = ?1 AND span_id = ?2 AND name = ?3",
                )
                .and_then(|mut select| {
                    select
                        .query_row(params![trace_id.as_str(), span_id.as_str(), name], |row| {
                            Ok(Attachment {
                                trace_id: trace_id.clone(),
                                span_id: span_id.clone(),
                                name: name.clone(),
                                content_type: row.get(0)?,
                                content: row.get(1)?,
                            })
                        })
                        .optional()
                })
                .map_err(store_error)
        })
        .await
    }

    async fn feedback(&self, trace_id: &TraceId) -> Result<Vec<Feedback>, StoreError> {
        let trace_id = trace_id.clone();
        self.with_reader(move |connection| {
            let mut select = connection
                .prepare_cached(
                    "SELECT feedback_id, trace_id, span_id, key, score, value, comment, correction, source, \
                     metadata, created_at FROM agent.feedback \
                     WHERE trace_id = ?1 \
                        OR (trace_id IS NULL AND span_id IN (SELECT span_id FROM agent.spans WHERE trace_id = ?1)) \
                     ORDER BY created_at, feedback_id",
                )
                .map_err(store_error)?;
            select
                .query_map([trace_id.as_str()], feedback_from_row)
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
                .map_err(store_error)
        })
        .await
    }

    async fn count_spans(&self) -> Result<u64, StoreError> {
        self.with_reader(|connection| {
            connection
                .query_row("SELECT count(*) FROM agent.spans", [], |row| row.get::<_, i64>(0))
                .map(|count| count.max(0) as u64)
                .map_err(store_error)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with_reader(|connection| {
            connection.query_row("SELECT count(*) FROM agent.schema_migrations", [], |_| Ok(())).map_err(store_error)
        })
        .await
    }
}
