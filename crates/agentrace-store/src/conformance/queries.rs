//! The read side of the contract ([`crate::query`]) as executable checks.
//!
//! Each check writes its whole corpus before it queries, so every trace a
//! filter must not return is there to be wrongly returned. Expected answers
//! are written out by hand from the corpus below, never computed by the
//! code under test.

use std::collections::BTreeSet;
use std::sync::Arc;

use agentrace_core::time::{parse_rfc3339, Timestamp};
use agentrace_core::{Attachment, Feedback, SpanPiece, SpanType, Status, TokenUsage, TracePiece};
use serde_json::{json, Value};

use super::{span_id, trace_id};
use crate::query::{
    PageRequest, SessionFilter, SpanFilter, StatsGroup, StatsGroupBy, StatsLevel, StatsQuery, TraceFilter, TraceSort,
    TraceSummary, MAX_PAGE_LIMIT,
};
use crate::{StoreError, TraceStore, WriteBatch};

fn time(text: &str) -> Timestamp {
    parse_rfc3339(text).expect("valid time")
}

/// A span from `start` to `end` (times of 2026-03-01 unless they name a
/// date), successful once it has an end.
fn timed_span(
    trace: &str,
    id: &str,
    parent: Option<&str>,
    kind: SpanType,
    start: &str,
    end: Option<&str>,
) -> SpanPiece {
    let at = |clock: &str| if clock.contains('T') { time(clock) } else { time(&format!("2026-03-01T{clock}Z")) };
    let mut piece = SpanPiece::new(trace_id(trace), span_id(id));
    piece.parent_span_id = parent.map(span_id);
    piece.span_type = Some(kind);
    piece.name = Some(format!("{kind}-{id}"));
    piece.start_time = Some(at(start));
    piece.end_time = end.map(at);
    piece.status = Some(if end.is_some() { Status::Success } else { Status::Running });
    piece
}

fn model_call(
    mut piece: SpanPiece,
    model: &str,
    provider: &str,
    tokens: Option<(i64, i64)>,
    cost: Option<f64>,
) -> SpanPiece {
    piece.model = Some(model.into());
    piece.provider = Some(provider.into());
    piece.tokens = tokens.map(|(prompt, completion)| TokenUsage {
        prompt: Some(prompt),
        completion: Some(completion),
        ..TokenUsage::default()
    });
    piece.cost_usd = cost;
    piece
}

fn trace_piece(id: &str, project: Option<&str>, session: Option<&str>, user: Option<&str>) -> TracePiece {
    let mut piece = TracePiece::new(trace_id(id));
    piece.project = project.map(str::to_owned);
    piece.session_id = session.map(str::to_owned);
    piece.user_id = user.map(str::to_owned);
    piece
}

fn metadata(piece: &mut TracePiece, value: Value) {
    piece.metadata = value.as_object().expect("an object").clone();
}

/// Seven traces of four projects and five sessions:
///
/// | trace | project | session | user | start | duration | status | notes |
/// |---|---|---|---|---|---|---|---|
/// | t-alpha | travel | s-1 | ada | 10:00 | 4 s | success | gpt-4o call; tags beta, eu; metadata region=eu, tier=2, vip=true; "Weather in Paris?" → "Sunny all day" |
/// | t-bravo | travel | s-1 | ada | 10:05 | 10 s | error "Timeout contacting the booking API" | claude-3-5-sonnet call |
/// | t-charlie | support | s-2 | bob | 10:02 | 1 s | success, a failed tool span | gpt-4o-mini call; tag beta; region=us, tier="2"; "Reset my password" |
/// | t-delta | support | s-2 | — | 10:10 | running | running | region=["eu"]; "Weather tomorrow?" |
/// | t-echo | default | t-echo | — | 09:50 | 2 s | success | note=secret-word; "100 apples" |
/// | t-foxtrot | travel | t-foxtrot | — | none | none | running | one span without times |
/// | t-golf | ops | t-golf | — | 10:05 | 10 s | success | "Discount 100% off" |
fn corpus() -> WriteBatch {
    let mut alpha = trace_piece("t-alpha", Some("travel"), Some("s-1"), Some("ada"));
    alpha.tags = vec!["beta".into(), "eu".into()];
    metadata(&mut alpha, json!({"region": "eu", "tier": 2, "vip": true}));
    let mut alpha_root = timed_span("t-alpha", "root", None, SpanType::Agent, "10:00:00", Some("10:00:04"));
    alpha_root.name = Some("planner".into());
    alpha_root.input = Some(json!({"question": "Weather in Paris?"}));
    alpha_root.output = Some(json!({"answer": "Sunny all day"}));
    let alpha_llm = model_call(
        timed_span("t-alpha", "llm", Some("root"), SpanType::ModelCall, "10:00:01", Some("10:00:02")),
        "gpt-4o",
        "openai",
        Some((100, 20)),
        Some(0.01),
    );
    let alpha_tool = timed_span("t-alpha", "search", Some("root"), SpanType::ToolCall, "10:00:02", Some("10:00:03"));

    let bravo = trace_piece("t-bravo", Some("travel"), Some("s-1"), Some("ada"));
    let mut bravo_root = timed_span("t-bravo", "root", None, SpanType::Agent, "10:05:00", Some("10:05:10"));
    bravo_root.name = Some("planner".into());
    bravo_root.status = Some(Status::Error);
    bravo_root.error = Some("Timeout contacting the booking API".into());
    bravo_root.input = Some(json!({"question": "Book a hotel"}));
    let bravo_llm = model_call(
        timed_span("t-bravo", "llm", Some("root"), SpanType::ModelCall, "10:05:01", Some("10:05:02")),
        "claude-3-5-sonnet",
        "anthropic",
        Some((10, 5)),
        Some(0.002),
    );

    let mut charlie = trace_piece("t-charlie", Some("support"), Some("s-2"), Some("bob"));
    charlie.tags = vec!["beta".into()];
    metadata(&mut charlie, json!({"region": "us", "tier": "2"}));
    let mut charlie_root = timed_span("t-charlie", "root", None, SpanType::Agent, "10:02:00", Some("10:02:01"));
    charlie_root.name = Some("responder".into());
    charlie_root.input = Some(json!({"question": "Reset my password"}));
    charlie_root.output = Some(json!({"answer": "Done"}));
    let mut charlie_tool =
        timed_span("t-charlie", "tool", Some("root"), SpanType::ToolCall, "10:02:00.500000", Some("10:02:00.800000"));
    charlie_tool.status = Some(Status::Error);
    charlie_tool.error = Some("retry".into());
    let charlie_llm = model_call(
        timed_span("t-charlie", "llm", Some("root"), SpanType::ModelCall, "10:02:00.100000", Some("10:02:00.400000")),
        "gpt-4o-mini",
        "openai",
        None,
        None,
    );

    let mut delta = trace_piece("t-delta", Some("support"), Some("s-2"), None);
    metadata(&mut delta, json!({"region": ["eu"]}));
    let mut delta_root = timed_span("t-delta", "root", None, SpanType::Agent, "10:10:00", None);
    delta_root.name = Some("responder".into());
    delta_root.input = Some(json!({"question": "Weather tomorrow?"}));

    let mut echo = trace_piece("t-echo", None, None, None);
    metadata(&mut echo, json!({"note": "secret-word"}));
    let mut echo_root = timed_span("t-echo", "root", None, SpanType::Chain, "09:50:00", Some("09:50:02"));
    echo_root.input = Some(json!({"text": "100 apples"}));

    let foxtrot = trace_piece("t-foxtrot", Some("travel"), None, None);
    let mut foxtrot_span = SpanPiece::new(trace_id("t-foxtrot"), span_id("pending"));
    foxtrot_span.span_type = Some(SpanType::Custom);

    let golf = trace_piece("t-golf", Some("ops"), None, None);
    let mut golf_root = timed_span("t-golf", "root", None, SpanType::Agent, "10:05:00", Some("10:05:10"));
    golf_root.output = Some(json!({"text": "Discount 100% off"}));

    WriteBatch {
        traces: vec![alpha, bravo, charlie, delta, echo, foxtrot, golf],
        spans: vec![
            alpha_root,
            alpha_llm,
            alpha_tool,
            bravo_root,
            bravo_llm,
            charlie_root,
            charlie_tool,
            charlie_llm,
            delta_root,
            echo_root,
            foxtrot_span,
            golf_root,
        ],
        ..WriteBatch::default()
    }
}

