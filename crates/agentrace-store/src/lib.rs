//! The storage contract every agentrace backend fulfils.
//!
//! Protocol adapters and the ingest pipeline only ever see
//! `Arc<dyn TraceStore>`; which database sits behind it is decided once, in
//! the binary. The rules a backend must keep are written on the trait and
//! checked by the shared [`conformance`] suite, which every backend runs.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use agentrace_core::merge::{fold_trace, merge_span, merge_trace};
use agentrace_core::pricing;
use agentrace_core::{
    Attachment, AttachmentInfo, Feedback, SpanId, SpanPiece, StoredSpan, StoredTrace, TraceId, TracePiece,
};
use async_trait::async_trait;

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod migrations;
pub mod query;
pub mod rollup;

/// `value` as the JSON text a store writes into a TEXT or JSONB column.
///
/// `serde_json::to_string` writes into a byte buffer; `Value`'s `Display`
/// (`value.to_string()`), the same text, goes through a formatter call per
/// token, 1.5 times slower on the ingest benchmark's span values, and
/// every span has five such values.
pub fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string(value).expect("a serde_json::Value always serialises")
}

/// What went wrong in a store, in terms callers can act on. Backends turn
/// their driver errors into these at their boundary; no driver type leaks.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the connection; retrying
    /// later may succeed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The database is busy (lock timeout, serialization failure); retry.
    #[error("store busy: {0}")]
    Busy(String),
    /// The data broke a constraint the adapters should have caught.
    #[error("rejected by the store: {0}")]
    Rejected(String),
    /// A read asked for something that cannot be answered as asked: a
    /// cursor the store did not issue, a page size of 0, statistics grouped
    /// in a way the level does not allow. The message starts with the name
    /// of the parameter at fault (`cursor: …`); asking again unchanged
    /// fails again (an HTTP API answers 400).
    #[error("{0}")]
    InvalidQuery(String),
    /// Anything else: a bug or a broken database.
    #[error("store failure: {0}")]
    Internal(String),
}

impl StoreError {
    /// Whether the same write may succeed if sent again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Busy(_))
    }
}

/// Pieces of traces and spans, and the attachments and feedback that came
/// with them, to write in one transaction.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub traces: Vec<TracePiece>,
    pub spans: Vec<SpanPiece>,
    pub attachments: Vec<Attachment>,
    pub feedback: Vec<Feedback>,
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty() && self.spans.is_empty() && self.attachments.is_empty() && self.feedback.is_empty()
    }

    pub fn extend(&mut self, other: WriteBatch) {
        self.traces.extend(other.traces);
        self.spans.extend(other.spans);
        self.attachments.extend(other.attachments);
        self.feedback.extend(other.feedback);
    }

    /// Items in the batch, for queue and batch limits.
    pub fn item_count(&self) -> usize {
        self.traces.len() + self.spans.len() + self.attachments.len() + self.feedback.len()
    }

    /// An approximation of the bytes the batch occupies, for queue and batch limits.
    pub fn approximate_size(&self) -> usize {
        self.spans.iter().map(SpanPiece::approximate_size).sum::<usize>()
            + self.traces.iter().map(TracePiece::approximate_size).sum::<usize>()
            + self.attachments.iter().map(|attachment| 256 + attachment.content.len()).sum::<usize>()
            + self.feedback.iter().map(Feedback::approximate_size).sum::<usize>()
    }
}

/// A trace with all its spans, ordered by start time (then span id).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceDetail {
    pub trace: StoredTrace,
    pub spans: Vec<StoredSpan>,
}

/// Per-trace statistics. Token and cost totals count model_call and
/// embedding spans only.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct TraceStats {
    pub total_spans: i64,
    pub model_calls: i64,
    pub tool_calls: i64,
    pub mcp_calls: i64,
    pub error_spans: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub cost_usd: Option<f64>,
}

