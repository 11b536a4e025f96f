//! The read side on PostgreSQL: [`TraceQueries`] for [`PostgresStore`].
//!
//! Reads use the pooled connections. Filters become one SQL text per
//! request, built here from the query objects with every value bound as a
//! parameter (and planned for those values: no generic plan is cached for
//! shapes whose best plan depends on how selective a value is); the fixed
//! queries live in `queries/`. The rules (keyset pages, what each filter
//! means, the order of groups) are `agentrace_store::query`'s, shared with
//! SQLite: only the dialect differs.
//!
//! Text comparisons that order rows use `COLLATE "C"`, byte order, which is
//! what SQLite compares by; the indexes of migration 006 are built to match.

use std::collections::HashMap;

use agentrace_core::time::Timestamp;
use agentrace_core::{StoredSpan, StoredTrace, TraceId};
use agentrace_store::query::keyset::{self, Listing, Position, Segment, SortValue};
use agentrace_store::query::{
    check_stats_query, order_groups, order_projects, MetadataMatch, Page, PageRequest, ProjectSummary, SessionDetail,
    SessionFilter, SessionSummary, SpanFilter, StatsGroup, StatsGroupBy, StatsLevel, StatsQuery, TraceFilter,
    TraceQueries, TraceSort, TraceSummary, STATS_PERCENTILES,
};
use agentrace_store::{StoreError, TraceStats};
use async_trait::async_trait;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use crate::store::{span_from_row, store_error, trace_from_row};
use crate::PostgresStore;

type Param = Box<dyn ToSql + Sync + Send>;

/// One SQL text and the values bound to its `$N` parameters.
#[derive(Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) params: Vec<Param>,
}

impl Sql {
    /// Binds `value` and returns its placeholder.
    pub(crate) fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }

    pub(crate) async fn query(&self, client: &impl GenericClient) -> Result<Vec<Row>, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> = self.params.iter().map(|param| param.as_ref() as _).collect();
        client.query(&self.text, &params).await.map_err(store_error)
    }
}

impl keyset::Bind for Sql {
    fn bind_time(&mut self, time: Timestamp) -> String {
        self.bind(time)
    }

    fn bind_number(&mut self, number: i64) -> String {
        self.bind(number)
    }

    fn bind_text(&mut self, text: &str) -> String {
        self.bind(text.to_owned())
    }
}

/// Spans whose tokens and cost count (see `agent.trace_stats`).
pub(crate) const BILLED: &str = "s.span_type IN ('model_call', 'embedding')";

/// A token count of `s.tokens_used`, when it is a JSON number
/// (`agent.token_count`, migration 014).
pub(crate) fn token(key: &str) -> String {
    format!("agent.token_count(s.tokens_used, '{key}')")
}

