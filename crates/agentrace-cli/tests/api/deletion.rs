//! `DELETE /api/v1/traces/{trace_id}` and retention: a deleted trace takes
//! its spans, attachments and feedback with it; retention deletes exactly
//! the traces that started before its cutoff while ingest goes on.

use agentrace_core::{Attachment, Feedback, SpanId, TraceId};
use agentrace_store::WriteBatch;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;

crate::on_both_backends!(delete_removes_the_trace_and_everything_attached, retention_deletes_exactly_the_old_traces);

fn trace_body(trace_id: &str, project: &str, start: DateTime<Utc>) -> Value {
    let end = start + Duration::seconds(1);
    json!({
        "traces": [{"trace_id": trace_id, "project": project}],
        "spans": [
            {"trace_id": trace_id, "span_id": format!("{trace_id}-root"), "span_type": "agent",
             "start_time": start.to_rfc3339(), "end_time": end.to_rfc3339(), "status": "success"},
            {"trace_id": trace_id, "span_id": format!("{trace_id}-llm"), "parent_span_id": format!("{trace_id}-root"),
             "span_type": "model_call",
             "model": "gpt-4o", "start_time": start.to_rfc3339(), "end_time": end.to_rfc3339(),
             "tokens_used": {"prompt": 1, "completion": 1}, "cost_usd": 0.001}
        ]
    })
}

async fn ingest(app: &TestApp, body: &Value) {
    let reply = app.post_json("/api/v1/ingest", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

fn feedback(id: &str, trace_id: Option<&str>, span_id: Option<&str>) -> Feedback {
    Feedback {
        feedback_id: id.to_owned(),
        trace_id: trace_id.map(|id| TraceId::parse(id).unwrap()),
        span_id: span_id.map(|id| SpanId::parse(id).unwrap()),
        key: "correctness".to_owned(),
        score: Some(1.0),
        value: None,
        comment: None,
        correction: None,
        source: None,
        metadata: Default::default(),
        created_at: None,
    }
}

async fn delete_removes_the_trace_and_everything_attached(app: TestApp) {
    let start = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").unwrap().to_utc();
    for trace_id in ["doomed", "kept"] {
        ingest(&app, &trace_body(trace_id, "p", start)).await;
    }
    let doomed = TraceId::parse("doomed").unwrap();
    let kept = TraceId::parse("kept").unwrap();
    let attachment = |trace_id: &TraceId| Attachment {
        trace_id: trace_id.clone(),
        span_id: SpanId::parse(format!("{trace_id}-llm")).unwrap(),
        name: "prompt.png".to_owned(),
        content_type: "image/png".to_owned(),
        content: vec![1, 2, 3],
    };
    let batch = WriteBatch {
        attachments: vec![attachment(&doomed), attachment(&kept)],
        // Feedback on the trace, and on one of its spans by span id only.
        feedback: vec![
            feedback("f-trace", Some("doomed"), None),
            feedback("f-span", None, Some("doomed-root")),
            feedback("f-kept", Some("kept"), None),
        ],
        ..WriteBatch::default()
    };
    app.store.write(batch).await.expect("attachments and feedback stored");
    assert_eq!(app.trace("doomed").await["feedback"].as_array().unwrap().len(), 2);

    let reply = app.send(app.client.delete(app.url("/api/v1/traces/doomed"))).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(app.get("/api/v1/traces/doomed").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/traces/doomed/spans/doomed-root").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/spans?trace_id=doomed").await.body["items"], json!([]));
    let attachment_path = "/api/v1/traces/doomed/spans/doomed-llm/attachments/prompt.png";
    assert_eq!(app.get(attachment_path).await.status, StatusCode::NOT_FOUND);
    assert!(app.store.attachments(&doomed).await.unwrap().is_empty());
    assert!(app.store.feedback(&doomed).await.unwrap().is_empty());

    let survivor = app.trace("kept").await;
    assert_eq!(survivor["spans"].as_array().unwrap().len(), 2);
    assert_eq!(survivor["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(survivor["feedback"].as_array().unwrap().len(), 1);
    assert_eq!(survivor["feedback"][0]["feedback_id"], "f-kept");
    assert_eq!(app.get("/api/v1/traces?project=p").await.body["items"].as_array().unwrap().len(), 1);

    let again = app.send(app.client.delete(app.url("/api/v1/traces/doomed"))).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.body["error"]["message"], "trace \"doomed\" not found");
}

async fn retention_deletes_exactly_the_old_traces(app: TestApp) {
    let cutoff = agentrace_core::time::to_micros_precision(Utc::now() - Duration::days(30));
    let old: Vec<String> = (0..7).map(|index| format!("old-{index}")).collect();
    for (index, trace_id) in old.iter().enumerate() {
        ingest(&app, &trace_body(trace_id, "history", cutoff - Duration::days(10 + index as i64))).await;
    }
    ingest(&app, &trace_body("just-before", "history", cutoff - Duration::milliseconds(1))).await;
    ingest(&app, &trace_body("at-cutoff", "history", cutoff)).await;
    ingest(&app, &trace_body("recent", "history", Utc::now() - Duration::days(1))).await;

    // Ingest goes on while the sweep deletes, two traces per transaction.
    let writer = {
        let (client, url) = (app.client.clone(), app.url("/api/v1/ingest"));
        tokio::spawn(async move {
            for index in 0..40 {
                let body = trace_body(&format!("live-{index}"), "live", Utc::now());
                let reply = client.post(&url).json(&body).send().await.expect("sent");
                assert_eq!(reply.status(), StatusCode::OK);
            }
        })
    };
    let (_stop, never_stopped) = tokio::sync::watch::channel(false);
    let deleted = agentrace_server::retention::sweep(app.store.as_ref(), cutoff, 2, &never_stopped).await.unwrap();
    writer.await.expect("ingest kept working");

    assert_eq!(deleted, 8, "seven old traces and the one a millisecond before the cutoff");
    for trace_id in old.iter().map(String::as_str).chain(["just-before"]) {
        assert_eq!(app.get(&format!("/api/v1/traces/{trace_id}")).await.status, StatusCode::NOT_FOUND, "{trace_id}");
    }
    let history = app.get("/api/v1/traces?project=history").await.body;
    let kept: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|t| t["trace_id"].as_str().unwrap()).collect();
    assert_eq!(kept, ["recent", "at-cutoff"]);
    let live = app.get("/api/v1/traces?project=live&limit=1000").await.body;
    assert_eq!(live["items"].as_array().unwrap().len(), 40);
    assert_eq!(app.store.count_spans().await.unwrap(), 2 * (2 + 40));

    let (_stop, never_stopped) = tokio::sync::watch::channel(false);
    let again = agentrace_server::retention::sweep(app.store.as_ref(), cutoff, 2, &never_stopped).await.unwrap();
    assert_eq!(again, 0);
}
