//! The route table. `ROUTES` lists every (method, path) the router serves;
//! a test checks it against the OpenAPI document so the two cannot drift.

mod health;
mod ingest;
mod traces;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;

/// Every route of the router, as written in the OpenAPI document.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/ingest"),
    ("POST", "/api/v1/traces"),
    ("GET", "/api/v1/traces/{trace_id}"),
    ("PATCH", "/api/v1/traces/{trace_id}"),
    ("POST", "/api/v1/traces/{trace_id}/spans"),
    ("GET", "/api/v1/traces/{trace_id}/spans/{span_id}"),
    ("PATCH", "/api/v1/traces/{trace_id}/spans/{span_id}"),
];

pub fn router(state: AppState) -> Router {
    let max_body_bytes = state.limits.max_body_bytes;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
        .route("/api/v1/ingest", post(ingest::ingest_batch))
        .route("/api/v1/traces", post(ingest::create_trace))
        .route("/api/v1/traces/{trace_id}", get(traces::get_trace).patch(ingest::update_trace))
        .route("/api/v1/traces/{trace_id}/spans", post(ingest::create_span))
        .route("/api/v1/traces/{trace_id}/spans/{span_id}", get(traces::get_span).patch(ingest::update_span))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(RequestDecompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
