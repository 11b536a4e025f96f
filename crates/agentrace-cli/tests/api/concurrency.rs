//! Many clients at once: every span acknowledged is stored exactly once and
//! nobody sees "database is locked".

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

crate::on_both_backends!(thirty_two_clients_store_exactly_32000_spans);

async fn thirty_two_clients_store_exactly_32000_spans(app: TestApp) {
    let app = std::sync::Arc::new(app);
    let clients = (0..32).map(|client| {
        let app = std::sync::Arc::clone(&app);
        tokio::spawn(async move {
            for request in 0..10 {
                let spans: Vec<_> = (0..100)
                    .map(|index| {
                        json!({"trace_id": format!("t-{client}-{request}"), "span_id": format!("s-{index}"),
                               "parent_span_id": if index == 0 { None } else { Some("s-0") },
                               "span_type": "model_call", "name": "gpt-4o",
                               "start_time": 1772359200000_i64 + index, "end_time": 1772359201000_i64 + index,
                               "input": {"prompt": "x".repeat(200)}})
                    })
                    .collect();
                let reply = app.post_json("/api/v1/ingest", &json!({ "spans": spans })).await;
                assert_eq!(reply.status, StatusCode::OK, "client {client} request {request}: {}", reply.body);
                assert_eq!(reply.body["accepted"]["spans"], 100);
            }
        })
    });
    for client in futures::future::join_all(clients).await {
        client.unwrap();
    }
    assert_eq!(app.store.count_spans().await.unwrap(), 32_000);
}
