//! The read side on SQLite: [`TraceQueries`] for [`SqliteStore`].
//!
//! Reads run on the pooled reader connections, deletes on the writer thread
//! like every other write. Filters become one SQL text per request, built
//! here from the query objects with every value bound as a parameter; the
//! fixed queries live in `queries/`. The rules (keyset pages, what each
//! filter means, the order of groups) are `agentrace_store::query`'s, shared
//! with PostgreSQL: only the dialect differs.
//!
//! SQLite has no `percentile_cont`; the `agentrace_percentiles` aggregate
//! registered on every connection ([`register_functions`]) computes the same
//! interpolation with `agentrace_store::query::percentile_cont`. SQLite's
//! `LIKE` folds the case of ASCII letters only; `agentrace_contains` folds
//! all of Unicode, as `ILIKE` does on PostgreSQL, for free-text search.

use std::collections::HashMap;

use agentrace_core::time::{to_fixed_text, Timestamp};
use agentrace_core::{StoredSpan, TraceId};
use agentrace_store::query::keyset::{self, Bind as _, Listing, Position, SortValue};
use agentrace_store::query::{
    check_stats_query, order_groups, percentile_cont, MetadataMatch, Page, PageRequest, ProjectSummary, SessionDetail,
    SessionFilter, SessionSummary, SpanFilter, StatsGroup, StatsGroupBy, StatsLevel, StatsQuery, TraceFilter,
    TraceQueries, TraceSort, TraceSummary, STATS_PERCENTILES,
};
use agentrace_store::{StoreError, TraceStats};
use async_trait::async_trait;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, Row};

use crate::store::{parse_time, span_from_row, store_error, trace_from_row, SPAN_COLUMNS, TRACE_COLUMNS};
use crate::SqliteStore;

/// Registers the SQL functions agentrace's queries use on `connection`.
pub fn register_functions(connection: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    connection.create_aggregate_function("agentrace_percentiles", 1, flags, Percentiles)?;
    connection.create_scalar_function("agentrace_contains", 2, flags, |context| {
        let folded_needle =
            context.get_raw(1).as_str().map_err(|error| rusqlite::Error::UserFunctionError(error.into()))?;
        Ok(match context.get_raw(0).as_str_or_null() {
            Ok(Some(text)) => contains_folded(text, folded_needle),
            _ => false,
        })
    })
}

/// Case-folds free-text search text the way [`contains_folded`] expects its
/// needle.
fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

/// Whether `text`, case-folded, contains `folded_needle`.
fn contains_folded(text: &str, folded_needle: &str) -> bool {
    if text.is_ascii() && folded_needle.is_ascii() {
        // No allocation for the common case: compare byte windows.
        let needle = folded_needle.as_bytes();
        return needle.is_empty()
            || text.as_bytes().windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle));
    }
    fold_case(text).contains(folded_needle)
}

/// The FTS5 query for the traces whose indexed text holds every trigram of
/// `q` (at least three characters): candidates, which the caller checks.
/// Each trigram is a quoted string (its quotes doubled), which the trigram
/// tokenizer reads as one token and folds itself. Folding it here instead
/// could lengthen it (`İ` lowercases to two characters) into two tokens, a
/// phrase, which an index without positions refuses. A long `q` is narrowed
/// enough by its first [`MAX_SEARCH_TRIGRAMS`] distinct trigrams.
fn trigram_query(q: &str) -> String {
    let chars: Vec<char> = q.chars().collect();
    let mut trigrams: Vec<String> = Vec::new();
    for window in chars.windows(3) {
        let trigram: String = window.iter().collect();
        if !trigrams.contains(&trigram) {
            trigrams.push(trigram);
        }
        if trigrams.len() == MAX_SEARCH_TRIGRAMS {
            break;
        }
    }
    trigrams.iter().map(|trigram| format!("\"{}\"", trigram.replace('"', "\"\""))).collect::<Vec<_>>().join(" AND ")
}

const MAX_SEARCH_TRIGRAMS: usize = 32;

/// `agentrace_percentiles(x)`: the [`STATS_PERCENTILES`] of the non-NULL
/// values of `x`, as a JSON array `[p50, p95, p99]`; NULL when there is none.
struct Percentiles;

