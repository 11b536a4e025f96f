//! The conformance suite: the storage contract as executable checks.
//!
//! Every backend runs all of it by adding one line to its tests:
//! `agentrace_store::conformance_tests!(make_store);` where `make_store` is
//! an async fn returning `(Arc<dyn TraceStore>, impl Send)` for a brand-new,
//! empty database (the second value keeps that database alive). A backend
//! that cannot meet a rule must opt out explicitly, with its reason, rather
//! than drop the test.

use std::sync::Arc;

use agentrace_core::text::{escape_bytes, unescape};
use agentrace_core::time::{parse_rfc3339, Timestamp};
use agentrace_core::{
    Attachment, AttachmentInfo, Feedback, SpanId, SpanPiece, SpanType, Status, TokenUsage, TraceId, TracePiece,
};
use serde_json::{json, Value};

use crate::{TraceStore, WriteBatch};

mod queries;
mod rollups;
pub use queries::*;
pub use rollups::*;

/// Generates one `#[tokio::test]` per conformance check for a backend.
#[macro_export]
macro_rules! conformance_tests {
    ($make_store:path) => {
        $crate::conformance_tests!(@tests $make_store;
            span_pieces_merge_in_either_order,
            duplicate_delivery_changes_nothing,
            children_may_arrive_before_parents,
            spans_may_arrive_before_their_trace,
            trace_fields_are_derived_from_spans,
            explicit_trace_fields_beat_derived_ones,
            token_totals_skip_agent_aggregates,
            unknown_cost_is_not_zero,
            listed_statistics_follow_every_write,
            nul_and_invalid_utf8_round_trip_escaped,
            emoji_and_cjk_round_trip,
            one_megabyte_input_round_trips,
            ten_thousand_span_trace,
            thousand_level_deep_trace,
            unknown_ids_read_as_none,
            concurrent_writers_lose_nothing,
            concurrent_writes_of_one_span_both_merge,
            attachments_keep_their_bytes_and_replace_by_name,
            feedback_belongs_to_its_trace_or_its_span,
            span_trace_id_finds_a_span_by_id_alone,
            trace_filters_on_trace_columns,
            trace_filters_on_time_and_duration,
            trace_filters_on_errors_models_and_tags,
            trace_filters_on_metadata,
            free_text_searches_input_output_and_error,
            free_text_follows_changes_to_a_trace,
            free_text_matches_the_whole_text_not_its_trigrams,
            trace_sorts_put_missing_values_last,
            pages_return_every_trace_once_while_traces_arrive,
            pages_in_ascending_and_duration_order,
            malformed_cursors_and_limits_are_refused,
            listed_traces_carry_stats_and_payloads_on_request,
            span_listing_filters,
            span_pages_return_every_span_once,
            sessions_list_with_totals_newest_first,
            a_session_is_its_turns_in_order,
            projects_list_newest_activity_first,
            span_statistics_for_every_grouping,
            span_statistics_filters,
            trace_statistics,
            statistics_from_rollups_match_the_spans,
            deleting_a_trace_takes_everything_of_it_and_nothing_else,
            deleting_old_traces_goes_in_batches_oldest_first,
            model_calls_are_priced_at_ingest,
        );
    };
    (@tests $make_store:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $make_store().await;
                $crate::conformance::$check(store).await;
            }
        )*
    };
}

fn trace_id(raw: &str) -> TraceId {
    TraceId::parse(raw).expect("valid trace id")
}

fn span_id(raw: &str) -> SpanId {
    SpanId::parse(raw).expect("valid span id")
}

fn at(seconds: u32) -> Timestamp {
    parse_rfc3339(&format!("2026-03-01T10:00:{seconds:02}.250000Z")).expect("valid time")
}

fn span(trace: &str, id: &str, parent: Option<&str>, kind: SpanType, start: u32, end: u32) -> SpanPiece {
    let mut piece = SpanPiece::new(trace_id(trace), span_id(id));
    piece.parent_span_id = parent.map(span_id);
    piece.span_type = Some(kind);
    piece.name = Some(format!("{kind}-{id}"));
    piece.start_time = Some(at(start));
    piece.end_time = Some(at(end));
    piece.status = Some(Status::Success);
    piece
}

fn spans_only(spans: Vec<SpanPiece>) -> WriteBatch {
    WriteBatch { spans, ..WriteBatch::default() }
}

fn started_piece() -> SpanPiece {
    let mut piece = SpanPiece::new(trace_id("t-merge"), span_id("root"));
    piece.span_type = Some(SpanType::Node);
    piece.name = Some("ReasonNode".into());
    piece.start_time = Some(at(1));
    piece.status = Some(Status::Running);
    piece.input = Some(json!({"question": "weather in Paris?"}));
    piece.output = Some(json!({}));
    piece.metadata.insert("langgraph_node".into(), json!("ReasonNode"));
    piece.metadata.insert("attempt".into(), json!(1));
    piece
}

