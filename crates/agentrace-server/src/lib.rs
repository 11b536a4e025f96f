//! agentrace's HTTP surface: the router, thin handlers and one error type.
//!
//! Handlers decode a request, call the ingest pipeline or the store, and
//! encode the reply; no handler reaches past those two. The web UI's static
//! files are embedded and served by [`ui`].

mod body;
mod error;
mod extract;
mod grpc;
pub mod openapi;
pub mod params;
pub mod read;
pub mod retention;
pub mod rollups;
mod routes;
pub mod ui;

use std::sync::Arc;

use agentrace_ingest::Ingestor;
use agentrace_store::TraceStore;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

pub use error::ApiError;
pub use grpc::serve_grpc;
pub use routes::ROUTES;

/// Request limits, documented in the README.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted, in bytes, after decompression.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // The OTLP specification's recommended limit for export requests.
        Limits { max_body_bytes: 64 * 1024 * 1024 }
    }
}

/// How the LangSmith-compatible endpoints present themselves to the SDK.
#[derive(Debug, Clone, Default)]
pub struct LangsmithSettings {
    /// Makes `GET /info` tell the SDK to send runs to `/runs/batch` (JSON)
    /// rather than `/runs/multipart`: for proxies that mangle multipart
    /// bodies, and for tests of that path. The SDK drops attachments there.
    pub use_batch_endpoint: bool,
}

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TraceStore>,
    pub ingestor: Ingestor,
    pub metrics: PrometheusHandle,
    pub limits: Limits,
    pub langsmith: LangsmithSettings,
    /// The port OTLP/gRPC is served on, when this process serves it: the
    /// web UI tells new users where to point a gRPC exporter.
    pub otlp_grpc_port: Option<u16>,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    routes::router(state)
}
