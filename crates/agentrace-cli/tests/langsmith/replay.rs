//! Every captured SDK request sent over HTTP exactly as the SDK sent it
//! (zstd bodies compressed, multipart boundaries as captured), on both
//! backends and in several orders: the API must then show the same traces.

use std::io::Write as _;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

/// file, method, path, Content-Type, Content-Encoding.
type Request = (&'static str, &'static str, &'static str, &'static str, Option<&'static str>);

const MULTIPART_02_04: &str = "multipart/form-data; boundary=53e66fbc1a0e47848ab88bf6a0d1ac39";
const MULTIPART_04: &str = "multipart/form-data; boundary=22c960dd0ff24654b2280cd544f4c15b";
const MULTIPART_SLOW: &str = "multipart/form-data; boundary=be3a9fd3ecdb4be88e70d60f872f0881";
const MULTIPART_20: &str = "multipart/form-data; boundary=ae557cf3f9d444c78a0bff9b85713811";
const JSON: &str = "application/json";

/// Every captured request with a body, in capture order.
const REQUESTS: &[Request] = &[
    ("02_multipart_plain_startup_race.multipart", "POST", "/runs/multipart", MULTIPART_02_04, None),
    ("03_multipart_zstd.multipart.zst", "POST", "/runs/multipart", MULTIPART_02_04, Some("zstd")),
    // Sent gzip-compressed below: the hosted API accepts gzip too.
    ("04_multipart_plain.multipart", "POST", "/api/v1/runs/multipart", MULTIPART_04, Some("gzip")),
    ("05_runs_batch.json", "POST", "/runs/batch", JSON, None),
    ("06_single_post_root.json", "POST", "/runs", JSON, None),
    ("07_single_post_llm.json", "POST", "/api/v1/runs", JSON, None),
    ("08_single_patch_llm.json", "PATCH", "/runs/01a21f73-da00-721a-8d0c-d4cae3266ec0", JSON, None),
    ("09_single_patch_error.json", "PATCH", "/runs/01a21f73-dab1-7d76-8364-8e3e4ffd89cf", JSON, None),
    ("10_single_post_attachment.json", "POST", "/runs", JSON, None),
    ("11_slow_zstd_post_root.multipart.zst", "POST", "/runs/multipart", MULTIPART_SLOW, Some("zstd")),
    ("12_slow_zstd_post_child.multipart.zst", "POST", "/runs/multipart", MULTIPART_SLOW, Some("zstd")),
    ("13_slow_zstd_patches.multipart.zst", "POST", "/runs/multipart", MULTIPART_SLOW, Some("zstd")),
    ("14_slow_batch_post_root.json", "POST", "/api/v1/runs/batch", JSON, None),
    ("15_slow_batch_patches.json", "POST", "/runs/batch", JSON, None),
    ("18_legacy_post_runs_no_trace_id.json", "POST", "/runs", JSON, None),
    ("19_legacy_patch_runs_nulls.json", "PATCH", "/api/v1/runs/100d51a9-ab71-469b-9d91-085d03e8bb6f", JSON, None),
    ("20_multipart_feedback.multipart", "POST", "/runs/multipart", MULTIPART_20, None),
    ("21_post_feedback.json", "POST", "/feedback", JSON, None),
];

/// The traces those requests hold.
const TRACE_IDS: &[&str] = &[
    "01a21f73-c4ca-7586-bb77-9b4e373bc4d4",
    "01a21f73-c4d2-7b3b-8278-956911a5b12b",
    "01a21f73-c4d2-7d9b-91e5-9f212b5ea088",
    "01a21f73-cbce-7716-9140-672c96d94716",
    "01a21f73-cbd2-75a6-ae8a-7386ab7d5433",
    "01a21f73-cbd3-7a4d-b349-d8aee7008ca9",
    "01a21f73-d2d0-7993-a040-622582597ea0",
    "01a21f73-d2db-7c8e-8483-6a27f44d277d",
    "01a21f73-d2dc-74f6-860b-a36f0bca300a",
    "01a21f73-d9f2-7b62-834f-4c66a62f4d89",
    "01a21f73-db35-7ad3-b898-b14346b07b77",
    "01a21f73-e270-7e4a-bae2-3fc0d231f888",
    "01a21f73-f314-7dd1-bd03-1bf6b465f4bd",
    "100d51a9-ab71-469b-9d91-085d03e8bb6f",
    "01a21f74-0000-7000-8000-000000000001",
];

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn send(app: &TestApp, (file, method, path, content_type, encoding): Request) {
    let mut body = crate::fixture(file);
    if encoding == Some("gzip") {
        body = gzip(&body);
    }
    let mut request = app
        .client
        .request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(path))
        .header("content-type", content_type)
        .header("x-api-key", "lsv2_test_key")
        .header("user-agent", "langsmith-py/0.15.1-httpx2");
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    let reply = app.send(request.body(body)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{file}: {}", reply.body);
    assert_eq!(reply.body["rejected"], json!([]), "{file}");
}

/// Every trace as the API shows it, and every attachment's bytes.
async fn api_state(app: &TestApp) -> Vec<Value> {
    let mut state = Vec::new();
    for trace_id in TRACE_IDS {
        let trace = app.trace(trace_id).await;
        for attachment in trace["attachments"].as_array().unwrap() {
            let path = format!(
                "/api/v1/traces/{trace_id}/spans/{}/attachments/{}",
                attachment["span_id"].as_str().unwrap(),
                attachment["name"].as_str().unwrap()
            );
            let bytes = app.client.get(app.url(&path)).send().await.unwrap().bytes().await.unwrap();
            state.push(json!({"attachment": path, "bytes": bytes.to_vec()}));
        }
        state.push(trace);
    }
    state
}

async fn replay(backend: Backend, order: &[usize]) -> (TestApp, Vec<Value>) {
    let app = TestApp::spawn(backend).await;
    for &index in order {
        send(&app, REQUESTS[index]).await;
    }
    let state = api_state(&app).await;
    (app, state)
}

async fn orders_agree(backend: Backend) {
    let capture_order: Vec<usize> = (0..REQUESTS.len()).collect();
    let (app, forward) = replay(backend, &capture_order).await;
    assert_eq!(app.store.count_spans().await.unwrap(), 31);
    check_rows(&forward);

    // The SDK re-sends a body after a timeout: the same requests again,
    // backwards, change nothing.
    for &index in capture_order.iter().rev() {
        send(&app, REQUESTS[index]).await;
    }
    assert_eq!(api_state(&app).await, forward, "every request again, reversed");

    let reversed: Vec<usize> = capture_order.iter().rev().copied().collect();
    assert_eq!(replay(backend, &reversed).await.1, forward, "reversed");
    let interleaved: Vec<usize> = (0..REQUESTS.len()).map(|step| (step * 7) % REQUESTS.len()).collect();
    assert_eq!(replay(backend, &interleaved).await.1, forward, "interleaved {interleaved:?}");
}

/// Spot checks of the rows, through the API (the adapter's own tests check
/// every run).
fn check_rows(state: &[Value]) {
    let trace = |id: &str| state.iter().find(|item| item["trace"]["trace_id"] == id).unwrap_or_else(|| panic!("{id}"));
    let agent = trace("01a21f73-c4ca-7586-bb77-9b4e373bc4d4");
    assert_eq!(agent["trace"]["session_id"], "sess-1");
    assert_eq!(agent["trace"]["status"], "success");
    assert_eq!(agent["stats"]["total_spans"], 4);
    assert_eq!(agent["stats"]["error_spans"], 1);
    assert_eq!(agent["stats"]["total_tokens"], 19);
    let types: Vec<&str> =
        agent["spans"].as_array().unwrap().iter().map(|span| span["span_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["chain", "model_call", "tool_call", "tool_call"]);
    assert_eq!(agent["spans"][1]["tokens_used"], json!({"prompt": 12, "completion": 7, "total": 19, "cache_read": 2}));
    let gzipped = trace("01a21f73-cbce-7716-9140-672c96d94716");
    assert_eq!(gzipped["stats"]["total_spans"], 4);
    let slow = trace("01a21f73-e270-7e4a-bae2-3fc0d231f888");
    assert_eq!(slow["trace"]["session_id"], "t-slow");
    assert_eq!(slow["spans"][1]["model"], "gpt-test");
    let legacy = trace("100d51a9-ab71-469b-9d91-085d03e8bb6f");
    assert_eq!(legacy["trace"]["name"], "legacy");
    assert_eq!(legacy["trace"]["output"], json!({"b": 2}));
    let rated = trace("01a21f74-0000-7000-8000-000000000001");
    assert_eq!(rated["feedback"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_requests_agree_in_any_order_on_sqlite() {
    orders_agree(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_requests_agree_in_any_order_on_postgres() {
    orders_agree(Backend::Postgres).await;
}
