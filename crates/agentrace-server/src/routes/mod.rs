//! The route table. `ROUTES` lists every (method, path) the router serves;
//! a test checks it against the OpenAPI document so the two cannot drift.

mod health;
mod ingest;
mod langsmith;
mod otlp;
mod queries;
mod traces;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post};
use axum::Router;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;

/// Every route of the router, as written in the OpenAPI document, but the
/// web UI's pages and assets (`crate::ui::PAGES`), which are not API.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/server"),
    ("POST", "/api/v1/ingest"),
    ("POST", "/api/v1/traces"),
    ("GET", "/api/v1/traces"),
    ("GET", "/api/v1/traces/{trace_id}"),
    ("DELETE", "/api/v1/traces/{trace_id}"),
    ("PATCH", "/api/v1/traces/{trace_id}"),
    ("POST", "/api/v1/traces/{trace_id}/spans"),
    ("GET", "/api/v1/traces/{trace_id}/spans/{span_id}"),
    ("PATCH", "/api/v1/traces/{trace_id}/spans/{span_id}"),
    ("GET", "/api/v1/traces/{trace_id}/spans/{span_id}/attachments/{name}"),
    ("GET", "/api/v1/spans"),
    ("GET", "/api/v1/sessions"),
    ("GET", "/api/v1/sessions/{session_id}"),
    ("GET", "/api/v1/stats"),
    ("GET", "/api/v1/projects"),
    ("GET", "/info"),
    ("POST", "/runs/multipart"),
    ("POST", "/runs/batch"),
    ("POST", "/runs"),
    ("PATCH", "/runs/{run_id}"),
    ("POST", "/feedback"),
    ("POST", "/otel/v1/traces"),
    ("GET", "/api/v1/info"),
    ("POST", "/api/v1/runs/multipart"),
    ("POST", "/api/v1/runs/batch"),
    ("POST", "/api/v1/runs"),
    ("PATCH", "/api/v1/runs/{run_id}"),
    ("POST", "/api/v1/feedback"),
    ("POST", "/api/v1/otel/v1/traces"),
    ("POST", "/v1/traces"),
    ("POST", "/v1/logs"),
];

/// The LangSmith SDK's endpoints, served at the root and under `/api/v1`
/// (the SDK appends its paths to whatever base URL it is given).
fn langsmith_routes(prefix: &str, router: Router<AppState>) -> Router<AppState> {
    router
        .route(&format!("{prefix}/info"), get(langsmith::info))
        .route(&format!("{prefix}/runs/multipart"), post(langsmith::multipart))
        .route(&format!("{prefix}/runs/batch"), post(langsmith::batch))
        .route(&format!("{prefix}/runs"), post(langsmith::create_run))
        .route(&format!("{prefix}/runs/{{run_id}}"), patch(langsmith::update_run))
        .route(&format!("{prefix}/feedback"), post(langsmith::create_feedback))
        // The SDK's OpenTelemetry mode exports OTLP under the same base URL.
        .route(&format!("{prefix}/otel/v1/traces"), post(otlp::export_traces))
}

pub fn router(state: AppState) -> Router {
    let max_body_bytes = state.limits.max_body_bytes;
    let router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
        .route("/api/v1/server", get(health::server))
        .route("/api/v1/ingest", post(ingest::ingest_batch))
        .route("/api/v1/traces", post(ingest::create_trace).get(queries::list_traces))
        .route(
            "/api/v1/traces/{trace_id}",
            get(traces::get_trace).patch(ingest::update_trace).delete(queries::delete_trace),
        )
        .route("/api/v1/traces/{trace_id}/spans", post(ingest::create_span))
        .route("/api/v1/traces/{trace_id}/spans/{span_id}", get(traces::get_span).patch(ingest::update_span))
        .route("/api/v1/traces/{trace_id}/spans/{span_id}/attachments/{name}", get(traces::get_attachment))
        .route("/api/v1/spans", get(queries::list_spans))
        .route("/api/v1/sessions", get(queries::list_sessions))
        .route("/api/v1/sessions/{session_id}", get(queries::get_session))
        .route("/api/v1/stats", get(queries::stats))
        .route("/api/v1/projects", get(queries::list_projects));
    let router = langsmith_routes("/api/v1", langsmith_routes("", router));
    // OTLP/HTTP at the paths exporters append to OTEL_EXPORTER_OTLP_ENDPOINT.
    let router = router.route("/v1/traces", post(otlp::export_traces)).route("/v1/logs", post(otlp::export_logs));
    // The web UI's pages and assets.
    let router = router.merge(crate::ui::router());
    router
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(RequestDecompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