fn page(limit: usize) -> PageRequest {
    PageRequest { limit, cursor: None }
}

fn ids(traces: &[TraceSummary]) -> Vec<String> {
    traces.iter().map(|summary| summary.trace.trace_id.to_string()).collect()
}

/// Every trace matching `filter`, in `sort` order, read one page of
/// `MAX_PAGE_LIMIT`.
async fn listed(store: &dyn TraceStore, filter: &TraceFilter, sort: TraceSort) -> Vec<String> {
    let page = store.list_traces(filter, sort, &page(MAX_PAGE_LIMIT), false).await.expect("list traces");
    assert_eq!(page.next_cursor, None, "everything fits one page");
    ids(&page.items)
}

async fn loaded(store: &Arc<dyn TraceStore>) {
    store.write(corpus()).await.expect("write the corpus");
}

async fn assert_filter(store: &dyn TraceStore, filter: TraceFilter, expected: &[&str]) {
    assert_eq!(listed(store, &filter, TraceSort::StartTimeDesc).await, expected, "{filter:?}");
}

pub async fn trace_filters_on_trace_columns(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let all = ["t-delta", "t-golf", "t-bravo", "t-charlie", "t-alpha", "t-echo", "t-foxtrot"];
    assert_filter(&*store, TraceFilter::default(), &all).await;
    let project = TraceFilter { project: Some("travel".into()), ..TraceFilter::default() };
    assert_filter(&*store, project, &["t-bravo", "t-alpha", "t-foxtrot"]).await;
    let session = TraceFilter { session_id: Some("s-2".into()), ..TraceFilter::default() };
    assert_filter(&*store, session, &["t-delta", "t-charlie"]).await;
    let own_session = TraceFilter { session_id: Some("t-echo".into()), ..TraceFilter::default() };
    assert_filter(&*store, own_session, &["t-echo"]).await;
    let user = TraceFilter { user_id: Some("ada".into()), ..TraceFilter::default() };
    assert_filter(&*store, user, &["t-bravo", "t-alpha"]).await;
    let failed = TraceFilter { status: Some(Status::Error), ..TraceFilter::default() };
    assert_filter(&*store, failed, &["t-bravo"]).await;
    let running = TraceFilter { status: Some(Status::Running), ..TraceFilter::default() };
    assert_filter(&*store, running, &["t-delta", "t-foxtrot"]).await;
    let name = TraceFilter { name: Some("responder".into()), ..TraceFilter::default() };
    assert_filter(&*store, name, &["t-delta", "t-charlie"]).await;
    let both = TraceFilter { project: Some("travel".into()), user_id: Some("ada".into()), ..TraceFilter::default() };
    assert_filter(&*store, both, &["t-bravo", "t-alpha"]).await;
    let nobody = TraceFilter { project: Some("no-such-project".into()), ..TraceFilter::default() };
    assert_filter(&*store, nobody, &[]).await;
}

pub async fn trace_filters_on_time_and_duration(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    // Half-open: 10:10 itself is out; the trace without a start never matches.
    let window = TraceFilter {
        since: Some(time("2026-03-01T10:02:00Z")),
        until: Some(time("2026-03-01T10:10:00Z")),
        ..TraceFilter::default()
    };
    assert_filter(&*store, window, &["t-golf", "t-bravo", "t-charlie"]).await;
    let since = TraceFilter { since: Some(time("2026-03-01T10:05:00Z")), ..TraceFilter::default() };
    assert_filter(&*store, since, &["t-delta", "t-golf", "t-bravo"]).await;
    let until = TraceFilter { until: Some(time("2026-03-01T10:00:00.000001Z")), ..TraceFilter::default() };
    assert_filter(&*store, until, &["t-alpha", "t-echo"]).await;
    // At least 4 s, 4 s included; running traces have no duration.
    let slow = TraceFilter { min_duration_ms: Some(4_000), ..TraceFilter::default() };
    assert_filter(&*store, slow, &["t-golf", "t-bravo", "t-alpha"]).await;
}

pub async fn trace_filters_on_errors_models_and_tags(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    // t-bravo failed; t-charlie succeeded with a failed span.
    let failing = TraceFilter { has_error: Some(true), ..TraceFilter::default() };
    assert_filter(&*store, failing, &["t-bravo", "t-charlie"]).await;
    let clean = TraceFilter { has_error: Some(false), ..TraceFilter::default() };
    assert_filter(&*store, clean, &["t-delta", "t-golf", "t-alpha", "t-echo", "t-foxtrot"]).await;
    // Exact model names: gpt-4o is not gpt-4o-mini.
    let model = TraceFilter { model: Some("gpt-4o".into()), ..TraceFilter::default() };
    assert_filter(&*store, model, &["t-alpha"]).await;
    let mini = TraceFilter { model: Some("gpt-4o-mini".into()), ..TraceFilter::default() };
    assert_filter(&*store, mini, &["t-charlie"]).await;
    let tag = TraceFilter { tag: Some("beta".into()), ..TraceFilter::default() };
    assert_filter(&*store, tag, &["t-charlie", "t-alpha"]).await;
    let other_tag = TraceFilter { tag: Some("eu".into()), ..TraceFilter::default() };
    assert_filter(&*store, other_tag, &["t-alpha"]).await;
}

pub async fn trace_filters_on_metadata(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let by = |pairs: &[(&str, &str)]| TraceFilter {
        metadata: pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect(),
        ..TraceFilter::default()
    };
    // t-delta's region is the array ["eu"]: not the string "eu".
    assert_filter(&*store, by(&[("region", "eu")]), &["t-alpha"]).await;
    // The number 2 (t-alpha) and the string "2" (t-charlie) both read as 2.
    assert_filter(&*store, by(&[("tier", "2")]), &["t-charlie", "t-alpha"]).await;
    // 2.0 equals the number 2, not the string "2".
    assert_filter(&*store, by(&[("tier", "2.0")]), &["t-alpha"]).await;
    assert_filter(&*store, by(&[("vip", "true")]), &["t-alpha"]).await;
    assert_filter(&*store, by(&[("vip", "false")]), &[]).await;
    assert_filter(&*store, by(&[("region", "eu"), ("tier", "2")]), &["t-alpha"]).await;
    assert_filter(&*store, by(&[("region", "us"), ("tier", "3")]), &[]).await;
    assert_filter(&*store, by(&[("note", "secret-word")]), &["t-echo"]).await;
    assert_filter(&*store, by(&[("Region", "eu")]), &[]).await;
}

pub async fn free_text_searches_input_output_and_error(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let q = |text: &str| TraceFilter { q: Some(text.into()), ..TraceFilter::default() };
    assert_filter(&*store, q("weather in paris"), &["t-alpha"]).await;
    assert_filter(&*store, q("wEaThEr"), &["t-delta", "t-alpha"]).await;
    assert_filter(&*store, q("SUNNY ALL"), &["t-alpha"]).await;
    assert_filter(&*store, q("booking api"), &["t-bravo"]).await;
    // Metadata is not searched.
    assert_filter(&*store, q("secret-word"), &[]).await;
    // % and _ are text, not wildcards: "100 apples" does not match.
    assert_filter(&*store, q("100%"), &["t-golf"]).await;
    assert_filter(&*store, q("100_"), &[]).await;
    // Shorter than a trigram.
    assert_filter(&*store, q("Pa"), &["t-charlie", "t-alpha"]).await;
    assert_filter(&*store, q(""), &["t-delta", "t-golf", "t-bravo", "t-charlie", "t-alpha", "t-echo", "t-foxtrot"])
        .await;
    let with_project = TraceFilter { project: Some("support".into()), ..q("weather") };
    assert_filter(&*store, with_project, &["t-delta"]).await;
}

