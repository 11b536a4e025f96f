//! The native JSON API: batch ingest, single create and partial update,
//! and reading a trace back.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

crate::on_both_backends!(
    batch_ingest_stores_traces_and_spans,
    single_routes_create_and_update,
    timestamps_accept_rfc3339_and_epoch_millis,
    unknown_trace_and_span_are_404,
);

async fn batch_ingest_stores_traces_and_spans(app: TestApp) {
    let body = json!({
        "traces": [{"trace_id": "trace_456", "session_id": "session_123", "user_id": "u1", "project": "travel",
                    "tags": ["prod"], "metadata": {"release": "1.2"}}],
        "spans": [
            {"trace_id": "trace_456", "span_id": "reason", "span_type": "node", "name": "ReasonNode",
             "start_time": "2026-03-01T10:00:00Z", "end_time": "2026-03-01T10:00:03Z", "status": "success",
             "input": {"messages": [{"role": "user", "content": "Weather in Paris?"}]},
             "output": {"answer": "Sunny"}},
            {"trace_id": "trace_456", "span_id": "llm", "parent_span_id": "reason", "span_type": "model_call",
             "name": "gpt-4o", "model": "gpt-4o", "provider": "openai",
             "start_time": "2026-03-01T10:00:01Z", "end_time": "2026-03-01T10:00:02.5Z", "status": "success",
             "tokens_used": {"prompt": 120, "completion": 30, "cache_read": 100}, "cost_usd": 0.0012}
        ]
    });
    let reply = app.post_json("/api/v1/ingest", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, json!({"accepted": {"traces": 1, "spans": 2}, "rejected": []}));

    let trace = app.trace("trace_456").await;
    assert_eq!(trace["trace"]["session_id"], "session_123");
    assert_eq!(trace["trace"]["project"], "travel");
    assert_eq!(trace["trace"]["status"], "success");
    assert_eq!(trace["trace"]["name"], "ReasonNode");
    assert_eq!(trace["trace"]["duration_ms"], 3000);
    assert_eq!(trace["trace"]["tags"], json!(["prod"]));
    assert_eq!(trace["spans"][1]["tokens_used"], json!({"prompt": 120, "completion": 30, "cache_read": 100}));
    assert_eq!(trace["spans"][1]["duration_ms"], 1500);
    assert_eq!(trace["stats"]["model_calls"], 1);
    assert_eq!(trace["stats"]["total_tokens"], 150);
    assert_eq!(app.span_ids("trace_456").await, ["reason", "llm"]);
}

async fn single_routes_create_and_update(app: TestApp) {
    let created = app
        .post_json("/api/v1/traces", &json!({"trace_id": "t-single", "name": "support-agent", "session_id": "s-9"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let span = app
        .post_json(
            "/api/v1/traces/t-single/spans",
            &json!({"span_id": "tool", "span_type": "tool_call", "name": "search_web", "start_time": 1772359200000_i64}),
        )
        .await;
    assert_eq!(span.status, StatusCode::CREATED, "{}", span.body);
    assert_eq!(app.trace("t-single").await["spans"][0]["status"], "running");

    let ended = app
        .patch_json(
            "/api/v1/traces/t-single/spans/tool",
            &json!({"end_time": 1772359201250_i64, "status": "error", "error": "timeout", "output": null}),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    let patched_trace = app.patch_json("/api/v1/traces/t-single", &json!({"user_id": "user-42"})).await;
    assert_eq!(patched_trace.status, StatusCode::OK);

    let trace = app.trace("t-single").await;
    let tool = &trace["spans"][0];
    assert_eq!(tool["name"], "search_web", "a patch without a name keeps the name");
    assert_eq!(tool["status"], "error");
    assert_eq!(tool["error"], "timeout");
    assert_eq!(tool["duration_ms"], 1250);
    assert_eq!(trace["trace"]["user_id"], "user-42");
    assert_eq!(trace["trace"]["name"], "support-agent");
    assert_eq!(trace["trace"]["session_id"], "s-9");

    let one = app.get("/api/v1/traces/t-single/spans/tool").await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["error"], "timeout");

    let mismatch = app.patch_json("/api/v1/traces/t-single/spans/tool", &json!({"span_id": "other"})).await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(mismatch.body["rejected"][0]["field"], "span_id");
}

async fn timestamps_accept_rfc3339_and_epoch_millis(app: TestApp) {
    let body = json!({"spans": [
        {"trace_id": "t-time", "span_id": "text", "start_time": "2026-03-01T12:00:00+02:00", "end_time": "2026-03-01T10:00:00.123456Z"},
        {"trace_id": "t-time", "span_id": "millis", "start_time": 1772359200000_i64, "end_time": 1772359200123.5}
    ]});
    let reply = app.post_json("/api/v1/ingest", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let trace = app.trace("t-time").await;
    let spans = trace["spans"].as_array().unwrap();
    let by_id = |id: &str| spans.iter().find(|span| span["span_id"] == id).unwrap().clone();
    assert_eq!(by_id("text")["start_time"], "2026-03-01T10:00:00Z");
    assert_eq!(by_id("text")["duration_ms"], 123);
    assert_eq!(by_id("millis")["start_time"], "2026-03-01T10:00:00Z");
    assert_eq!(by_id("millis")["end_time"], "2026-03-01T10:00:00.123500Z");
}

async fn unknown_trace_and_span_are_404(app: TestApp) {
    let missing = app.get("/api/v1/traces/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["code"], "not_found");
    assert_eq!(app.get("/api/v1/traces/nope/spans/x").await.status, StatusCode::NOT_FOUND);
}
