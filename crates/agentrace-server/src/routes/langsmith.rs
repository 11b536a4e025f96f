//! The endpoints the `langsmith` SDK calls, so that pointing
//! `LANGSMITH_ENDPOINT` at agentrace is all a LangSmith user changes. They
//! are served at the root and under `/api/v1` (the SDK appends its paths to
//! whatever base URL it is given). The `x-api-key` header the SDK sends is
//! accepted and ignored: the default loopback bind is the protection until
//! API keys are enforced.
//!
//! Every write answers only after its data is committed, well inside the
//! SDK's 10 s read timeout (after which it re-sends the same body, which
//! the merge rules make harmless).

use agentrace_ingest::langsmith::{self, RunRequest};
use agentrace_ingest::{IngestOutcome, ItemRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use crate::body::{JsonBody, MultipartBody};
use crate::{ApiError, AppState};

const PROTOCOL: &str = "langsmith";

/// The SDK's own default request size target; a single larger run is
/// still sent alone.
const SIZE_LIMIT_BYTES: usize = 20 * 1024 * 1024;

/// `GET /info`. The SDK uses `batch_ingest_config` verbatim and indexes all
/// six keys, so a partial object would kill its sender thread (and make
/// `flush()` block forever): the object is always complete.
pub async fn info(State(state): State<AppState>) -> Json<Value> {
    let size_limit_bytes = SIZE_LIMIT_BYTES.min(state.limits.max_body_bytes);
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "license_expiration_time": null,
        "batch_ingest_config": {
            "use_multipart_endpoint": !state.langsmith.use_batch_endpoint,
            "scale_up_qsize_trigger": 1000,
            "scale_up_nthreads_limit": 16,
            "scale_down_nempty_trigger": 4,
            "size_limit": 100,
            "size_limit_bytes": size_limit_bytes,
        },
        "instance_flags": {"zstd_compression_enabled": true},
    }))
}

#[derive(Debug, Serialize)]
pub struct AcceptedCounts {
    pub runs: usize,
    pub attachments: usize,
    pub feedback: usize,
}

/// The reply to every LangSmith write. The SDK reads only the status; the
/// body is for people debugging a client.
#[derive(Debug, Serialize)]
pub struct LangsmithResponse {
    pub accepted: AcceptedCounts,
    pub rejected: Vec<ItemRejection>,
}

/// Resolves, stores and reports: 202 when anything (or nothing at all) was
/// sent and stored, 422 when every item was rejected.
async fn accept(state: &AppState, request: RunRequest) -> Result<Response, ApiError> {
    let IngestOutcome { batch, accepted_spans, rejected, .. } = request.resolve(&*state.store).await?;
    let accepted =
        AcceptedCounts { runs: accepted_spans, attachments: batch.attachments.len(), feedback: batch.feedback.len() };
    metrics::counter!("agentrace_spans_rejected_total", "protocol" => PROTOCOL).increment(rejected.len() as u64);
    state.ingestor.submit(batch).await?;
    metrics::counter!("agentrace_spans_accepted_total", "protocol" => PROTOCOL).increment(accepted_spans as u64);
    let anything_accepted = accepted.runs + accepted.attachments + accepted.feedback > 0;
    let status = if !anything_accepted && !rejected.is_empty() {
        tracing::warn!(rejected = rejected.len(), "langsmith request rejected entirely");
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(LangsmithResponse { accepted, rejected })).into_response())
}

/// `POST /runs/multipart`, plain or with `Content-Encoding: zstd` / `gzip`
/// (decoded, streaming, by the router's decompression layer).
pub async fn multipart(State(state): State<AppState>, body: MultipartBody) -> Result<Response, ApiError> {
    let request = langsmith::parse_multipart(&body.content_type, &body.bytes)?;
    // The parsed request holds what it needs; the raw body need not wait for the commit too.
    drop(body);
    accept(&state, request).await
}

/// `POST /runs/batch`: `{"post": [...], "patch": [...]}`.
pub async fn batch(State(state): State<AppState>, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let request = langsmith::parse_batch(&body)?;
    drop(body);
    accept(&state, request).await
}

/// `POST /runs`: one run, sent synchronously (`auto_batch_tracing=False`
/// and legacy `create_run`).
pub async fn create_run(State(state): State<AppState>, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let request = langsmith::parse_post(&body)?;
    drop(body);
    accept(&state, request).await
}

/// `PATCH /runs/{run_id}`: the end of one run.
pub async fn update_run(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request = langsmith::parse_patch(&body, &run_id)?;
    drop(body);
    accept(&state, request).await
}

/// `POST /feedback`: `client.create_feedback` without batching.
pub async fn create_feedback(State(state): State<AppState>, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    accept(&state, langsmith::parse_feedback(&body)?).await
}