pub async fn free_text_follows_changes_to_a_trace(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let q = |text: &str| TraceFilter { q: Some(text.into()), ..TraceFilter::default() };
    // The running trace ends with an answer and an error of its root span.
    let mut ended = timed_span("t-delta", "root", None, SpanType::Agent, "10:10:00", Some("10:10:03"));
    ended.output = Some(json!({"answer": "Rain expected"}));
    ended.status = Some(Status::Error);
    ended.error = Some("Forecast service degraded".into());
    store.write(WriteBatch { spans: vec![ended], ..WriteBatch::default() }).await.unwrap();
    assert_filter(&*store, q("rain expected"), &["t-delta"]).await;
    assert_filter(&*store, q("service degraded"), &["t-delta"]).await;
    assert_filter(&*store, q("weather tomorrow"), &["t-delta"]).await;
    // An explicit input replaces the root's: the old text is no longer found.
    let mut replaced = TracePiece::new(trace_id("t-delta"));
    replaced.input = Some(json!({"question": "Snow in Oslo?"}));
    store.write(WriteBatch { traces: vec![replaced], ..WriteBatch::default() }).await.unwrap();
    assert_filter(&*store, q("snow in oslo"), &["t-delta"]).await;
    assert_filter(&*store, q("weather tomorrow"), &[]).await;
}

/// A trace holding every three-letter piece of the search text, but not
/// the text itself, is not found: the trigram indexes only narrow the
/// search, the text decides.
pub async fn free_text_matches_the_whole_text_not_its_trigrams(store: Arc<dyn TraceStore>) {
    let mut scattered = TracePiece::new(trace_id("t-scattered"));
    scattered.input = Some(json!({"note": "abcd then xbcdy"}));
    let mut whole = TracePiece::new(trace_id("t-whole"));
    whole.output = Some(json!({"note": "say ABCDY twice"}));
    store.write(WriteBatch { traces: vec![scattered, whole], ..WriteBatch::default() }).await.unwrap();
    let q = |text: &str| TraceFilter { q: Some(text.into()), ..TraceFilter::default() };
    assert_filter(&*store, q("abcdy"), &["t-whole"]).await;
    assert_filter(&*store, q("d then x"), &["t-scattered"]).await;
    assert_filter(&*store, q("bcd"), &["t-whole", "t-scattered"]).await;
}

pub async fn trace_sorts_put_missing_values_last(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let all = TraceFilter::default();
    assert_eq!(
        listed(&*store, &all, TraceSort::StartTimeDesc).await,
        ["t-delta", "t-golf", "t-bravo", "t-charlie", "t-alpha", "t-echo", "t-foxtrot"]
    );
    assert_eq!(
        listed(&*store, &all, TraceSort::StartTimeAsc).await,
        ["t-echo", "t-alpha", "t-charlie", "t-bravo", "t-golf", "t-delta", "t-foxtrot"]
    );
    // t-golf and t-bravo tie on start and duration: ids break the tie.
    assert_eq!(
        listed(&*store, &all, TraceSort::DurationDesc).await,
        ["t-golf", "t-bravo", "t-alpha", "t-echo", "t-charlie", "t-foxtrot", "t-delta"]
    );
    assert_eq!(
        listed(&*store, &all, TraceSort::DurationAsc).await,
        ["t-charlie", "t-echo", "t-alpha", "t-bravo", "t-golf", "t-delta", "t-foxtrot"]
    );
}

fn back_dated(id: &str, start: &str) -> SpanPiece {
    timed_span(id, "root", None, SpanType::Agent, start, None)
}

pub async fn pages_return_every_trace_once_while_traces_arrive(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    // Every trace written older than the others is older than all before it,
    // so it sorts after any cursor still among traces with a start.
    let mut written = 0;
    for limit in [1, 2, 3] {
        let before = listed(&*store, &TraceFilter::default(), TraceSort::StartTimeDesc).await;
        let (mut seen, mut newer, mut older) = (Vec::new(), Vec::new(), Vec::new());
        let mut request = page(limit);
        loop {
            let page =
                store.list_traces(&TraceFilter::default(), TraceSort::StartTimeDesc, &request, false).await.unwrap();
            assert!(page.items.len() <= limit);
            seen.extend(ids(&page.items));
            let Some(cursor) = page.next_cursor else { break };
            assert_eq!(page.items.len(), limit, "a page before the last is full");
            request = PageRequest { limit, cursor: Some(cursor) };
            // Each older trace adds a row ahead: writing one per page would never end.
            if older.len() == 3 {
                continue;
            }
            written += 1;
            let new_id = format!("t-new-{written:02}");
            let old_id = format!("t-old-{written:02}");
            let new_span = back_dated(&new_id, "2026-03-01T12:00:00Z");
            let old_span = back_dated(&old_id, &format!("2026-03-01T08:{:02}:00Z", 60 - written));
            store.write(WriteBatch { spans: vec![new_span, old_span], ..WriteBatch::default() }).await.unwrap();
            newer.push(new_id);
            older.push(old_id);
        }
        // What was there, then what was written behind the cursor, then the
        // trace without a start; nothing written ahead of the cursor.
        let mut expected: Vec<String> = before.iter().filter(|id| *id != "t-foxtrot").cloned().collect();
        expected.extend(older);
        expected.push("t-foxtrot".into());
        assert_eq!(seen, expected, "limit {limit}");
        assert!(newer.iter().all(|id| !seen.contains(id)), "limit {limit}: {seen:?}");
    }
}

pub async fn pages_in_ascending_and_duration_order(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    for (sort, expected) in [
        (TraceSort::StartTimeAsc, ["t-echo", "t-alpha", "t-charlie", "t-bravo", "t-golf", "t-delta", "t-foxtrot"]),
        (TraceSort::DurationDesc, ["t-golf", "t-bravo", "t-alpha", "t-echo", "t-charlie", "t-foxtrot", "t-delta"]),
        (TraceSort::DurationAsc, ["t-charlie", "t-echo", "t-alpha", "t-bravo", "t-golf", "t-delta", "t-foxtrot"]),
    ] {
        let mut seen = Vec::new();
        let mut request = page(2);
        loop {
            let page = store.list_traces(&TraceFilter::default(), sort, &request, false).await.unwrap();
            seen.extend(ids(&page.items));
            let Some(cursor) = page.next_cursor else { break };
            request = PageRequest { limit: 2, cursor: Some(cursor) };
        }
        assert_eq!(seen, expected, "{sort:?}");
    }
}

fn invalid_query(result: Result<impl std::fmt::Debug, StoreError>, parameter: &str) {
    match result {
        Err(StoreError::InvalidQuery(message)) => {
            assert!(message.starts_with(&format!("{parameter}: ")), "the message names {parameter}: {message}")
        }
        other => panic!("expected InvalidQuery naming {parameter}, got {other:?}"),
    }
}

