//! Replays every captured LangSmith SDK request (`tests/fixtures/langsmith/`)
//! through the adapter into a real store, in several orders, and checks the
//! rows: the final state must not depend on the order requests, or the
//! operations inside them, arrive in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use agentrace_core::{Attachment, Feedback, SpanType, Status, TokenUsage, TraceId};
use agentrace_ingest::langsmith::{self, keys, RunRequest};
use agentrace_store::{TraceDetail, TraceStats, TraceStore, WriteBatch};
use agentrace_store_sqlite::SqliteStore;
use agentrace_testkit::sqlite::TempSqlite;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Multipart,
    Batch,
    Post,
    Patch(&'static str),
    Feedback,
}

/// Every captured request with a body, in capture order.
const REQUESTS: &[(&str, Kind)] = &[
    ("02_multipart_plain_startup_race.multipart", Kind::Multipart),
    ("03_multipart_zstd.multipart", Kind::Multipart),
    ("04_multipart_plain.multipart", Kind::Multipart),
    ("05_runs_batch.json", Kind::Batch),
    ("06_single_post_root.json", Kind::Post),
    ("07_single_post_llm.json", Kind::Post),
    ("08_single_patch_llm.json", Kind::Patch("01a21f73-da00-721a-8d0c-d4cae3266ec0")),
    ("09_single_patch_error.json", Kind::Patch("01a21f73-dab1-7d76-8364-8e3e4ffd89cf")),
    ("10_single_post_attachment.json", Kind::Post),
    ("11_slow_zstd_post_root.multipart", Kind::Multipart),
    ("12_slow_zstd_post_child.multipart", Kind::Multipart),
    ("13_slow_zstd_patches.multipart", Kind::Multipart),
    ("14_slow_batch_post_root.json", Kind::Batch),
    ("15_slow_batch_patches.json", Kind::Batch),
    ("18_legacy_post_runs_no_trace_id.json", Kind::Post),
    ("19_legacy_patch_runs_nulls.json", Kind::Patch("100d51a9-ab71-469b-9d91-085d03e8bb6f")),
    ("20_multipart_feedback.multipart", Kind::Multipart),
    ("21_post_feedback.json", Kind::Feedback),
];

fn fixture(file: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/langsmith").join(file);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The boundary is the first line of a multipart body, after its `--`.
fn multipart_content_type(body: &[u8]) -> String {
    let first_line = body.split(|byte| *byte == b'\r').next().expect("a first line");
    let boundary = std::str::from_utf8(&first_line[2..]).expect("an ASCII boundary");
    format!("multipart/form-data; boundary={boundary}")
}

fn parse(file: &str, kind: Kind) -> RunRequest {
    let body = fixture(file);
    let parsed = match kind {
        Kind::Multipart => langsmith::parse_multipart(&multipart_content_type(&body), &body),
        Kind::Batch => langsmith::parse_batch(&body),
        Kind::Post => langsmith::parse_post(&body),
        Kind::Patch(run_id) => langsmith::parse_patch(&body, run_id),
        Kind::Feedback => langsmith::parse_feedback(&body),
    };
    parsed.unwrap_or_else(|error| panic!("{file}: {error}"))
}

fn open_store() -> (Arc<dyn TraceStore>, TempSqlite) {
    let file = TempSqlite::new();
    let store = SqliteStore::open(file.path()).expect("open the store");
    (Arc::new(store), file)
}

/// Everything stored about one trace.
#[derive(Debug, PartialEq)]
struct StoredTraceState {
    detail: TraceDetail,
    stats: TraceStats,
    attachments: Vec<Attachment>,
    feedback: Vec<Feedback>,
}

type Snapshot = BTreeMap<String, StoredTraceState>;

async fn snapshot(store: &dyn TraceStore, trace_ids: &BTreeSet<TraceId>) -> Snapshot {
    let mut states = BTreeMap::new();
    for trace_id in trace_ids {
        let detail = store.trace(trace_id).await.unwrap().unwrap_or_else(|| panic!("trace {trace_id} stored"));
        let stats = store.trace_stats(trace_id).await.unwrap().expect("stats");
        let mut attachments = Vec::new();
        for info in store.attachments(trace_id).await.unwrap() {
            attachments.push(store.attachment(trace_id, &info.span_id, &info.name).await.unwrap().expect("attachment"));
        }
        let feedback = store.feedback(trace_id).await.unwrap();
        states.insert(trace_id.to_string(), StoredTraceState { detail, stats, attachments, feedback });
    }
    states
}

fn touched_traces(batch: &WriteBatch) -> impl Iterator<Item = TraceId> + '_ {
    batch.spans.iter().map(|span| span.trace_id.clone()).chain(batch.traces.iter().map(|trace| trace.trace_id.clone()))
}

