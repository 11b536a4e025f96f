//! The read side of the store: listing and searching traces, spans and
//! sessions, and aggregate statistics. The HTTP query API, the CLI (when it
//! reads a database directly) and the web UI all go through these, so the
//! two backends must answer every query identically; the shared
//! conformance suite checks that they do.
//!
//! # Conventions
//! - **Pagination** is keyset-based: a page carries an opaque cursor naming
//!   the last row it returned, and the next page starts strictly after it.
//!   Rows inserted while a client pages never shift the pages it has not
//!   read yet, and no row is returned twice.
//! - **Time filters** are half-open: `since <= t < until`. For traces and
//!   spans `t` is the start time; rows without a start time match no time
//!   filter.
//! - **Missing values sort last** in either direction (a trace without a
//!   start time or duration comes after all that have one), then ties are
//!   broken by id in byte order, in the same direction as the sort.
//! - **Tokens and cost** of a trace, a session or a project count
//!   model_call and embedding spans only, like `agent.trace_stats`.

use agentrace_core::time::Timestamp;
use agentrace_core::{SpanType, Status, StoredSpan, StoredTrace, TraceId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{StoreError, TraceStats};

/// The most rows one page may hold; larger requested limits are clamped.
pub const MAX_PAGE_LIMIT: usize = 1000;
/// The page size when a client names none.
pub const DEFAULT_PAGE_LIMIT: usize = 50;

/// Filters for listing traces. Every filter given must hold (AND).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TraceFilter {
    pub project: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<Status>,
    /// Exact trace name.
    pub name: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Traces that ran at least this long (running traces never match).
    pub min_duration_ms: Option<i64>,
    /// `true`: the trace's status is error or one of its spans has status
    /// error. `false`: neither.
    pub has_error: Option<bool>,
    /// Traces with at least one span of this exact model.
    pub model: Option<String>,
    /// Traces carrying this tag.
    pub tag: Option<String>,
    /// `metadata.KEY=VALUE`: the trace's metadata has KEY, and its value is
    /// the string VALUE, or a number or boolean whose JSON text is VALUE.
    pub metadata: Vec<(String, String)>,
    /// Free text, matched case-insensitively as a substring of the trace's
    /// input, output (their JSON text) or error.
    pub q: Option<String>,
}

/// How a trace list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceSort {
    /// Newest first (the default).
    #[default]
    StartTimeDesc,
    StartTimeAsc,
    /// Slowest first.
    DurationDesc,
    DurationAsc,
}

/// One page request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRequest {
    /// Rows per page, 1..=[`MAX_PAGE_LIMIT`].
    pub limit: usize,
    /// The `next_cursor` of the previous page; `None` for the first page.
    pub cursor: Option<String>,
}

/// A page of rows, and the cursor of the next page when there may be one.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A trace in a list: the trace row and its statistics. `input` and
/// `output` are left out (`None`) unless payloads were asked for.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TraceSummary {
    #[serde(flatten)]
    pub trace: StoredTrace,
    pub stats: TraceStats,
}

/// Filters for listing spans, newest first. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct SpanFilter {
    pub trace_id: Option<TraceId>,
    pub span_type: Option<SpanType>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub status: Option<Status>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// Filters for listing sessions and for statistics over them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct SessionFilter {
    pub project: Option<String>,
    pub user_id: Option<String>,
    /// Sessions with a trace starting in `[since, until)`.
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// A session (conversation) in a list, most recently active first.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SessionSummary {
    pub session_id: String,
    /// The project of its most recent trace.
    pub project: String,
    /// The user of its most recent trace that names one.
    pub user_id: Option<String>,
    pub trace_count: i64,
    /// Earliest trace start.
    pub first_time: Option<Timestamp>,
    /// Latest trace start.
    pub last_time: Option<Timestamp>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub cost_usd: Option<f64>,
    /// Traces whose status is error.
    pub error_count: i64,
}

/// A session with its traces in start order: the conversation, turn by turn.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub session: SessionSummary,
    /// Every trace of the session, earliest first, with input and output.
    pub turns: Vec<TraceSummary>,
}

/// A project, most recently active first.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ProjectSummary {
    pub project: String,
    pub trace_count: i64,
    /// Latest trace start (or, for traces without one, when it was stored).
    pub last_activity: Option<Timestamp>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub cost_usd: Option<f64>,
}

/// What statistics are computed over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsLevel {
    /// Spans: latency is span duration; tokens and cost of model_call and
    /// embedding spans.
    #[default]
    Span,
    /// Traces: latency is trace duration; tokens and cost are the traces'
    /// totals. Grouping by model or span type needs span level.
    Trace,
}

