//! OTLP/HTTP: `POST /v1/traces` and `/v1/logs` in every encoding the
//! exporters use, with the exact replies the OTLP specification asks for.

use std::time::Duration;

use agentrace_ingest::otlp::wire::{
    AnyValue, ExportLogsServiceRequest, ExportTraceServiceResponse, LogRecord, ResourceLogs, RpcStatus, ScopeLogs,
    Value as WireValue,
};
use agentrace_ingest::PipelineConfig;
use agentrace_server::Limits;
use prost::Message;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::support::*;

struct Raw {
    status: StatusCode,
    content_type: String,
    retry_after: Option<String>,
    body: Vec<u8>,
}

async fn post(app: &TestApp, path: &str, content_type: &str, encoding: Option<&str>, body: Vec<u8>) -> Raw {
    let mut request = app.client.post(app.url(path)).header("content-type", content_type).body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    let response = request.send().await.expect("sent");
    let header = |name: &str| response.headers().get(name).map(|value| value.to_str().unwrap().to_owned());
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    let status = response.status();
    Raw { status, content_type, retry_after, body: response.bytes().await.expect("body").to_vec() }
}

fn json_body(raw: &Raw) -> Value {
    serde_json::from_slice(&raw.body).unwrap_or_else(|_| panic!("JSON reply: {}", String::from_utf8_lossy(&raw.body)))
}