/// Sends the requests in `order`, one request per write, as the server does.
async fn replay_requests(order: &[usize]) -> Snapshot {
    let (store, _file) = open_store();
    let mut trace_ids = BTreeSet::new();
    for &index in order {
        let (file, kind) = REQUESTS[index];
        let outcome = parse(file, kind).resolve(&*store).await.unwrap();
        assert!(outcome.rejected.is_empty(), "{file}: {:?}", outcome.rejected);
        trace_ids.extend(touched_traces(&outcome.batch));
        store.write(outcome.batch).await.unwrap();
    }
    snapshot(&*store, &trace_ids).await
}

/// Splits every request into single items (one span, trace piece,
/// attachment or feedback each) and writes them one by one in `order`
/// of a deterministic permutation.
async fn replay_items(shuffle_seed: Option<u64>) -> Snapshot {
    let (resolver, _resolver_file) = open_store();
    let mut items: Vec<WriteBatch> = Vec::new();
    for (file, kind) in REQUESTS {
        let outcome = parse(file, *kind).resolve(&*resolver).await.unwrap();
        let batch = outcome.batch;
        // Legacy runs find their trace through the store.
        resolver.write(batch.clone()).await.unwrap();
        items.extend(batch.spans.into_iter().map(|span| WriteBatch { spans: vec![span], ..WriteBatch::default() }));
        items.extend(batch.traces.into_iter().map(|trace| WriteBatch { traces: vec![trace], ..WriteBatch::default() }));
        items.extend(
            batch.attachments.into_iter().map(|item| WriteBatch { attachments: vec![item], ..WriteBatch::default() }),
        );
        items.extend(
            batch.feedback.into_iter().map(|item| WriteBatch { feedback: vec![item], ..WriteBatch::default() }),
        );
    }
    match shuffle_seed {
        Some(seed) => shuffle(&mut items, seed),
        None => items.reverse(),
    }
    let (store, _file) = open_store();
    let mut trace_ids = BTreeSet::new();
    for item in items {
        trace_ids.extend(touched_traces(&item));
        store.write(item).await.unwrap();
    }
    snapshot(&*store, &trace_ids).await
}

/// Fisher–Yates with a small linear congruential generator: the same
/// permutation on every run.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for index in (1..items.len()).rev() {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        items.swap(index, (state >> 33) as usize % (index + 1));
    }
}