fn ended_piece() -> SpanPiece {
    let mut piece = SpanPiece::new(trace_id("t-merge"), span_id("root"));
    piece.end_time = Some(at(5));
    piece.status = Some(Status::Success);
    piece.input = Some(Value::Null);
    piece.output = Some(json!({"answer": "sunny"}));
    piece.tokens = Some(TokenUsage { prompt: Some(10), completion: Some(5), ..TokenUsage::default() });
    piece.metadata.insert("attempt".into(), json!(2));
    piece.metadata.insert("finish_reason".into(), json!("stop"));
    piece
}

async fn stored_span(store: &dyn TraceStore, trace: &str, id: &str) -> SpanPiece {
    store.span(&trace_id(trace), &span_id(id)).await.expect("span read").expect("span stored").span
}

pub async fn span_pieces_merge_in_either_order(store: Arc<dyn TraceStore>) {
    store.write(spans_only(vec![started_piece()])).await.unwrap();
    store.write(spans_only(vec![ended_piece()])).await.unwrap();
    let start_then_end = stored_span(&*store, "t-merge", "root").await;

    let mut reversed = ended_piece();
    reversed.trace_id = trace_id("t-merge-reversed");
    let mut started = started_piece();
    started.trace_id = trace_id("t-merge-reversed");
    store.write(spans_only(vec![reversed])).await.unwrap();
    store.write(spans_only(vec![started])).await.unwrap();
    let mut end_then_start = stored_span(&*store, "t-merge-reversed", "root").await;
    end_then_start.trace_id = trace_id("t-merge");

    assert_eq!(start_then_end, end_then_start);
    assert_eq!(start_then_end.input, Some(json!({"question": "weather in Paris?"})));
    assert_eq!(start_then_end.output, Some(json!({"answer": "sunny"})));
    assert_eq!(start_then_end.status, Some(Status::Success));
    assert_eq!(start_then_end.start_time, Some(at(1)));
    assert_eq!(start_then_end.end_time, Some(at(5)));
    assert_eq!(
        Value::Object(start_then_end.metadata.clone()),
        json!({"langgraph_node": "ReasonNode", "attempt": 2, "finish_reason": "stop"})
    );
    let stored = store.span(&trace_id("t-merge"), &span_id("root")).await.unwrap().unwrap();
    assert_eq!(stored.duration_ms, Some(4000));
}

pub async fn duplicate_delivery_changes_nothing(store: Arc<dyn TraceStore>) {
    let batch = spans_only(vec![started_piece(), ended_piece()]);
    store.write(batch.clone()).await.unwrap();
    let first = store.trace(&trace_id("t-merge")).await.unwrap().unwrap();
    store.write(batch.clone()).await.unwrap();
    store.write(spans_only(vec![ended_piece()])).await.unwrap();
    let again = store.trace(&trace_id("t-merge")).await.unwrap().unwrap();
    assert_eq!(first, again);
    assert_eq!(again.spans.len(), 1);
    assert_eq!(store.count_spans().await.unwrap(), 1);
}

/// A piece that changes nothing in its trace (a child span ending within
/// its root, the same root again) leaves the trace row alone, since a new
/// version of it costs a write of every index of `agent.traces`; a child
/// ending after its root does change it. Not in [`conformance_tests!`]: a
/// rewrite is seen only through the backend, so each backend calls this
/// with `row_version`, which reads something that changes whenever the row
/// of trace `t-rows` is written (PostgreSQL's `xmin`, SQLite's
/// `updated_at`).
pub async fn unchanged_trace_rows_are_left_alone<F, Fut>(store: Arc<dyn TraceStore>, row_version: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    // Later writes get later stamps even where they have millisecond precision.
    let tick = || tokio::time::sleep(std::time::Duration::from_millis(5));
    let mut root = span("t-rows", "root", None, SpanType::Agent, 0, 9);
    root.input = Some(json!({"question": "asked of root"}));
    store.write(spans_only(vec![root.clone()])).await.unwrap();
    let after_root = row_version().await;

    tick().await;
    store.write(spans_only(vec![span("t-rows", "tool", Some("root"), SpanType::ToolCall, 2, 3)])).await.unwrap();
    store.write(spans_only(vec![root])).await.unwrap();
    assert_eq!(row_version().await, after_root, "a child within its root and a repeated root change nothing");

    tick().await;
    store.write(spans_only(vec![span("t-rows", "late", Some("root"), SpanType::ToolCall, 5, 12)])).await.unwrap();
    assert_ne!(row_version().await, after_root, "a child ending after its root moves the trace's end");
    let trace = store.trace(&trace_id("t-rows")).await.unwrap().unwrap().trace;
    assert_eq!(trace.end_time, Some(at(12)));
    assert_eq!(trace.input, Some(json!({"question": "asked of root"})));
}