/// The captured GenAI request, stored: every span with its type, model,
/// tokens, parents; the trace's session, project and token totals.
async fn genai_capture_is_stored(app: &TestApp) {
    let trace = app.trace(GENAI_TRACE).await;
    let spans = trace["spans"].as_array().expect("spans");
    let summary: Vec<(&str, &str, Option<&str>, Option<&str>)> = spans
        .iter()
        .map(|span| {
            (
                span["span_id"].as_str().unwrap(),
                span["span_type"].as_str().unwrap(),
                span["parent_span_id"].as_str(),
                span["model"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("5b00000100000001", "agent", None, None),
            ("5b00000100000002", "model_call", Some("5b00000100000001"), Some("gpt-4o-2024-08-06")),
            ("5b00000100000003", "tool_call", Some("5b00000100000001"), None),
            ("5b00000100000004", "mcp_call", Some("5b00000100000001"), None),
            ("5b00000100000005", "model_call", Some("5b00000100000001"), Some("gpt-4o-2024-08-06")),
        ]
    );
    assert_eq!(trace["trace"]["session_id"], "conv_fixture_001");
    assert_eq!(trace["trace"]["user_id"], "user-42");
    assert_eq!(trace["trace"]["project"], "fixture-agent");
    assert_eq!(trace["trace"]["status"], "success");
    assert_eq!(trace["trace"]["name"], "invoke_agent trip-planner");
    assert_eq!(trace["stats"]["prompt_tokens"], 412 + 980);
    assert_eq!(trace["stats"]["completion_tokens"], 38 + 211);
    assert_eq!(trace["stats"]["total_tokens"], 412 + 38 + 980 + 211);
    assert_eq!(spans[1]["tokens_used"], json!({"prompt": 412, "completion": 38, "total": 450, "cache_read": 128}));
    let failed = app.trace(GENAI_FAILED_TRACE).await;
    assert_eq!(failed["trace"]["status"], "error");
    assert_eq!(failed["trace"]["error"], "model call failed");
    assert_eq!(failed["stats"]["error_spans"], 2);
}

async fn protobuf_export_is_stored_and_answered_with_an_empty_response(app: TestApp) {
    let raw = post(&app, "/v1/traces", "application/x-protobuf", None, fixture("genai.http-protobuf.bin")).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.content_type, "application/x-protobuf");
    assert!(raw.body.is_empty(), "a full success is the empty ExportTraceServiceResponse");
    genai_capture_is_stored(&app).await;
}

async fn json_gzip_and_deflate_exports_are_stored(app: TestApp) {
    let json_raw =
        post(&app, "/v1/traces", "application/json; charset=utf-8", None, fixture("genai.http-json.json")).await;
    assert_eq!((json_raw.status, json_raw.content_type.as_str()), (StatusCode::OK, "application/json"));
    assert_eq!(json_body(&json_raw), json!({}));
    genai_capture_is_stored(&app).await;

    let gzip_raw =
        post(&app, "/v1/traces", "application/x-protobuf", Some("gzip"), fixture("genai.http-protobuf.gzip.bin")).await;
    assert_eq!(gzip_raw.status, StatusCode::OK);
    let legacy = post(&app, "/v1/traces", "application/json", Some("gzip"), fixture("legacy.http-json.gzip.bin")).await;
    assert_eq!(legacy.status, StatusCode::OK);
    let deflated = deflate(&fixture("openinference.http-protobuf.bin"));
    let openinference = post(&app, "/v1/traces", "application/x-protobuf", Some("deflate"), deflated).await;
    assert_eq!(openinference.status, StatusCode::OK);

    assert_eq!(app.span_ids("f1a70003000000000000000000000001").await.len(), 3);
    let trace = app.trace("f1a70002000000000000000000000001").await;
    assert_eq!(trace["spans"].as_array().unwrap().len(), 7);
    assert_eq!(trace["trace"]["project"], "fixture-project");
    assert_eq!(trace["trace"]["tags"], json!(["travel", "fixture"]));
    // Sending the same request again (an exporter retry) changes nothing.
    let before = app.trace(GENAI_TRACE).await;
    post(&app, "/v1/traces", "application/json", None, fixture("genai.http-json.json")).await;
    let mut after = app.trace(GENAI_TRACE).await;
    after["trace"]["updated_at"] = before["trace"]["updated_at"].clone();
    assert_eq!(after["spans"], before["spans"]);
}

async fn invalid_spans_are_counted_in_partial_success(app: TestApp) {
    let mut zero_trace = span(1, 2, Some(1), "zero trace id", Vec::new());
    zero_trace.trace_id = vec![0; 16];
    let mut short_span = span(1, 3, Some(1), "short span id", Vec::new());
    short_span.span_id = vec![1, 2, 3];
    let body = request(vec![zero_trace, span(1, 1, None, "root", Vec::new()), short_span]);
    let raw = post(&app, "/v1/traces", "application/x-protobuf", None, body.clone()).await;
    assert_eq!(raw.status, StatusCode::OK);
    let reply = ExportTraceServiceResponse::decode(raw.body.as_slice()).expect("an ExportTraceServiceResponse");
    let partial = reply.partial_success.expect("partial_success");
    assert_eq!(partial.rejected_spans, 2);
    assert_eq!(
        partial.error_message,
        "2 of 3 spans rejected: resourceSpans[0].scopeSpans[0].spans[0].traceId is all zeros, which OTLP defines \
         as an invalid id; resourceSpans[0].scopeSpans[0].spans[2].spanId is 3 bytes long; must be 8"
    );
    assert_eq!(app.span_ids(&trace_hex(1)).await, [span_hex(1)]);

    let json_request = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": trace_hex(2), "spanId": "", "name": "no span id"},
        {"traceId": trace_hex(2).to_uppercase(), "spanId": span_hex(9).to_uppercase(), "name": "fine"}
    ]}]}]});
    let raw = post(&app, "/v1/traces", "application/json", None, json_request.to_string().into_bytes()).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(
        json_body(&raw),
        json!({"partialSuccess": {
            "rejectedSpans": "1",
            "errorMessage": "1 of 2 spans rejected: resourceSpans[0].scopeSpans[0].spans[0].spanId is missing"
        }})
    );
    assert_eq!(app.span_ids(&trace_hex(2)).await, [span_hex(9)]);
}

async fn a_body_without_spans_gets_a_warning(app: TestApp) {
    let logs_sent_to_traces =
        json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "x"}}]}]}]});
    let raw = post(&app, "/v1/traces", "application/json", None, logs_sent_to_traces.to_string().into_bytes()).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(
        json_body(&raw),
        json!({"partialSuccess": {"errorMessage": "the request body decoded to no spans; is it OTLP logs or metrics \
                                                     sent to /v1/traces, or OTLP/JSON with misspelled keys?"}})
    );
    let empty = post(&app, "/v1/traces", "application/x-protobuf", None, Vec::new()).await;
    assert_eq!((empty.status, empty.body.len()), (StatusCode::OK, 0), "an empty request is a success");
}