pub async fn malformed_cursors_and_limits_are_refused(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let all = TraceFilter::default();
    let with_cursor = |cursor: &str| PageRequest { limit: 2, cursor: Some(cursor.to_owned()) };
    for garbage in ["garbage", "", "eyJ9", "%%%"] {
        invalid_query(store.list_traces(&all, TraceSort::StartTimeDesc, &with_cursor(garbage), false).await, "cursor");
        invalid_query(store.list_spans(&SpanFilter::default(), &with_cursor(garbage), false).await, "cursor");
        invalid_query(store.list_sessions(&SessionFilter::default(), &with_cursor(garbage)).await, "cursor");
    }
    // A real cursor, of another listing or another order.
    let traces = store.list_traces(&all, TraceSort::StartTimeDesc, &page(2), false).await.unwrap();
    let cursor = traces.next_cursor.expect("more than two traces");
    invalid_query(store.list_traces(&all, TraceSort::DurationDesc, &with_cursor(&cursor), false).await, "cursor");
    invalid_query(store.list_spans(&SpanFilter::default(), &with_cursor(&cursor), false).await, "cursor");
    invalid_query(store.list_traces(&all, TraceSort::StartTimeDesc, &page(0), false).await, "limit");
    invalid_query(store.list_spans(&SpanFilter::default(), &page(0), false).await, "limit");
    invalid_query(store.list_sessions(&SessionFilter::default(), &page(0)).await, "limit");
    let clamped = store.list_traces(&all, TraceSort::StartTimeDesc, &page(MAX_PAGE_LIMIT * 10), false).await.unwrap();
    assert_eq!(clamped.items.len(), 7);
}

pub async fn listed_traces_carry_stats_and_payloads_on_request(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let alpha = TraceFilter { session_id: Some("s-1".into()), user_id: Some("ada".into()), ..TraceFilter::default() };
    let without = store.list_traces(&alpha, TraceSort::StartTimeAsc, &page(1), false).await.unwrap();
    let summary = &without.items[0];
    assert_eq!(summary.trace.trace_id.as_str(), "t-alpha");
    assert_eq!((summary.trace.input.as_ref(), summary.trace.output.as_ref()), (None, None), "payloads left out");
    assert_eq!(summary.trace.project, "travel");
    assert_eq!(summary.trace.name.as_deref(), Some("planner"));
    assert_eq!(summary.trace.tags, ["beta", "eu"]);
    assert_eq!(summary.trace.metadata.get("tier"), Some(&json!(2)));
    assert_eq!(summary.trace.duration_ms, Some(4_000));
    assert_eq!(summary.trace.start_time, Some(time("2026-03-01T10:00:00Z")));
    assert_eq!(
        (summary.stats.total_spans, summary.stats.model_calls, summary.stats.tool_calls, summary.stats.error_spans),
        (3, 1, 1, 0)
    );
    assert_eq!(
        (summary.stats.prompt_tokens, summary.stats.completion_tokens, summary.stats.total_tokens),
        (100, 20, 120)
    );
    assert_eq!(summary.stats.cost_usd, Some(0.01));

    let with = store.list_traces(&alpha, TraceSort::StartTimeAsc, &page(1), true).await.unwrap();
    let summary = &with.items[0];
    assert_eq!(summary.trace.input, Some(json!({"question": "Weather in Paris?"})));
    assert_eq!(summary.trace.output, Some(json!({"answer": "Sunny all day"})));
    let detail = store.trace(&trace_id("t-alpha")).await.unwrap().unwrap();
    assert_eq!(summary.trace, detail.trace, "a listed trace is the trace as read alone");

    let charlie = TraceFilter { project: Some("support".into()), has_error: Some(true), ..TraceFilter::default() };
    let listed = store.list_traces(&charlie, TraceSort::StartTimeDesc, &page(10), false).await.unwrap();
    assert_eq!(listed.items[0].stats.error_spans, 1);
    assert_eq!(
        listed.items[0].stats.cost_usd, None,
        "a trace with no known cost has none, like the view: unpriced is not free"
    );

    // A page's statistics are computed for the whole page at once; they are
    // each trace's own, as read alone (from agent.trace_stats).
    let everything =
        store.list_traces(&TraceFilter::default(), TraceSort::StartTimeDesc, &page(100), false).await.unwrap();
    assert!(everything.items.len() > 3, "the fixture's traces are listed");
    for summary in &everything.items {
        let alone = store.trace_stats(&summary.trace.trace_id).await.unwrap().unwrap_or_default();
        assert_eq!(summary.stats, alone, "statistics of {} in a page and alone", summary.trace.trace_id);
    }
}

fn span_ids(spans: &[agentrace_core::StoredSpan]) -> Vec<String> {
    spans.iter().map(|stored| format!("{}/{}", stored.span.trace_id, stored.span.span_id)).collect()
}

async fn spans_listed(store: &dyn TraceStore, filter: SpanFilter) -> Vec<String> {
    let page = store.list_spans(&filter, &page(MAX_PAGE_LIMIT), false).await.unwrap();
    assert_eq!(page.next_cursor, None);
    span_ids(&page.items)
}

pub async fn span_listing_filters(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let by_trace = SpanFilter { trace_id: Some(trace_id("t-alpha")), ..SpanFilter::default() };
    assert_eq!(spans_listed(&*store, by_trace).await, ["t-alpha/search", "t-alpha/llm", "t-alpha/root"]);
    let calls = SpanFilter { span_type: Some(SpanType::ModelCall), ..SpanFilter::default() };
    assert_eq!(spans_listed(&*store, calls).await, ["t-bravo/llm", "t-charlie/llm", "t-alpha/llm"]);
    let model = SpanFilter { model: Some("gpt-4o".into()), ..SpanFilter::default() };
    assert_eq!(spans_listed(&*store, model).await, ["t-alpha/llm"]);
    let provider = SpanFilter { provider: Some("openai".into()), ..SpanFilter::default() };
    assert_eq!(spans_listed(&*store, provider).await, ["t-charlie/llm", "t-alpha/llm"]);
    let failed = SpanFilter { status: Some(Status::Error), ..SpanFilter::default() };
    assert_eq!(spans_listed(&*store, failed).await, ["t-bravo/root", "t-charlie/tool"]);
    let window = SpanFilter {
        since: Some(time("2026-03-01T10:02:00.100000Z")),
        until: Some(time("2026-03-01T10:05:01Z")),
        ..SpanFilter::default()
    };
    assert_eq!(spans_listed(&*store, window).await, ["t-golf/root", "t-bravo/root", "t-charlie/tool", "t-charlie/llm"]);
    let both =
        SpanFilter { trace_id: Some(trace_id("t-charlie")), status: Some(Status::Error), ..SpanFilter::default() };
    assert_eq!(spans_listed(&*store, both).await, ["t-charlie/tool"]);

    let with = store
        .list_spans(&SpanFilter { trace_id: Some(trace_id("t-alpha")), ..SpanFilter::default() }, &page(10), true)
        .await
        .unwrap();
    let root = store.span(&trace_id("t-alpha"), &span_id("root")).await.unwrap().unwrap();
    assert_eq!(with.items[2], root, "a listed span is the span as read alone");
    let without = store
        .list_spans(&SpanFilter { trace_id: Some(trace_id("t-alpha")), ..SpanFilter::default() }, &page(10), false)
        .await
        .unwrap();
    assert_eq!((without.items[2].span.input.as_ref(), without.items[2].span.output.as_ref()), (None, None));
    assert_eq!(without.items[2].span.name.as_deref(), Some("planner"));
}