/// A trace that arrives whole in one write gets its row written once, as
/// the batch makes it, not created empty and rewritten once its spans are
/// in: a rewrite costs a new version of the row and of its index entries.
/// `rewritten` lists the trace ids of every rewrite of a stored trace row
/// so far (each store counts them with a trigger), sorted.
pub async fn whole_traces_are_written_once<F, Fut>(store: Arc<dyn TraceStore>, rewritten: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let mut named = TracePiece::new(trace_id("t-named"));
    named.session_id = Some("conversation".into());
    named.name = Some("checkout".into());
    let mut root = span("t-whole", "root", None, SpanType::Agent, 1, 5);
    root.input = Some(json!({"question": "asked of root"}));
    let batch = WriteBatch {
        traces: vec![named],
        spans: vec![
            span("t-whole", "child", Some("root"), SpanType::ModelCall, 2, 3),
            root,
            span("t-whole", "late-root", None, SpanType::Agent, 4, 6),
            span("t-named", "root", None, SpanType::Agent, 1, 2),
        ],
        ..WriteBatch::default()
    };
    store.write(batch).await.unwrap();
    assert_eq!(rewritten().await, Vec::<String>::new(), "whole traces are written once");
    let whole = store.trace(&trace_id("t-whole")).await.unwrap().unwrap().trace;
    assert_eq!(
        (whole.name.as_deref(), whole.start_time, whole.end_time),
        (Some("agent-root"), Some(at(1)), Some(at(6)))
    );
    assert_eq!(whole.input, Some(json!({"question": "asked of root"})));
    let named = store.trace(&trace_id("t-named")).await.unwrap().unwrap().trace;
    assert_eq!((named.session_id.as_str(), named.name.as_deref()), ("conversation", Some("checkout")));

    // A later span that moves the trace's end rewrites the stored row.
    store.write(spans_only(vec![span("t-whole", "tool", Some("root"), SpanType::ToolCall, 5, 9)])).await.unwrap();
    assert_eq!(rewritten().await, ["t-whole"]);
    assert_eq!(store.trace(&trace_id("t-whole")).await.unwrap().unwrap().trace.end_time, Some(at(9)));
}

pub async fn children_may_arrive_before_parents(store: Arc<dyn TraceStore>) {
    let child = span("t-order", "child", Some("parent"), SpanType::ModelCall, 2, 3);
    let parent = span("t-order", "parent", None, SpanType::Node, 1, 4);
    store.write(spans_only(vec![child])).await.unwrap();
    let before = store.trace(&trace_id("t-order")).await.unwrap().unwrap();
    assert_eq!(before.spans.len(), 1);
    assert_eq!(before.trace.status, Status::Running, "no root yet, so the trace is still running");
    store.write(spans_only(vec![parent])).await.unwrap();
    let after = store.trace(&trace_id("t-order")).await.unwrap().unwrap();
    let ids: Vec<&str> = after.spans.iter().map(|stored| stored.span.span_id.as_str()).collect();
    assert_eq!(ids, ["parent", "child"]);
    assert_eq!(after.spans[1].span.parent_span_id, Some(span_id("parent")));
    assert_eq!(after.trace.status, Status::Success);
    assert_eq!(after.trace.name.as_deref(), Some("node-parent"));
}

pub async fn spans_may_arrive_before_their_trace(store: Arc<dyn TraceStore>) {
    store.write(spans_only(vec![span("t-late", "root", None, SpanType::Agent, 1, 9)])).await.unwrap();
    let provisional = store.trace(&trace_id("t-late")).await.unwrap().unwrap().trace;
    assert_eq!(provisional.session_id, "t-late", "a trace without a session is its own session");
    assert_eq!(provisional.project, "default");
    let mut trace = TracePiece::new(trace_id("t-late"));
    trace.session_id = Some("session-1".into());
    trace.user_id = Some("user-7".into());
    trace.project = Some("travel-agent".into());
    trace.tags = vec!["beta".into()];
    trace.metadata.insert("region".into(), json!("eu"));
    store.write(WriteBatch { traces: vec![trace], ..WriteBatch::default() }).await.unwrap();
    let completed = store.trace(&trace_id("t-late")).await.unwrap().unwrap().trace;
    assert_eq!(completed.session_id, "session-1");
    assert_eq!(completed.user_id.as_deref(), Some("user-7"));
    assert_eq!(completed.project, "travel-agent");
    assert_eq!(completed.tags, vec!["beta".to_string()]);
    assert_eq!(completed.metadata.get("region"), Some(&json!("eu")));
    assert_eq!(completed.start_time, Some(at(1)), "still derived from the span");
}