async fn undecodable_bodies_get_400_with_a_status_in_their_encoding(app: TestApp) {
    let raw = post(&app, "/v1/traces", "application/x-protobuf", None, b"\x0a\xff\xff\xff".to_vec()).await;
    assert_eq!((raw.status, raw.content_type.as_str()), (StatusCode::BAD_REQUEST, "application/x-protobuf"));
    let status = RpcStatus::decode(raw.body.as_slice()).expect("a google.rpc.Status");
    assert_eq!(status.code, 3);
    assert!(status.message.starts_with("not an OTLP ExportTraceServiceRequest"), "{}", status.message);

    let raw = post(&app, "/v1/traces", "application/json", None, b"{\"resourceSpans\": [".to_vec()).await;
    assert_eq!((raw.status, raw.content_type.as_str()), (StatusCode::BAD_REQUEST, "application/json"));
    assert_eq!(
        json_body(&raw),
        json!({"code": 3, "message": "malformed JSON at line 1, column 19: EOF while parsing a list"})
    );
    let raw = post(&app, "/v1/traces", "text/plain", None, b"hello".to_vec()).await;
    assert_eq!(raw.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        json_body(&raw)["message"],
        "unsupported media type \"text/plain\"; OTLP/HTTP sends application/x-protobuf or application/json"
    );
}

/// NUL cannot be stored in PostgreSQL text: it is stored in the escaped
/// form, and the rest of the batch with it.
async fn a_nul_inside_an_attribute_is_stored_escaped_with_the_batch(app: TestApp) {
    let odd = span(3, 2, Some(1), "nul\0name", vec![text("note", b"before\0after"), text("bad", b"\xFFbytes")]);
    let body = request(vec![odd, span(3, 1, None, "root", vec![text("session.id", b"s\0one")])]);
    let raw = post(&app, "/v1/traces", "application/x-protobuf", None, body).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert!(raw.body.is_empty());
    let trace = app.trace(&trace_hex(3)).await;
    let spans = trace["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[1]["name"], "nul\u{2400}0name");
    assert_eq!(spans[1]["metadata"]["note"], "before\u{2400}0after");
    assert_eq!(spans[1]["metadata"]["bad"], "\u{2400}xFFbytes");
    assert_eq!(trace["trace"]["session_id"], "s\u{2400}0one");
}

async fn children_sent_before_their_parent_form_one_tree(app: TestApp) {
    let child =
        span(4, 2, Some(1), "chat", vec![text("gen_ai.operation.name", b"chat"), int("gen_ai.usage.input_tokens", 5)]);
    let grandchild = span(4, 3, Some(2), "tool", vec![text("gen_ai.operation.name", b"execute_tool")]);
    assert_eq!(
        post(&app, "/v1/traces", "application/x-protobuf", None, request(vec![grandchild, child])).await.status,
        StatusCode::OK
    );
    let partial = app.trace(&trace_hex(4)).await;
    assert_eq!(partial["trace"]["status"], "running", "the root has not arrived");
    let root = span(
        4,
        1,
        None,
        "agent",
        vec![text("gen_ai.operation.name", b"invoke_agent"), int("gen_ai.usage.input_tokens", 99)],
    );
    assert_eq!(
        post(&app, "/v1/traces", "application/x-protobuf", None, request(vec![root])).await.status,
        StatusCode::OK
    );
    let trace = app.trace(&trace_hex(4)).await;
    assert_eq!(trace["trace"]["status"], "success");
    assert_eq!(trace["trace"]["name"], "agent");
    assert_eq!(trace["spans"].as_array().unwrap().len(), 3);
    assert_eq!(trace["stats"]["prompt_tokens"], 5, "the agent span's aggregate usage is not counted twice");
}

fn logs_request(records: Vec<LogRecord>) -> Vec<u8> {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: records, ..ScopeLogs::default() }],
            ..ResourceLogs::default()
        }],
    }
    .encode_to_vec()
}

pub fn details_record(trace: u8, span: u8) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_768_471_200_900_000_000,
        trace_id: trace_id(trace),
        span_id: span_id(span),
        event_name: b"gen_ai.client.inference.operation.details".to_vec(),
        attributes: vec![
            text("gen_ai.input.messages", br#"[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]"#),
            text(
                "gen_ai.output.messages",
                br#"[{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}]"#,
            ),
        ],
        ..LogRecord::default()
    }
}

