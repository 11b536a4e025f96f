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
//! - **Cursors** are opaque strings (URL-safe base64 of the listing and
//!   order they belong to and the last row's sort key). A cursor that this
//!   store did not issue for the same listing and order is refused with
//!   [`StoreError::InvalidQuery`] naming `cursor`; a client that changes
//!   the sort starts again from the first page.
//! - **Page size**: [`PageRequest::limit`] 0 is refused
//!   ([`StoreError::InvalidQuery`] naming `limit`); above
//!   [`MAX_PAGE_LIMIT`] it is clamped. `next_cursor` is `Some` exactly when
//!   at least one more row follows.
//! - **Time filters** are half-open: `since <= t < until`. For traces and
//!   spans `t` is the start time; rows without a start time match no time
//!   filter.
//! - **Missing values sort last** in either direction (a trace without a
//!   start time or duration comes after all that have one), then ties are
//!   broken by id in byte order, in the same direction as the sort.
//! - **Tokens and cost** of a trace, a session or a project count
//!   model_call and embedding spans only, like `agent.trace_stats`. A span's
//!   total is its `total`, else prompt + completion. Aggregate costs
//!   ([`SessionSummary`], [`ProjectSummary`], [`StatsGroup`]) are `None`
//!   when no counted span has a cost, so that "unknown" never reads as $0;
//!   a trace's own [`TraceStats`] follow the view (0 when none).
//! - **Timestamps** come back at microsecond precision on both stores.

use agentrace_core::time::Timestamp;
use agentrace_core::{SpanType, Status, StoredSpan, StoredTrace, TraceId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{StoreError, TraceStats};

pub mod keyset;

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
    /// `metadata.KEY=VALUE` pairs, each of which must hold: the trace's
    /// metadata has the top-level key KEY (exactly), and its value is the
    /// string VALUE; or a number equal to VALUE read as a JSON number
    /// (`2.50` matches `2.5`); or the boolean VALUE (`true` / `false`).
    /// Objects, arrays and `null` never match.
    pub metadata: Vec<(String, String)>,
    /// Free text, matched case-insensitively as a substring of the trace's
    /// input, output (their JSON text) or error; metadata is not searched.
    /// An empty `q` matches every trace. Search words or phrases inside
    /// values: text spanning JSON punctuation is spelled differently by the
    /// two stores (PostgreSQL's `jsonb` text writes `{"a": 1}`, SQLite keeps
    /// `{"a":1}`).
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
    /// Rows per page, 1..=[`MAX_PAGE_LIMIT`]: 0 is refused, more is clamped.
    pub limit: usize,
    /// The `next_cursor` of the previous page; `None` for the first page.
    pub cursor: Option<String>,
}

/// A page of rows, and the cursor of the next page when one follows.
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

/// A session (conversation) in a list, most recently active first. Its
/// counts and totals cover all of the session's traces, whichever of them
/// matched the filter that listed it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SessionSummary {
    pub session_id: String,
    /// The project of its most recent trace (latest start, traces without
    /// one last, then the greatest trace id).
    pub project: String,
    /// The user of its most recent trace that names one (same order).
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

/// A project, most recently active first (then by name, byte order).
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
    /// Traces: latency is trace duration; tokens, cost and unpriced spans
    /// are the traces' totals; errors are traces whose status is error.
    /// Grouping by model or span type needs span level (refused with
    /// [`StoreError::InvalidQuery`] naming `group_by`); the `model` and
    /// `span_type` filters keep traces with at least one such span.
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
    /// The trace's project; at span level, the project of the span's trace.
    Project,
    /// UTC hour buckets (key: the bucket's start, `2026-03-01T10:00:00Z`).
    Hour,
    /// UTC day buckets (key: the bucket's start, `2026-03-01T00:00:00Z`).
    Day,
}

/// A statistics request. Rows (spans or traces, by [`StatsLevel`]) are
/// matched by their own start time in `[since, until)`; `project` and
/// `session_id` are those of the trace (a span's trace at span level).
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
    /// Whether the percentiles are estimates (within 1%, exact below
    /// 128 ms) from the latency histograms of `agent.span_rollups`, which
    /// statistics over more than [`crate::rollup::EXACT_STATS_MAX_SPANS`]
    /// spans read instead of every span; `false` when computed from the spans.
    pub percentiles_estimated: bool,
    /// Tokens of the group's model_call and embedding spans.
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    /// The sum of the known costs; `None` when no span of the group has one.
    pub cost_usd: Option<f64>,
    /// model_call and embedding spans with a model and tokens but no cost:
    /// their model is missing from the price table, so `cost_usd`
    /// understates the truth instead of silently counting them as $0.
    pub unpriced_count: i64,
}

impl StatsGroup {
    /// A group from its aggregates; `durations_ms` sorted ascending.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        key: Option<String>,
        count: i64,
        error_count: i64,
        percentiles_ms: [Option<f64>; 3],
        tokens: [i64; 3],
        cost_usd: Option<f64>,
        unpriced_count: i64,
    ) -> Self {
        let [p50_ms, p95_ms, p99_ms] = percentiles_ms;
        let [prompt_tokens, completion_tokens, total_tokens] = tokens;
        StatsGroup {
            key,
            count,
            error_count,
            error_rate: if count == 0 { 0.0 } else { error_count as f64 / count as f64 },
            p50_ms,
            p95_ms,
            p99_ms,
            percentiles_estimated: false,
            prompt_tokens,
            completion_tokens,
            total_tokens,
            cost_usd,
            unpriced_count,
        }
    }
}