/// A stored trace: explicit fields, and the data its row otherwise derives from spans.
///
/// # Contract
/// - **Idempotent.** Writes are keyed by `trace_id` for traces and by
///   `(trace_id, span_id)` for spans. Writing the same piece twice leaves the
///   stored state as after the first write.
/// - **Merge.** A piece is folded into what is stored with
///   [`agentrace_core::merge`]'s rules: real values beat absent ones and
///   placeholders, an ended piece beats a started one, metadata merges by key.
///   The final state does not depend on the arrival order of pieces from
///   different stages.
/// - **Any order.** A span may arrive before its parent and before its
///   trace: a trace row is created with provisional defaults
///   (`session_id = trace_id`, `project = 'default'`, `status = 'running'`)
///   and completed when the trace's own data arrives.
/// - **Derived fields.** Trace fields a client never sent are derived from
///   the trace's spans after every write: start = earliest span start;
///   end = latest span end once the root span has ended; status, error,
///   name, input and output from the root span (the earliest span without a
///   parent). Token and cost totals are computed from model_call and
///   embedding spans only (the `agent.trace_stats` view).
/// - **Durable.** `Ok` means the whole batch is committed and will survive a
///   crash. `Err` means nothing of the batch was written.
/// - **Attachments** are keyed by `(trace_id, span_id, name)` and **feedback**
///   by `feedback_id`; writing one again replaces it. An attachment's trace
///   row is created like a span's. Feedback needs no stored trace or span:
///   it may name only a span id, and is found through that span once the
///   span is stored.
/// - **Unknown ids.** Reads of an unknown trace or span return `Ok(None)`
///   (lists: empty).
/// - **Queries.** Every store answers the read queries of
///   [`query::TraceQueries`] too, so `Arc<dyn TraceStore>` offers both.
#[async_trait]
pub trait TraceStore: query::TraceQueries + Send + Sync + 'static {
    /// A short name for logs and metrics ("postgres", "sqlite").
    fn backend_name(&self) -> &'static str;

    /// Writes a batch in one transaction (see the contract above).
    ///
    /// Concurrent calls are allowed and must keep every rule above: two
    /// writes touching the same span or trace never both merge into the
    /// same stored state.
    async fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;

    /// How many `write` calls the store can usefully run at the same time.
    /// The ingest pipeline keeps at most this many batches in flight, so a
    /// store whose writes serialise anyway (one writer connection) says 1
    /// and is never handed a second batch to queue behind the first.
    fn max_concurrent_writes(&self) -> usize {
        1
    }

    /// Items (spans and trace pieces) a batch should hold before it is
    /// written: the ingest pipeline stops adding requests to a batch once
    /// it holds this many, unless configured otherwise. A store that writes
    /// one batch at a time loses nothing by taking everything queued and
    /// spreads each commit's cost over more items. A store that writes
    /// several at once wants batches just large enough to spread that cost:
    /// what one batch takes beyond it, another connection could have been
    /// writing meanwhile.
    fn preferred_batch_items(&self) -> usize {
        4_000
    }

    /// A trace with its spans, or `None` when the trace is unknown.
    async fn trace(&self, trace_id: &TraceId) -> Result<Option<TraceDetail>, StoreError>;

    /// One span, or `None` when unknown.
    async fn span(&self, trace_id: &TraceId, span_id: &SpanId) -> Result<Option<StoredSpan>, StoreError>;

    /// A trace's statistics (the `agent.trace_stats` view), or `None` when unknown.
    async fn trace_stats(&self, trace_id: &TraceId) -> Result<Option<TraceStats>, StoreError>;

    /// The trace holding a span known only by its id (LangSmith run ids are
    /// UUIDs, unique over all traces). When several traces hold the id, the
    /// smallest trace id in byte order; `None` when no trace does.
    async fn span_trace_id(&self, span_id: &SpanId) -> Result<Option<TraceId>, StoreError>;

    /// The attachments of a trace's spans, without their bytes, ordered by
    /// span id then name (byte order).
    async fn attachments(&self, trace_id: &TraceId) -> Result<Vec<AttachmentInfo>, StoreError>;

    /// One attachment with its bytes, or `None` when unknown.
    async fn attachment(
        &self,
        trace_id: &TraceId,
        span_id: &SpanId,
        name: &str,
    ) -> Result<Option<Attachment>, StoreError>;

    /// The feedback on a trace: feedback naming the trace, and feedback
    /// naming only a span id that one of its spans has. Ordered by
    /// `created_at`, then `feedback_id`.
    async fn feedback(&self, trace_id: &TraceId) -> Result<Vec<Feedback>, StoreError>;

    /// Number of spans stored, over all traces.
    async fn count_spans(&self) -> Result<u64, StoreError>;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A batch with the pieces of each item folded together, ready for a
