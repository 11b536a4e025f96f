//! Reading one trace or one span back.

use agentrace_core::{SpanId, StoredSpan, TraceId};
use agentrace_store::{TraceDetail, TraceStats};
use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;

use crate::{ApiError, AppState};

#[derive(Debug, Serialize)]
pub struct TraceResponse {
    #[serde(flatten)]
    pub detail: TraceDetail,
    pub stats: TraceStats,
}

fn not_found(what: &'static str, id: &str) -> ApiError {
    ApiError::NotFound { what, id: id.to_owned() }
}

pub async fn get_trace(
    State(state): State<AppState>,
    Path(raw_trace_id): Path<String>,
) -> Result<Json<TraceResponse>, ApiError> {
    let trace_id = TraceId::parse(raw_trace_id.as_str()).map_err(|_| not_found("trace", &raw_trace_id))?;
    let detail = state.store.trace(&trace_id).await?.ok_or_else(|| not_found("trace", &raw_trace_id))?;
    let stats = state.store.trace_stats(&trace_id).await?.unwrap_or_default();
    Ok(Json(TraceResponse { detail, stats }))
}

pub async fn get_span(
    State(state): State<AppState>,
    Path((raw_trace_id, raw_span_id)): Path<(String, String)>,
) -> Result<Json<StoredSpan>, ApiError> {
    let missing = || not_found("span", &raw_span_id);
    let trace_id = TraceId::parse(raw_trace_id.as_str()).map_err(|_| missing())?;
    let span_id = SpanId::parse(raw_span_id.as_str()).map_err(|_| missing())?;
    let span = state.store.span(&trace_id, &span_id).await?.ok_or_else(missing)?;
    Ok(Json(span))
}
