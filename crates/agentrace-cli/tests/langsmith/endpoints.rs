//! What the SDK asks of the server besides ingesting: `/info` exactly as it
//! needs it, both URL prefixes, `x-api-key`, media types, 429 with a small
//! `Retry-After`, and attachments and feedback readable through the API.

use std::time::Duration;

use agentrace_ingest::PipelineConfig;
use agentrace_server::{LangsmithSettings, Limits};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

crate::on_both_backends!(
    info_lists_all_six_batch_ingest_keys_and_zstd,
    both_prefixes_accept_runs_with_an_api_key,
    attachments_and_feedback_are_readable_through_the_api,
    wrong_media_types_and_broken_bodies_are_refused,
    the_sdk_otel_mode_is_served_under_both_prefixes,
);

fn expected_info(use_multipart_endpoint: bool) -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "license_expiration_time": null,
        "batch_ingest_config": {
            "use_multipart_endpoint": use_multipart_endpoint,
            "scale_up_qsize_trigger": 1000,
            "scale_up_nthreads_limit": 16,
            "scale_down_nempty_trigger": 4,
            "size_limit": 100,
            "size_limit_bytes": 20971520
        },
        "instance_flags": {"zstd_compression_enabled": true}
    })
}

async fn info_lists_all_six_batch_ingest_keys_and_zstd(app: TestApp) {
    for path in ["/info", "/api/v1/info"] {
        let reply = app.send(app.client.get(app.url(path)).header("x-api-key", "lsv2_test_key")).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.body, expected_info(true), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_endpoint_flag_sends_the_sdk_to_runs_batch() {
    let settings = LangsmithSettings { use_batch_endpoint: true };
    let app = TestApp::spawn_configured(Backend::Sqlite, Limits::default(), PipelineConfig::default(), settings).await;
    assert_eq!(app.get("/info").await.body, expected_info(false));
}

fn run(id: &str, name: &str) -> Value {
    json!({"id": id, "trace_id": id, "dotted_order": format!("20260301T100000000000Z{id}"), "name": name,
           "run_type": "chain", "start_time": "2026-03-01T10:00:00Z", "inputs": {"q": name}, "session_name": "prefixes"})
}

async fn both_prefixes_accept_runs_with_an_api_key(app: TestApp) {
    let ids = ["0190a000-0000-7000-8000-00000000000a", "0190a000-0000-7000-8000-00000000000b"];
    for (prefix, id) in ["", "/api/v1"].into_iter().zip(ids) {
        let post = app
            .send(app.client.post(app.url(&format!("{prefix}/runs"))).header("x-api-key", "k").json(&run(id, "r")))
            .await;
        assert_eq!(post.status, StatusCode::ACCEPTED, "{prefix}: {}", post.body);
        assert_eq!(post.body, json!({"accepted": {"runs": 1, "attachments": 0, "feedback": 0}, "rejected": []}));
        let patch = json!({"id": id, "end_time": "2026-03-01T10:00:02Z", "outputs": {"a": 1}, "parent_run_id": null});
        let reply = app
            .send(app.client.patch(app.url(&format!("{prefix}/runs/{id}"))).header("x-api-key", "k").json(&patch))
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{prefix}: {}", reply.body);
        let batch = json!({"post": [run(&id.replace("0000000", "1111111"), "batched")]});
        let reply = app
            .send(app.client.post(app.url(&format!("{prefix}/runs/batch"))).header("x-api-key", "k").json(&batch))
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{prefix}: {}", reply.body);
        let trace = app.trace(id).await;
        assert_eq!(trace["trace"]["status"], "success");
        assert_eq!(trace["trace"]["project"], "prefixes");
        assert_eq!(trace["trace"]["output"], json!({"a": 1}));
        assert_eq!(trace["trace"]["duration_ms"], 2000);
    }
}

async fn attachments_and_feedback_are_readable_through_the_api(app: TestApp) {
    let body = crate::fixture("03_multipart_zstd.multipart.zst");
    let reply = app
        .send(
            app.client
                .post(app.url("/runs/multipart"))
                .header("content-type", "multipart/form-data; boundary=53e66fbc1a0e47848ab88bf6a0d1ac39")
                .header("content-encoding", "zstd")
                .body(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["accepted"], json!({"runs": 8, "attachments": 1, "feedback": 0}));
    let trace_id = "01a21f73-c4d2-7b3b-8278-956911a5b12b";
    let trace = app.trace(trace_id).await;
    assert_eq!(
        trace["attachments"],
        json!([{"trace_id": trace_id, "span_id": trace_id, "name": "image", "content_type": "image/png", "size_bytes": 12}])
    );
    let response = app
        .client
        .get(app.url(&format!("/api/v1/traces/{trace_id}/spans/{trace_id}/attachments/image")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["content-disposition"], "attachment");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"\x89PNG\r\n\x1a\nfake");
    let missing = app.get(&format!("/api/v1/traces/{trace_id}/spans/{trace_id}/attachments/nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["code"], "not_found");

    // Feedback naming only its run, sent before the run (as the SDK does).
    let feedback = crate::fixture("21_post_feedback.json");
    let reply = app.post_raw("/feedback", "application/json", feedback).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["accepted"], json!({"runs": 0, "attachments": 0, "feedback": 1}));
    let multipart = crate::fixture("20_multipart_feedback.multipart");
    let reply = app
        .post_raw("/api/v1/runs/multipart", "multipart/form-data; boundary=ae557cf3f9d444c78a0bff9b85713811", multipart)
        .await;
    assert_eq!(reply.body["accepted"], json!({"runs": 1, "attachments": 0, "feedback": 1}));
    let rated = app.trace("01a21f74-0000-7000-8000-000000000001").await;
    let keys: Vec<(&str, f64)> = rated["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["key"].as_str().unwrap(), item["score"].as_f64().unwrap()))
        .collect();
    assert_eq!(keys, [("helpfulness", 0.9), ("correctness", 1.0)]);
    assert_eq!(rated["feedback"][0]["comment"], "clear 👍");
    assert_eq!(rated["feedback"][1]["span_id"], "01a21f74-0000-7000-8000-000000000001");
}

async fn wrong_media_types_and_broken_bodies_are_refused(app: TestApp) {
    let reply = app.post_raw("/runs/multipart", "application/json", "{}").await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        reply.body,
        json!({"error": {"code": "unsupported_media_type",
                         "message": "unsupported media type \"application/json\"; send Content-Type: multipart/form-data; boundary=…"}})
    );
    let reply = app.post_raw("/runs/multipart", "multipart/form-data; boundary=abc", "no parts here").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"]["message"], "the body does not contain the boundary \"abc\"");
    let reply = app.post_raw("/runs/batch", "application/json", "{\"post\": [").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"]["code"], "malformed_json");
    let reply = app.post_json("/runs", &json!({"name": "no id"})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.body,
        json!({"accepted": {"runs": 0, "attachments": 0, "feedback": 0},
               "rejected": [{"kind": "post", "index": 0, "field": "id", "message": "is required"}]})
    );
}

/// A full queue answers 429 with a small Retry-After, which the SDK honours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_429_with_a_small_retry_after() {
    // One queued item at a time, and a writer that waits a second for
    // company before committing: concurrent requests find the queue full.
    let pipeline = PipelineConfig { queue_items: 1, linger: Duration::from_secs(1), ..PipelineConfig::default() };
    let app = TestApp::spawn_with(Backend::Sqlite, Limits::default(), pipeline).await;
    let app = std::sync::Arc::new(app);
    let requests = (0..8).map(|index| {
        let app = std::sync::Arc::clone(&app);
        tokio::spawn(async move {
            let id = format!("0190b000-0000-7000-8000-{index:012}");
            let response = app.client.post(app.url("/runs")).json(&run(&id, "queued")).send().await.unwrap();
            let retry_after = response.headers().get("retry-after").map(|value| value.to_str().unwrap().to_owned());
            (response.status(), retry_after)
        })
    });
    let mut statuses = Vec::new();
    for request in futures::future::join_all(requests).await {
        statuses.push(request.unwrap());
    }
    let refused: Vec<_> = statuses.iter().filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS).collect();
    assert!(!refused.is_empty(), "{statuses:?}");
    assert!(statuses.iter().any(|(status, _)| *status == StatusCode::ACCEPTED), "{statuses:?}");
    for (_, retry_after) in refused {
        let seconds: u64 = retry_after.as_deref().expect("429 carries Retry-After").parse().unwrap();
        assert!((1..=5).contains(&seconds), "Retry-After {seconds} s");
    }
}

/// `LANGSMITH_TRACING_MODE=otel`: the SDK exports OTLP to
/// `{LANGSMITH_ENDPOINT}/otel/v1/traces`, which the OTLP handler serves.
async fn the_sdk_otel_mode_is_served_under_both_prefixes(app: TestApp) {
    for path in ["/otel/v1/traces", "/api/v1/otel/v1/traces"] {
        let request = app
            .client
            .post(app.url(path))
            .header("content-type", "application/x-protobuf")
            .header("x-api-key", "lsv2_test_key")
            .header("langsmith-project", "default")
            .body(crate::fixture("17_otel_v1_traces.pb"));
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.bytes().await.unwrap().is_empty(), "a full success is an empty protobuf message");
    }
    let trace = app.trace("bb0d5cb17a01ef377b89f4defd91efe9").await;
    let spans: Vec<(&str, &str)> = trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|span| (span["name"].as_str().unwrap(), span["span_type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        spans,
        [("agent", "chain"), ("chat_model", "model_call"), ("web_search", "tool_call"), ("broken_tool", "tool_call")]
    );
    assert_eq!(trace["trace"]["session_id"], "sess-1");
    assert_eq!(trace["trace"]["project"], "default");
    assert_eq!(trace["stats"]["total_tokens"], 19);
    assert_eq!(trace["stats"]["error_spans"], 1);
}