/// Prompt, completion and total tokens, cost and unpriced count of the
/// billed spans `s` of a group, with these names.
fn usage_aggregates() -> String {
    let (prompt, completion, total) = (token("prompt"), token("completion"), token("total"));
    [
        format!("coalesce(sum({prompt}) FILTER (WHERE {BILLED}), 0)::int8 AS prompt"),
        format!("coalesce(sum({completion}) FILTER (WHERE {BILLED}), 0)::int8 AS completion"),
        format!(
            "coalesce(sum(coalesce({total}, coalesce({prompt}, 0) + coalesce({completion}, 0))) \
             FILTER (WHERE {BILLED}), 0)::int8 AS total"
        ),
        format!("(sum(s.cost_usd) FILTER (WHERE {BILLED}))::float8 AS cost"),
        format!(
            "(count(*) FILTER (WHERE {BILLED} AND s.model IS NOT NULL AND s.tokens_used IS NOT NULL \
             AND s.cost_usd IS NULL))::int8 AS unpriced"
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
        conditions.push(format!("t.status = {}", sql.bind(status.as_str())));
    }
    if let Some(since) = filter.since {
        conditions.push(format!("t.start_time >= {}", sql.bind(since)));
    }
    if let Some(until) = filter.until {
        conditions.push(format!("t.start_time < {}", sql.bind(until)));
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
        conditions.push(format!("t.tags @> ARRAY[{}::text]", sql.bind(tag.clone())));
    }
    for (key, value) in &filter.metadata {
        let wanted = MetadataMatch::new(key, value);
        // Containment, which traces_metadata_idx serves. Below the top level
        // it matches structure exactly: {"k": ["v"]} does not contain {"k": "v"}.
        let mut candidates = vec![serde_json::Value::from(wanted.text)];
        candidates.extend(wanted.number.map(serde_json::Value::Number));
        candidates.extend(wanted.boolean.map(serde_json::Value::Bool));
        let contains: Vec<String> = candidates
            .into_iter()
            .map(|candidate| {
                let object = serde_json::Value::Object([(wanted.key.clone(), candidate)].into_iter().collect());
                format!("t.metadata @> {}", sql.bind(object))
            })
            .collect();
        conditions.push(format!("({})", contains.join(" OR ")));
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        // The very expression traces_search_idx indexes.
        conditions.push(format!("agent.trace_search_text(t.input, t.output, t.error) ILIKE {}", sql.bind(pattern)));
    }
    conditions
}

const TRACE_COLUMNS: [&str; 15] = [
    "trace_id",
    "session_id",
    "user_id",
    "project",
    "name",
    "start_time",
    "end_time",
    "duration_ms",
    "input",
    "output",
    "status",
    "error",
    "metadata",
    "tags",
    "sent_fields",
];

const SPAN_COLUMNS: [&str; 18] = [
    "trace_id",
    "span_id",
    "parent_span_id",
    "span_type",
    "name",
    "start_time",
    "end_time",
    "duration_ms",
    "input",
    "output",
    "model",
    "provider",
    "tokens_used",
    "cost_usd",
    "status",
    "error",
    "metadata",
    "events",
];

/// The column list `alias.column, …` in the order the row readers expect;
/// input and output left out (as NULL) unless `payloads`.
fn columns(names: &[&str], alias: &str, payloads: bool) -> String {
    names
        .iter()
        .map(|&name| match name {
            // Not even read from the table: large payloads live out of line.
            "input" | "output" if !payloads => format!("NULL::jsonb AS {name}"),
            "cost_usd" => format!("{alias}.cost_usd::float8"),
            _ => format!("{alias}.{name}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn trace_position(sort: TraceSort, trace: &StoredTrace) -> Position {
    let value = match sort {
        TraceSort::StartTimeDesc | TraceSort::StartTimeAsc => trace.start_time.map(SortValue::Time),
        TraceSort::DurationDesc | TraceSort::DurationAsc => trace.duration_ms.map(SortValue::Number),
    };
    Position { value, ids: vec![trace.trace_id.to_string()] }
}

/// The traces with their statistics, in the order given.
async fn summaries(client: &impl GenericClient, traces: Vec<StoredTrace>) -> Result<Vec<TraceSummary>, StoreError> {
    let ids: Vec<&str> = traces.iter().map(|trace| trace.trace_id.as_str()).collect();
    let rows = client.query(include_str!("queries/trace_stats_of.sql"), &[&ids]).await.map_err(store_error)?;
    let mut stats: HashMap<String, TraceStats> = rows
        .iter()
        .map(|row| {
            let stats = TraceStats {
                total_spans: row.get(1),
                model_calls: row.get(2),
                tool_calls: row.get(3),
                mcp_calls: row.get(4),
                error_spans: row.get(5),
                prompt_tokens: row.get(6),
                completion_tokens: row.get(7),
                total_tokens: row.get(8),
                cost_usd: row.get(9),
            };
            (row.get(0), stats)
        })
        .collect();
    Ok(traces
        .into_iter()
        .map(|trace| {
            let stats = stats.remove(trace.trace_id.as_str()).unwrap_or_default();
            TraceSummary { trace, stats }
        })
        .collect())
}

fn traces_from_rows(rows: &[Row]) -> Result<Vec<StoredTrace>, StoreError> {
    rows.iter().map(|row| trace_from_row(row).map(|(trace, _)| trace)).collect()
}

/// The query reading one segment of a trace listing, `wanted` rows at most.
fn trace_segment_sql(filter: &TraceFilter, sort: TraceSort, segment: &Segment, payloads: bool, wanted: usize) -> Sql {
    let value = match sort {
        TraceSort::StartTimeDesc | TraceSort::StartTimeAsc => "t.start_time",
        TraceSort::DurationDesc | TraceSort::DurationAsc => "t.duration_ms",
    };
    let mut sql = Sql::default();
    let mut conditions = trace_conditions(&mut sql, filter);
    let ascending = Listing::Traces(sort).ascending();
    let (condition, order) = keyset::segment_sql(&mut sql, segment, value, &["t.trace_id COLLATE \"C\""], ascending);
    conditions.push(condition);
    sql.text = format!(
        "SELECT {} FROM agent.traces t {} ORDER BY {order} LIMIT {}",
        columns(&TRACE_COLUMNS, "t", payloads),
        where_clause(&conditions),
        sql.bind(wanted as i64)
    );
    sql
}

async fn list_traces(
    client: &impl GenericClient,
    filter: &TraceFilter,
    sort: TraceSort,
    page: &PageRequest,
    payloads: bool,
) -> Result<Page<TraceSummary>, StoreError> {
    let limit = keyset::page_limit(page)?;
    let listing = Listing::Traces(sort);
    let mut rows = Vec::new();
    for segment in keyset::segments(keyset::start_position(listing, page)?) {
        let sql = trace_segment_sql(filter, sort, &segment, payloads, limit + 1 - rows.len());
        rows.extend(traces_from_rows(&sql.query(client).await?)?);
        if rows.len() > limit {
            break;
        }
    }
    let page = keyset::finish_page(rows, limit, listing, |trace| trace_position(sort, trace));
    Ok(Page { items: summaries(client, page.items).await?, next_cursor: page.next_cursor })
}

async fn list_spans(
    client: &impl GenericClient,
    filter: &SpanFilter,
    page: &PageRequest,
    payloads: bool,
) -> Result<Page<StoredSpan>, StoreError> {
    let limit = keyset::page_limit(page)?;
    let mut rows = Vec::new();
    for segment in keyset::segments(keyset::start_position(Listing::Spans, page)?) {
        let mut sql = Sql::default();
        let mut conditions = Vec::new();
        if let Some(trace_id) = &filter.trace_id {
            conditions.push(format!("s.trace_id = {}", sql.bind(trace_id.to_string())));
        }
        if let Some(span_type) = filter.span_type {
            conditions.push(format!("s.span_type = {}", sql.bind(span_type.as_str())));
        }
        for (column, value) in [("s.model", &filter.model), ("s.provider", &filter.provider)] {
            if let Some(value) = value {
                conditions.push(format!("{column} = {}", sql.bind(value.clone())));
            }
        }
        if let Some(status) = filter.status {
            conditions.push(format!("s.status = {}", sql.bind(status.as_str())));
        }
        if let Some(since) = filter.since {
            conditions.push(format!("s.start_time >= {}", sql.bind(since)));
        }
        if let Some(until) = filter.until {
            conditions.push(format!("s.start_time < {}", sql.bind(until)));
        }
        let ids = ["s.trace_id COLLATE \"C\"", "s.span_id COLLATE \"C\""];
        let (condition, order) = keyset::segment_sql(&mut sql, &segment, "s.start_time", &ids, false);
        conditions.push(condition);
        let wanted = (limit + 1 - rows.len()) as i64;
        sql.text = format!(
            "SELECT {} FROM agent.spans s {} ORDER BY {order} LIMIT {}",
            columns(&SPAN_COLUMNS, "s", payloads),
            where_clause(&conditions),
            sql.bind(wanted)
        );
        for row in sql.query(client).await? {
            rows.push(span_from_row(&row)?);
        }
        if rows.len() > limit {
            break;
        }
    }
    Ok(keyset::finish_page(rows, limit, Listing::Spans, |span| Position {
        value: span.span.start_time.map(SortValue::Time),
        ids: vec![span.span.trace_id.to_string(), span.span.span_id.to_string()],
    }))
}

/// The summaries of `session_ids`, in that order (unknown ones left out).
async fn session_summaries(
    client: &impl GenericClient,
    session_ids: &[String],
) -> Result<Vec<SessionSummary>, StoreError> {
    let rows =
        client.query(include_str!("queries/session_summaries.sql"), &[&session_ids]).await.map_err(store_error)?;
    let mut summaries: HashMap<String, SessionSummary> = rows
        .iter()
        .map(|row| {
            let summary = SessionSummary {
                session_id: row.get(0),
                trace_count: row.get(1),
                first_time: row.get(2),
                last_time: row.get(3),
                error_count: row.get(4),
                project: row.get(5),
                user_id: row.get(6),
                prompt_tokens: 0,
                completion_tokens: 0,
                total_tokens: 0,
                cost_usd: None,
            };
            (summary.session_id.clone(), summary)
        })
        .collect();
    let usage = format!(
        "SELECT t.session_id, {} FROM agent.traces t JOIN agent.spans s ON s.trace_id = t.trace_id \
         WHERE t.session_id = ANY($1::text[]) AND {BILLED} GROUP BY t.session_id",
        usage_aggregates()
    );
    for row in client.query(&usage, &[&session_ids]).await.map_err(store_error)? {
        if let Some(summary) = summaries.get_mut(row.get::<_, &str>(0)) {
            summary.prompt_tokens = row.get(1);
            summary.completion_tokens = row.get(2);
            summary.total_tokens = row.get(3);
            summary.cost_usd = row.get(4);
        }
    }
    Ok(session_ids.iter().filter_map(|id| summaries.remove(id)).collect())
}

async fn list_sessions(
    client: &impl GenericClient,
    filter: &SessionFilter,
    page: &PageRequest,
) -> Result<Page<SessionSummary>, StoreError> {
    let limit = keyset::page_limit(page)?;
    let mut rows: Vec<(String, Option<Timestamp>)> = Vec::new();
    for segment in keyset::segments(keyset::start_position(Listing::Sessions, page)?) {
        let mut sql = Sql::default();
        let mut matching = Vec::new();
        for (column, value) in [("t.project", &filter.project), ("t.user_id", &filter.user_id)] {
            if let Some(value) = value {
                matching.push(format!("{column} = {}", sql.bind(value.clone())));
            }
        }
        if let Some(since) = filter.since {
            matching.push(format!("t.start_time >= {}", sql.bind(since)));
        }
        if let Some(until) = filter.until {
            matching.push(format!("t.start_time < {}", sql.bind(until)));
        }
        let chosen = if matching.is_empty() {
            String::new()
        } else {
            format!("WHERE x.session_id IN (SELECT t.session_id FROM agent.traces t {})", where_clause(&matching))
        };
        let (having, order) =
            keyset::segment_sql(&mut sql, &segment, "max(x.start_time)", &["x.session_id COLLATE \"C\""], false);
        let wanted = (limit + 1 - rows.len()) as i64;
        sql.text = format!(
            "SELECT x.session_id, max(x.start_time) FROM agent.traces x {chosen} GROUP BY x.session_id \
             HAVING {having} ORDER BY {order} LIMIT {}",
            sql.bind(wanted)
        );
        rows.extend(sql.query(client).await?.iter().map(|row| (row.get(0), row.get(1))));
        if rows.len() > limit {
            break;
        }
    }
    let page = keyset::finish_page(rows, limit, Listing::Sessions, |(session_id, last_time)| Position {
        value: last_time.map(SortValue::Time),
        ids: vec![session_id.clone()],
    });
    let session_ids: Vec<String> = page.items.into_iter().map(|(session_id, _)| session_id).collect();
    Ok(Page { items: session_summaries(client, &session_ids).await?, next_cursor: page.next_cursor })
}

async fn session(client: &impl GenericClient, session_id: &str) -> Result<Option<SessionDetail>, StoreError> {
    let Some(session) = session_summaries(client, &[session_id.to_owned()]).await?.pop() else {
        return Ok(None);
    };
    let text = format!(
        "SELECT {} FROM agent.traces t WHERE t.session_id = $1 \
         ORDER BY t.start_time NULLS LAST, t.trace_id COLLATE \"C\"",
        columns(&TRACE_COLUMNS, "t", true)
    );
    let rows = client.query(&text, &[&session_id]).await.map_err(store_error)?;
    let turns = summaries(client, traces_from_rows(&rows)?).await?;
    Ok(Some(SessionDetail { session, turns }))
}

async fn list_projects(client: &impl GenericClient) -> Result<Vec<ProjectSummary>, StoreError> {
    let rows = client.query(include_str!("queries/projects.sql"), &[]).await.map_err(store_error)?;
    let mut projects: HashMap<String, ProjectSummary> = rows
        .iter()
        .map(|row| {
            let summary = ProjectSummary {
                project: row.get(0),
                trace_count: row.get(1),
                last_activity: row.get(2),
                prompt_tokens: 0,
                completion_tokens: 0,
                total_tokens: 0,
                cost_usd: None,
            };
            (summary.project.clone(), summary)
        })
        .collect();
    let usage = format!(
        "SELECT t.project, {} FROM agent.traces t JOIN agent.spans s ON s.trace_id = t.trace_id \
         WHERE {BILLED} GROUP BY t.project",
        usage_aggregates()
    );
    for row in client.query(&usage, &[]).await.map_err(store_error)? {
        if let Some(summary) = projects.get_mut(row.get::<_, &str>(0)) {
            summary.prompt_tokens = row.get(1);
            summary.completion_tokens = row.get(2);
            summary.total_tokens = row.get(3);
            summary.cost_usd = row.get(4);
        }
    }
    let mut projects: Vec<ProjectSummary> = projects.into_values().collect();
    order_projects(&mut projects);
    Ok(projects)
}

/// The group key of a statistics row, over spans `s` and their traces `t`
/// (span level) or traces `t` (trace level). Time buckets group by the
/// truncated timestamp and are spelled as text only once per group (see
/// [`bucket_label`]): formatting every span's bucket cost a tenth of a
/// 24-hour query over 400,000 spans.
fn group_key(group_by: StatsGroupBy, time: &str) -> String {
    let bucket = |unit: &str| format!("date_trunc('{unit}', {time} AT TIME ZONE 'UTC')");
    match group_by {
        StatsGroupBy::None => "NULL::text".into(),
        StatsGroupBy::Model => "s.model".into(),
        StatsGroupBy::SpanType => "s.span_type".into(),
        StatsGroupBy::Project => "t.project".into(),
        StatsGroupBy::Hour => bucket("hour"),
        StatsGroupBy::Day => bucket("day"),
    }
}

/// A grouped stats query whose first column is a UTC bucket start, with
/// that column spelled in RFC 3339 (`2026-03-01T10:00:00Z`).
fn bucket_label(grouped: &str) -> String {
    format!(
        "SELECT to_char(grouped.key, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), grouped.count, grouped.errors, grouped.percentiles, \
         grouped.prompt, grouped.completion, grouped.total, grouped.cost, grouped.unpriced \
         FROM ({grouped}) AS grouped (key, count, errors, percentiles, prompt, completion, total, cost, unpriced)"
    )
}

/// `percentile_cont` of each of [`STATS_PERCENTILES`] over `expression`,
/// sorted once.
fn percentiles(expression: &str) -> String {
    let fractions: Vec<String> = STATS_PERCENTILES.iter().map(f64::to_string).collect();
    format!("percentile_cont(ARRAY[{}]::float8[]) WITHIN GROUP (ORDER BY {expression})", fractions.join(", "))
}

fn stats_group_from_row(row: &Row) -> StatsGroup {
    let percentiles: Option<Vec<Option<f64>>> = row.get(3);
    let percentile = |index: usize| percentiles.as_ref().and_then(|values| values.get(index).copied().flatten());
    StatsGroup::new(
        row.get(0),
        row.get(1),
        row.get(2),
        [percentile(0), percentile(1), percentile(2)],
        [row.get(4), row.get(5), row.get(6)],
        row.get(7),
        row.get(8),
    )
}

async fn stats(client: &impl GenericClient, query: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError> {
    check_stats_query(query)?;
    let mut sql = Sql::default();
    let time = match query.level {
        StatsLevel::Span => "s.start_time",
        StatsLevel::Trace => "t.start_time",
    };
    let mut conditions = Vec::new();
    if let Some(since) = query.since {
        conditions.push(format!("{time} >= {}", sql.bind(since)));
    }
    if let Some(until) = query.until {
        conditions.push(format!("{time} < {}", sql.bind(until)));
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
                conditions.push(format!("s.span_type = {}", sql.bind(span_type.as_str())));
            }
            let needs_trace =
                query.project.is_some() || query.session_id.is_some() || query.group_by == StatsGroupBy::Project;
            let join = if needs_trace { "JOIN agent.traces t ON t.trace_id = s.trace_id" } else { "" };
            format!(
                "SELECT {key}, count(*)::int8, (count(*) FILTER (WHERE s.status = 'error'))::int8, {}, {} \
                 FROM agent.spans s {join} {} GROUP BY 1",
                percentiles("s.duration_ms"),
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
                    sql.bind(span_type.as_str())
                ));
            }
            format!(
                "WITH selected AS (SELECT t.trace_id, {key} AS key, t.status, t.duration_ms FROM agent.traces t {}), \
                 usage AS (SELECT s.trace_id, {} FROM agent.spans s JOIN selected ON selected.trace_id = s.trace_id \
                           WHERE {BILLED} GROUP BY s.trace_id) \
                 SELECT selected.key, count(*)::int8, (count(*) FILTER (WHERE selected.status = 'error'))::int8, {}, \
                        coalesce(sum(usage.prompt), 0)::int8, coalesce(sum(usage.completion), 0)::int8, \
                        coalesce(sum(usage.total), 0)::int8, sum(usage.cost)::float8, \
                        coalesce(sum(usage.unpriced), 0)::int8 \
                 FROM selected LEFT JOIN usage ON usage.trace_id = selected.trace_id GROUP BY selected.key",
                where_clause(&conditions),
                usage_aggregates(),
                percentiles("selected.duration_ms")
            )
        }
    };
    if matches!(query.group_by, StatsGroupBy::Hour | StatsGroupBy::Day) {
        sql.text = bucket_label(&sql.text);
    }
    let mut groups: Vec<StatsGroup> = sql.query(client).await?.iter().map(stats_group_from_row).collect();
    order_groups(query.group_by, &mut groups);
    Ok(groups)
}

impl PostgresStore {
    /// Deletes the traces `choose` picks inside the transaction, with
    /// everything of theirs; how many traces were deleted.
    ///
    /// Deleting a trace's row locks it, so a write merging into that trace
    /// (which locks the row before reading its stored state) either
    /// finishes first or starts over once the trace is gone.
    async fn delete_where(
        &self,
        trace_ids: Option<Vec<String>>,
        before: Option<(Timestamp, i64)>,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(store_error)?;
        let ids: Vec<String> = match (trace_ids, before) {
            (Some(ids), _) => ids,
            (None, Some((cutoff, limit))) => transaction
                .query(include_str!("queries/traces_before.sql"), &[&cutoff, &limit])
                .await
                .map_err(store_error)?
                .iter()
                .map(|row| row.get(0))
                .collect(),
            (None, None) => Vec::new(),
        };
        transaction
            .execute(include_str!("queries/delete_feedback_of_traces.sql"), &[&ids])
            .await
            .map_err(store_error)?;
        let deleted =
            transaction.execute(include_str!("queries/delete_traces.sql"), &[&ids]).await.map_err(store_error)?;
        transaction.commit().await.map_err(store_error)?;
        Ok(deleted)
    }
}

#[async_trait]
impl TraceQueries for PostgresStore {
    async fn list_traces(
        &self,
        filter: &TraceFilter,
        sort: TraceSort,
        page: &PageRequest,
        payloads: bool,
    ) -> Result<Page<TraceSummary>, StoreError> {
        list_traces(&**self.client().await?, filter, sort, page, payloads).await
    }

    async fn list_spans(
        &self,
        filter: &SpanFilter,
        page: &PageRequest,
        payloads: bool,
    ) -> Result<Page<StoredSpan>, StoreError> {
        list_spans(&**self.client().await?, filter, page, payloads).await
    }

    async fn list_sessions(
        &self,
        filter: &SessionFilter,
        page: &PageRequest,
    ) -> Result<Page<SessionSummary>, StoreError> {
        list_sessions(&**self.client().await?, filter, page).await
    }

    async fn session(&self, session_id: &str) -> Result<Option<SessionDetail>, StoreError> {
        session(&**self.client().await?, session_id).await
    }

    async fn list_projects(&self) -> Result<Vec<ProjectSummary>, StoreError> {
        list_projects(&**self.client().await?).await
    }

    async fn stats(&self, query: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError> {
        check_stats_query(query)?;
        let mut client = self.client().await?;
        if let Some(groups) = crate::rollup::rollup_stats(&mut client, query).await? {
            return Ok(groups);
        }
        stats(&**client, query).await
    }

    async fn delete_trace(&self, trace_id: &TraceId) -> Result<bool, StoreError> {
        Ok(self.delete_where(Some(vec![trace_id.to_string()]), None).await? > 0)
    }

    async fn delete_traces_before(&self, cutoff: Timestamp, limit: usize) -> Result<u64, StoreError> {
        if limit == 0 {
            return Ok(0);
        }
        self.delete_where(None, Some((cutoff, i64::try_from(limit).unwrap_or(i64::MAX)))).await
    }

    async fn refresh_rollups(&self, max_minutes: usize, quiet_for: std::time::Duration) -> Result<usize, StoreError> {
        self.refresh_rollups_now(max_minutes, quiet_for).await
    }

    async fn rollup_backlog(&self) -> Result<u64, StoreError> {
        self.rollup_backlog_now().await
    }
}

#[cfg(test)]
mod plans;
