//! OTLP ingestion: what OpenTelemetry exporters send to `/v1/traces`,
//! `/v1/logs` and the gRPC `TraceService` / `LogsService`, turned into span
//! and trace pieces by one path that HTTP and gRPC share ([`export_traces`],
//! [`export_logs`]).
//!
//! - [`wire`]: the protobuf messages, with text fields read as bytes so that
//!   invalid UTF-8 in one attribute never costs the batch (see its docs);
//! - [`json`]: OTLP/JSON into the same messages, tolerant of what real
//!   clients send;
//! - `traces` / `logs`: the conversion, span by span;
//! - `genai`, `openinference`, `langsmith`, `legacy`: one module per
//!   attribute convention;
//! - `value`, `attributes`, `ids`: AnyValue → JSON, the attribute bag the
//!   conventions take from, id checks.
//!
//! Text is escaped exactly once, here (`agentrace_core::text`): protobuf
//! text when it is converted, JSON text while the body is parsed.

mod attributes;
mod genai;
mod ids;
pub mod json;
mod langsmith;
mod legacy;
mod logs;
mod openinference;
mod traces;
mod value;
pub mod wire;

#[cfg(test)]
mod tests;

pub use logs::LogsOutcome;
use prost::Message;
pub use traces::TracesOutcome;

use crate::{Ingestor, SubmitError};

/// How many rejections the `partial_success` message names.
const REJECTIONS_IN_MESSAGE: usize = 3;

/// The two OTLP payload encodings; gRPC uses the protobuf one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// The encoding of an OTLP/HTTP media type (without parameters).
    pub fn from_media_type(media_type: &str) -> Option<Encoding> {
        match media_type {
            "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// A body that is not an OTLP export request at all (400 / INVALID_ARGUMENT).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    message: String,
}

impl DecodeError {
    pub fn new(message: impl Into<String>) -> Self {
        DecodeError { message: message.into() }
    }
}

/// The `partial_success` of an export reply: items rejected (0 for a
/// warning) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialSuccess {
    pub rejected: i64,
    pub message: String,
}

pub fn decode_traces(body: &[u8], encoding: Encoding) -> Result<TracesOutcome, DecodeError> {
    let (request, form) = match encoding {
        Encoding::Protobuf => {
            let request = wire::ExportTraceServiceRequest::decode(body)
                .map_err(|error| DecodeError::new(format!("not an OTLP ExportTraceServiceRequest: {error}")))?;
            (request, wire::WireForm::Protobuf)
        }
        // An empty body is an empty request, which OTLP answers with success.
        Encoding::Json if is_blank(body) => (wire::ExportTraceServiceRequest::default(), wire::WireForm::Json),
        Encoding::Json => (json::decode_trace_request(body)?, wire::WireForm::Json),
    };
    let body_len = if encoding == Encoding::Json && is_blank(body) { 0 } else { body.len() };
    Ok(traces::convert(request, form, body_len))
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

pub fn decode_logs(body: &[u8], encoding: Encoding) -> Result<LogsOutcome, DecodeError> {
    let (request, form) = match encoding {
        Encoding::Protobuf => {
            let request = wire::ExportLogsServiceRequest::decode(body)
                .map_err(|error| DecodeError::new(format!("not an OTLP ExportLogsServiceRequest: {error}")))?;
            (request, wire::WireForm::Protobuf)
        }
        Encoding::Json if is_blank(body) => (wire::ExportLogsServiceRequest::default(), wire::WireForm::Json),
        Encoding::Json => (json::decode_logs_request(body)?, wire::WireForm::Json),
    };
    Ok(logs::convert(request, form))
}

/// Why an export was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Submit(#[from] SubmitError),
}

const PROTOCOL: &str = "otlp";

/// Decodes, converts and stores one trace export request; returns the
/// reply's `partial_success` once the valid spans are committed.
pub async fn export_traces(
    ingestor: &Ingestor,
    body: &[u8],
    encoding: Encoding,
) -> Result<Option<PartialSuccess>, ExportError> {
    let outcome = decode_traces(body, encoding)?;
    let partial_success = outcome.partial_success();
    let rejected = outcome.ingest.rejected.len() as u64;
    let accepted = outcome.ingest.accepted_spans as u64;
    if let Some(partial) = &partial_success {
        tracing::info!(rejected, message = %partial.message, "otlp export partially rejected");
    }
    metrics::counter!("agentrace_spans_rejected_total", "protocol" => PROTOCOL).increment(rejected);
    ingestor.submit(outcome.ingest.batch).await?;
    metrics::counter!("agentrace_spans_accepted_total", "protocol" => PROTOCOL).increment(accepted);
    Ok(partial_success)
}

/// Decodes, converts and stores one logs export request.
pub async fn export_logs(
    ingestor: &Ingestor,
    body: &[u8],
    encoding: Encoding,
) -> Result<Option<PartialSuccess>, ExportError> {
    let outcome = decode_logs(body, encoding)?;
    let partial_success = outcome.partial_success();
    let attached = outcome.ingest.accepted_spans as u64;
    metrics::counter!("agentrace_log_records_total", "outcome" => "rejected")
        .increment(outcome.ingest.rejected.len() as u64);
    metrics::counter!("agentrace_log_records_total", "outcome" => "unattached").increment(outcome.unattached as u64);
    ingestor.submit(outcome.ingest.batch).await?;
    metrics::counter!("agentrace_log_records_total", "outcome" => "attached").increment(attached);
    Ok(partial_success)
}
