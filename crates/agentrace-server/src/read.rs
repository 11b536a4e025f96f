//! The read API's answers, built from a store and a route's query pairs.
//!
//! The HTTP handlers and the CLI (when it reads a database directly) both
//! call these, so the two print the same data and the same errors: a
//! handler only extracts the path and query and encodes the result.

use agentrace_core::tree::{tree_order, TreeSpan};
use agentrace_core::{AttachmentInfo, Feedback, StoredTrace, TraceId};
use agentrace_store::query::{ProjectSummary, StatsGroup};
use agentrace_store::{TraceStats, TraceStore};
use serde::{Deserialize, Serialize};

use crate::params::TraceParams;
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