async fn log_records_join_their_spans(app: TestApp) {
    let chat = span(5, 1, None, "chat", vec![text("gen_ai.operation.name", b"chat")]);
    post(&app, "/v1/traces", "application/x-protobuf", None, request(vec![chat])).await;
    let stray = LogRecord {
        body: Some(AnyValue { value: Some(WireValue::String(b"no context".to_vec())) }),
        ..LogRecord::default()
    };
    let raw =
        post(&app, "/v1/logs", "application/x-protobuf", None, logs_request(vec![details_record(5, 1), stray])).await;
    assert_eq!((raw.status, raw.body.len()), (StatusCode::OK, 0));
    let json_logs = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": "1768471200950000000", "traceId": trace_hex(5), "spanId": span_hex(1),
        "eventName": "exception",
        "attributes": [{"key": "exception.type", "value": {"stringValue": "ValueError"}},
                       {"key": "exception.message", "value": {"stringValue": "bad"}}]
    }]}]}]});
    let raw = post(&app, "/v1/logs", "application/json", None, json_logs.to_string().into_bytes()).await;
    assert_eq!((raw.status, json_body(&raw)), (StatusCode::OK, json!({})));
    let trace = app.trace(&trace_hex(5)).await;
    let span = &trace["spans"][0];
    assert_eq!(span["input"], json!([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]));
    assert_eq!(span["output"], json!([{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}]));
    let events: Vec<&str> =
        span["events"].as_array().unwrap().iter().map(|event| event["name"].as_str().unwrap()).collect();
    assert_eq!(events, ["gen_ai.client.inference.operation.details", "exception"]);
    assert_eq!(span["error"], "ValueError: bad");
    assert_eq!(span["status"], "success", "a log record does not change how the span ended");
}

on_both_backends!(
    protobuf_export_is_stored_and_answered_with_an_empty_response,
    json_gzip_and_deflate_exports_are_stored,
    invalid_spans_are_counted_in_partial_success,
    a_body_without_spans_gets_a_warning,
    undecodable_bodies_get_400_with_a_status_in_their_encoding,
    a_nul_inside_an_attribute_is_stored_escaped_with_the_batch,
    children_sent_before_their_parent_form_one_tree,
    log_records_join_their_spans,
);

/// The size cap applies after decompression: a small gzip body that
/// inflates past it is refused with 413 and a Status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_after_decompression_get_413() {
    let limits = Limits { max_body_bytes: 4096 };
    let app = TestApp::spawn_with(Backend::Sqlite, limits, PipelineConfig::default()).await;
    let inflated = request(vec![span(6, 1, None, "big", vec![text("blob", &[b'a'; 10_000])])]);
    let compressed = gzip(&inflated);
    assert!(compressed.len() < 4096);
    let raw = post(&app, "/v1/traces", "application/x-protobuf", Some("gzip"), compressed).await;
    assert_eq!(raw.status, StatusCode::PAYLOAD_TOO_LARGE);
    let status = RpcStatus::decode(raw.body.as_slice()).expect("a google.rpc.Status");
    assert_eq!(status.message, "the request body is larger than the limit of 4096 bytes (after decompression)");
}

/// A full queue answers 429 with a Retry-After the exporters honour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_429_with_retry_after() {
    // One queued item at a time, and a writer that waits a second for
    // company before committing: concurrent requests find the queue full.
    let pipeline = PipelineConfig { queue_items: 1, linger: Duration::from_secs(1), ..PipelineConfig::default() };
    let app = std::sync::Arc::new(TestApp::spawn_with(Backend::Sqlite, Limits::default(), pipeline).await);
    let requests = (0..8u8).map(|index| {
        let app = std::sync::Arc::clone(&app);
        tokio::spawn(async move {
            let body = request(vec![span(10 + index, 1, None, "queued", Vec::new())]);
            post(&app, "/v1/traces", "application/x-protobuf", None, body).await
        })
    });
    let replies: Vec<Raw> = futures::future::join_all(requests).await.into_iter().map(Result::unwrap).collect();
    let refused: Vec<&Raw> = replies.iter().filter(|raw| raw.status == StatusCode::TOO_MANY_REQUESTS).collect();
    assert!(!refused.is_empty(), "{:?}", replies.iter().map(|raw| raw.status).collect::<Vec<_>>());
    assert!(replies.iter().any(|raw| raw.status == StatusCode::OK));
    for raw in refused {
        assert_eq!(raw.retry_after.as_deref(), Some("1"));
        assert_eq!(RpcStatus::decode(raw.body.as_slice()).unwrap().message, "the ingest queue is full; retry later");
    }
}
