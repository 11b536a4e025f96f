//! `GET /api/v1/traces/{trace_id}`: spans in tree pre-order with their
//! depth, orphans and cycles shown once, and `payloads=false`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;

crate::on_both_backends!(spans_come_in_tree_order_with_depth, payloads_false_leaves_span_payloads_out);

fn span(id: &str, parent: Option<&str>, second: u32) -> Value {
    json!({"trace_id": "t-tree", "span_id": id, "parent_span_id": parent, "span_type": "node", "name": id,
           "start_time": format!("2026-03-01T10:00:{second:02}Z"), "end_time": "2026-03-01T10:01:00Z",
           "status": "success", "input": {"question": id}, "output": {"answer": id}})
}

async fn seed(app: &TestApp) {
    let spans = vec![
        span("tool", Some("root"), 5),
        span("model-b", Some("reason"), 3),
        span("model-a", Some("reason"), 3),
        span("reason", Some("root"), 2),
        span("root", None, 1),
        span("orphan", Some("never-sent"), 4),
        span("orphan-child", Some("orphan"), 6),
        // A loop of parent links: entered at its smallest id, each span once.
        span("loop-y", Some("loop-x"), 7),
        span("loop-x", Some("loop-y"), 8),
    ];
    let reply = app.post_json("/api/v1/ingest", &json!({ "spans": spans })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

fn shape(trace: &Value) -> Vec<(String, u64, bool)> {
    trace["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .map(|span| {
            (
                span["span_id"].as_str().unwrap().to_owned(),
                span["depth"].as_u64().expect("depth"),
                span["is_orphan"].as_bool().expect("is_orphan"),
            )
        })
        .collect()
}

async fn spans_come_in_tree_order_with_depth(app: TestApp) {
    seed(&app).await;
    let trace = app.trace("t-tree").await;
    let expected: Vec<(String, u64, bool)> = [
        ("root", 0, false),
        ("reason", 1, false),
        ("model-a", 2, false),
        ("model-b", 2, false),
        ("tool", 1, false),
        ("orphan", 0, true),
        ("orphan-child", 1, false),
        ("loop-x", 0, false),
        ("loop-y", 1, false),
    ]
    .iter()
    .map(|(id, depth, orphan)| (id.to_string(), *depth, *orphan))
    .collect();
    assert_eq!(shape(&trace), expected);
    assert_eq!(trace["spans"][2]["input"], json!({"question": "model-a"}), "payloads by default");
    assert_eq!(trace["spans"][5]["parent_span_id"], "never-sent", "an orphan keeps its parent's id");
    assert_eq!(trace["stats"]["total_spans"], 9);
}

async fn payloads_false_leaves_span_payloads_out(app: TestApp) {
    seed(&app).await;
    let full = app.trace("t-tree").await;
    let reply = app.get("/api/v1/traces/t-tree?payloads=false").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let light = reply.body;
    assert_eq!(shape(&light), shape(&full));
    for span in light["spans"].as_array().unwrap() {
        assert_eq!((&span["input"], &span["output"]), (&Value::Null, &Value::Null), "{span}");
        assert!(span["name"].is_string(), "everything else stays: {span}");
    }
    assert_eq!(light["trace"], full["trace"], "the trace row keeps its own input and output");
    let explicit = app.get("/api/v1/traces/t-tree?payloads=true").await;
    assert_eq!(explicit.body, full);

    let bad = app.get("/api/v1/traces/t-tree?payloads=no").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.body,
        json!({"error": {"code": "invalid_parameter", "parameter": "payloads",
                         "message": "invalid query parameter `payloads`: \"no\" is not one of true, false"}})
    );
    let unknown = app.get("/api/v1/traces/t-tree?limit=5").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body["error"]["parameter"], "limit");
}