/// backend to merge with what it has stored. Shared by every backend so
/// that only the SQL differs between them.
#[derive(Debug, Default)]
pub struct FoldedBatch {
    pub traces: HashMap<TraceId, TracePiece>,
    pub spans: HashMap<(TraceId, SpanId), SpanPiece>,
    /// One per `(trace_id, span_id, name)`, the last sent; sorted by that key.
    pub attachments: Vec<Attachment>,
    /// One per `feedback_id`, the last sent; sorted by id.
    pub feedback: Vec<Feedback>,
    /// Every trace the batch touches (directly or through a span), sorted so
    /// that concurrent writers lock rows in the same order.
    pub touched_traces: Vec<TraceId>,
}

impl FoldedBatch {
    pub fn fold(batch: WriteBatch) -> Self {
        let mut trace_pieces: HashMap<TraceId, Vec<TracePiece>> = HashMap::new();
        for piece in batch.traces {
            trace_pieces.entry(piece.trace_id.clone()).or_default().push(piece);
        }
        let traces: HashMap<_, _> =
            trace_pieces.into_iter().filter_map(|(id, pieces)| Some((id, fold_trace(pieces)?))).collect();
        // Folded as they come, in arrival order, exactly as `fold_span` folds
        // one key's pieces: a batch holds thousands of spans, nearly all of
        // one piece each, and gathering them per key first cost an
        // allocation and a rehash apiece.
        let mut spans: HashMap<(TraceId, SpanId), SpanPiece> = HashMap::with_capacity(batch.spans.len());
        for piece in batch.spans {
            match spans.entry((piece.trace_id.clone(), piece.span_id.clone())) {
                Entry::Vacant(slot) => {
                    let start = SpanPiece::new(slot.key().0.clone(), slot.key().1.clone());
                    slot.insert(merge_span(start, piece));
                }
                Entry::Occupied(mut slot) => {
                    let start = SpanPiece::new(slot.key().0.clone(), slot.key().1.clone());
                    let folded = std::mem::replace(slot.get_mut(), start);
                    *slot.get_mut() = merge_span(folded, piece);
                }
            }
        }
        let mut attachments: HashMap<(TraceId, SpanId, String), Attachment> = HashMap::new();
        for attachment in batch.attachments {
            attachments
                .insert((attachment.trace_id.clone(), attachment.span_id.clone(), attachment.name.clone()), attachment);
        }
        let mut attachments: Vec<Attachment> = attachments.into_values().collect();
        attachments.sort_by(|a, b| (&a.trace_id, &a.span_id, &a.name).cmp(&(&b.trace_id, &b.span_id, &b.name)));
        let mut feedback: HashMap<String, Feedback> = HashMap::new();
        for item in batch.feedback {
            feedback.insert(item.feedback_id.clone(), item);
        }
        let mut feedback: Vec<Feedback> = feedback.into_values().collect();
        feedback.sort_by(|a, b| a.feedback_id.cmp(&b.feedback_id));
        let touched_traces: Vec<TraceId> = traces
            .keys()
            .chain(spans.keys().map(|(trace_id, _)| trace_id))
            .chain(attachments.iter().map(|attachment| &attachment.trace_id))
            .collect::<BTreeSet<&TraceId>>()
            .into_iter()
            .cloned()
            .collect();
        FoldedBatch { traces, spans, attachments, feedback, touched_traces }
    }