/// How statistics are grouped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsGroupBy {
    /// One group over everything matched.
    #[default]
    None,
    Model,
    SpanType,
    Project,
    /// UTC hour buckets (key: the bucket's start, RFC 3339).
    Hour,
    /// UTC day buckets (key: the bucket's start, RFC 3339).
    Day,
}

/// A statistics request. Rows are matched by start time in `[since, until)`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct StatsQuery {
    pub level: StatsLevel,
    pub group_by: StatsGroupBy,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub project: Option<String>,
    pub model: Option<String>,
    pub span_type: Option<SpanType>,
    pub session_id: Option<String>,
}

/// One group of statistics.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct StatsGroup {
    /// The group's key: model, span type, project, or bucket start;
    /// `None` for the single group of [`StatsGroupBy::None`] and for rows
    /// without a model.
    pub key: Option<String>,
    pub count: i64,
    pub error_count: i64,
    /// `error_count / count`; 0 for an empty group.
    pub error_rate: f64,
    /// Latency percentiles in milliseconds over the rows that have a
    /// duration, linearly interpolated like PostgreSQL's `percentile_cont`:
    /// for sorted values `v[0..n]` and fraction `p`, position `p * (n - 1)`
    /// interpolated between its neighbours. `None` when no row has one.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub cost_usd: Option<f64>,
    /// model_call and embedding spans with a model and tokens but no cost:
    /// their model is missing from the price table, so `cost_usd`
    /// understates the truth instead of silently counting them as $0.
    pub unpriced_count: i64,
}

/// The linear-interpolation percentile both backends use: `p` in `[0, 1]`,
/// `sorted` ascending. Backends that cannot compute it in SQL call this.
pub fn percentile_cont(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = p.clamp(0.0, 1.0) * last as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let fraction = position - lower as f64;
    Some(sorted[lower] + (sorted[upper] - sorted[lower]) * fraction)
}

/// The read queries every backend answers (see the module docs).
#[async_trait]
pub trait TraceQueries: Send + Sync + 'static {
    /// Traces matching `filter`, ordered by `sort`, one page at a time.
    /// `payloads = false` leaves each trace's input and output out.
    async fn list_traces(
        &self,
        filter: &TraceFilter,
        sort: TraceSort,
        page: &PageRequest,
        payloads: bool,
    ) -> Result<Page<TraceSummary>, StoreError>;

    /// Spans matching `filter`, newest first (start time, then trace id and
    /// span id), one page at a time.
    async fn list_spans(
        &self,
        filter: &SpanFilter,
        page: &PageRequest,
        payloads: bool,
    ) -> Result<Page<StoredSpan>, StoreError>;

    /// Sessions with at least one trace matching `filter`, most recently
    /// active first (last_time, then session id).
    async fn list_sessions(
        &self,
        filter: &SessionFilter,
        page: &PageRequest,
    ) -> Result<Page<SessionSummary>, StoreError>;

    /// One session with its turns, or `None` when no trace has that session id.
    async fn session(&self, session_id: &str) -> Result<Option<SessionDetail>, StoreError>;

    /// Every project, most recently active first.
    async fn list_projects(&self) -> Result<Vec<ProjectSummary>, StoreError>;

    /// Aggregates over spans or traces. Groups are ordered by key (time
    /// buckets ascending; others by count descending, then key).
    async fn stats(&self, query: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError>;

    /// Deletes a trace with its spans, attachments and feedback (feedback
    /// naming the trace, or one of its spans). `false` when it was unknown.
    async fn delete_trace(&self, trace_id: &TraceId) -> Result<bool, StoreError>;

    /// Deletes up to `limit` traces that started before `cutoff` (traces
    /// without a start time: stored before it), like [`Self::delete_trace`];
    /// returns how many were deleted. Retention calls this in a loop with a
    /// small limit so that each transaction stays short.
    async fn delete_traces_before(&self, cutoff: Timestamp, limit: usize) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::percentile_cont;

    #[test]
    fn percentile_cont_interpolates_like_postgres() {
        // Checked by hand against SELECT percentile_cont(p) WITHIN GROUP (ORDER BY v).
        let values = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(percentile_cont(&values, 0.5), Some(25.0));
        assert_eq!(percentile_cont(&values, 0.95), Some(38.5));
        assert_eq!(percentile_cont(&values, 0.0), Some(10.0));
        assert_eq!(percentile_cont(&values, 1.0), Some(40.0));
        assert_eq!(percentile_cont(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile_cont(&[], 0.5), None);
    }
}