pub async fn span_pages_return_every_span_once(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let expected = [
        "t-delta/root",
        "t-bravo/llm",
        "t-golf/root",
        "t-bravo/root",
        "t-charlie/tool",
        "t-charlie/llm",
        "t-charlie/root",
        "t-alpha/search",
        "t-alpha/llm",
        "t-alpha/root",
        "t-echo/root",
        "t-foxtrot/pending",
    ];
    assert_eq!(spans_listed(&*store, SpanFilter::default()).await, expected);
    let mut written = 0;
    for limit in [1, 3, 5] {
        let (mut seen, mut newer, mut older) = (Vec::new(), Vec::new(), Vec::new());
        let mut request = page(limit);
        loop {
            let page = store.list_spans(&SpanFilter::default(), &request, false).await.unwrap();
            seen.extend(span_ids(&page.items));
            let Some(cursor) = page.next_cursor else { break };
            request = PageRequest { limit, cursor: Some(cursor) };
            if older.len() == 3 {
                continue;
            }
            // A newer span sorts before the cursor; an older one (older than
            // every span before it) after it.
            written += 1;
            let new_id = format!("new-{written:02}");
            let old_id = format!("old-{written:02}");
            let new_span = timed_span("t-later", &new_id, None, SpanType::Chain, "11:00:00", None);
            let old_span =
                timed_span("t-later", &old_id, None, SpanType::Chain, &format!("09:{:02}:00", 40 - written), None);
            store.write(WriteBatch { spans: vec![new_span, old_span], ..WriteBatch::default() }).await.unwrap();
            newer.push(format!("t-later/{new_id}"));
            older.push(format!("t-later/{old_id}"));
        }
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "limit {limit}: {seen:?}");
        let from_corpus: Vec<&String> = seen.iter().filter(|id| !id.starts_with("t-later/")).collect();
        assert_eq!(from_corpus, expected.iter().collect::<Vec<_>>(), "limit {limit}");
        let later: Vec<&String> =
            seen.iter().filter(|id| id.starts_with("t-later/") && !id.starts_with("t-later/new-")).collect();
        let older_this_run: Vec<&String> = later.iter().copied().filter(|id| older.contains(id)).collect();
        assert_eq!(older_this_run, older.iter().collect::<Vec<_>>(), "limit {limit}: each older span once, in order");
        assert!(newer.iter().all(|id| !seen.contains(id)), "limit {limit}: no newer span behind the cursor");
    }
}

