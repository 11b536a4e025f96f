//! Statistics over more spans than the exact path serves, read through the
//! rollups ([`crate::rollup`]), checked against the same statistics worked
//! out span by span in this file: before and after the rollups are
//! refreshed, and after spans change, are deleted or change project.

use std::collections::BTreeMap;
use std::sync::Arc;

use agentrace_core::time::{parse_rfc3339, Timestamp};
use agentrace_core::{SpanPiece, SpanType, Status, TokenUsage, TracePiece};

use super::{span_id, trace_id};
use crate::query::{percentile_cont, StatsGroup, StatsGroupBy, StatsQuery, STATS_PERCENTILES};
use crate::rollup::EXACT_STATS_MAX_SPANS;
use crate::{TraceStore, WriteBatch};

const TRACES: usize = 41;
const SPANS_PER_TRACE: usize = 300;
const PROJECTS: [&str; 3] = ["p1", "p2", "p3"];

fn time(text: &str) -> Timestamp {
    parse_rfc3339(text).expect("valid time")
}

/// One span as the statistics see it.
#[derive(Debug, Clone)]
struct Fact {
    trace: String,
    span: String,
    project: Option<String>,
    span_type: SpanType,
    model: Option<String>,
    start: Timestamp,
    duration_ms: i64,
    error: bool,
    tokens: Option<(i64, i64)>,
    cost: Option<f64>,
}

impl Fact {
    fn billed(&self) -> bool {
        matches!(self.span_type, SpanType::ModelCall | SpanType::Embedding)
    }

    fn piece(&self) -> SpanPiece {
        let mut piece = SpanPiece::new(trace_id(&self.trace), span_id(&self.span));
        piece.span_type = Some(self.span_type);
        piece.name = Some(self.span.clone());
        piece.start_time = Some(self.start);
        piece.end_time = Some(self.start + chrono::Duration::milliseconds(self.duration_ms));
        piece.status = Some(if self.error { Status::Error } else { Status::Success });
        piece.model = self.model.clone();
        piece.tokens = self.tokens.map(|(prompt, completion)| TokenUsage {
            prompt: Some(prompt),
            completion: Some(completion),
            ..TokenUsage::default()
        });
        piece.cost_usd = self.cost;
        piece
    }
}

/// 41 traces of 300 spans from 08:00 to about 14:00 on 2026-03-01, over
/// three projects, four span types and two models (unknown to any price
/// table), durations spread from 0 ms to 30 s, some failed, some unpriced.
fn corpus() -> Vec<Fact> {
    let mut facts = Vec::new();
    for trace in 0..TRACES {
        let trace_start = time("2026-03-01T08:00:00Z") + chrono::Duration::seconds(trace as i64 * 523);
        for index in 0..SPANS_PER_TRACE {
            let n = trace * SPANS_PER_TRACE + index;
            let span_type = [SpanType::ModelCall, SpanType::ToolCall, SpanType::Node, SpanType::Embedding][n % 4];
            let billed = matches!(span_type, SpanType::ModelCall | SpanType::Embedding);
            facts.push(Fact {
                trace: format!("roll-{trace:03}"),
                span: format!("s{index:03}"),
                project: Some(PROJECTS[trace % 3].to_owned()),
                span_type,
                model: billed.then(|| if n.is_multiple_of(3) { "model-b" } else { "model-a" }.to_owned()),
                start: trace_start + chrono::Duration::milliseconds((index as i64 * 1_237) % 600_000),
                duration_ms: ((n as i64 * 7_919) % 30_011) / (1 + (n as i64 % 3)),
                error: n.is_multiple_of(17),
                tokens: billed.then_some((n as i64 % 500, n as i64 % 70)),
                cost: (billed && !n.is_multiple_of(5)).then(|| (n % 100) as f64 / 1_000.0),
            });
        }
    }
    facts
}

async fn write(store: &dyn TraceStore, facts: &[Fact]) {
    for chunk in facts.chunks(2_000) {
        let spans = chunk.iter().map(Fact::piece).collect();
        store.write(WriteBatch { spans, ..WriteBatch::default() }).await.unwrap();
    }
}

async fn write_traces(store: &dyn TraceStore, facts: &[Fact]) {
    let mut traces = BTreeMap::new();
    for fact in facts {
        traces.entry(fact.trace.clone()).or_insert_with(|| fact.project.clone());
    }
    let traces = traces
        .into_iter()
        .map(|(id, project)| {
            let mut piece = TracePiece::new(trace_id(&id));
            piece.project = project;
            piece
        })
        .collect();
    store.write(WriteBatch { traces, ..WriteBatch::default() }).await.unwrap();
}

