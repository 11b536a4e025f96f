//! Reading one trace (with its span tree, statistics, attachment list and
//! feedback), one span, or one attachment back.

use agentrace_core::{SpanId, StoredSpan, TraceId};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::extract::QueryPairs;
use crate::read::{self, TraceResponse};
use crate::{ApiError, AppState};

fn not_found(what: &'static str, id: &str) -> ApiError {
    ApiError::NotFound { what, id: id.to_owned() }
}

pub async fn get_trace(
    State(state): State<AppState>,
    Path(raw_trace_id): Path<String>,
    query: QueryPairs,
) -> Result<Json<TraceResponse>, ApiError> {
    Ok(Json(read::trace(&*state.store, &raw_trace_id, &query.0).await?))
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

/// One attachment's bytes, with the content type it was sent with. Clients
/// chose those bytes and that type, so the browser is told to download
/// them rather than render them beside the UI.
pub async fn get_attachment(
    State(state): State<AppState>,
    Path((raw_trace_id, raw_span_id, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let missing = || not_found("attachment", &name);
    let trace_id = TraceId::parse(raw_trace_id.as_str()).map_err(|_| missing())?;
    let span_id = SpanId::parse(raw_span_id.as_str()).map_err(|_| missing())?;
    let attachment = state.store.attachment(&trace_id, &span_id, &name).await?.ok_or_else(missing)?;
    // The stored type is escaped text from the wire; one that is not a
    // valid header value is served as plain bytes.
    let content_type = HeaderValue::from_str(&attachment.content_type)
        .unwrap_or(HeaderValue::from_static(agentrace_core::attachment::DEFAULT_CONTENT_TYPE));
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox")),
    ];
    Ok((headers, attachment.content).into_response())
}
