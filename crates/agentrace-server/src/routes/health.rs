//! Liveness, readiness, Prometheus metrics, and what this server is.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::{ApiError, AppState};

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The store answers.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    Ok("ready\n")
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("agentrace_queue_depth_items").set(state.ingestor.queued_items() as f64);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// What this server is and where it listens beyond this port.
pub async fn server(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "version": env!("CARGO_PKG_VERSION"), "otlp_grpc_port": state.otlp_grpc_port }))
}