impl Aggregate<Vec<f64>, Option<String>> for Percentiles {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Vec<f64>> {
        Ok(Vec::new())
    }

    fn step(&self, context: &mut Context<'_>, values: &mut Vec<f64>) -> rusqlite::Result<()> {
        if let Some(value) = context.get::<Option<f64>>(0)? {
            values.push(value);
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, values: Option<Vec<f64>>) -> rusqlite::Result<Option<String>> {
        let Some(mut values) = values.filter(|values| !values.is_empty()) else {
            return Ok(None);
        };
        values.sort_by(f64::total_cmp);
        let percentiles: Vec<Option<f64>> = STATS_PERCENTILES.iter().map(|&p| percentile_cont(&values, p)).collect();
        Ok(Some(serde_json::to_string(&percentiles).unwrap_or_default()))
    }
}

/// One SQL text and the values bound to its `?N` parameters.
#[derive(Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    params: Vec<SqlValue>,
}

impl keyset::Bind for Sql {
    fn bind_time(&mut self, time: Timestamp) -> String {
        self.bind(to_fixed_text(time))
    }

    fn bind_number(&mut self, number: i64) -> String {
        self.bind(number)
    }

    fn bind_text(&mut self, text: &str) -> String {
        self.bind(text.to_owned())
    }
}

impl Sql {
    /// Binds `value` and returns its placeholder.
    pub(crate) fn bind(&mut self, value: impl Into<SqlValue>) -> String {
        self.params.push(value.into());
        format!("?{}", self.params.len())
    }

    pub(crate) fn query<T>(
        &self,
        connection: &Connection,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = connection.prepare_cached(&self.text).map_err(store_error)?;
        statement
            .query_map(params_from_iter(self.params.iter()), map)
            .and_then(Iterator::collect::<rusqlite::Result<Vec<T>>>)
            .map_err(store_error)
    }

    /// Hands each row to `each` as it is read, for results too large to
    /// collect first.
    pub(crate) fn for_each(
        &self,
        connection: &Connection,
        mut each: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let mut statement = connection.prepare_cached(&self.text).map_err(store_error)?;
        let mut rows = statement.query(params_from_iter(self.params.iter())).map_err(store_error)?;
        while let Some(row) = rows.next().map_err(store_error)? {
            each(row).map_err(store_error)?;
        }
        Ok(())
    }
}

fn json_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::Value::from(items.into_iter().collect::<Vec<_>>()).to_string()
}

/// Spans whose tokens and cost count (see `agent.trace_stats`).
pub(crate) const BILLED: &str = "s.span_type IN ('model_call', 'embedding')";

/// A token count of `s.tokens_used`, when it is a JSON number.
pub(crate) fn token(key: &str) -> String {
    format!("CASE WHEN json_type(s.tokens_used, '$.{key}') IN ('integer', 'real') THEN json_extract(s.tokens_used, '$.{key}') END")
}