/// The percentiles every [`StatsGroup`] reports, as fractions.
pub const STATS_PERCENTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// Puts groups in the order [`TraceQueries::stats`] promises: time buckets
/// ascending, others by count descending, then key in byte order with the
/// `None` key last.
pub fn order_groups(group_by: StatsGroupBy, groups: &mut [StatsGroup]) {
    match group_by {
        StatsGroupBy::Hour | StatsGroupBy::Day => groups.sort_by(|a, b| a.key.cmp(&b.key)),
        StatsGroupBy::None | StatsGroupBy::Model | StatsGroupBy::SpanType | StatsGroupBy::Project => {
            groups.sort_by(|a, b| {
                b.count.cmp(&a.count).then_with(|| match (&a.key, &b.key) {
                    (Some(a), Some(b)) => a.as_bytes().cmp(b.as_bytes()),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
            })
        }
    }
}

/// Puts projects in the order [`TraceQueries::list_projects`] promises:
/// latest activity first (projects without any last), then name in byte
/// order.
pub fn order_projects(projects: &mut [ProjectSummary]) {
    projects.sort_by(|a, b| match (a.last_activity, b.last_activity) {
        (Some(a_time), Some(b_time)) => {
            b_time.cmp(&a_time).then_with(|| a.project.as_bytes().cmp(b.project.as_bytes()))
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.project.as_bytes().cmp(b.project.as_bytes()),
    });
}

/// Refuses statistics that cannot be computed: model and span-type groups
/// are groups of spans.
pub fn check_stats_query(query: &StatsQuery) -> Result<(), StoreError> {
    if query.level == StatsLevel::Trace && matches!(query.group_by, StatsGroupBy::Model | StatsGroupBy::SpanType) {
        return Err(StoreError::InvalidQuery(
            "group_by: model and span_type group spans; ask for level=span, or group traces by project, hour or day"
                .into(),
        ));
    }
    Ok(())
}

/// What one `metadata.KEY=VALUE` filter matches (see [`TraceFilter::metadata`]),
/// ready for a backend to bind.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataMatch {
    pub key: String,
    /// The string value it matches.
    pub text: String,
    /// The number it matches, when VALUE reads as a JSON number.
    pub number: Option<serde_json::Number>,
    /// The boolean it matches, when VALUE is `true` or `false`.
    pub boolean: Option<bool>,
}

impl MetadataMatch {
    pub fn new(key: &str, value: &str) -> Self {
        let number = match serde_json::from_str::<serde_json::Value>(value.trim()) {
            Ok(serde_json::Value::Number(number)) => Some(number),
            _ => None,
        };
        let boolean = match value {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        MetadataMatch { key: key.to_owned(), text: value.to_owned(), number, boolean }
    }
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

    /// Every project, most recently active first, then by name (byte
    /// order); see [`order_projects`].
    async fn list_projects(&self) -> Result<Vec<ProjectSummary>, StoreError>;

    /// Aggregates over spans or traces. Groups with no row are not
    /// returned (an empty result when nothing matched). Time buckets come in
    /// ascending order; other groups by count descending, then key in byte
    /// order, the `None` key last (see [`order_groups`]).
    async fn stats(&self, query: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError>;

    /// Deletes a trace with its spans, attachments and feedback, in one
    /// transaction. Feedback goes when it names the trace, or names only a
    /// span id of the trace that no other stored trace holds (span ids are
    /// unique only within a trace, and such feedback shows with every trace
    /// holding the id). `false` when the trace was unknown.
    async fn delete_trace(&self, trace_id: &TraceId) -> Result<bool, StoreError>;

    /// Deletes up to `limit` traces that started before `cutoff` (traces
    /// without a start time: stored before it), oldest first, like
    /// [`Self::delete_trace`]; returns how many were deleted (fewer than
    /// `limit` once none is left). Retention calls this in a loop with a
    /// small limit so that each transaction stays short.
    async fn delete_traces_before(&self, cutoff: Timestamp, limit: usize) -> Result<u64, StoreError>;

    /// Recomputes the rollups of up to `max_minutes` minutes whose spans
    /// changed (oldest first) and of their hours, in one transaction,
    /// leaving minutes changed within the last `quiet_for` for later (a
    /// minute still being written to would be read again and again);
    /// returns how many minutes it recomputed, 0 when none was ready or
    /// another refresh holds the work. Statistics are correct whether or not
    /// this runs; it keeps them cheap (see [`crate::rollup`]).
    async fn refresh_rollups(&self, max_minutes: usize, quiet_for: std::time::Duration) -> Result<usize, StoreError>;

    /// How many minutes wait for [`Self::refresh_rollups`].
    async fn rollup_backlog(&self) -> Result<u64, StoreError>;
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