pub async fn trace_fields_are_derived_from_spans(store: Arc<dyn TraceStore>) {
    let mut root = span("t-derive", "root", None, SpanType::Agent, 2, 9);
    root.input = Some(json!({"messages": [{"role": "user", "content": "book a flight"}]}));
    root.output = Some(json!({"answer": "booked"}));
    root.status = Some(Status::Error);
    root.error = Some("payment declined".into());
    let early_child = span("t-derive", "early", Some("root"), SpanType::ToolCall, 1, 3);
    let late_child = span("t-derive", "late", Some("root"), SpanType::ModelCall, 4, 12);
    store.write(spans_only(vec![late_child, early_child])).await.unwrap();
    let before_root = store.trace(&trace_id("t-derive")).await.unwrap().unwrap().trace;
    assert_eq!(before_root.status, Status::Running);
    assert_eq!(before_root.end_time, None, "end stays open while the root is missing");
    store.write(spans_only(vec![root])).await.unwrap();
    let trace = store.trace(&trace_id("t-derive")).await.unwrap().unwrap().trace;
    assert_eq!(trace.start_time, Some(at(1)));
    assert_eq!(trace.end_time, Some(at(12)));
    assert_eq!(trace.duration_ms, Some(11_000));
    assert_eq!(trace.status, Status::Error);
    assert_eq!(trace.error.as_deref(), Some("payment declined"));
    assert_eq!(trace.name.as_deref(), Some("agent-root"));
    assert_eq!(trace.input, Some(json!({"messages": [{"role": "user", "content": "book a flight"}]})));
    assert_eq!(trace.output, Some(json!({"answer": "booked"})));
}