/// Prompt, completion and total tokens, cost and unpriced count of the
/// billed spans `s` of a group, with these names.
fn usage_aggregates() -> String {
    let (prompt, completion, total) = (token("prompt"), token("completion"), token("total"));
    [
        format!("CAST(coalesce(sum({prompt}) FILTER (WHERE {BILLED}), 0) AS INTEGER) AS prompt"),
        format!("CAST(coalesce(sum({completion}) FILTER (WHERE {BILLED}), 0) AS INTEGER) AS completion"),
        format!(
            "CAST(coalesce(sum(coalesce({total}, coalesce({prompt}, 0) + coalesce({completion}, 0))) \
             FILTER (WHERE {BILLED}), 0) AS INTEGER) AS total"
        ),
        format!("sum(s.cost_usd) FILTER (WHERE {BILLED}) AS cost"),
        format!(
            "count(*) FILTER (WHERE {BILLED} AND s.model IS NOT NULL AND s.tokens_used IS NOT NULL \
             AND s.cost_usd IS NULL) AS unpriced"
        ),
    ]
    .join(", ")
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// The conditions of a [`TraceFilter`] on the traces `t`.
fn trace_conditions(sql: &mut Sql, filter: &TraceFilter) -> Vec<String> {
    let mut conditions = Vec::new();
    for (column, value) in [
        ("t.project", &filter.project),
        ("t.session_id", &filter.session_id),
        ("t.user_id", &filter.user_id),
        ("t.name", &filter.name),
    ] {
        if let Some(value) = value {
            conditions.push(format!("{column} = {}", sql.bind(value.clone())));
        }
    }
    if let Some(status) = filter.status {
        conditions.push(format!("t.status = {}", sql.bind(status.as_str().to_owned())));
    }
    if let Some(since) = filter.since {
        conditions.push(format!("t.start_time >= {}", sql.bind_time(since)));
    }
    if let Some(until) = filter.until {
        conditions.push(format!("t.start_time < {}", sql.bind_time(until)));
    }
    if let Some(min_duration_ms) = filter.min_duration_ms {
        conditions.push(format!("t.duration_ms >= {}", sql.bind(min_duration_ms)));
    }
    let failed_span = "EXISTS (SELECT 1 FROM agent.spans e WHERE e.trace_id = t.trace_id AND e.status = 'error')";
    match filter.has_error {
        Some(true) => conditions.push(format!("(t.status = 'error' OR {failed_span})")),
        Some(false) => conditions.push(format!("(t.status <> 'error' AND NOT {failed_span})")),
        None => {}
    }
    if let Some(model) = &filter.model {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM agent.spans m WHERE m.trace_id = t.trace_id AND m.model = {})",
            sql.bind(model.clone())
        ));
    }
    if let Some(tag) = &filter.tag {
        conditions
            .push(format!("EXISTS (SELECT 1 FROM json_each(t.tags) tag WHERE tag.value = {})", sql.bind(tag.clone())));
    }
    for (key, value) in &filter.metadata {
        let wanted = MetadataMatch::new(key, value);
        let key = sql.bind(wanted.key);
        let text = sql.bind(wanted.text);
        let number = sql.bind(match wanted.number {
            Some(number) => number
                .as_i64()
                .map_or_else(|| number.as_f64().map_or(SqlValue::Null, SqlValue::Real), SqlValue::Integer),
            None => SqlValue::Null,
        });
        let boolean = sql.bind(wanted.boolean.map_or(SqlValue::Null, |boolean| SqlValue::Text(boolean.to_string())));
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM json_each(t.metadata) m WHERE m.key = {key} AND ((m.type = 'text' AND m.atom = {text}) \
             OR (m.type IN ('integer', 'real') AND m.atom = {number}) OR m.type = {boolean}))"
        ));
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        let needle = sql.bind(fold_case(q));
        let text_matches = format!(
            "(agentrace_contains(t.input, {needle}) OR agentrace_contains(t.output, {needle}) \
             OR agentrace_contains(t.error, {needle}))"
        );
        if q.chars().count() >= 3 {
            // The index gives the traces holding every trigram of q (and
            // those it has not caught up with); their text says which hold
            // q itself.
            conditions.push(crate::search::candidates_sql(&sql.bind(trigram_query(q))));
        }
        // Shorter than a trigram, the text alone decides.
        conditions.push(text_matches);
    }
    conditions
}

