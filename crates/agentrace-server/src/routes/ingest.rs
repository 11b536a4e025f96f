//! The native write routes: batch ingest, and single create / partial
//! update of a trace or a span. All of them go through one function,
//! [`accept`], into the pipeline.

use agentrace_ingest::native::BodyError;
use agentrace_ingest::{native, IngestOutcome, ItemRejection};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::body::JsonBody;
use crate::{ApiError, AppState};

#[derive(Debug, Serialize)]
pub struct AcceptedCounts {
    pub traces: usize,
    pub spans: usize,
}

/// The reply to every write: what was stored and what was rejected, item by item.
#[derive(Debug, Serialize)]
pub struct IngestResponse {
    pub accepted: AcceptedCounts,
    pub rejected: Vec<ItemRejection>,
}

const PROTOCOL: &str = "native";

/// Stores the valid items of `outcome` and reports on every item.
///
/// All items valid: `success`. Some rejected: 200 with the rejections
/// listed. All rejected: 422.
async fn accept(state: &AppState, outcome: IngestOutcome, success: StatusCode) -> Result<Response, ApiError> {
    let IngestOutcome { batch, accepted_traces, accepted_spans, rejected } = outcome;
    metrics::counter!("agentrace_spans_rejected_total", "protocol" => PROTOCOL)
        .increment(rejected.iter().filter(|rejection| rejection.kind == "span").count() as u64);
    state.ingestor.submit(batch).await?;
    metrics::counter!("agentrace_spans_accepted_total", "protocol" => PROTOCOL).increment(accepted_spans as u64);
    let status = match (accepted_traces + accepted_spans, rejected.is_empty()) {
        (_, true) => success,
        (0, false) => StatusCode::UNPROCESSABLE_ENTITY,
        (_, false) => StatusCode::OK,
    };
    let response =
        IngestResponse { accepted: AcceptedCounts { traces: accepted_traces, spans: accepted_spans }, rejected };
    Ok((status, Json(response)).into_response())
}

/// Parses `body` and frees it before the request waits for its commit:
/// a request held in the queue then costs its parsed items only, not its
/// raw bytes as well (64 concurrent 750 KB batches would otherwise pin
/// 48 MB of bodies while they wait).
fn parse_then_free(
    body: Bytes,
    parse: impl FnOnce(&[u8]) -> Result<IngestOutcome, BodyError>,
) -> Result<IngestOutcome, ApiError> {
    Ok(parse(&body)?)
}

pub async fn ingest_batch(State(state): State<AppState>, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    accept(&state, parse_then_free(body, native::parse_ingest)?, StatusCode::OK).await
}

pub async fn create_trace(State(state): State<AppState>, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    accept(&state, parse_then_free(body, |body| native::parse_single_trace(body, None))?, StatusCode::CREATED).await
}

pub async fn update_trace(
    State(state): State<AppState>,
    Path(trace_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let outcome = parse_then_free(body, |body| native::parse_single_trace(body, Some(&trace_id)))?;
    accept(&state, outcome, StatusCode::OK).await
}

pub async fn create_span(
    State(state): State<AppState>,
    Path(trace_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let outcome = parse_then_free(body, |body| native::parse_single_span(body, &trace_id, None))?;
    accept(&state, outcome, StatusCode::CREATED).await
}

pub async fn update_span(
    State(state): State<AppState>,
    Path((trace_id, span_id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let outcome = parse_then_free(body, |body| native::parse_single_span(body, &trace_id, Some(&span_id)))?;
    accept(&state, outcome, StatusCode::OK).await
}