pub async fn sessions_list_with_totals_newest_first(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let all = store.list_sessions(&SessionFilter::default(), &page(MAX_PAGE_LIMIT)).await.unwrap();
    let order: Vec<&str> = all.items.iter().map(|session| session.session_id.as_str()).collect();
    // s-1 and t-golf both last ran at 10:05: the greater id first.
    assert_eq!(order, ["s-2", "t-golf", "s-1", "t-echo", "t-foxtrot"]);
    let s1 = &all.items[2];
    assert_eq!((s1.project.as_str(), s1.user_id.as_deref(), s1.trace_count), ("travel", Some("ada"), 2));
    assert_eq!((s1.first_time, s1.last_time), (Some(time("2026-03-01T10:00:00Z")), Some(time("2026-03-01T10:05:00Z"))));
    assert_eq!((s1.prompt_tokens, s1.completion_tokens, s1.total_tokens), (110, 25, 135));
    assert!((s1.cost_usd.expect("a known cost") - 0.012).abs() < 1e-12, "{:?}", s1.cost_usd);
    assert_eq!(s1.error_count, 1);
    let s2 = &all.items[0];
    // The most recent trace (t-delta) names no user: the latest that does.
    assert_eq!((s2.project.as_str(), s2.user_id.as_deref(), s2.trace_count), ("support", Some("bob"), 2));
    assert_eq!((s2.total_tokens, s2.cost_usd, s2.error_count), (0, None, 0));
    let foxtrot = &all.items[4];
    assert_eq!((foxtrot.first_time, foxtrot.last_time, foxtrot.trace_count), (None, None, 1));

    let sessions = |filter: SessionFilter| {
        let store = Arc::clone(&store);
        async move {
            let page = store.list_sessions(&filter, &page(MAX_PAGE_LIMIT)).await.unwrap();
            page.items.into_iter().map(|session| session.session_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(sessions(SessionFilter { project: Some("support".into()), ..SessionFilter::default() }).await, ["s-2"]);
    assert_eq!(sessions(SessionFilter { user_id: Some("ada".into()), ..SessionFilter::default() }).await, ["s-1"]);
    let late = SessionFilter { since: Some(time("2026-03-01T10:06:00Z")), ..SessionFilter::default() };
    assert_eq!(sessions(late).await, ["s-2"]);
    let window = SessionFilter {
        since: Some(time("2026-03-01T10:00:00Z")),
        until: Some(time("2026-03-01T10:03:00Z")),
        ..SessionFilter::default()
    };
    // Listed by its matching trace, summarised over all of its traces.
    let matched = store.list_sessions(&window, &page(10)).await.unwrap();
    let listed: Vec<(&str, i64)> =
        matched.items.iter().map(|session| (session.session_id.as_str(), session.trace_count)).collect();
    assert_eq!(listed, [("s-2", 2), ("s-1", 2)]);

    let mut paged = Vec::new();
    let mut request = page(2);
    loop {
        let page = store.list_sessions(&SessionFilter::default(), &request).await.unwrap();
        paged.extend(page.items.into_iter().map(|session| session.session_id));
        let Some(cursor) = page.next_cursor else { break };
        request = PageRequest { limit: 2, cursor: Some(cursor) };
    }
    assert_eq!(paged, order);
}

pub async fn a_session_is_its_turns_in_order(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let session = store.session("s-1").await.unwrap().expect("session s-1");
    assert_eq!(session.session.session_id, "s-1");
    assert_eq!(session.session.trace_count, 2);
    assert_eq!(ids(&session.turns), ["t-alpha", "t-bravo"]);
    assert_eq!(session.turns[0].trace.input, Some(json!({"question": "Weather in Paris?"})));
    assert_eq!(session.turns[0].trace.output, Some(json!({"answer": "Sunny all day"})));
    assert_eq!(session.turns[1].trace.input, Some(json!({"question": "Book a hotel"})));
    assert_eq!(session.turns[1].trace.error.as_deref(), Some("Timeout contacting the booking API"));
    assert_eq!(session.turns[0].stats.model_calls, 1);
    let listed = store.list_sessions(&SessionFilter::default(), &page(10)).await.unwrap();
    assert!(listed.items.contains(&session.session), "the same summary as in the list");
    assert!(store.session("no-such-session").await.unwrap().is_none());
    let own = store.session("t-foxtrot").await.unwrap().expect("a trace without a session is its own");
    assert_eq!(ids(&own.turns), ["t-foxtrot"]);
}

pub async fn projects_list_newest_activity_first(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let projects = store.list_projects().await.unwrap();
    let names: Vec<&str> = projects.iter().map(|project| project.project.as_str()).collect();
    // travel holds t-foxtrot, which has no start: its activity is when it
    // was stored, today, after every start of the corpus.
    assert_eq!(names, ["travel", "support", "ops", "default"]);
    let travel = &projects[0];
    assert_eq!(travel.trace_count, 3);
    assert!(travel.last_activity.expect("stored") > time("2026-03-02T00:00:00Z"));
    assert_eq!((travel.prompt_tokens, travel.completion_tokens, travel.total_tokens), (110, 25, 135));
    let support = &projects[1];
    assert_eq!(
        (support.trace_count, support.last_activity, support.total_tokens, support.cost_usd),
        (2, Some(time("2026-03-01T10:10:00Z")), 0, None)
    );
    assert_eq!((projects[3].trace_count, projects[3].last_activity), (1, Some(time("2026-03-01T09:50:00Z"))));
}

/// Three traces for statistics, their spans' durations written out:
///
/// - A (project p1, session sa, 2026-03-01 10:00): agent root 5,000 ms;
///   model-a 100 ms (100 + 10 tokens, $0.001); model-a 300 ms (200 + 20,
///   total 220, $0.002); a failed tool call, 50 ms.
/// - B (project p2, session sb, 2026-03-01 11:30, failed): agent root
///   2,000 ms, failed; model-a 200 ms (50 + 5, no cost: unpriced); model-b
///   400 ms (10 + 1, $0.0005); embedding embed-c 20 ms (7 prompt tokens, no
///   cost: unpriced).
/// - C (project p1, session sa, 2026-03-02 09:00): chain root 1,000 ms;
///   model-a 600 ms (1 + 1, $0.01).
///
/// The models are not in any price table, so their costs stay as written.
fn stats_corpus() -> WriteBatch {
    let span = |trace: &str, id: &str, parent: Option<&str>, kind: SpanType, start: &str, millis: i64| {
        let mut piece = SpanPiece::new(trace_id(trace), span_id(id));
        piece.parent_span_id = parent.map(span_id);
        piece.span_type = Some(kind);
        piece.name = Some(id.into());
        let start = time(start);
        piece.start_time = Some(start);
        piece.end_time = Some(start + chrono::Duration::milliseconds(millis));
        piece.status = Some(Status::Success);
        piece
    };
    let priced = |mut piece: SpanPiece, model: &str, tokens: TokenUsage, cost: Option<f64>| {
        piece.model = Some(model.into());
        piece.tokens = Some(tokens);
        piece.cost_usd = cost;
        piece
    };
    let tokens = |prompt, completion, total| TokenUsage { prompt, completion, total, ..TokenUsage::default() };
    let mut tool = span("stats-a", "tool", Some("root"), SpanType::ToolCall, "2026-03-01T10:00:02Z", 50);
    tool.status = Some(Status::Error);
    let mut b_root = span("stats-b", "root", None, SpanType::Agent, "2026-03-01T11:30:00Z", 2_000);
    b_root.status = Some(Status::Error);
    let spans = vec![
        span("stats-a", "root", None, SpanType::Agent, "2026-03-01T10:00:00Z", 5_000),
        priced(
            span("stats-a", "m1", Some("root"), SpanType::ModelCall, "2026-03-01T10:00:00.500Z", 100),
            "model-a",
            tokens(Some(100), Some(10), None),
            Some(0.001),
        ),
        priced(
            span("stats-a", "m2", Some("root"), SpanType::ModelCall, "2026-03-01T10:00:01Z", 300),
            "model-a",
            tokens(Some(200), Some(20), Some(220)),
            Some(0.002),
        ),
        tool,
        b_root,
        priced(
            span("stats-b", "m3", Some("root"), SpanType::ModelCall, "2026-03-01T11:30:00.100Z", 200),
            "model-a",
            tokens(Some(50), Some(5), None),
            None,
        ),
        priced(
            span("stats-b", "m4", Some("root"), SpanType::ModelCall, "2026-03-01T11:30:01Z", 400),
            "model-b",
            tokens(Some(10), Some(1), None),
            Some(0.0005),
        ),
        priced(
            span("stats-b", "e1", Some("root"), SpanType::Embedding, "2026-03-01T11:30:01.500Z", 20),
            "embed-c",
            tokens(Some(7), None, None),
            None,
        ),
        span("stats-c", "root", None, SpanType::Chain, "2026-03-02T09:00:00Z", 1_000),
        priced(
            span("stats-c", "m5", Some("root"), SpanType::ModelCall, "2026-03-02T09:00:00.100Z", 600),
            "model-a",
            tokens(Some(1), Some(1), None),
            Some(0.01),
        ),
    ];
    WriteBatch {
        traces: vec![
            trace_piece("stats-a", Some("p1"), Some("sa"), None),
            trace_piece("stats-b", Some("p2"), Some("sb"), None),
            trace_piece("stats-c", Some("p1"), Some("sa"), None),
        ],
        spans,
        ..WriteBatch::default()
    }
}

/// What a group must hold, by hand: key, count, errors, p50/p95/p99,
/// prompt/completion/total tokens, cost, unpriced.
struct Expected {
    key: Option<&'static str>,
    count: i64,
    errors: i64,
    percentiles: [f64; 3],
    tokens: [i64; 3],
    cost: Option<f64>,
    unpriced: i64,
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0)
}

fn assert_groups(context: &str, actual: &[StatsGroup], expected: &[Expected]) {
    let keys: Vec<Option<&str>> = actual.iter().map(|group| group.key.as_deref()).collect();
    let expected_keys: Vec<Option<&str>> = expected.iter().map(|group| group.key).collect();
    assert_eq!(keys, expected_keys, "{context}: groups in order");
    for (group, want) in actual.iter().zip(expected) {
        let what = format!("{context}, group {:?}", want.key);
        assert_eq!((group.count, group.error_count), (want.count, want.errors), "{what}");
        assert!(
            close(group.error_rate, want.errors as f64 / want.count as f64),
            "{what}: error rate {}",
            group.error_rate
        );
        let percentiles = [group.p50_ms, group.p95_ms, group.p99_ms];
        for (actual, expected) in percentiles.iter().zip(want.percentiles) {
            assert!(actual.is_some_and(|actual| close(actual, expected)), "{what}: percentiles {percentiles:?}");
        }
        assert_eq!([group.prompt_tokens, group.completion_tokens, group.total_tokens], want.tokens, "{what}");
        match (group.cost_usd, want.cost) {
            (Some(actual), Some(expected)) => assert!(close(actual, expected), "{what}: cost {actual}"),
            (actual, expected) => assert_eq!(actual, expected, "{what}: cost"),
        }
        assert_eq!(group.unpriced_count, want.unpriced, "{what}: unpriced");
    }
}

pub async fn span_statistics_for_every_grouping(store: Arc<dyn TraceStore>) {
    store.write(stats_corpus()).await.unwrap();
    let stats = |group_by: StatsGroupBy| {
        let store = Arc::clone(&store);
        async move { store.stats(&StatsQuery { group_by, ..StatsQuery::default() }).await.unwrap() }
    };
    // Durations sorted: 20 50 100 200 300 400 600 1000 2000 5000.
    // p50 at 4.5: 300 + 0.5 × 100; p95 at 8.55: 2000 + 0.55 × 3000; p99 at 8.91.
    let everything = Expected {
        key: None,
        count: 10,
        errors: 2,
        percentiles: [350.0, 3650.0, 4730.0],
        tokens: [368, 37, 405],
        cost: Some(0.0135),
        unpriced: 2,
    };
    assert_groups("span level", &stats(StatsGroupBy::None).await, &[everything]);
    assert_groups(
        "by model",
        &stats(StatsGroupBy::Model).await,
        &[
            // 100 200 300 600: p50 at 1.5, p95 at 2.85, p99 at 2.97.
            Expected {
                key: Some("model-a"),
                count: 4,
                errors: 0,
                percentiles: [250.0, 555.0, 591.0],
                tokens: [351, 36, 387],
                cost: Some(0.013),
                unpriced: 1,
            },
            // The roots and the tool call: 50 1000 2000 5000.
            Expected {
                key: None,
                count: 4,
                errors: 2,
                percentiles: [1500.0, 4550.0, 4910.0],
                tokens: [0, 0, 0],
                cost: None,
                unpriced: 0,
            },
            Expected {
                key: Some("embed-c"),
                count: 1,
                errors: 0,
                percentiles: [20.0; 3],
                tokens: [7, 0, 7],
                cost: None,
                unpriced: 1,
            },
            Expected {
                key: Some("model-b"),
                count: 1,
                errors: 0,
                percentiles: [400.0; 3],
                tokens: [10, 1, 11],
                cost: Some(0.0005),
                unpriced: 0,
            },
        ],
    );
    let by_type = stats(StatsGroupBy::SpanType).await;
    let keys: Vec<Option<&str>> = by_type.iter().map(|group| group.key.as_deref()).collect();
    assert_eq!(keys, [Some("model_call"), Some("agent"), Some("chain"), Some("embedding"), Some("tool_call")]);
    assert_groups(
        "by span type, the agents",
        &by_type[1..2],
        &[Expected {
            key: Some("agent"),
            count: 2,
            errors: 1,
            percentiles: [3500.0, 4850.0, 4970.0],
            tokens: [0, 0, 0],
            cost: None,
            unpriced: 0,
        }],
    );
    assert_eq!((by_type[0].count, by_type[0].unpriced_count, by_type[0].prompt_tokens), (5, 1, 361));
    let by_project = stats(StatsGroupBy::Project).await;
    let projects: Vec<(Option<&str>, i64)> =
        by_project.iter().map(|group| (group.key.as_deref(), group.count)).collect();
    assert_eq!(projects, [(Some("p1"), 6), (Some("p2"), 4)], "a span counts for its trace's project");
    assert_eq!((by_project[1].error_count, by_project[1].unpriced_count), (1, 2));
    let by_hour = stats(StatsGroupBy::Hour).await;
    let hours: Vec<(Option<&str>, i64)> = by_hour.iter().map(|group| (group.key.as_deref(), group.count)).collect();
    assert_eq!(
        hours,
        [(Some("2026-03-01T10:00:00Z"), 4), (Some("2026-03-01T11:00:00Z"), 4), (Some("2026-03-02T09:00:00Z"), 2)]
    );
    let by_day = stats(StatsGroupBy::Day).await;
    let days: Vec<(Option<&str>, i64)> = by_day.iter().map(|group| (group.key.as_deref(), group.count)).collect();
    assert_eq!(days, [(Some("2026-03-01T00:00:00Z"), 8), (Some("2026-03-02T00:00:00Z"), 2)]);
    assert_groups(
        "the second day",
        &by_day[1..],
        &[Expected {
            key: Some("2026-03-02T00:00:00Z"),
            count: 2,
            errors: 0,
            percentiles: [800.0, 980.0, 996.0],
            tokens: [1, 1, 2],
            cost: Some(0.01),
            unpriced: 0,
        }],
    );
}

pub async fn span_statistics_filters(store: Arc<dyn TraceStore>) {
    store.write(stats_corpus()).await.unwrap();
    let count = |query: StatsQuery| {
        let store = Arc::clone(&store);
        async move {
            let groups = store.stats(&query).await.unwrap();
            groups.iter().map(|group| group.count).sum::<i64>()
        }
    };
    let window = StatsQuery {
        since: Some(time("2026-03-01T11:00:00Z")),
        until: Some(time("2026-03-02T09:00:00Z")),
        ..StatsQuery::default()
    };
    assert_eq!(count(window).await, 4, "B's spans; 09:00 on the 2nd is out");
    assert_eq!(count(StatsQuery { model: Some("model-a".into()), ..StatsQuery::default() }).await, 4);
    assert_eq!(count(StatsQuery { span_type: Some(SpanType::ModelCall), ..StatsQuery::default() }).await, 5);
    assert_eq!(count(StatsQuery { project: Some("p2".into()), ..StatsQuery::default() }).await, 4);
    assert_eq!(count(StatsQuery { session_id: Some("sa".into()), ..StatsQuery::default() }).await, 6);
    let narrow = StatsQuery {
        project: Some("p1".into()),
        model: Some("model-a".into()),
        group_by: StatsGroupBy::Day,
        ..StatsQuery::default()
    };
    let days = store.stats(&narrow).await.unwrap();
    let days: Vec<(Option<&str>, i64)> = days.iter().map(|group| (group.key.as_deref(), group.count)).collect();
    assert_eq!(days, [(Some("2026-03-01T00:00:00Z"), 2), (Some("2026-03-02T00:00:00Z"), 1)]);
    let nothing = StatsQuery { model: Some("no-such-model".into()), ..StatsQuery::default() };
    assert!(store.stats(&nothing).await.unwrap().is_empty());
}

pub async fn trace_statistics(store: Arc<dyn TraceStore>) {
    store.write(stats_corpus()).await.unwrap();
    let trace_level =
        |group_by: StatsGroupBy| StatsQuery { level: StatsLevel::Trace, group_by, ..StatsQuery::default() };
    // Trace durations 1000 2000 5000: p50 at 1, p95 at 1.9, p99 at 1.98.
    assert_groups(
        "trace level",
        &store.stats(&trace_level(StatsGroupBy::None)).await.unwrap(),
        &[Expected {
            key: None,
            count: 3,
            errors: 1,
            percentiles: [2000.0, 4700.0, 4940.0],
            tokens: [368, 37, 405],
            cost: Some(0.0135),
            unpriced: 2,
        }],
    );
    assert_groups(
        "traces by project",
        &store.stats(&trace_level(StatsGroupBy::Project)).await.unwrap(),
        &[
            // A and C: 1000 5000.
            Expected {
                key: Some("p1"),
                count: 2,
                errors: 0,
                percentiles: [3000.0, 4800.0, 4960.0],
                tokens: [301, 31, 332],
                cost: Some(0.013),
                unpriced: 0,
            },
            Expected {
                key: Some("p2"),
                count: 1,
                errors: 1,
                percentiles: [2000.0; 3],
                tokens: [67, 6, 73],
                cost: Some(0.0005),
                unpriced: 2,
            },
        ],
    );
    let days = store.stats(&trace_level(StatsGroupBy::Day)).await.unwrap();
    let days: Vec<(Option<&str>, i64)> = days.iter().map(|group| (group.key.as_deref(), group.count)).collect();
    assert_eq!(days, [(Some("2026-03-01T00:00:00Z"), 2), (Some("2026-03-02T00:00:00Z"), 1)]);
    let hours = store.stats(&trace_level(StatsGroupBy::Hour)).await.unwrap();
    assert_eq!(hours.len(), 3);
    let with_model_b = StatsQuery { model: Some("model-b".into()), ..trace_level(StatsGroupBy::None) };
    let groups = store.stats(&with_model_b).await.unwrap();
    assert_eq!((groups[0].count, groups[0].total_tokens), (1, 73), "traces holding a model-b span, all their tokens");
    let with_chain = StatsQuery { span_type: Some(SpanType::Chain), ..trace_level(StatsGroupBy::None) };
    assert_eq!(store.stats(&with_chain).await.unwrap()[0].count, 1);
    let late = StatsQuery { since: Some(time("2026-03-01T11:00:00Z")), ..trace_level(StatsGroupBy::None) };
    assert_eq!(store.stats(&late).await.unwrap()[0].count, 2);
    for group_by in [StatsGroupBy::Model, StatsGroupBy::SpanType] {
        invalid_query(store.stats(&trace_level(group_by)).await, "group_by");
    }
}

fn attachment(trace: &str, span: &str, name: &str) -> Attachment {
    Attachment {
        trace_id: trace_id(trace),
        span_id: span_id(span),
        name: name.into(),
        content_type: "text/plain".into(),
        content: format!("{trace}/{span}/{name}").into_bytes(),
    }
}

fn feedback(id: &str, trace: Option<&str>, span: Option<&str>) -> Feedback {
    Feedback {
        feedback_id: id.into(),
        trace_id: trace.map(trace_id),
        span_id: span.map(span_id),
        key: "correctness".into(),
        score: Some(1.0),
        value: None,
        comment: None,
        correction: None,
        source: None,
        metadata: serde_json::Map::new(),
        created_at: Some(time(&format!("2026-03-01T10:00:0{}Z", id.len() % 10))),
    }
}

pub async fn deleting_a_trace_takes_everything_of_it_and_nothing_else(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    // t-alpha and t-charlie share the span ids root and llm; "search" is t-alpha's alone.
    store
        .write(WriteBatch {
            attachments: vec![attachment("t-alpha", "llm", "prompt.txt"), attachment("t-charlie", "llm", "prompt.txt")],
            feedback: vec![
                feedback("fb-alpha", Some("t-alpha"), None),
                feedback("fb-alpha-search", None, Some("search")),
                feedback("fb-shared-root", None, Some("root")),
                feedback("fb-charlie", Some("t-charlie"), Some("tool")),
            ],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    let charlie_before = store.trace(&trace_id("t-charlie")).await.unwrap().unwrap();
    let charlie_feedback = store.feedback(&trace_id("t-charlie")).await.unwrap();
    assert_eq!(charlie_feedback.len(), 2, "its own and the span-only feedback on a span id it shares");
    let charlie_files = store.attachments(&trace_id("t-charlie")).await.unwrap();
    let spans_before = store.count_spans().await.unwrap();

    assert!(store.delete_trace(&trace_id("t-alpha")).await.unwrap());
    let alpha = trace_id("t-alpha");
    assert!(store.trace(&alpha).await.unwrap().is_none());
    assert!(store.span(&alpha, &span_id("llm")).await.unwrap().is_none());
    assert!(store.attachments(&alpha).await.unwrap().is_empty());
    assert!(store.attachment(&alpha, &span_id("llm"), "prompt.txt").await.unwrap().is_none());
    assert!(store.feedback(&alpha).await.unwrap().is_empty());
    assert_eq!(store.span_trace_id(&span_id("search")).await.unwrap(), None);
    assert_eq!(store.count_spans().await.unwrap(), spans_before - 3);
    let q = TraceFilter { q: Some("weather in paris".into()), ..TraceFilter::default() };
    assert_filter(&*store, q, &[]).await;
    assert_filter(&*store, TraceFilter { tag: Some("eu".into()), ..TraceFilter::default() }, &[]).await;

    // The other traces, their files and their feedback are as they were.
    assert_eq!(store.trace(&trace_id("t-charlie")).await.unwrap().unwrap(), charlie_before);
    assert_eq!(store.feedback(&trace_id("t-charlie")).await.unwrap(), charlie_feedback);
    assert_eq!(store.attachments(&trace_id("t-charlie")).await.unwrap(), charlie_files);
    assert_filter(
        &*store,
        TraceFilter::default(),
        &["t-delta", "t-golf", "t-bravo", "t-charlie", "t-echo", "t-foxtrot"],
    )
    .await;
    assert!(!store.delete_trace(&alpha).await.unwrap(), "already gone");
    assert!(!store.delete_trace(&trace_id("no-such-trace")).await.unwrap());
}

pub async fn deleting_old_traces_goes_in_batches_oldest_first(store: Arc<dyn TraceStore>) {
    loaded(&store).await;
    let old: Vec<SpanPiece> =
        (1..=5).map(|year| back_dated(&format!("t-202{year}"), &format!("202{year}-06-01T00:00:00Z"))).collect();
    store.write(WriteBatch { spans: old, ..WriteBatch::default() }).await.unwrap();
    let cutoff = time("2025-06-01T00:00:00Z");
    assert_eq!(store.delete_traces_before(cutoff, 2).await.unwrap(), 2);
    let left = listed(&*store, &TraceFilter::default(), TraceSort::StartTimeAsc).await;
    assert_eq!(left[..3], ["t-2023", "t-2024", "t-2025"], "the two oldest went first");
    assert_eq!(store.delete_traces_before(cutoff, 2).await.unwrap(), 2);
    assert_eq!(store.delete_traces_before(cutoff, 2).await.unwrap(), 0, "t-2025 started at the cutoff: kept");
    assert_eq!(store.delete_traces_before(cutoff, 0).await.unwrap(), 0);
    assert_eq!(
        listed(&*store, &TraceFilter::default(), TraceSort::StartTimeAsc).await,
        ["t-2025", "t-echo", "t-alpha", "t-charlie", "t-bravo", "t-golf", "t-delta", "t-foxtrot"]
    );
    assert!(store.span(&trace_id("t-2021"), &span_id("root")).await.unwrap().is_none(), "spans went with them");
}

/// With the embedded price table (conformance tests install none): gpt-4o
/// is $2.50 in, $1.25 cached, $10 out per million tokens;
/// text-embedding-3-small $0.02 in.
pub async fn model_calls_are_priced_at_ingest(store: Arc<dyn TraceStore>) {
    let usage = |prompt, completion, cache_read| TokenUsage { prompt, completion, cache_read, ..TokenUsage::default() };
    let call = |id: &str, model: &str, tokens: TokenUsage, cost: Option<f64>| {
        let mut piece = model_call(
            timed_span("t-priced", id, Some("root"), SpanType::ModelCall, "10:00:01", Some("10:00:02")),
            model,
            "openai",
            None,
            cost,
        );
        piece.tokens = Some(tokens);
        piece
    };
    let mut started = call("llm", "gpt-4o-2024-08-06", usage(Some(1_000), None, Some(200)), None);
    started.end_time = None;
    started.status = Some(Status::Running);
    let mut embedding = call("embed", "text-embedding-3-small", usage(Some(1_000), None, None), None);
    embedding.span_type = Some(SpanType::Embedding);
    let mut agent = call("root", "gpt-4o", usage(Some(5_000), Some(800), None), None);
    agent.parent_span_id = None;
    agent.span_type = Some(SpanType::Agent);
    store
        .write(WriteBatch {
            spans: vec![
                started,
                embedding,
                agent,
                call("house", "house-model-7", usage(Some(10), Some(10), None), None),
                call("sent", "gpt-4o", usage(Some(10), Some(10), None), Some(0.5)),
            ],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    let cost = |id: &'static str| {
        let store = Arc::clone(&store);
        async move { super::stored_span(&*store, "t-priced", id).await.cost_usd }
    };
    // 800 uncached × 2.50 + 200 cached × 1.25, per million.
    assert_eq!(cost("llm").await, Some(0.00225), "priced from the tokens known so far");
    assert_eq!(cost("embed").await, Some(0.00002));
    assert_eq!(cost("root").await, None, "agent spans are never priced");
    assert_eq!(cost("house").await, None, "a model missing from the table stays unpriced");
    assert_eq!(cost("sent").await, Some(0.5), "a sent cost is kept");

    // The final tokens arrive: the cost follows them.
    let ended = call("llm", "gpt-4o-2024-08-06", usage(Some(1_000), Some(500), Some(200)), None);
    store.write(WriteBatch { spans: vec![ended.clone()], ..WriteBatch::default() }).await.unwrap();
    assert_eq!(cost("llm").await, Some(0.00725));
    // In the other order, the same result.
    let mut first = ended.clone();
    first.trace_id = trace_id("t-priced-reversed");
    let mut then = call("llm", "gpt-4o-2024-08-06", usage(Some(1_000), None, Some(200)), None);
    then.trace_id = trace_id("t-priced-reversed");
    then.end_time = None;
    then.status = Some(Status::Running);
    store.write(WriteBatch { spans: vec![first], ..WriteBatch::default() }).await.unwrap();
    store.write(WriteBatch { spans: vec![then], ..WriteBatch::default() }).await.unwrap();
    let reversed = super::stored_span(&*store, "t-priced-reversed", "llm").await;
    assert_eq!(reversed.cost_usd, Some(0.00725));

    let stats = store.trace_stats(&trace_id("t-priced")).await.unwrap().unwrap();
    assert!((stats.cost_usd.unwrap() - (0.00725 + 0.00002 + 0.5)).abs() < 1e-12, "{:?}", stats.cost_usd);
    let groups =
        store.stats(&StatsQuery { model: Some("house-model-7".into()), ..StatsQuery::default() }).await.unwrap();
    assert_eq!((groups[0].unpriced_count, groups[0].cost_usd), (1, None));
    let groups =
        store.stats(&StatsQuery { span_type: Some(SpanType::ModelCall), ..StatsQuery::default() }).await.unwrap();
    assert_eq!(groups[0].unpriced_count, 1, "only the unknown model: the others have a cost");

    // The client's own figure, arriving late, replaces the computed one for good.
    let billed = call("llm", "gpt-4o-2024-08-06", usage(Some(1_000), Some(500), Some(200)), Some(0.01));
    store.write(WriteBatch { spans: vec![billed], ..WriteBatch::default() }).await.unwrap();
    assert_eq!(cost("llm").await, Some(0.01));
    store.write(WriteBatch { spans: vec![ended], ..WriteBatch::default() }).await.unwrap();
    assert_eq!(cost("llm").await, Some(0.01));
    let stored = super::stored_span(&*store, "t-priced", "llm").await;
    assert_eq!(stored.metadata.get(agentrace_core::pricing::COMPUTED_COST_KEY), None);
}
