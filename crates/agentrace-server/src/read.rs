//! The read API's answers, built from a store and a route's query pairs.
//!
//! The HTTP handlers and the CLI (when it reads a database directly) both
//! call these, so the two print the same data and the same errors: a
//! handler only extracts the path and query and encodes the result.

use agentrace_core::tree::{tree_order, TreeSpan};
use agentrace_core::{AttachmentInfo, Feedback, StoredSpan, StoredTrace, TraceId};
use agentrace_store::query::{Page, ProjectSummary, SessionDetail, SessionSummary, StatsGroup, TraceSummary};
use agentrace_store::{TraceStats, TraceStore};
use serde::{Deserialize, Serialize};

use crate::params::{parse_stats, reject_any, SessionListParams, SpanListParams, TraceListParams, TraceParams};
use crate::ApiError;

/// `GET /api/v1/traces/{trace_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceResponse {
    pub trace: StoredTrace,
    /// In tree pre-order ([`tree_order`]), each with its depth.
    pub spans: Vec<TreeSpan>,
    pub stats: TraceStats,
    /// Files attached to the trace's spans, without their bytes (read one
    /// at `…/spans/{span_id}/attachments/{name}`).
    pub attachments: Vec<AttachmentInfo>,
    pub feedback: Vec<Feedback>,
}

/// `GET /api/v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsResponse {
    pub groups: Vec<StatsGroup>,
}

/// `GET /api/v1/projects`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectsResponse {
    pub items: Vec<ProjectSummary>,
}

pub(crate) fn not_found(what: &'static str, id: &str) -> ApiError {
    ApiError::NotFound { what, id: id.to_owned() }
}

/// A trace with its spans as a tree; `payloads=false` leaves every span's
/// input and output out.
pub async fn trace(
    store: &dyn TraceStore,
    raw_trace_id: &str,
    query: &[(String, String)],
) -> Result<TraceResponse, ApiError> {
    let params = TraceParams::parse(query)?;
    let trace_id = TraceId::parse(raw_trace_id).map_err(|_| not_found("trace", raw_trace_id))?;
    let detail = store.trace(&trace_id).await?.ok_or_else(|| not_found("trace", raw_trace_id))?;
    let stats = store.trace_stats(&trace_id).await?.unwrap_or_default();
    let attachments = store.attachments(&trace_id).await?;
    let feedback = store.feedback(&trace_id).await?;
    let mut spans = detail.spans;
    if !params.payloads {
        for span in &mut spans {
            span.span.input = None;
            span.span.output = None;
        }
    }
    Ok(TraceResponse { trace: detail.trace, spans: tree_order(spans), stats, attachments, feedback })
}
/// One page of traces.
pub async fn traces(store: &dyn TraceStore, query: &[(String, String)]) -> Result<Page<TraceSummary>, ApiError> {
    let params = TraceListParams::parse(query)?;
    Ok(store.list_traces(&params.filter, params.sort, &params.page, params.payloads).await?)
}

/// One page of spans, newest first.
pub async fn spans(store: &dyn TraceStore, query: &[(String, String)]) -> Result<Page<StoredSpan>, ApiError> {
    let params = SpanListParams::parse(query)?;
    Ok(store.list_spans(&params.filter, &params.page, params.payloads).await?)
}

/// One page of sessions, most recently active first.
pub async fn sessions(store: &dyn TraceStore, query: &[(String, String)]) -> Result<Page<SessionSummary>, ApiError> {
    let params = SessionListParams::parse(query)?;
    Ok(store.list_sessions(&params.filter, &params.page).await?)
}

/// One session with its turns.
pub async fn session(
    store: &dyn TraceStore,
    session_id: &str,
    query: &[(String, String)],
) -> Result<SessionDetail, ApiError> {
    reject_any(query)?;
    store.session(session_id).await?.ok_or_else(|| not_found("session", session_id))
}

/// Statistics over spans or traces.
pub async fn stats(store: &dyn TraceStore, query: &[(String, String)]) -> Result<StatsResponse, ApiError> {
    let query = parse_stats(query)?;
    Ok(StatsResponse { groups: store.stats(&query).await? })
}

/// Every project.
pub async fn projects(store: &dyn TraceStore, query: &[(String, String)]) -> Result<ProjectsResponse, ApiError> {
    reject_any(query)?;
    Ok(ProjectsResponse { items: store.list_projects().await? })
}

/// Deletes a trace with its spans, attachments and feedback.
pub async fn delete_trace(
    store: &dyn TraceStore,
    raw_trace_id: &str,
    query: &[(String, String)],
) -> Result<(), ApiError> {
    reject_any(query)?;
    let trace_id = TraceId::parse(raw_trace_id).map_err(|_| not_found("trace", raw_trace_id))?;
    if store.delete_trace(&trace_id).await? {
        Ok(())
    } else {
        Err(not_found("trace", raw_trace_id))
    }
}