fn capture_order() -> Vec<usize> {
    (0..REQUESTS.len()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_order_gives_the_same_rows() {
    let forward = replay_requests(&capture_order()).await;
    let mut reversed = capture_order();
    reversed.reverse();
    assert_eq!(replay_requests(&reversed).await, forward, "reverse order");
    // Requests holding only patches first: every run ends before it starts.
    let patch_only = ["08_", "09_", "13_", "15_", "19_"];
    let (mut patches_first, rest): (Vec<usize>, Vec<usize>) = capture_order()
        .into_iter()
        .partition(|&index| patch_only.iter().any(|prefix| REQUESTS[index].0.starts_with(prefix)));
    patches_first.extend(rest);
    assert_eq!(replay_requests(&patches_first).await, forward, "patches first");
    for seed in [1, 7, 2026] {
        let mut order = capture_order();
        shuffle(&mut order, seed);
        assert_eq!(replay_requests(&order).await, forward, "shuffled with seed {seed}: {order:?}");
    }
    // The same requests delivered twice (the SDK re-sends after a timeout).
    let twice: Vec<usize> = capture_order().into_iter().chain(capture_order()).collect();
    assert_eq!(replay_requests(&twice).await, forward, "every request twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_item_order_gives_the_same_rows() {
    let forward = replay_requests(&capture_order()).await;
    assert_eq!(replay_items(None).await, forward, "items in reverse order");
    for seed in [3, 11] {
        assert_eq!(replay_items(Some(seed)).await, forward, "items shuffled with seed {seed}");
    }
}

fn span<'a>(state: &'a StoredTraceState, span_id: &str) -> &'a agentrace_core::SpanPiece {
    &state
        .detail
        .spans
        .iter()
        .find(|stored| stored.span.span_id.as_str() == span_id)
        .unwrap_or_else(|| panic!("span {span_id}"))
        .span
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_runs_become_these_rows() {
    let rows = replay_requests(&capture_order()).await;
    assert_eq!(rows.len(), 15, "{:?}", rows.keys().collect::<Vec<_>>());

    // 02 then 03: a trace spread over a plain and a zstd request.
    let agent = &rows["01a21f73-c4ca-7586-bb77-9b4e373bc4d4"];
    assert_eq!(agent.detail.spans.len(), 4);
    let trace = &agent.detail.trace;
    assert_eq!(trace.name.as_deref(), Some("agent"));
    assert_eq!(trace.status, Status::Success, "a failed child does not fail the root");
    assert_eq!(trace.session_id, "sess-1");
    assert_eq!(trace.metadata[keys::SESSION_KEY], "session_id");
    assert_eq!(trace.project, "default");
    assert_eq!(trace.tags, vec!["capture".to_string()]);
    assert_eq!(trace.input, Some(json!({"question": "What's the weather?"})));
    assert_eq!(trace.output, Some(json!({"output": "It is sunny."})));
    assert_eq!(trace.duration_ms, Some(7));
    let root = span(agent, "01a21f73-c4ca-7586-bb77-9b4e373bc4d4");
    assert_eq!(root.span_type, Some(SpanType::Chain));
    assert_eq!(root.parent_span_id, None);
    assert_eq!(root.metadata[keys::DOTTED_ORDER], "20261128T000010442098Z01a21f73-c4ca-7586-bb77-9b4e373bc4d4");
    assert_eq!(root.metadata[keys::EXTRA]["runtime"]["sdk_version"], "0.15.1");
    let llm = span(agent, "01a21f73-c4ce-7445-b74e-7c472a1518e3");
    assert_eq!(llm.span_type, Some(SpanType::ModelCall));
    assert_eq!(llm.parent_span_id.as_ref().map(|id| id.as_str()), Some("01a21f73-c4ca-7586-bb77-9b4e373bc4d4"));
    assert_eq!((llm.model.as_deref(), llm.provider.as_deref()), (Some("gpt-4o-mini"), Some("openai")));
    assert_eq!(
        llm.tokens,
        Some(TokenUsage {
            prompt: Some(12),
            completion: Some(7),
            total: Some(19),
            cache_read: Some(2),
            ..TokenUsage::default()
        })
    );
    assert_eq!(llm.metadata[keys::SERIALIZED], json!({"name": "chat_model"}));
    let tool = span(agent, "01a21f73-c4cf-71ab-bdcb-912012c3ef7b");
    assert_eq!(tool.span_type, Some(SpanType::ToolCall));
    assert_eq!(tool.parent_span_id.as_ref().map(|id| id.as_str()), Some("01a21f73-c4ce-7445-b74e-7c472a1518e3"));
    assert_eq!(
        (tool.model.as_deref(), tool.tokens),
        (None, None),
        "inherited model metadata does not make a model call"
    );
    assert_eq!(tool.metadata["ls_model_name"], "gpt-4o-mini", "but the metadata is kept");
    let broken = span(agent, "01a21f73-c4cf-7b62-996f-69e6c6a23af5");
    assert_eq!(broken.status, Some(Status::Error));
    assert!(broken.error.as_deref().unwrap().starts_with("ValueError('boom 3')\n\nTraceback"));
    assert_eq!(broken.output, Some(json!({"output": null})));
    assert_eq!(broken.input, Some(json!({"x": 3})), "the post's inputs survive the patch without them");
    assert_eq!(
        (agent.stats.model_calls, agent.stats.tool_calls, agent.stats.error_spans, agent.stats.total_tokens),
        (1, 2, 1, 19)
    );

    // 03: an attachment part and its uploaded_attachment event.
    let with_attachment = &rows["01a21f73-c4d2-7b3b-8278-956911a5b12b"];
    assert_eq!(with_attachment.attachments.len(), 1);
    let image = &with_attachment.attachments[0];
    assert_eq!((image.name.as_str(), image.content_type.as_str()), ("image", "image/png"));
    assert_eq!(image.content, b"\x89PNG\r\n\x1a\nfake");
    let event = &span(with_attachment, "01a21f73-c4d2-7b3b-8278-956911a5b12b").events;
    assert_eq!(event[0]["name"], "uploaded_attachment");
    assert_eq!(
        with_attachment.detail.trace.session_id, "01a21f73-c4d2-7b3b-8278-956911a5b12b",
        "no thread: its own session"
    );

    // 03: a RunTree whose usage is only in extra.metadata; the session from thread_id.
    let manual = &rows["01a21f73-c4d2-7d9b-91e5-9f212b5ea088"];
    assert_eq!(manual.detail.trace.session_id, "thread-1");
    assert_eq!(manual.detail.trace.metadata[keys::SESSION_KEY], "thread_id");
    assert_eq!(manual.detail.trace.tags, vec!["manual".to_string()]);
    let manual_llm = span(manual, "01a21f73-c4d2-7a18-b166-9b8cbb8c89d5");
    assert_eq!(
        manual_llm.tokens,
        Some(TokenUsage { prompt: Some(3), completion: Some(1), total: Some(4), ..TokenUsage::default() })
    );
    assert_eq!(manual_llm.events, vec![json!({"name": "new_token", "time": "2024-01-01T00:00:00+00:00"})]);
    assert_eq!(manual_llm.output, Some(json!({"generation": "hello"})));

    // 04: one plain request, every run a merged post.
    let plain = &rows["01a21f73-cbce-7716-9140-672c96d94716"];
    assert_eq!(plain.detail.spans.len(), 4);
    assert_eq!(plain.detail.trace.status, Status::Success);
    assert!(plain.detail.spans.iter().all(|stored| stored.span.end_time.is_some()));
    assert_eq!((plain.stats.error_spans, plain.stats.total_tokens), (1, 19));
    let plain_attachments = &rows["01a21f73-cbd2-75a6-ae8a-7386ab7d5433"].attachments;
    assert_eq!(plain_attachments[0].content, b"\x89PNG\r\n\x1a\nfake");

    // 05: /runs/batch.
    let batch = &rows["01a21f73-d2d0-7993-a040-622582597ea0"];
    assert_eq!((batch.detail.spans.len(), batch.stats.total_tokens, batch.stats.error_spans), (4, 19, 1));

    // 06–10: single POST/PATCH. The root was never patched; the raising
    // tool's post was never sent.
    let single = &rows["01a21f73-d9f2-7b62-834f-4c66a62f4d89"];
    assert_eq!(single.detail.trace.status, Status::Running);
    assert_eq!(single.detail.trace.end_time, None);
    let single_llm = span(single, "01a21f73-da00-721a-8d0c-d4cae3266ec0");
    assert_eq!(single_llm.status, Some(Status::Success));
    assert_eq!(single_llm.input, Some(json!({"messages": [{"role": "user", "content": "What's the weather?"}]})));
    assert_eq!(single_llm.tokens.and_then(|tokens| tokens.total), Some(19));
    let patched_only = span(single, "01a21f73-dab1-7d76-8364-8e3e4ffd89cf");
    assert_eq!(patched_only.name.as_deref(), Some("broken_tool"));
    assert_eq!(patched_only.span_type, Some(SpanType::ToolCall));
    assert_eq!(patched_only.status, Some(Status::Error));
    assert_eq!(
        patched_only.parent_span_id.as_ref().map(|id| id.as_str()),
        Some("01a21f73-d9f2-7b62-834f-4c66a62f4d89")
    );
    let inline = &rows["01a21f73-db35-7ad3-b898-b14346b07b77"].attachments;
    assert_eq!(inline.len(), 1);
    assert_eq!(
        (inline[0].content_type.as_str(), inline[0].content.as_slice()),
        ("image/png", &b"\x89PNG\r\n\x1a\nfake"[..])
    );

    // 11–13: a long run over three zstd requests.
    let slow = &rows["01a21f73-e270-7e4a-bae2-3fc0d231f888"];
    assert_eq!(slow.detail.trace.status, Status::Success);
    assert_eq!(slow.detail.trace.session_id, "t-slow");
    assert_eq!(slow.detail.trace.output, Some(json!({"output": "done"})));
    assert_eq!(slow.detail.trace.input, Some(json!({"q": "hello"})));
    let slow_llm = span(slow, "01a21f73-e72b-774e-97ce-9cb9811aa576");
    assert_eq!(
        (slow_llm.model.as_deref(), slow_llm.tokens.and_then(|tokens| tokens.total)),
        (Some("gpt-test"), Some(7))
    );
    assert_eq!(slow_llm.input, Some(json!({"prompt": "hello"})));

    // 14–15: /runs/batch, a patch with explicit nulls, a child known only by its patch.
    let slow_batch = &rows["01a21f73-f314-7dd1-bd03-1bf6b465f4bd"];
    assert_eq!(slow_batch.detail.trace.status, Status::Success);
    assert_eq!(slow_batch.detail.trace.input, Some(json!({"q": "hello"})));
    let patched_llm = span(slow_batch, "01a21f73-f7c8-70ce-8dd7-c2bb82ff11ae");
    assert_eq!(patched_llm.span_type, Some(SpanType::ModelCall));
    assert_eq!(patched_llm.parent_span_id.as_ref().map(|id| id.as_str()), Some("01a21f73-f314-7dd1-bd03-1bf6b465f4bd"));
    assert_eq!(slow_batch.stats.total_tokens, 7);

    // 18–19: legacy runs without trace_id or dotted_order; nulls change nothing.
    let legacy = &rows["100d51a9-ab71-469b-9d91-085d03e8bb6f"];
    let legacy_run = span(legacy, "100d51a9-ab71-469b-9d91-085d03e8bb6f");
    assert_eq!(legacy_run.name.as_deref(), Some("legacy"));
    assert_eq!(legacy_run.span_type, Some(SpanType::Chain));
    assert_eq!((legacy_run.input.clone(), legacy_run.output.clone()), (Some(json!({"a": 1})), Some(json!({"b": 2}))));
    assert_eq!(legacy.detail.trace.status, Status::Success);

    // 20–21: feedback in a multipart part and through POST /feedback, the
    // latter naming only its run.
    let rated = &rows["01a21f74-0000-7000-8000-000000000001"];
    let summary: Vec<(&str, Option<f64>, Option<&str>)> =
        rated.feedback.iter().map(|item| (item.key.as_str(), item.score, item.comment.as_deref())).collect();
    assert_eq!(summary, [("helpfulness", Some(0.9), Some("clear 👍")), ("correctness", Some(1.0), None)]);
    assert_eq!(rated.feedback[0].value, Some(json!({"label": "good"})));
    assert_eq!(rated.feedback[1].correction, Some(json!({"answer": "42"})));
    assert_eq!(rated.feedback[1].trace_id, None);
    assert_eq!(rated.feedback[1].span_id.as_ref().map(|id| id.as_str()), Some("01a21f74-0000-7000-8000-000000000001"));
    assert_eq!(
        rated.feedback[0].source,
        Some(json!({"type": "api", "metadata": {}, "user_id": null, "user_name": null}))
    );
}

fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for (name, content_type, content) in parts {
        body.extend_from_slice(
            format!(
                "--b0undary\r\nContent-Disposition: form-data; name=\"{name}\"\r\nContent-Type: {content_type}\r\n\
                 Content-Length: {}\r\n\r\n",
                content.len()
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--b0undary--\r\n");
    ("multipart/form-data; boundary=b0undary".into(), body)
}

#[tokio::test]
async fn bad_items_are_rejected_one_by_one() {
    let (store, _file) = open_store();
    let root = "0190aaaa-0000-7000-8000-000000000001";
    let post = format!(
        r#"{{"id":"{root}","trace_id":"{root}","dotted_order":"20260101T000000000000Z{root}","name":"ok","run_type":"chain","start_time":"2026-01-01T00:00:00"}}"#
    );
    let contradicting = r#"{"id":"0190aaaa-0000-7000-8000-000000000002","trace_id":"0190aaaa-0000-7000-8000-000000000009","dotted_order":"20260101T000000000000Z0190aaaa-0000-7000-8000-000000000002"}"#;
    let (content_type, body) = multipart(&[
        (&format!("post.{root}"), "application/json", post.as_bytes()),
        (&format!("post.{root}.inputs"), "application/json", "{\"q\": \"nul\\u0000 and 東京 🦀\"}".as_bytes()),
        ("post.0190aaaa-0000-7000-8000-000000000002", "application/json", contradicting.as_bytes()),
        ("patch.0190aaaa-0000-7000-8000-000000000003", "application/json", b"{not json"),
        (&format!("attachment.{root}.notes"), "text/plain; length=5", b"hello"),
        ("attachment.0190aaaa-0000-7000-8000-00000000dead.x", "text/plain", b"orphan"),
        ("surprise.1", "application/json", b"{}"),
    ]);
    let request = langsmith::parse_multipart(&content_type, &body).unwrap();
    let outcome = request.resolve(&*store).await.unwrap();
    let rejected: Vec<(&str, &str)> = outcome.rejected.iter().map(|item| (item.kind, item.field.as_str())).collect();
    assert_eq!(
        rejected,
        [
            ("post", "trace_id"),
            ("patch", ""),
            ("part", "surprise.1"),
            ("attachment", "attachment.0190aaaa-0000-7000-8000-00000000dead.x")
        ]
    );
    assert_eq!(outcome.batch.spans.len(), 1);
    let span = &outcome.batch.spans[0];
    assert_eq!(span.input, Some(json!({"q": "nul\u{2400}0 and 東京 🦀"})), "NUL is stored in the escaped form");
    assert_eq!(span.start_time.map(|time| time.to_rfc3339()), Some("2026-01-01T00:00:00+00:00".into()), "naive is UTC");
    assert_eq!(outcome.batch.attachments.len(), 1);
    assert_eq!(outcome.batch.attachments[0].content_type, "text/plain", "the length parameter is dropped");

    let bad_base64 = format!(r#"{{"id":"{root}","trace_id":"{root}","attachments":{{"a":["image/png","%%%"]}}}}"#);
    let outcome = langsmith::parse_post(bad_base64.as_bytes()).unwrap().resolve(&*store).await.unwrap();
    assert_eq!(outcome.batch.spans.len(), 1, "the run is kept without its broken attachment");
    assert_eq!(outcome.rejected[0].field, "attachments.a");
}

#[tokio::test]
async fn legacy_runs_find_their_trace_through_parents_and_the_store() {
    let (store, _file) = open_store();
    let root = "11111111-1111-4111-8111-111111111111";
    let child = "22222222-2222-4222-8222-222222222222";
    let grandchild = "33333333-3333-4333-8333-333333333333";
    let batch = json!({"post": [
        {"id": root, "name": "legacy_root", "run_type": "chain", "start_time": "2026-01-01T00:00:00Z"},
        {"id": child, "parent_run_id": root, "name": "legacy_child", "run_type": "llm", "start_time": "2026-01-01T00:00:01Z"}
    ]});
    let outcome = langsmith::parse_batch(batch.to_string().as_bytes()).unwrap().resolve(&*store).await.unwrap();
    store.write(outcome.batch).await.unwrap();
    // A later request: the grandchild names only its parent, the patch names nothing.
    let post = json!({"id": grandchild, "parent_run_id": child, "name": "legacy_tool", "run_type": "tool"});
    let outcome = langsmith::parse_post(post.to_string().as_bytes()).unwrap().resolve(&*store).await.unwrap();
    assert_eq!(outcome.batch.spans[0].trace_id.as_str(), root);
    store.write(outcome.batch).await.unwrap();
    let patch = json!({"id": child, "trace_id": null, "parent_run_id": null, "end_time": "2026-01-01T00:00:02Z",
                       "outputs": {"text": "hi"}, "extra": null, "name": null});
    let outcome = langsmith::parse_patch(patch.to_string().as_bytes(), child).unwrap().resolve(&*store).await.unwrap();
    assert_eq!(outcome.batch.spans[0].trace_id.as_str(), root);
    assert!(outcome.batch.traces.is_empty(), "a child says nothing about its trace");
    store.write(outcome.batch).await.unwrap();
    let detail = store.trace(&TraceId::parse(root).unwrap()).await.unwrap().unwrap();
    let names: Vec<(&str, Option<&str>)> = detail
        .spans
        .iter()
        .map(|stored| {
            (stored.span.name.as_deref().unwrap_or_default(), stored.span.parent_span_id.as_ref().map(|id| id.as_str()))
        })
        .collect();
    assert_eq!(names, [("legacy_root", None), ("legacy_child", Some(root)), ("legacy_tool", Some(child))]);
    assert_eq!(detail.spans[1].span.output, Some(json!({"text": "hi"})));
    assert_eq!(detail.spans[1].span.status, Some(Status::Success));
    assert_eq!(detail.spans[1].span.metadata.get(keys::RUN_TYPE), Some(&Value::from("llm")));
}

/// The SDK's OpenTelemetry mode (captured export of the same scenario as
/// 02–03): the OTLP path maps its spans as the REST path maps runs.
#[tokio::test]
async fn otel_mode_spans_map_like_runs() {
    use agentrace_ingest::otlp::{decode_traces, Encoding};
    let outcome = decode_traces(&fixture("17_otel_v1_traces.pb"), Encoding::Protobuf).expect("decodes");
    assert!(outcome.ingest.rejected.is_empty(), "{:?}", outcome.ingest.rejected);
    let (store, _file) = open_store();
    let trace_ids: BTreeSet<TraceId> = touched_traces(&outcome.ingest.batch).collect();
    store.write(outcome.ingest.batch).await.unwrap();
    let rows = snapshot(&*store, &trace_ids).await;
    let by_name = |name: &str| {
        rows.values()
            .flat_map(|state| state.detail.spans.iter().map(move |stored| (state, &stored.span)))
            .find(|(_, span)| span.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("span {name}"))
    };
    let kinds: Vec<(&str, SpanType)> =
        ["agent", "chat_model", "web_search", "broken_tool", "manual_root", "manual_llm"]
            .into_iter()
            .map(|name| (name, by_name(name).1.span_type.unwrap()))
            .collect();
    assert_eq!(
        kinds,
        [
            ("agent", SpanType::Chain),
            ("chat_model", SpanType::ModelCall),
            ("web_search", SpanType::ToolCall),
            ("broken_tool", SpanType::ToolCall),
            ("manual_root", SpanType::Chain),
            ("manual_llm", SpanType::ModelCall),
        ],
        "chains carry gen_ai.system too, and stay chains"
    );
    let (agent, chat_model) = by_name("chat_model");
    assert_eq!(agent.detail.trace.session_id, "sess-1");
    assert_eq!(agent.detail.trace.project, "default", "langsmith.trace.session_name, not service.name");
    assert_eq!(agent.detail.trace.status, Status::Success);
    assert_eq!(chat_model.model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(chat_model.tokens.and_then(|tokens| tokens.total), Some(19));
    assert_eq!(by_name("broken_tool").1.status, Some(Status::Error));
    assert_eq!(by_name("manual_root").0.detail.trace.session_id, "thread-1");
}
