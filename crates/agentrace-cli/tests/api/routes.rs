//! The router serves exactly the routes of its table (which a unit test
//! compares with the OpenAPI document), and the document is served.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_is_served() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (method, path) in agentrace_server::ROUTES {
        let concrete = path.replace("{trace_id}", "some-trace").replace("{span_id}", "some-span");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let reply = app.send(app.client.request(method.clone(), app.url(&concrete)).json(&serde_json::json!({}))).await;
        assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let unrouted = reply.status == StatusCode::NOT_FOUND && reply.body["error"]["code"] != "not_found";
        assert!(!unrouted, "{method} {path} is not routed");
    }
    let document = app.get("/api/v1/openapi.json").await;
    assert_eq!(document.status, StatusCode::OK);
    assert_eq!(document.body["openapi"], "3.1.0");
    assert!(matches!(document.body["paths"], Value::Object(_)));
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_route_names_the_version_and_says_when_grpc_is_not_served() {
    // This test app serves HTTP only; `agentrace serve` reports its gRPC port
    // (the web UI's empty state shows it, checked in the browser tests).
    let app = TestApp::spawn(Backend::Sqlite).await;
    let reply = app.get("/api/v1/server").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(reply.body["otlp_grpc_port"], Value::Null);
}