    /// Merges the folded spans into the stored ones (`existing` holds the
    /// stored state of those keys that exist), taking them out of the batch:
    /// a batch holds thousands of spans, and a copy of each would double the
    /// writer's memory and time for no use.
    ///
    /// Each merged span's cost is then settled with the process's price
    /// table ([`agentrace_core::pricing::settle_cost`]): model calls the
    /// client sent no cost for are priced from their latest tokens.
    pub fn take_merged_spans(&mut self, mut existing: HashMap<(TraceId, SpanId), SpanPiece>) -> Vec<SpanPiece> {
        let prices = pricing::installed();
        let mut merged: Vec<SpanPiece> = std::mem::take(&mut self.spans)
            .into_iter()
            .map(|(key, incoming)| {
                let sent_cost = incoming.cost_usd;
                let mut span = match existing.remove(&key) {
                    Some(stored) => merge_span(stored, incoming),
                    None => incoming,
                };
                pricing::settle_cost(&mut span, sent_cost, prices);
                span
            })
            .collect();
        merged.sort_by(|a, b| (&a.trace_id, &a.span_id).cmp(&(&b.trace_id, &b.span_id)));
        merged
    }

    /// Merges the folded traces into the stored explicit fields; touched
    /// traces without a piece of their own come back as empty pieces, from
    /// which the backend derives their rows.
    pub fn merged_traces(&self, mut existing: HashMap<TraceId, TracePiece>) -> Vec<TracePiece> {
        self.touched_traces
            .iter()
            .map(|trace_id| {
                let stored = existing.remove(trace_id);
                match (stored, self.traces.get(trace_id)) {
                    (Some(stored), Some(incoming)) => merge_trace(stored, incoming.clone()),
                    (Some(stored), None) => stored,
                    (None, Some(incoming)) => incoming.clone(),
                    (None, None) => TracePiece::new(trace_id.clone()),
                }
            })
            .collect()
    }

    /// The touched traces' rows as they would be if nothing of them were
    /// stored yet: the batch's explicit fields, and what the batch's own
    /// spans derive. For a trace the batch brings whole, as most do, that
    /// is its final row, so a backend can create the row with it instead of
    /// creating an empty row and rewriting it once the spans are in. One
    /// row per touched trace, in the order of `touched_traces`.
    pub fn provisional_rows(&self) -> Vec<TraceRow> {
        let mut aggregates: HashMap<&TraceId, SpanAggregates> = HashMap::with_capacity(self.touched_traces.len());
        for ((trace_id, _), span) in &self.spans {
            let trace = aggregates.entry(trace_id).or_default();
            trace.earliest_start = match (trace.earliest_start, span.start_time) {
                (Some(known), Some(start)) => Some(known.min(start)),
                (known, start) => known.or(start),
            };
            trace.latest_end = trace.latest_end.max(span.end_time);
            if span.parent_span_id.is_none()
                && trace.root.as_ref().is_none_or(|root| root_order(span) < root_order(root))
            {
                trace.root = Some(span.clone());
            }
        }
        self.touched_traces
            .iter()
            .map(|trace_id| {
                let explicit = self.traces.get(trace_id).cloned().unwrap_or_else(|| TracePiece::new(trace_id.clone()));
                TraceRow::derive(&explicit, &aggregates.remove(trace_id).unwrap_or_default())
            })
            .collect()
    }
}