pub async fn explicit_trace_fields_beat_derived_ones(store: Arc<dyn TraceStore>) {
    let mut trace = TracePiece::new(trace_id("t-explicit"));
    trace.name = Some("checkout-agent".into());
    trace.input = Some(json!("explicit input"));
    store
        .write(WriteBatch {
            traces: vec![trace],
            spans: vec![span("t-explicit", "root", None, SpanType::Agent, 1, 2)],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    store.write(spans_only(vec![span("t-explicit", "root", None, SpanType::Agent, 1, 3)])).await.unwrap();
    let stored = store.trace(&trace_id("t-explicit")).await.unwrap().unwrap().trace;
    assert_eq!(stored.name.as_deref(), Some("checkout-agent"));
    assert_eq!(stored.input, Some(json!("explicit input")));
    assert_eq!(stored.end_time, Some(at(3)), "fields not sent keep following the spans");
}

pub async fn token_totals_skip_agent_aggregates(store: Arc<dyn TraceStore>) {
    let mut agent = span("t-tokens", "agent", None, SpanType::Agent, 1, 9);
    agent.tokens =
        Some(TokenUsage { prompt: Some(300), completion: Some(30), total: Some(330), ..TokenUsage::default() });
    let mut first_call = span("t-tokens", "llm-1", Some("agent"), SpanType::ModelCall, 2, 3);
    first_call.tokens =
        Some(TokenUsage { prompt: Some(100), completion: Some(10), total: Some(110), ..TokenUsage::default() });
    first_call.cost_usd = Some(0.25);
    let mut second_call = span("t-tokens", "llm-2", Some("agent"), SpanType::ModelCall, 4, 5);
    second_call.tokens = Some(TokenUsage { prompt: Some(200), completion: Some(20), ..TokenUsage::default() });
    second_call.status = Some(Status::Error);
    let mut embedding = span("t-tokens", "embed", Some("agent"), SpanType::Embedding, 5, 6);
    embedding.tokens = Some(TokenUsage { prompt: Some(7), ..TokenUsage::default() });
    let tool = span("t-tokens", "tool", Some("agent"), SpanType::ToolCall, 6, 7);
    let mcp = span("t-tokens", "mcp", Some("agent"), SpanType::McpCall, 7, 8);
    store.write(spans_only(vec![agent, first_call, second_call, embedding, tool, mcp])).await.unwrap();
    let stats = store.trace_stats(&trace_id("t-tokens")).await.unwrap().unwrap();
    assert_eq!(stats.total_spans, 6);
    assert_eq!(stats.model_calls, 2);
    assert_eq!(stats.tool_calls, 1);
    assert_eq!(stats.mcp_calls, 1);
    assert_eq!(stats.error_spans, 1);
    assert_eq!(stats.prompt_tokens, 307);
    assert_eq!(stats.completion_tokens, 30);
    assert_eq!(stats.total_tokens, 337, "total falls back to prompt + completion");
    assert_eq!(stats.cost_usd, Some(0.25));
}

/// A model missing from the price table is unpriced: the trace's cost is
/// unknown (None), never a silent $0, while its tokens still count.
pub async fn unknown_cost_is_not_zero(store: Arc<dyn TraceStore>) {
    let mut call = span("t-unpriced", "llm", None, SpanType::ModelCall, 1, 2);
    call.model = Some("in-house-model-that-no-price-table-lists".into());
    call.tokens = Some(TokenUsage { prompt: Some(40), completion: Some(2), ..TokenUsage::default() });
    let tool_only = span("t-no-calls", "tool", None, SpanType::ToolCall, 1, 2);
    store.write(spans_only(vec![call, tool_only])).await.unwrap();
    let unpriced = store.trace_stats(&trace_id("t-unpriced")).await.unwrap().unwrap();
    assert_eq!((unpriced.total_tokens, unpriced.cost_usd), (42, None));
    let no_calls = store.trace_stats(&trace_id("t-no-calls")).await.unwrap().unwrap();
    assert_eq!((no_calls.total_tokens, no_calls.cost_usd), (0, None));
}

/// The statistics a trace is listed with, read through the trace list.
async fn listed_stats(store: &dyn TraceStore, trace: &str) -> crate::TraceStats {
    // A trace that names no session is its own.
    let filter = crate::query::TraceFilter { session_id: Some(trace.into()), ..Default::default() };
    let page = crate::query::PageRequest { limit: 10, cursor: None };
    let listed = store.list_traces(&filter, crate::query::TraceSort::StartTimeDesc, &page, false).await.unwrap();
    assert_eq!(listed.items.len(), 1, "{trace} is listed once");
    listed.items[0].stats.clone()
}

/// A store may keep the trace list's figures as it writes instead of
/// computing them for each page; they must follow every write of the
/// trace's spans all the same: new spans, merged pieces that change a
/// span's type, status, tokens or cost, repeats that change nothing.
pub async fn listed_statistics_follow_every_write(store: Arc<dyn TraceStore>) {
    let check = |expected: crate::TraceStats, context: &'static str| {
        let store = Arc::clone(&store);
        async move {
            let alone = store.trace_stats(&trace_id("t-listed")).await.unwrap().unwrap();
            assert_eq!(alone, expected, "{context}: the trace's statistics");
            assert_eq!(listed_stats(&*store, "t-listed").await, expected, "{context}: as listed");
        }
    };
    let mut agent = span("t-listed", "agent", None, SpanType::Agent, 1, 9);
    agent.tokens = Some(TokenUsage { prompt: Some(300), completion: Some(30), ..TokenUsage::default() });
    let mut call = span("t-listed", "llm", Some("agent"), SpanType::ModelCall, 2, 3);
    call.tokens = Some(TokenUsage { prompt: Some(100), completion: Some(10), ..TokenUsage::default() });
    call.cost_usd = Some(0.25);
    store.write(spans_only(vec![agent, call])).await.unwrap();
    let first = crate::TraceStats {
        total_spans: 2,
        model_calls: 1,
        prompt_tokens: 100,
        completion_tokens: 10,
        total_tokens: 110,
        cost_usd: Some(0.25),
        ..Default::default()
    };
    check(first.clone(), "first write").await;

    let tool = span("t-listed", "tool", Some("agent"), SpanType::ToolCall, 4, 5);
    let mut embedding = span("t-listed", "embed", Some("agent"), SpanType::Embedding, 5, 6);
    embedding.tokens = Some(TokenUsage { prompt: Some(7), total: Some(8), ..TokenUsage::default() });
    store.write(spans_only(vec![tool, embedding])).await.unwrap();
    let second = crate::TraceStats { total_spans: 4, tool_calls: 1, prompt_tokens: 107, total_tokens: 118, ..first };
    check(second.clone(), "a later write of more spans").await;
    store.write(spans_only(vec![span("t-listed", "tool", Some("agent"), SpanType::ToolCall, 4, 5)])).await.unwrap();
    check(second.clone(), "a repeated span").await;

    // Later pieces of known spans: the call fails with more tokens and a
    // new cost, and so does the tool.
    let mut failed = SpanPiece::new(trace_id("t-listed"), span_id("llm"));
    failed.status = Some(Status::Error);
    failed.tokens = Some(TokenUsage { prompt: Some(150), completion: Some(20), ..TokenUsage::default() });
    failed.cost_usd = Some(0.5);
    let mut tool_failed = SpanPiece::new(trace_id("t-listed"), span_id("tool"));
    tool_failed.status = Some(Status::Error);
    store.write(spans_only(vec![failed, tool_failed])).await.unwrap();
    check(
        crate::TraceStats {
            error_spans: 2,
            prompt_tokens: 157,
            completion_tokens: 20,
            total_tokens: 178,
            cost_usd: Some(0.5),
            ..second
        },
        "merged pieces",
    )
    .await;
}

pub async fn nul_and_invalid_utf8_round_trip_escaped(store: Arc<dyn TraceStore>) {
    let raw_text: &[u8] = b"before\0after \xFF\xFE tail \xE2\x90\x80 end";
    let escaped = escape_bytes(raw_text).into_owned();
    let mut piece = span("t-escape", "root", None, SpanType::ToolCall, 1, 2);
    piece.name = Some(escape_bytes(b"tool\0name").into_owned());
    piece.input = Some(json!({ escaped.clone(): [escaped.clone()] }));
    piece.error = Some(escaped.clone());
    piece.metadata.insert("raw".into(), json!(escaped.clone()));
    store.write(spans_only(vec![piece.clone()])).await.unwrap();
    let stored = stored_span(&*store, "t-escape", "root").await;
    assert_eq!(stored, piece);
    assert_eq!(unescape(stored.error.as_deref().unwrap()), raw_text);
    assert_eq!(unescape(stored.name.as_deref().unwrap()), b"tool\0name");
}

pub async fn emoji_and_cjk_round_trip(store: Arc<dyn TraceStore>) {
    let text = "東京の天気は？ 🌧️ — 서울 — 🦀👩‍👩‍👧";
    let mut piece = span("t-unicode", "root", None, SpanType::ModelCall, 1, 2);
    piece.name = Some(text.into());
    piece.input = Some(json!({"messages": [{"role": "user", "content": text}]}));
    piece.metadata.insert(text.into(), json!(text));
    store.write(spans_only(vec![piece.clone()])).await.unwrap();
    assert_eq!(stored_span(&*store, "t-unicode", "root").await, piece);
}

pub async fn one_megabyte_input_round_trips(store: Arc<dyn TraceStore>) {
    let big = "agent trace payload ".repeat(1 << 16);
    assert!(big.len() >= 1 << 20);
    let mut piece = span("t-big", "root", None, SpanType::ModelCall, 1, 2);
    piece.input = Some(json!({"document": big}));
    store.write(spans_only(vec![piece.clone()])).await.unwrap();
    assert_eq!(stored_span(&*store, "t-big", "root").await.input, piece.input);
}

pub async fn ten_thousand_span_trace(store: Arc<dyn TraceStore>) {
    let root = span("t-wide", "root", None, SpanType::Agent, 0, 59);
    let children: Vec<SpanPiece> = (0..9_999)
        .map(|index| span("t-wide", &format!("child-{index:05}"), Some("root"), SpanType::ToolCall, 1 + index % 50, 58))
        .collect();
    for chunk in children.chunks(2_500) {
        store.write(spans_only(chunk.to_vec())).await.unwrap();
    }
    store.write(spans_only(vec![root])).await.unwrap();
    let detail = store.trace(&trace_id("t-wide")).await.unwrap().unwrap();
    assert_eq!(detail.spans.len(), 10_000);
    assert_eq!(detail.trace.start_time, Some(at(0)));
    assert_eq!(store.trace_stats(&trace_id("t-wide")).await.unwrap().unwrap().tool_calls, 9_999);
}

pub async fn thousand_level_deep_trace(store: Arc<dyn TraceStore>) {
    let chain: Vec<SpanPiece> = (0..1_000)
        .map(|depth| {
            let parent = (depth > 0).then(|| format!("level-{:04}", depth - 1));
            span("t-deep", &format!("level-{depth:04}"), parent.as_deref(), SpanType::Chain, 1, 2)
        })
        .collect();
    store.write(spans_only(chain)).await.unwrap();
    let detail = store.trace(&trace_id("t-deep")).await.unwrap().unwrap();
    assert_eq!(detail.spans.len(), 1_000);
    assert_eq!(detail.trace.name.as_deref(), Some("chain-level-0000"));
    let deepest = stored_span(&*store, "t-deep", "level-0999").await;
    assert_eq!(deepest.parent_span_id, Some(span_id("level-0998")));
}

pub async fn unknown_ids_read_as_none(store: Arc<dyn TraceStore>) {
    assert!(store.trace(&trace_id("no-such-trace")).await.unwrap().is_none());
    assert!(store.span(&trace_id("no-such-trace"), &span_id("x")).await.unwrap().is_none());
    assert!(store.trace_stats(&trace_id("no-such-trace")).await.unwrap().is_none());
    store.write(spans_only(vec![span("t-known", "root", None, SpanType::Agent, 1, 2)])).await.unwrap();
    assert!(store.span(&trace_id("t-known"), &span_id("other")).await.unwrap().is_none());
}

pub async fn concurrent_writers_lose_nothing(store: Arc<dyn TraceStore>) {
    let writers = (0..8).map(|writer| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for batch in 0..10 {
                let spans = (0..50)
                    .map(|index| {
                        let trace = format!("t-concurrent-{writer}-{batch}");
                        let parent = (index > 0).then_some("s-0");
                        span(&trace, &format!("s-{index}"), parent, SpanType::ModelCall, 1, 2)
                    })
                    .collect();
                store.write(spans_only(spans)).await.unwrap();
            }
        })
    });
    for writer in futures::future::join_all(writers).await {
        writer.unwrap();
    }
    assert_eq!(store.count_spans().await.unwrap(), 8 * 10 * 50);
}

