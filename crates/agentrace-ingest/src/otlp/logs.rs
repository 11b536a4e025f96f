//! OTLP log records onto the spans they belong to.
//!
//! Newer GenAI instrumentations send message content
//! (`gen_ai.client.inference.operation.details`) and exceptions as log
//! records instead of span attributes and events. A record carrying a trace
//! and span id becomes an event of that span, and fills the span's input,
//! output or error when the span has none (a log piece never ends a span,
//! so the span's own values win under the merge rules, in either arrival
//! order). Records without ids belong to no span: they are acknowledged
//! and counted, not stored.

use agentrace_core::{SpanId, SpanPiece, TraceId};
use serde_json::{json, Map, Value};

use super::genai::details_messages;
use super::ids::{decode_id, ALL_ZERO, SPAN_ID_BYTES, TRACE_ID_BYTES};
use super::traces::{exception_summary, nanos_to_text};
use super::value::{into_text, key_values_to_object, text, to_json};
use super::wire::{ExportLogsServiceRequest, LogRecord, WireForm};
use super::{PartialSuccess, REJECTIONS_IN_MESSAGE};
use crate::rejection::{IngestOutcome, ItemRejection};

#[derive(Debug, Default)]
pub struct LogsOutcome {
    /// Span pieces carrying the attached records; `accepted_spans` counts records.
    pub ingest: IngestOutcome,
    pub records_seen: usize,
    /// Records without trace context: acknowledged, counted, not stored.
    pub unattached: usize,
}

impl LogsOutcome {
    pub fn partial_success(&self) -> Option<PartialSuccess> {
        let rejected = &self.ingest.rejected;
        if rejected.is_empty() {
            return None;
        }
        let problems: Vec<String> = rejected
            .iter()
            .take(REJECTIONS_IN_MESSAGE)
            .map(|rejection| format!("{} {}", rejection.field, rejection.message))
            .collect();
        Some(PartialSuccess {
            rejected: rejected.len() as i64,
            message: format!(
                "{} of {} log records rejected: {}",
                rejected.len(),
                self.records_seen,
                problems.join("; ")
            ),
        })
    }
}

pub fn convert(request: ExportLogsServiceRequest, form: WireForm) -> LogsOutcome {
    let mut outcome = LogsOutcome::default();
    for (resource_index, resource_logs) in request.resource_logs.into_iter().enumerate() {
        for (scope_index, scope_logs) in resource_logs.scope_logs.into_iter().enumerate() {
            for (record_index, record) in scope_logs.log_records.into_iter().enumerate() {
                let ordinal = outcome.records_seen;
                outcome.records_seen += 1;
                match attach(form, record) {
                    Ok(Some(piece)) => {
                        outcome.ingest.batch.spans.push(piece);
                        outcome.ingest.accepted_spans += 1;
                    }
                    Ok(None) => outcome.unattached += 1,
                    Err((field, message)) => outcome.ingest.rejected.push(ItemRejection {
                        kind: "log_record",
                        index: ordinal,
                        id: None,
                        field: format!(
                            "resourceLogs[{resource_index}].scopeLogs[{scope_index}].logRecords[{record_index}].{field}"
                        ),
                        message,
                    }),
                }
            }
        }
    }
    outcome
}

/// The span piece a record adds to; `None` for a record without trace context.
fn attach(form: WireForm, record: LogRecord) -> Result<Option<SpanPiece>, (&'static str, String)> {
    let context_id = |raw: &[u8], len: usize| match decode_id(form, raw, len) {
        Ok(id) => Ok(id),
        // SDKs write zero ids for a record emitted outside any span.
        Err(message) if message == ALL_ZERO => Ok(None),
        Err(message) => Err(message),
    };
    let trace_id = context_id(&record.trace_id, TRACE_ID_BYTES).map_err(|message| ("traceId", message))?;
    let span_id = context_id(&record.span_id, SPAN_ID_BYTES).map_err(|message| ("spanId", message))?;
    let (Some(trace_id), Some(span_id)) = (trace_id, span_id) else { return Ok(None) };
    let trace_id = TraceId::parse(trace_id).map_err(|error| ("traceId", error.to_string()))?;
    let span_id = SpanId::parse(span_id).map_err(|error| ("spanId", error.to_string()))?;

    let event = record_to_event(form, record);
    let mut piece = SpanPiece::new(trace_id, span_id);
    let name = event["name"].as_str().unwrap_or_default();
    if name.starts_with("gen_ai.client.inference.operation.details") {
        piece.input = details_messages(&event["attributes"], true);
        piece.output = details_messages(&event["attributes"], false);
    }
    if name == "exception" || name.ends_with(".exception") || event["attributes"].get("exception.type").is_some() {
        piece.error = exception_summary(&[json!({"name": "exception", "attributes": event["attributes"]})]);
    }
    piece.events = vec![event];
    Ok(Some(piece))
}

/// A log record as a span event: its event name (or `event.name`, or
/// "log"), time, attributes, and body and severity when present.
fn record_to_event(form: WireForm, record: LogRecord) -> Value {
    let mut attributes = key_values_to_object(form, record.attributes);
    let event_name = Some(into_text(form, record.event_name)).filter(|name| !name.is_empty());
    let name = event_name
        .or_else(|| attributes.get("event.name").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "log".to_owned());
    let mut fields = Map::new();
    fields.insert("name".into(), Value::String(name));
    let time = if record.time_unix_nano > 0 { record.time_unix_nano } else { record.observed_time_unix_nano };
    if let Some(time) = nanos_to_text(time) {
        fields.insert("time".into(), Value::String(time));
    }
    match record.body.map(|body| to_json(form, body)) {
        None | Some(Value::Null) => {}
        // A kvlist body is the event's payload (GenAI message events put
        // the content there): its keys join the attributes, where readers
        // of span events look, unless that would hide an attribute.
        Some(Value::Object(payload)) if payload.keys().all(|key| !attributes.contains_key(key)) => {
            attributes.extend(payload);
        }
        Some(body) => {
            fields.insert("body".into(), body);
        }
    }
    fields.insert("attributes".into(), Value::Object(attributes));
    if record.severity_number > 0 {
        fields.insert("severity_number".into(), json!(record.severity_number));
    }
    if !record.severity_text.is_empty() {
        fields.insert("severity_text".into(), Value::String(text(form, &record.severity_text)));
    }
    Value::Object(fields)
}