/// The root as the stores read it: the earliest-starting span without a
/// parent, spans without a start last, then by id in byte order.
fn root_order(span: &SpanPiece) -> (bool, Option<agentrace_core::time::Timestamp>, &str) {
    (span.start_time.is_none(), span.start_time, span.span_id.as_str())
}

/// What a trace row derives from its spans, read by a backend after the
/// batch's spans are written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanAggregates {
    pub earliest_start: Option<agentrace_core::time::Timestamp>,
    pub latest_end: Option<agentrace_core::time::Timestamp>,
    /// The earliest-starting span without a parent.
    pub root: Option<SpanPiece>,
}

/// A full `agent.traces` row: the client's explicit fields, and derived
/// values for the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    pub trace: StoredTrace,
    pub sent_fields: i32,
}

impl TraceRow {
    /// Combines what clients sent about a trace with what its spans say.
    pub fn derive(explicit: &TracePiece, spans: &SpanAggregates) -> TraceRow {
        use agentrace_core::Status;
        let root = spans.root.as_ref();
        let root_has_ended = root.is_some_and(SpanPiece::has_ended);
        let start_time = explicit.start_time.or(spans.earliest_start);
        let end_time = explicit
            .end_time
            .or_else(|| root_has_ended.then(|| spans.latest_end.max(root.and_then(|root| root.end_time))).flatten());
        let (status, error) = if explicit.status.is_some() || explicit.error.is_some() {
            let status =
                explicit.status.unwrap_or(if explicit.error.is_some() { Status::Error } else { Status::Running });
            (status, explicit.error.clone())
        } else {
            let status = root.and_then(|root| root.status).unwrap_or(Status::Running);
            (status, root.and_then(|root| root.error.clone()))
        };
        let duration_ms = match (start_time, end_time) {
            (Some(start), Some(end)) => Some(agentrace_core::time::duration_ms(start, end)),
            _ => None,
        };
        TraceRow {
            trace: StoredTrace {
                trace_id: explicit.trace_id.clone(),
                session_id: explicit.session_id.clone().unwrap_or_else(|| explicit.trace_id.to_string()),
                user_id: explicit.user_id.clone(),
                project: explicit.project.clone().unwrap_or_else(|| DEFAULT_PROJECT.to_owned()),
                name: explicit.name.clone().or_else(|| root.and_then(|root| root.name.clone())),
                start_time,
                end_time,
                duration_ms,
                input: explicit.input.clone().or_else(|| root.and_then(|root| root.input.clone())),
                output: explicit.output.clone().or_else(|| root.and_then(|root| root.output.clone())),
                status,
                error,
                metadata: explicit.metadata.clone(),
                tags: explicit.tags.clone(),
            },
            sent_fields: explicit.sent_fields(),
        }
    }

    /// The explicit fields of a stored row, as a piece to merge into.
    pub fn explicit_piece(trace: StoredTrace, sent_fields: i32) -> TracePiece {
        use agentrace_core::model::sent;
        let keep = |bit: i32| sent_fields & bit != 0;
        TracePiece {
            session_id: keep(sent::SESSION_ID).then_some(trace.session_id),
            user_id: trace.user_id.filter(|_| keep(sent::USER_ID)),
            project: keep(sent::PROJECT).then_some(trace.project),
            name: trace.name.filter(|_| keep(sent::NAME)),
            start_time: trace.start_time.filter(|_| keep(sent::START_TIME)),
            end_time: trace.end_time.filter(|_| keep(sent::END_TIME)),
            input: trace.input.filter(|_| keep(sent::INPUT)),
            output: trace.output.filter(|_| keep(sent::OUTPUT)),
            status: keep(sent::STATUS).then_some(trace.status),
            error: trace.error.filter(|_| keep(sent::STATUS)),
            metadata: trace.metadata,
            tags: trace.tags,
            trace_id: trace.trace_id,
        }
    }
}

/// The project of a trace that names none.
pub const DEFAULT_PROJECT: &str = "default";