/// Two writes at once, one with the started pieces and one with the ended
/// pieces of the same spans, and each with a field of the same traces: a
/// store that let both read the old state would keep only one of them. The
/// batches list the traces in opposite orders (the pattern that deadlocks
/// writers locking in arrival order). In odd rounds only half the traces
/// exist beforehand, the racing writes creating the others.
pub async fn concurrent_writes_of_one_span_both_merge(store: Arc<dyn TraceStore>) {
    const ROUNDS: usize = 24;
    const TRACES: usize = 16;
    let ids = |round: usize| (0..TRACES).map(move |index| format!("t-race-{round}-{index:02}"));
    for round in 0..ROUNDS {
        let existing = ids(round)
            .step_by(if round % 2 == 0 { 1 } else { 2 })
            .map(|trace| span(&trace, "other", Some("root"), SpanType::ToolCall, 2, 3));
        store.write(spans_only(existing.collect())).await.unwrap();

        let mut started = WriteBatch::default();
        let mut ended = WriteBatch::default();
        for trace in ids(round) {
            let mut start = started_piece();
            start.trace_id = trace_id(&trace);
            started.spans.push(start);
            let mut session = TracePiece::new(trace_id(&trace));
            session.session_id = Some(format!("session-{trace}"));
            started.traces.push(session);
            let mut end = ended_piece();
            end.trace_id = trace_id(&trace);
            ended.spans.insert(0, end);
            let mut user = TracePiece::new(trace_id(&trace));
            user.user_id = Some(format!("user-{trace}"));
            ended.traces.insert(0, user);
        }
        let (first, second) = (Arc::clone(&store), Arc::clone(&store));
        let (started_written, ended_written) = tokio::join!(
            tokio::spawn(async move { first.write(started).await }),
            tokio::spawn(async move { second.write(ended).await }),
        );
        started_written.unwrap().unwrap();
        ended_written.unwrap().unwrap();

        for trace in ids(round) {
            let detail = store.trace(&trace_id(&trace)).await.unwrap().unwrap();
            let root = detail.spans.iter().find(|stored| stored.span.span_id.as_str() == "root").unwrap();
            assert_eq!(root.span.input, Some(json!({"question": "weather in Paris?"})), "{trace}: started piece lost");
            assert_eq!(root.span.output, Some(json!({"answer": "sunny"})), "{trace}: ended piece lost");
            assert_eq!(root.span.status, Some(Status::Success), "{trace}");
            assert_eq!((root.span.start_time, root.span.end_time), (Some(at(1)), Some(at(5))), "{trace}");
            assert_eq!(
                Value::Object(root.span.metadata.clone()),
                json!({"langgraph_node": "ReasonNode", "attempt": 2, "finish_reason": "stop"}),
                "{trace}"
            );
            assert_eq!(detail.trace.session_id, format!("session-{trace}"), "{trace}: trace piece lost");
            assert_eq!(detail.trace.user_id, Some(format!("user-{trace}")), "{trace}: trace piece lost");
            assert_eq!(detail.trace.status, Status::Success, "{trace}: derived from the merged root");
            let existed = round % 2 == 0 || trace.ends_with(['0', '2', '4', '6', '8']);
            assert_eq!(detail.spans.len(), if existed { 2 } else { 1 }, "{trace}");
        }
    }
}