/// The key of `fact` under `group_by`, as the API spells it.
fn key_of(fact: &Fact, group_by: StatsGroupBy) -> Option<String> {
    let bucket = |format: &str| Some(fact.start.format(format).to_string());
    match group_by {
        StatsGroupBy::None => None,
        StatsGroupBy::Model => fact.model.clone(),
        StatsGroupBy::SpanType => Some(fact.span_type.as_str().to_owned()),
        StatsGroupBy::Project => fact.project.clone(),
        StatsGroupBy::Hour => bucket("%Y-%m-%dT%H:00:00Z"),
        StatsGroupBy::Day => bucket("%Y-%m-%dT00:00:00Z"),
    }
}

fn matches(fact: &Fact, query: &StatsQuery) -> bool {
    query.since.is_none_or(|since| fact.start >= since)
        && query.until.is_none_or(|until| fact.start < until)
        && query.project.as_ref().is_none_or(|project| fact.project.as_ref() == Some(project))
        && query.model.as_ref().is_none_or(|model| fact.model.as_ref() == Some(model))
        && query.span_type.is_none_or(|span_type| fact.span_type == span_type)
}

/// Checks `actual` against the statistics of `facts` worked out one by
/// one: counts, errors, tokens and unpriced spans exactly, costs to the
/// rounding of a sum, percentiles exactly when the store says it read the
/// spans and within 1% when it says it estimated them, which it must do
/// exactly when the query covers more than [`EXACT_STATS_MAX_SPANS`].
fn assert_stats(context: &str, facts: &[Fact], query: &StatsQuery, actual: &[StatsGroup]) {
    let mut groups: BTreeMap<Option<String>, Vec<&Fact>> = BTreeMap::new();
    for fact in facts.iter().filter(|fact| matches(fact, query)) {
        groups.entry(key_of(fact, query.group_by)).or_default().push(fact);
    }
    let covered: usize = groups.values().map(Vec::len).sum();
    let estimated = covered as i64 > EXACT_STATS_MAX_SPANS;
    let actual_keys: BTreeMap<Option<String>, &StatsGroup> =
        actual.iter().map(|group| (group.key.clone(), group)).collect();
    assert_eq!(actual_keys.keys().collect::<Vec<_>>(), groups.keys().collect::<Vec<_>>(), "{context}: group keys");
    for (key, members) in &groups {
        let group = actual_keys[key];
        let what = format!("{context}, group {key:?}");
        let billed: Vec<&&Fact> = members.iter().filter(|fact| fact.billed()).collect();
        let prompt: i64 = billed.iter().filter_map(|fact| fact.tokens).map(|(prompt, _)| prompt).sum();
        let completion: i64 = billed.iter().filter_map(|fact| fact.tokens).map(|(_, completion)| completion).sum();
        let costs: Vec<f64> = billed.iter().filter_map(|fact| fact.cost).collect();
        let unpriced =
            billed.iter().filter(|fact| fact.model.is_some() && fact.tokens.is_some() && fact.cost.is_none());
        assert_eq!(group.count, members.len() as i64, "{what}: count");
        assert_eq!(group.error_count, members.iter().filter(|fact| fact.error).count() as i64, "{what}: errors");
        assert_eq!(
            [group.prompt_tokens, group.completion_tokens, group.total_tokens],
            [prompt, completion, prompt + completion],
            "{what}: tokens"
        );
        assert_eq!(group.unpriced_count, unpriced.count() as i64, "{what}: unpriced");
        match (group.cost_usd, costs.is_empty()) {
            (None, true) => {}
            (Some(cost), false) => {
                let expected: f64 = costs.iter().sum();
                assert!((cost - expected).abs() <= 1e-6 * expected.max(1.0), "{what}: cost {cost} vs {expected}");
            }
            (cost, _) => panic!("{what}: cost {cost:?} with {} known costs", costs.len()),
        }
        assert_eq!(group.percentiles_estimated, estimated, "{what}: covering {covered} spans");
        let mut durations: Vec<f64> = members.iter().map(|fact| fact.duration_ms as f64).collect();
        durations.sort_by(f64::total_cmp);
        let actual = [group.p50_ms, group.p95_ms, group.p99_ms];
        for (p, actual) in STATS_PERCENTILES.iter().zip(actual) {
            let exact = percentile_cont(&durations, *p).unwrap();
            let actual = actual.unwrap_or_else(|| panic!("{what}: no p{p}"));
            let tolerance = if estimated { exact * 0.01 } else { 1e-9 * exact.max(1.0) };
            assert!((actual - exact).abs() <= tolerance, "{what}: p{p} {actual} vs {exact}");
        }
    }
}

