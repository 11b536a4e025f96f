//! Bad input: each case answers with a clear error naming what is wrong,
//! and the valid items of the same request are still stored.

use std::io::Write;

use agentrace_core::text::unescape;
use agentrace_ingest::PipelineConfig;
use agentrace_server::Limits;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

crate::on_both_backends!(
    malformed_json_is_400_with_position,
    wrong_media_type_is_415,
    invalid_items_are_rejected_one_by_one,
    every_item_invalid_is_422,
    nul_and_invalid_utf8_are_stored_escaped,
);

async fn malformed_json_is_400_with_position(app: TestApp) {
    let reply = app.post_raw("/api/v1/ingest", "application/json", "{\"spans\": [\n  {\"trace_id\": \"t\",, }]}").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"]["code"], "malformed_json");
    assert_eq!(reply.body["error"]["line"], 2);
    assert_eq!(reply.body["error"]["column"], 20);
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("line 2, column 20"), "{message}");

    let shape = app.post_json("/api/v1/ingest", &json!({"spans": {"trace_id": "t"}})).await;
    assert_eq!(shape.status, StatusCode::BAD_REQUEST);
    assert_eq!(shape.body["error"]["message"], "`spans` must be an array");
}

async fn wrong_media_type_is_415(app: TestApp) {
    let body = r#"{"spans": [{"trace_id": "t", "span_id": "s"}]}"#;
    let reply = app.post_raw("/api/v1/ingest", "text/plain", body).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.body["error"]["code"], "unsupported_media_type");
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("text/plain"));
    let with_parameters = app.post_raw("/api/v1/ingest", "application/json; charset=utf-8", body).await;
    assert_eq!(with_parameters.status, StatusCode::OK, "media type parameters are ignored");
    assert!(app.store.trace(&agentrace_core::TraceId::parse("t").unwrap()).await.unwrap().is_some());
}

async fn invalid_items_are_rejected_one_by_one(app: TestApp) {
    let body = json!({
        "traces": [
            {"trace_id": "t-valid", "session_id": "s-1"},
            {"trace_id": "", "session_id": "s-2"},
            {"trace_id": "t-bad-status", "status": "done"}
        ],
        "spans": [
            {"trace_id": "t-valid", "span_id": "good", "name": "ReasonNode", "start_time": "2026-03-01T10:00:00Z"},
            {"trace_id": "t-valid", "span_id": "backwards", "start_time": "2026-03-01T10:00:05Z", "end_time": "2026-03-01T10:00:01Z"},
            {"trace_id": "t-valid", "span_id": "bad-tokens", "tokens_used": {"prompt": "lots"}},
            {"trace_id": "t-valid", "span_id": "bad-time", "start_time": "yesterday"},
            {"span_id": "no-trace"},
            {"trace_id": "t-valid", "span_id": "typo", "strat_time": 5},
            "not an object",
            {"trace_id": "t-valid", "span_id": "good-2", "parent_span_id": "good", "span_type": "tool_call"}
        ]
    });
    let reply = app.post_json("/api/v1/ingest", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["accepted"], json!({"traces": 1, "spans": 2}));
    let rejected: Vec<(String, u64, Option<String>, String)> = reply.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["kind"].as_str().unwrap().to_owned(),
                item["index"].as_u64().unwrap(),
                item["id"].as_str().map(str::to_owned),
                item["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("trace", 1, Some(""), "trace_id"),
        ("trace", 2, Some("t-bad-status"), "status"),
        ("span", 1, Some("backwards"), "end_time"),
        ("span", 2, Some("bad-tokens"), "tokens_used.prompt"),
        ("span", 3, Some("bad-time"), "start_time"),
        ("span", 4, Some("no-trace"), "trace_id"),
        ("span", 5, Some("typo"), "strat_time"),
        ("span", 6, None, ""),
    ]
    .map(|(kind, index, id, field)| (kind.to_owned(), index, id.map(str::to_owned), field.to_owned()));
    assert_eq!(rejected, expected);
    for item in reply.body["rejected"].as_array().unwrap() {
        assert!(!item["message"].as_str().unwrap().is_empty(), "every rejection explains itself: {item}");
    }
    assert_eq!(app.span_ids("t-valid").await, ["good", "good-2"]);
    assert_eq!(app.trace("t-valid").await["trace"]["session_id"], "s-1");
    assert_eq!(app.get("/api/v1/traces/t-bad-status").await.status, StatusCode::NOT_FOUND);
}

async fn every_item_invalid_is_422(app: TestApp) {
    let reply = app.post_json("/api/v1/ingest", &json!({"spans": [{"trace_id": "t"}]})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["accepted"], json!({"traces": 0, "spans": 0}));
    assert_eq!(reply.body["rejected"][0]["field"], "span_id");
    assert_eq!(reply.body["rejected"][0]["message"], "is required");
}

async fn nul_and_invalid_utf8_are_stored_escaped(app: TestApp) {
    let mut body = Vec::new();
    body.extend_from_slice(br#"{"spans": [{"trace_id": "t-bytes", "span_id": "s", "name": "nul\u0000name", "#);
    body.extend_from_slice(b"\"input\": {\"text\": \"bad \xFF\xFE bytes and \\u0000 and \xE2\x90\x80\"}, ");
    body.extend_from_slice(br#""error": "lone \ud800 surrogate"}, {"trace_id": "t-bytes", "span_id": "plain"}]}"#);
    let reply = app.post_raw("/api/v1/ingest", "application/json", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["accepted"]["spans"], 2);
    let span = app.get("/api/v1/traces/t-bytes/spans/s").await.body;
    assert_eq!(span["name"], "nul\u{2400}0name");
    assert_eq!(unescape(span["name"].as_str().unwrap()), b"nul\0name");
    let text = span["input"]["text"].as_str().unwrap();
    assert_eq!(unescape(text), b"bad \xFF\xFE bytes and \0 and \xE2\x90\x80");
    assert_eq!(unescape(span["error"].as_str().unwrap()), b"lone \xED\xA0\x80 surrogate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_limit_is_413_even_when_compressed() {
    let limits = Limits { max_body_bytes: 64 * 1024 };
    let app = TestApp::spawn_with(Backend::Sqlite, limits, PipelineConfig::default()).await;
    let spans: Vec<_> = (0..2_000).map(|index| json!({"trace_id": "t-big", "span_id": format!("s-{index}")})).collect();
    let body = serde_json::to_vec(&json!({ "spans": spans })).unwrap();
    assert!(body.len() > 64 * 1024);
    let plain = app.post_raw("/api/v1/ingest", "application/json", body.clone()).await;
    assert_eq!(plain.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(plain.body["error"]["code"], "payload_too_large");

    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&body).unwrap();
    let compressed = encoder.finish().unwrap();
    assert!(compressed.len() < 64 * 1024, "the compressed body itself is under the limit");
    let request = app
        .client
        .post(app.url("/api/v1/ingest"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(compressed);
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.get("/api/v1/traces/t-big").await.status, StatusCode::NOT_FOUND);
}