fn attachment(trace: &str, span: &str, name: &str, content_type: &str, content: &[u8]) -> Attachment {
    Attachment {
        trace_id: trace_id(trace),
        span_id: span_id(span),
        name: name.into(),
        content_type: content_type.into(),
        content: content.to_vec(),
    }
}

pub async fn attachments_keep_their_bytes_and_replace_by_name(store: Arc<dyn TraceStore>) {
    let every_byte: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let image = attachment("t-files", "llm", "image", "image/png", b"\x89PNG\r\n\x1a\nfake");
    let audio = attachment("t-files", "llm", "audio", "audio/wav", &every_byte);
    let other_span = attachment("t-files", "tool", "report", "application/pdf", b"%PDF-1.7");
    // Attachments may come before their span: the trace row is created for them.
    store.write(WriteBatch { attachments: vec![image.clone(), audio.clone()], ..WriteBatch::default() }).await.unwrap();
    assert!(store.trace(&trace_id("t-files")).await.unwrap().is_some(), "an attachment creates its trace row");
    store.write(spans_only(vec![span("t-files", "llm", None, SpanType::ModelCall, 1, 2)])).await.unwrap();
    let replaced = attachment("t-files", "llm", "image", "image/jpeg", b"\xFF\xD8\xFF\0jpeg");
    store
        .write(WriteBatch { attachments: vec![replaced.clone(), other_span.clone()], ..WriteBatch::default() })
        .await
        .unwrap();
    store.write(WriteBatch { attachments: vec![replaced.clone()], ..WriteBatch::default() }).await.unwrap();

    let listed = store.attachments(&trace_id("t-files")).await.unwrap();
    let expected: Vec<AttachmentInfo> = vec![audio.info(), replaced.info(), other_span.info()];
    assert_eq!(listed, expected, "ordered by span id, then name; one row per name");
    assert_eq!(listed[0].size_bytes, 300_000);
    let read = |span: &str, name: &str| {
        let store = Arc::clone(&store);
        let (span, name) = (span.to_owned(), name.to_owned());
        async move { store.attachment(&trace_id("t-files"), &span_id(&span), &name).await.unwrap() }
    };
    assert_eq!(read("llm", "audio").await, Some(audio));
    assert_eq!(read("llm", "image").await, Some(replaced), "the later attachment of a name replaces the earlier");
    assert_eq!(read("llm", "missing").await, None);
    assert!(store.attachments(&trace_id("no-such-trace")).await.unwrap().is_empty());
}