fn trace_columns(payloads: bool) -> String {
    let columns = TRACE_COLUMNS.split(", ").map(|column| format!("t.{}", column.trim()));
    columns
        .map(|column| match column.as_str() {
            "t.input" | "t.output" if !payloads => format!("NULL AS {}", &column[2..]),
            _ => column,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn span_columns(payloads: bool) -> String {
    SPAN_COLUMNS
        .split(", ")
        .map(|column| match column.trim() {
            "input" | "output" if !payloads => format!("NULL AS {}", column.trim()),
            column => format!("s.{column}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn trace_position(sort: TraceSort, trace: &agentrace_core::StoredTrace) -> Position {
    let value = match sort {
        TraceSort::StartTimeDesc | TraceSort::StartTimeAsc => trace.start_time.map(SortValue::Time),
        TraceSort::DurationDesc | TraceSort::DurationAsc => trace.duration_ms.map(SortValue::Number),
    };
    Position { value, ids: vec![trace.trace_id.to_string()] }
}

fn trace_stats_from_row(row: &Row<'_>) -> rusqlite::Result<(String, TraceStats)> {
    Ok((
        row.get(0)?,
        TraceStats {
            total_spans: row.get(1)?,
            model_calls: row.get(2)?,
            tool_calls: row.get(3)?,
            mcp_calls: row.get(4)?,
            error_spans: row.get(5)?,
            prompt_tokens: row.get(6)?,
            completion_tokens: row.get(7)?,
            total_tokens: row.get(8)?,
            cost_usd: row.get(9)?,
        },
    ))
}

/// The traces with their statistics, in the order given.
fn summaries(
    connection: &Connection,
    traces: Vec<agentrace_core::StoredTrace>,
) -> Result<Vec<TraceSummary>, StoreError> {
    let ids = json_list(traces.iter().map(|trace| trace.trace_id.as_str()));
    let mut statement = connection.prepare_cached(include_str!("queries/trace_stats_of.sql")).map_err(store_error)?;
    let mut stats: HashMap<String, TraceStats> = statement
        .query_map([ids], trace_stats_from_row)
        .and_then(Iterator::collect::<rusqlite::Result<_>>)
        .map_err(store_error)?;
    Ok(traces
        .into_iter()
        .map(|trace| {
            let stats = stats.remove(trace.trace_id.as_str()).unwrap_or_default();
            TraceSummary { trace, stats }
        })
        .collect())
}

fn list_traces(
    connection: &Connection,
    filter: &TraceFilter,
    sort: TraceSort,
    page: &PageRequest,
    payloads: bool,
) -> Result<Page<TraceSummary>, StoreError> {
    let limit = keyset::page_limit(page)?;
    let listing = Listing::Traces(sort);
    let value = match sort {
        TraceSort::StartTimeDesc | TraceSort::StartTimeAsc => "t.start_time",
        TraceSort::DurationDesc | TraceSort::DurationAsc => "t.duration_ms",
    };
    let rows = keyset::read_segments(keyset::start_position(listing, page)?, limit, |segment, wanted| {
        let mut sql = Sql::default();
        let mut conditions = trace_conditions(&mut sql, filter);
        let (condition, order) = keyset::segment_sql(&mut sql, segment, value, &["t.trace_id"], listing.ascending());
        conditions.push(condition);
        sql.text = format!(
            "SELECT {} FROM agent.traces t {} ORDER BY {order} LIMIT {}",
            trace_columns(payloads),
            where_clause(&conditions),
            sql.bind(wanted as i64)
        );
        sql.query(connection, |row| trace_from_row(row).map(|(trace, _)| trace))
    })?;
    let page = keyset::finish_page(rows, limit, listing, |trace| trace_position(sort, trace));
    Ok(Page { items: summaries(connection, page.items)?, next_cursor: page.next_cursor })
}

fn list_spans(
    connection: &Connection,
    filter: &SpanFilter,
    page: &PageRequest,
    payloads: bool,
) -> Result<Page<StoredSpan>, StoreError> {
    let limit = keyset::page_limit(page)?;
    let rows = keyset::read_segments(keyset::start_position(Listing::Spans, page)?, limit, |segment, wanted| {
        let mut sql = Sql::default();
        let mut conditions = Vec::new();
        if let Some(trace_id) = &filter.trace_id {
            conditions.push(format!("s.trace_id = {}", sql.bind(trace_id.to_string())));
        }
        if let Some(span_type) = filter.span_type {
            conditions.push(format!("s.span_type = {}", sql.bind(span_type.as_str().to_owned())));
        }
        for (column, value) in [("s.model", &filter.model), ("s.provider", &filter.provider)] {
            if let Some(value) = value {
                conditions.push(format!("{column} = {}", sql.bind(value.clone())));
            }
        }
        if let Some(status) = filter.status {
            conditions.push(format!("s.status = {}", sql.bind(status.as_str().to_owned())));
        }
        if let Some(since) = filter.since {
            conditions.push(format!("s.start_time >= {}", sql.bind_time(since)));
        }
        if let Some(until) = filter.until {
            conditions.push(format!("s.start_time < {}", sql.bind_time(until)));
        }
        let (condition, order) =
            keyset::segment_sql(&mut sql, segment, "s.start_time", &["s.trace_id", "s.span_id"], false);
        conditions.push(condition);
        sql.text = format!(
            "SELECT {} FROM agent.spans s {} ORDER BY {order} LIMIT {}",
            span_columns(payloads),
            where_clause(&conditions),
            sql.bind(wanted as i64)
        );
        sql.query(connection, span_from_row)
    })?;
    Ok(keyset::finish_page(rows, limit, Listing::Spans, |span| Position {
        value: span.span.start_time.map(SortValue::Time),
        ids: vec![span.span.trace_id.to_string(), span.span.span_id.to_string()],
    }))
}

/// The summaries of `session_ids`, in that order (unknown ones left out).
fn session_summaries(connection: &Connection, session_ids: &[String]) -> Result<Vec<SessionSummary>, StoreError> {
    let ids = json_list(session_ids.iter().map(String::as_str));
    let mut summaries: HashMap<String, SessionSummary> = connection
        .prepare_cached(include_str!("queries/session_summaries.sql"))
        .and_then(|mut statement| {
            statement
                .query_map([&ids], |row| {
                    let session_id: String = row.get(0)?;
                    Ok((
                        session_id.clone(),
                        SessionSummary {
                            session_id,
                            trace_count: row.get(1)?,
                            first_time: parse_time(row.get(2)?),
                            last_time: parse_time(row.get(3)?),
                            error_count: row.get(4)?,
                            project: row.get(5)?,
                            user_id: row.get(6)?,
                            prompt_tokens: 0,
                            completion_tokens: 0,
                            total_tokens: 0,
                            cost_usd: None,
                        },
                    ))
                })
                .and_then(Iterator::collect::<rusqlite::Result<_>>)
        })
        .map_err(store_error)?;
    let usage = format!(
        "SELECT t.session_id, {} FROM agent.traces t JOIN agent.spans s ON s.trace_id = t.trace_id \
         WHERE t.session_id IN (SELECT value FROM json_each(?1)) AND {BILLED} GROUP BY t.session_id",
        usage_aggregates()
    );
    let mut statement = connection.prepare_cached(&usage).map_err(store_error)?;
    let mut rows = statement.query([&ids]).map_err(store_error)?;
    while let Some(row) = rows.next().map_err(store_error)? {
        let session_id: String = row.get(0).map_err(store_error)?;
        if let Some(summary) = summaries.get_mut(&session_id) {
            summary.prompt_tokens = row.get(1).map_err(store_error)?;
            summary.completion_tokens = row.get(2).map_err(store_error)?;
            summary.total_tokens = row.get(3).map_err(store_error)?;
            summary.cost_usd = row.get(4).map_err(store_error)?;
        }
    }
    Ok(session_ids.iter().filter_map(|id| summaries.remove(id)).collect())
}

fn list_sessions(
    connection: &Connection,
    filter: &SessionFilter,
    page: &PageRequest,
) -> Result<Page<SessionSummary>, StoreError> {
    let limit = keyset::page_limit(page)?;
    let rows = keyset::read_segments(keyset::start_position(Listing::Sessions, page)?, limit, |segment, wanted| {
        let mut sql = Sql::default();
        let mut matching = Vec::new();
        for (column, value) in [("t.project", &filter.project), ("t.user_id", &filter.user_id)] {
            if let Some(value) = value {
                matching.push(format!("{column} = {}", sql.bind(value.clone())));
            }
        }
        if let Some(since) = filter.since {
            matching.push(format!("t.start_time >= {}", sql.bind_time(since)));
        }
        if let Some(until) = filter.until {
            matching.push(format!("t.start_time < {}", sql.bind_time(until)));
        }
        let chosen = if matching.is_empty() {
            String::new()
        } else {
            format!("WHERE x.session_id IN (SELECT t.session_id FROM agent.traces t {})", where_clause(&matching))
        };
        let (having, order) = keyset::segment_sql(&mut sql, segment, "max(x.start_time)", &["x.session_id"], false);
        sql.text = format!(
            "SELECT x.session_id, max(x.start_time) FROM agent.traces x {chosen} GROUP BY x.session_id \
             HAVING {having} ORDER BY {order} LIMIT {}",
            sql.bind(wanted as i64)
        );
        sql.query(connection, |row| Ok((row.get::<_, String>(0)?, parse_time(row.get(1)?))))
    })?;
    let page = keyset::finish_page(rows, limit, Listing::Sessions, |(session_id, last_time)| Position {
        value: last_time.map(SortValue::Time),
        ids: vec![session_id.clone()],
    });
    let session_ids: Vec<String> = page.items.into_iter().map(|(session_id, _)| session_id).collect();
    Ok(Page { items: session_summaries(connection, &session_ids)?, next_cursor: page.next_cursor })
}

fn session(connection: &Connection, session_id: &str) -> Result<Option<SessionDetail>, StoreError> {
    let Some(session) = session_summaries(connection, &[session_id.to_owned()])?.pop() else {
        return Ok(None);
    };
    let mut sql = Sql::default();
    let placeholder = sql.bind(session_id.to_owned());
    sql.text = format!(
        "SELECT {} FROM agent.traces t WHERE t.session_id = {placeholder} \
         ORDER BY t.start_time IS NULL, t.start_time, t.trace_id",
        trace_columns(true)
    );
    let traces = sql.query(connection, |row| trace_from_row(row).map(|(trace, _)| trace))?;
    Ok(Some(SessionDetail { session, turns: summaries(connection, traces)? }))
}

fn list_projects(connection: &Connection) -> Result<Vec<ProjectSummary>, StoreError> {
    let mut projects: HashMap<String, ProjectSummary> = connection
        .prepare_cached(include_str!("queries/projects.sql"))
        .and_then(|mut statement| {
            statement
                .query_map([], |row| {
                    let project: String = row.get(0)?;
                    Ok((
                        project.clone(),
                        ProjectSummary {
                            project,
                            trace_count: row.get(1)?,
                            last_activity: parse_time(row.get(2)?),
                            prompt_tokens: 0,
                            completion_tokens: 0,
                            total_tokens: 0,
                            cost_usd: None,
                        },
                    ))
                })
                .and_then(Iterator::collect::<rusqlite::Result<_>>)
        })
        .map_err(store_error)?;
    let usage = format!(
        "SELECT t.project, {} FROM agent.traces t JOIN agent.spans s ON s.trace_id = t.trace_id \
         WHERE {BILLED} GROUP BY t.project",
        usage_aggregates()
    );
    let mut statement = connection.prepare_cached(&usage).map_err(store_error)?;
    let mut rows = statement.query([]).map_err(store_error)?;
    while let Some(row) = rows.next().map_err(store_error)? {
        let project: String = row.get(0).map_err(store_error)?;
        if let Some(summary) = projects.get_mut(&project) {
            summary.prompt_tokens = row.get(1).map_err(store_error)?;
            summary.completion_tokens = row.get(2).map_err(store_error)?;
            summary.total_tokens = row.get(3).map_err(store_error)?;
            summary.cost_usd = row.get(4).map_err(store_error)?;
        }
    }
    let mut projects: Vec<ProjectSummary> = projects.into_values().collect();
    agentrace_store::query::order_projects(&mut projects);
    Ok(projects)
}

/// The group key of a statistics row, over spans `s` and their traces `t`
/// (span level) or traces `t` (trace level).
fn group_key(group_by: StatsGroupBy, time: &str) -> String {
    match group_by {
        StatsGroupBy::None => "NULL".into(),
        StatsGroupBy::Model => "s.model".into(),
        StatsGroupBy::SpanType => "s.span_type".into(),
        StatsGroupBy::Project => "t.project".into(),
        // Stored times are fixed-width text: the bucket is a prefix.
        StatsGroupBy::Hour => format!("substr({time}, 1, 13) || ':00:00Z'"),
        StatsGroupBy::Day => format!("substr({time}, 1, 10) || 'T00:00:00Z'"),
    }
}

fn stats_group_from_row(row: &Row<'_>) -> rusqlite::Result<StatsGroup> {
    let percentiles: Option<String> = row.get(3)?;
    let percentiles: [Option<f64>; 3] =
        percentiles.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or([None, None, None]);
    Ok(StatsGroup::new(
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        percentiles,
        [row.get(4)?, row.get(5)?, row.get(6)?],
        row.get(7)?,
        row.get(8)?,
    ))
}

fn stats(connection: &Connection, query: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError> {
    check_stats_query(query)?;
    let mut sql = Sql::default();
    let time = match query.level {
        StatsLevel::Span => "s.start_time",
        StatsLevel::Trace => "t.start_time",
    };
    let mut conditions = Vec::new();
    if let Some(since) = query.since {
        conditions.push(format!("{time} >= {}", sql.bind_time(since)));
    }
    if let Some(until) = query.until {
        conditions.push(format!("{time} < {}", sql.bind_time(until)));
    }
    if matches!(query.group_by, StatsGroupBy::Hour | StatsGroupBy::Day) {
        conditions.push(format!("{time} IS NOT NULL"));
    }
    for (column, value) in [("t.project", &query.project), ("t.session_id", &query.session_id)] {
        if let Some(value) = value {
            conditions.push(format!("{column} = {}", sql.bind(value.clone())));
        }
    }
    let key = group_key(query.group_by, time);
    sql.text = match query.level {
        StatsLevel::Span => {
            if let Some(model) = &query.model {
                conditions.push(format!("s.model = {}", sql.bind(model.clone())));
            }
            if let Some(span_type) = query.span_type {
                conditions.push(format!("s.span_type = {}", sql.bind(span_type.as_str().to_owned())));
            }
            let needs_trace =
                query.project.is_some() || query.session_id.is_some() || query.group_by == StatsGroupBy::Project;
            let join = if needs_trace { "JOIN agent.traces t ON t.trace_id = s.trace_id" } else { "" };
            format!(
                "SELECT {key}, count(*), count(*) FILTER (WHERE s.status = 'error'), \
                 agentrace_percentiles(s.duration_ms), {} FROM agent.spans s {join} {} GROUP BY 1",
                usage_aggregates(),
                where_clause(&conditions)
            )
        }
        StatsLevel::Trace => {
            if let Some(model) = &query.model {
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM agent.spans m WHERE m.trace_id = t.trace_id AND m.model = {})",
                    sql.bind(model.clone())
                ));
            }
            if let Some(span_type) = query.span_type {
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM agent.spans m WHERE m.trace_id = t.trace_id AND m.span_type = {})",
                    sql.bind(span_type.as_str().to_owned())
                ));
            }
            format!(
                "WITH selected AS (SELECT t.trace_id, {key} AS key, t.status, t.duration_ms FROM agent.traces t {}), \
                 usage AS (SELECT s.trace_id, {} FROM agent.spans s JOIN selected ON selected.trace_id = s.trace_id \
                           WHERE {BILLED} GROUP BY s.trace_id) \
                 SELECT selected.key, count(*), count(*) FILTER (WHERE selected.status = 'error'), \
                        agentrace_percentiles(selected.duration_ms), \
                        coalesce(sum(usage.prompt), 0), coalesce(sum(usage.completion), 0), \
                        coalesce(sum(usage.total), 0), sum(usage.cost), coalesce(sum(usage.unpriced), 0) \
                 FROM selected LEFT JOIN usage ON usage.trace_id = selected.trace_id GROUP BY selected.key",
                where_clause(&conditions),
                usage_aggregates()
            )
        }
    };
    let mut groups = sql.query(connection, stats_group_from_row)?;
    order_groups(query.group_by, &mut groups);
    Ok(groups)
}

/// Deletes the traces `ids` names (a JSON array) with everything of theirs;
/// how many traces were deleted.
fn delete_traces(connection: &Connection, ids: &str) -> Result<u64, StoreError> {
    connection.execute(include_str!("queries/delete_feedback_of_traces.sql"), [ids]).map_err(store_error)?;
    // Spans and attachments go with their trace (ON DELETE CASCADE).
    let deleted = connection
        .execute("DELETE FROM agent.traces WHERE trace_id IN (SELECT value FROM json_each(?1))", [ids])
        .map_err(store_error)?;
    Ok(deleted as u64)
}

fn delete_traces_before(connection: &mut Connection, cutoff: Timestamp, limit: usize) -> Result<u64, StoreError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(store_error)?;
    let ids: Vec<String> = {
        let mut statement =
            transaction.prepare_cached(include_str!("queries/traces_before.sql")).map_err(store_error)?;
        statement
            .query_map(rusqlite::params![to_fixed_text(cutoff), limit as i64], |row| row.get(0))
            .and_then(Iterator::collect::<rusqlite::Result<_>>)
            .map_err(store_error)?
    };
    let deleted = delete_traces(&transaction, &json_list(ids.iter().map(String::as_str)))?;
    transaction.commit().map_err(store_error)?;
    Ok(deleted)
}

