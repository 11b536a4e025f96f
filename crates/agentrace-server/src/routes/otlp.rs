//! OTLP/HTTP: `POST /v1/traces` and `POST /v1/logs`, answered the way the
//! OTLP specification says rather than with [`ApiError`](crate::ApiError):
//! a success is an `Export…ServiceResponse` in the request's own encoding
//! (an empty body for protobuf, `{}` for JSON, a `partial_success` when
//! some items were rejected); a failure is a `google.rpc.Status`, in the
//! request's encoding too. Exporters retry exactly 429, 502, 503 and 504,
//! so only backpressure and an unavailable store map onto those.

use agentrace_ingest::otlp::wire::{ExportLogsPartialSuccess, ExportLogsServiceResponse, ExportTracePartialSuccess};
use agentrace_ingest::otlp::wire::{ExportTraceServiceResponse, RpcStatus};
use agentrace_ingest::otlp::{self, Encoding, ExportError, PartialSuccess};
use agentrace_ingest::SubmitError;
use agentrace_store::StoreError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;
use serde_json::{json, Map, Value};

use crate::body::media_type;
use crate::AppState;

#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Logs,
}

pub async fn export_traces(State(state): State<AppState>, request: Request) -> Response {
    export(state, request, Signal::Traces).await
}

pub async fn export_logs(State(state): State<AppState>, request: Request) -> Response {
    export(state, request, Signal::Logs).await
}

async fn export(state: AppState, request: Request, signal: Signal) -> Response {
    let media_type = media_type(&request).unwrap_or_default();
    let Some(encoding) = Encoding::from_media_type(&media_type) else {
        let message = format!(
            "unsupported media type {media_type:?}; OTLP/HTTP sends application/x-protobuf or application/json"
        );
        return failure(Encoding::Json, StatusCode::UNSUPPORTED_MEDIA_TYPE, message, None);
    };
    let limit = state.limits.max_body_bytes;
    let body = match Bytes::from_request(request, &state).await {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let message = format!("the request body is larger than the limit of {limit} bytes (after decompression)");
            return failure(encoding, StatusCode::PAYLOAD_TOO_LARGE, message, None);
        }
        Err(rejection) => {
            let message = format!("could not read the request body: {}", rejection.body_text());
            return failure(encoding, StatusCode::BAD_REQUEST, message, None);
        }
    };
    let result = match signal {
        Signal::Traces => otlp::export_traces(&state.ingestor, &body, encoding).await,
        Signal::Logs => otlp::export_logs(&state.ingestor, &body, encoding).await,
    };
    match result {
        Ok(partial_success) => success(encoding, signal, partial_success.as_ref()),
        Err(error) => export_failure(encoding, error),
    }
}

fn success(encoding: Encoding, signal: Signal, partial_success: Option<&PartialSuccess>) -> Response {
    let body = match encoding {
        Encoding::Protobuf => match signal {
            Signal::Traces => ExportTraceServiceResponse {
                partial_success: partial_success.map(|partial| ExportTracePartialSuccess {
                    rejected_spans: partial.rejected,
                    error_message: partial.message.clone(),
                }),
            }
            .encode_to_vec(),
            Signal::Logs => ExportLogsServiceResponse {
                partial_success: partial_success.map(|partial| ExportLogsPartialSuccess {
                    rejected_log_records: partial.rejected,
                    error_message: partial.message.clone(),
                }),
            }
            .encode_to_vec(),
        },
        Encoding::Json => {
            let count_key = match signal {
                Signal::Traces => "rejectedSpans",
                Signal::Logs => "rejectedLogRecords",
            };
            json_response_body(partial_success, count_key).into_bytes()
        }
    };
    (StatusCode::OK, [(CONTENT_TYPE, encoding.content_type())], body).into_response()
}

/// OTLP/JSON written by hand: proto3 JSON omits default values (so a full
/// success is `{}`) and writes 64-bit integers as strings.
fn json_response_body(partial_success: Option<&PartialSuccess>, count_key: &str) -> String {
    let Some(partial) = partial_success else { return "{}".to_owned() };
    let mut fields = Map::new();
    if partial.rejected != 0 {
        fields.insert(count_key.to_owned(), Value::String(partial.rejected.to_string()));
    }
    if !partial.message.is_empty() {
        fields.insert("errorMessage".to_owned(), Value::String(partial.message.clone()));
    }
    json!({ "partialSuccess": fields }).to_string()
}

fn export_failure(encoding: Encoding, error: ExportError) -> Response {
    match error {
        ExportError::Decode(error) => failure(encoding, StatusCode::BAD_REQUEST, error.to_string(), None),
        ExportError::Submit(SubmitError::QueueFull) => {
            failure(encoding, StatusCode::TOO_MANY_REQUESTS, "the ingest queue is full; retry later".into(), Some(1))
        }
        ExportError::Submit(SubmitError::ShuttingDown) => {
            failure(encoding, StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down".into(), Some(5))
        }
        ExportError::Submit(SubmitError::Store(error)) => match error {
            StoreError::Unavailable(_) | StoreError::Busy(_) => {
                tracing::warn!(%error, "store temporarily unavailable");
                failure(
                    encoding,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the store is unavailable; retry later".into(),
                    Some(1),
                )
            }
            // Sending the same data again cannot succeed: a 400 stops the retries.
            StoreError::Rejected(message) => {
                failure(encoding, StatusCode::BAD_REQUEST, format!("the store rejected the data: {message}"), None)
            }
            // Writes ask no query; should one fail this way, it is a bug.
            StoreError::InvalidQuery(cause) | StoreError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                failure(encoding, StatusCode::INTERNAL_SERVER_ERROR, "internal error".into(), None)
            }
        },
    }
}

/// gRPC's code for the HTTP status, as `google.rpc.Status.code` (OTLP/HTTP
/// clients ignore it; it is there for people reading the body).
fn rpc_code(status: StatusCode) -> i32 {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => 8,
        StatusCode::SERVICE_UNAVAILABLE => 14,
        _ => 13,
    }
}

fn failure(encoding: Encoding, status: StatusCode, message: String, retry_after_seconds: Option<u64>) -> Response {
    let code = rpc_code(status);
    let body = match encoding {
        Encoding::Protobuf => RpcStatus { code, message, details: Vec::new() }.encode_to_vec(),
        Encoding::Json => json!({ "code": code, "message": message }).to_string().into_bytes(),
    };
    let mut response = (status, [(CONTENT_TYPE, encoding.content_type())], body).into_response();
    if let Some(seconds) = retry_after_seconds {
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