fn feedback(id: &str, trace: Option<&str>, span: Option<&str>, key: &str, created: Option<u32>) -> Feedback {
    Feedback {
        feedback_id: id.into(),
        trace_id: trace.map(trace_id),
        span_id: span.map(span_id),
        key: key.into(),
        score: Some(0.75),
        value: Some(json!({"label": "good"})),
        comment: Some("clear answer 👍".into()),
        correction: None,
        source: Some(json!({"type": "api", "metadata": {}})),
        metadata: json!({"reviewer": "ada"}).as_object().unwrap().clone(),
        created_at: created.map(at),
    }
}

pub async fn feedback_belongs_to_its_trace_or_its_span(store: Arc<dyn TraceStore>) {
    let on_trace = feedback("fb-1", Some("t-rated"), Some("root"), "helpfulness", Some(3));
    // Sent before its span arrived, naming only the span: found through it later.
    let on_span_only = feedback("fb-2", None, Some("llm"), "correctness", Some(2));
    let elsewhere = feedback("fb-3", Some("t-other"), None, "helpfulness", Some(1));
    store
        .write(WriteBatch {
            feedback: vec![on_trace.clone(), on_span_only.clone(), elsewhere.clone()],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    assert!(store.trace(&trace_id("t-rated")).await.unwrap().is_none(), "feedback alone creates no trace");
    assert_eq!(store.feedback(&trace_id("t-rated")).await.unwrap(), vec![on_trace.clone()]);

    store
        .write(spans_only(vec![
            span("t-rated", "root", None, SpanType::Agent, 1, 9),
            span("t-rated", "llm", Some("root"), SpanType::ModelCall, 2, 3),
        ]))
        .await
        .unwrap();
    assert_eq!(
        store.feedback(&trace_id("t-rated")).await.unwrap(),
        vec![on_span_only.clone(), on_trace.clone()],
        "ordered by created_at"
    );
    assert_eq!(store.feedback(&trace_id("t-other")).await.unwrap(), vec![elsewhere]);

    let mut corrected = on_trace.clone();
    corrected.score = Some(0.0);
    corrected.comment = None;
    corrected.correction = Some(json!({"answer": "rainy"}));
    store.write(WriteBatch { feedback: vec![corrected.clone()], ..WriteBatch::default() }).await.unwrap();
    assert_eq!(store.feedback(&trace_id("t-rated")).await.unwrap(), vec![on_span_only, corrected]);

    let untimed = feedback("fb-4", Some("t-untimed"), None, "thumbs", None);
    store.write(WriteBatch { feedback: vec![untimed.clone()], ..WriteBatch::default() }).await.unwrap();
    let first = store.feedback(&trace_id("t-untimed")).await.unwrap();
    assert!(first[0].created_at.is_some(), "the server's clock stands in for a missing client time");
    store.write(WriteBatch { feedback: vec![untimed], ..WriteBatch::default() }).await.unwrap();
    assert_eq!(store.feedback(&trace_id("t-untimed")).await.unwrap(), first, "a retry changes nothing");
}

pub async fn span_trace_id_finds_a_span_by_id_alone(store: Arc<dyn TraceStore>) {
    assert_eq!(store.span_trace_id(&span_id("run-1")).await.unwrap(), None);
    store
        .write(spans_only(vec![
            span("t-lookup-b", "run-1", None, SpanType::Chain, 1, 2),
            span("t-lookup-a", "run-1", None, SpanType::Chain, 1, 2),
            span("t-lookup-b", "run-2", Some("run-1"), SpanType::ToolCall, 1, 2),
        ]))
        .await
        .unwrap();
    assert_eq!(store.span_trace_id(&span_id("run-2")).await.unwrap(), Some(trace_id("t-lookup-b")));
    assert_eq!(
        store.span_trace_id(&span_id("run-1")).await.unwrap(),
        Some(trace_id("t-lookup-a")),
        "the smallest trace id when several hold the span id"
    );
}