#[async_trait]
impl TraceQueries for SqliteStore {
    async fn list_traces(
        &self,
        filter: &TraceFilter,
        sort: TraceSort,
        page: &PageRequest,
        payloads: bool,
    ) -> Result<Page<TraceSummary>, StoreError> {
        let (filter, page) = (filter.clone(), page.clone());
        self.with_reader(move |connection| list_traces(connection, &filter, sort, &page, payloads)).await
    }

    async fn list_spans(
        &self,
        filter: &SpanFilter,
        page: &PageRequest,
        payloads: bool,
    ) -> Result<Page<StoredSpan>, StoreError> {
        let (filter, page) = (filter.clone(), page.clone());
        self.with_reader(move |connection| list_spans(connection, &filter, &page, payloads)).await
    }

    async fn list_sessions(
        &self,
        filter: &SessionFilter,
        page: &PageRequest,
    ) -> Result<Page<SessionSummary>, StoreError> {
        let (filter, page) = (filter.clone(), page.clone());
        self.with_reader(move |connection| list_sessions(connection, &filter, &page)).await
    }

    async fn session(&self, session_id: &str) -> Result<Option<SessionDetail>, StoreError> {
        let session_id = session_id.to_owned();
        self.with_reader(move |connection| session(connection, &session_id)).await
    }