fn queries() -> Vec<(&'static str, StatsQuery)> {
    let all = StatsQuery::default();
    let window = StatsQuery {
        since: Some(time("2026-03-01T09:17:23.500Z")),
        until: Some(time("2026-03-01T13:42:10Z")),
        ..StatsQuery::default()
    };
    let mut queries = vec![("everything", all.clone()), ("an unaligned window", window.clone())];
    for (name, group_by) in [
        ("by model", StatsGroupBy::Model),
        ("by span type", StatsGroupBy::SpanType),
        ("by project", StatsGroupBy::Project),
        ("by hour", StatsGroupBy::Hour),
        ("by day", StatsGroupBy::Day),
    ] {
        queries.push((name, StatsQuery { group_by, ..all.clone() }));
        queries.push((name, StatsQuery { group_by, ..window.clone() }));
    }
    queries.push((
        "project p2 by hour",
        StatsQuery { project: Some("p2".into()), group_by: StatsGroupBy::Hour, ..all.clone() },
    ));
    queries.push((
        "model-a by project",
        StatsQuery { model: Some("model-a".into()), group_by: StatsGroupBy::Project, ..all.clone() },
    ));
    queries.push(("tool calls in the window", StatsQuery { span_type: Some(SpanType::ToolCall), ..window }));
    queries
}

async fn check_all(store: &dyn TraceStore, context: &str, facts: &[Fact]) {
    for (name, query) in queries() {
        let actual = store.stats(&query).await.unwrap();
        assert_stats(&format!("{context}: {name} ({query:?})"), facts, &query, &actual);
    }
}

async fn refresh_all(store: &dyn TraceStore) {
    while store.refresh_rollups(25, std::time::Duration::ZERO).await.unwrap() > 0 {}
    assert_eq!(store.rollup_backlog().await.unwrap(), 0, "a refresh to the end leaves nothing waiting");
}

pub async fn statistics_from_rollups_match_the_spans(store: Arc<dyn TraceStore>) {
    let mut facts = corpus();
    assert!(facts.len() as i64 > EXACT_STATS_MAX_SPANS, "the corpus must be large enough to be estimated");
    write_traces(store.as_ref(), &facts).await;
    write(store.as_ref(), &facts).await;
    assert!(store.rollup_backlog().await.unwrap() > 0, "written minutes wait for their rollups");
    check_all(store.as_ref(), "before any refresh", &facts).await;
    refresh_all(store.as_ref()).await;
    check_all(store.as_ref(), "after a refresh", &facts).await;

    // Changes after the refresh: a span fails and its tokens change, a
    // trace is deleted, a span moves to another minute.
    let changed = facts.iter().position(|fact| fact.billed() && !fact.error).unwrap();
    facts[changed].error = true;
    facts[changed].tokens = Some((1_000, 1));
    // A piece with an end wins the merge for the fields it carries.
    let piece = facts[changed].piece();
    let moved = facts.len() - 1;
    facts[moved].start = time("2026-03-01T08:00:30Z");
    let moved_piece = facts[moved].piece();
    store.write(WriteBatch { spans: vec![piece, moved_piece], ..WriteBatch::default() }).await.unwrap();
    assert!(store.delete_trace(&trace_id("roll-007")).await.unwrap());
    facts.retain(|fact| fact.trace != "roll-007");
    check_all(store.as_ref(), "after changes, before their refresh", &facts).await;
    refresh_all(store.as_ref()).await;
    check_all(store.as_ref(), "after changes and their refresh", &facts).await;

    // Spans that arrive before their trace count under the trace's project
    // once it arrives.
    let late: Vec<Fact> = corpus()
        .into_iter()
        .filter(|fact| fact.trace == "roll-001")
        .map(|fact| Fact { trace: "roll-late".into(), project: Some("p-late".into()), ..fact })
        .collect();
    write(store.as_ref(), &late).await;
    refresh_all(store.as_ref()).await;
    write_traces(store.as_ref(), &late).await;
    facts.extend(late);
    check_all(store.as_ref(), "after a late trace named its project", &facts).await;
    refresh_all(store.as_ref()).await;
    check_all(store.as_ref(), "after that refresh", &facts).await;
}