    async fn list_projects(&self) -> Result<Vec<ProjectSummary>, StoreError> {
        self.with_reader(list_projects).await
    }

    async fn stats(&self, query: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError> {
        check_stats_query(query)?;
        let query = query.clone();
        self.with_reader(move |connection| {
            if let Some(groups) = crate::rollup::rollup_stats(connection, &query)? {
                return Ok(groups);
            }
            stats(connection, &query)
        })
        .await
    }

    async fn delete_trace(&self, trace_id: &TraceId) -> Result<bool, StoreError> {
        let ids = json_list([trace_id.as_str()]);
        self.with_writer(move |connection| {
            let transaction =
                connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(store_error)?;
            let deleted = delete_traces(&transaction, &ids)?;
            transaction.commit().map_err(store_error)?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn delete_traces_before(&self, cutoff: Timestamp, limit: usize) -> Result<u64, StoreError> {
        if limit == 0 {
            return Ok(0);
        }
        self.with_writer(move |connection| delete_traces_before(connection, cutoff, limit)).await
    }

    async fn refresh_rollups(&self, max_minutes: usize, quiet_for: std::time::Duration) -> Result<usize, StoreError> {
        if max_minutes == 0 {
            return Ok(0);
        }
        self.with_writer(move |connection| crate::rollup::refresh_rollups(connection, max_minutes, quiet_for)).await
    }

    async fn rollup_backlog(&self) -> Result<u64, StoreError> {
        self.with_reader(crate::rollup::rollup_backlog).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_folds_the_case_of_all_of_unicode() {
        assert!(contains_folded("Weather in PARIS", "in paris"));
        assert!(contains_folded("ÉTÉ À PARIS", &fold_case("été à")));
        assert!(contains_folded("{\"q\":\"Straße\"}", &fold_case("STRASSE").replace("ss", "ß")));
        assert!(!contains_folded("weather", "weathers"));
        assert!(!contains_folded("100 apples", "100%"));
    }

    #[test]
    fn the_trigram_query_quotes_each_distinct_trigram() {
        assert_eq!(trigram_query("Paris"), r#""Par" AND "ari" AND "ris""#);
        assert_eq!(trigram_query("aaaa"), r#""aaa""#);
        assert_eq!(trigram_query(r#"a"b""#), r#""a""b" AND """b""""#);
        let long = "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz";
        assert_eq!(trigram_query(long).matches(" AND ").count(), MAX_SEARCH_TRIGRAMS - 1);
    }
}
