//! One `ExportTraceServiceRequest` into span and trace pieces: the shared
//! conversion behind OTLP/HTTP (protobuf and JSON) and OTLP/gRPC.
//!
//! Each span is converted on its own: one with a missing, wrong-length or
//! all-zero id is rejected and counted (the `partial_success` of the
//! reply), and the others are stored. The conventions are tried in a fixed
//! priority per column (GenAI, then OpenInference, then older names), each
//! taking the attributes it used; what nobody took is the span's metadata,
//! beside the OTel envelope under `otel.*` keys (span kind, resource, scope,
//! links, trace state, dropped counts).

use std::collections::HashMap;

use agentrace_core::time::from_epoch_nanos;
use agentrace_core::{SpanId, SpanPiece, SpanType, Status, TokenUsage, TraceId, TracePiece};
use serde_json::{json, Map, Value};

use super::attributes::Attributes;
use super::ids::{decode_id, SPAN_ID_BYTES, TRACE_ID_BYTES};
use super::value::{into_text, key_values_to_map, key_values_to_object, text};
use super::wire::{ExportTraceServiceRequest, InstrumentationScope, Resource, Span, SpanEvent, SpanLink, WireForm};
use super::{genai, langsmith, legacy, openinference, PartialSuccess, REJECTIONS_IN_MESSAGE};
use crate::rejection::{IngestOutcome, ItemRejection};

/// What a trace export request became.
#[derive(Debug, Default)]
pub struct TracesOutcome {
    pub ingest: IngestOutcome,
    /// Spans found in the request, valid or not.
    pub spans_seen: usize,
    /// Something to tell the client although nothing was rejected.
    pub warning: Option<String>,
}

impl TracesOutcome {
    /// The reply's `partial_success`, when it has anything to say.
    pub fn partial_success(&self) -> Option<PartialSuccess> {
        let rejected = &self.ingest.rejected;
        if rejected.is_empty() {
            return self.warning.as_ref().map(|warning| PartialSuccess { rejected: 0, message: warning.clone() });
        }
        let problems: Vec<String> = rejected
            .iter()
            .take(REJECTIONS_IN_MESSAGE)
            .map(|rejection| format!("{} {}", rejection.field, rejection.message))
            .collect();
        let more = rejected.len().saturating_sub(REJECTIONS_IN_MESSAGE);
        let mut message = format!("{} of {} spans rejected: {}", rejected.len(), self.spans_seen, problems.join("; "));
        if more > 0 {
            message.push_str(&format!("; and {more} more"));
        }
        Some(PartialSuccess { rejected: rejected.len() as i64, message })
    }
}

pub(super) const ZERO_SPANS_WARNING: &str = "the request body decoded to no spans; \
    is it OTLP logs or metrics sent to /v1/traces, or OTLP/JSON with misspelled keys?";

pub fn convert(request: ExportTraceServiceRequest, form: WireForm, body_len: usize) -> TracesOutcome {
    let mut outcome = TracesOutcome::default();
    let mut traces: HashMap<TraceId, TraceFacts> = HashMap::new();
    for (resource_index, resource_spans) in request.resource_spans.into_iter().enumerate() {
        let resource = ResourceContext::new(form, resource_spans.resource);
        for (scope_index, scope_spans) in resource_spans.scope_spans.into_iter().enumerate() {
            let scope = scope_metadata(form, scope_spans.scope);
            for (span_index, span) in scope_spans.spans.into_iter().enumerate() {
                let ordinal = outcome.spans_seen;
                outcome.spans_seen += 1;
                let position =
                    || format!("resourceSpans[{resource_index}].scopeSpans[{scope_index}].spans[{span_index}]");
                match convert_span(form, span, &resource, &scope) {
                    Ok((piece, facts)) => {
                        traces.entry(piece.trace_id.clone()).or_default().absorb(facts);
                        outcome.ingest.batch.spans.push(piece);
                        outcome.ingest.accepted_spans += 1;
                    }
                    Err(problem) => outcome.ingest.rejected.push(ItemRejection {
                        kind: "span",
                        index: ordinal,
                        id: problem.span_id,
                        field: format!("{}.{}", position(), problem.field),
                        message: problem.message,
                    }),
                }
            }
        }
    }
    let mut trace_pieces: Vec<TracePiece> =
        traces.into_iter().filter_map(|(trace_id, facts)| facts.into_piece(trace_id)).collect();
    trace_pieces.sort_by(|a, b| a.trace_id.cmp(&b.trace_id));
    outcome.ingest.batch.traces = trace_pieces;
    if outcome.spans_seen == 0 && body_len > 0 {
        outcome.warning = Some(ZERO_SPANS_WARNING.to_owned());
    }
    outcome
}

/// Why one span was rejected.
struct SpanProblem {
    span_id: Option<String>,
    field: &'static str,
    message: String,
}

/// What the resource says about every span under it.
struct ResourceContext {
    metadata: Option<Value>,
    project: Option<String>,
}

impl ResourceContext {
    fn new(form: WireForm, resource: Option<Resource>) -> Self {
        let Some(resource) = resource else { return ResourceContext { metadata: None, project: None } };
        let attributes = key_values_to_object(form, resource.attributes);
        let project = ["openinference.project.name", "service.name"].iter().find_map(|key| {
            let name = attributes.get(*key)?.as_str()?.trim();
            // The SDK's placeholder for "not configured" names no project.
            (!name.is_empty() && !name.starts_with("unknown_service")).then(|| name.to_owned())
        });
        let metadata = (!attributes.is_empty()).then_some(Value::Object(attributes));
        ResourceContext { metadata, project }
    }
}

fn scope_metadata(form: WireForm, scope: Option<InstrumentationScope>) -> Option<Value> {
    let scope = scope?;
    let mut fields = Map::new();
    if !scope.name.is_empty() {
        fields.insert("name".into(), Value::String(into_text(form, scope.name)));
    }
    if !scope.version.is_empty() {
        fields.insert("version".into(), Value::String(into_text(form, scope.version)));
    }
    if !scope.attributes.is_empty() {
        fields.insert("attributes".into(), Value::Object(key_values_to_object(form, scope.attributes)));
    }
    (!fields.is_empty()).then_some(Value::Object(fields))
}

/// Trace-level facts found on one span.
#[derive(Default)]
struct SpanTraceFacts {
    is_root: bool,
    session_id: Option<String>,
    user_id: Option<String>,
    project: Option<String>,
    tags: Vec<String>,
}

/// Trace-level facts gathered over the spans of one request: a root span's
/// values win, otherwise the first span that has one.
#[derive(Default)]
struct TraceFacts {
    session_id: Option<(bool, String)>,
    user_id: Option<(bool, String)>,
    project: Option<(bool, String)>,
    tags: Vec<String>,
}

fn absorb_value(slot: &mut Option<(bool, String)>, is_root: bool, value: Option<String>) {
    let Some(value) = value else { return };
    let replace = match slot {
        None => true,
        Some((held_from_root, _)) => is_root && !*held_from_root,
    };
    if replace {
        *slot = Some((is_root, value));
    }
}

impl TraceFacts {
    fn absorb(&mut self, facts: SpanTraceFacts) {
        absorb_value(&mut self.session_id, facts.is_root, facts.session_id);
        absorb_value(&mut self.user_id, facts.is_root, facts.user_id);
        absorb_value(&mut self.project, facts.is_root, facts.project);
        for tag in facts.tags {
            if !self.tags.contains(&tag) {
                self.tags.push(tag);
            }
        }
    }

    fn into_piece(self, trace_id: TraceId) -> Option<TracePiece> {
        if self.session_id.is_none() && self.user_id.is_none() && self.project.is_none() && self.tags.is_empty() {
            return None;
        }
        let mut piece = TracePiece::new(trace_id);
        piece.session_id = self.session_id.map(|(_, value)| value);
        piece.user_id = self.user_id.map(|(_, value)| value);
        piece.project = self.project.map(|(_, value)| value);
        piece.tags = self.tags;
        Some(piece)
    }
}

fn convert_span(
    form: WireForm,
    span: Span,
    resource: &ResourceContext,
    scope: &Option<Value>,
) -> Result<(SpanPiece, SpanTraceFacts), SpanProblem> {
    let readable_span_id = decode_id(form, &span.span_id, SPAN_ID_BYTES).ok().flatten();
    let problem =
        |field: &'static str, message: String| SpanProblem { span_id: readable_span_id.clone(), field, message };
    let trace_id = match decode_id(form, &span.trace_id, TRACE_ID_BYTES) {
        Ok(Some(id)) => id,
        Ok(None) => return Err(problem("traceId", "is missing".into())),
        Err(message) => return Err(problem("traceId", message)),
    };
    let span_id = match decode_id(form, &span.span_id, SPAN_ID_BYTES) {
        Ok(Some(id)) => id,
        Ok(None) => return Err(problem("spanId", "is missing".into())),
        Err(message) => return Err(problem("spanId", message)),
    };
    // An absent or all-zero parent both mean "this is a root span".
    let parent_span_id = match decode_id(form, &span.parent_span_id, SPAN_ID_BYTES) {
        Ok(parent) => parent,
        Err(message) if message == super::ids::ALL_ZERO => None,
        Err(message) => return Err(problem("parentSpanId", message)),
    };
    let trace_id = TraceId::parse(trace_id).map_err(|error| problem("traceId", error.to_string()))?;
    let span_id = SpanId::parse(span_id).map_err(|error| problem("spanId", error.to_string()))?;
    let parent_span_id =
        parent_span_id.map(SpanId::parse).transpose().map_err(|error| problem("parentSpanId", error.to_string()))?;

    let mut piece = SpanPiece::new(trace_id, span_id);
    piece.parent_span_id = parent_span_id;
    let name = into_text(form, span.name);
    piece.name = (!name.is_empty()).then_some(name);
    piece.start_time = (span.start_time_unix_nano > 0).then(|| from_epoch_nanos(span.start_time_unix_nano)).flatten();
    piece.end_time = (span.end_time_unix_nano > 0).then(|| from_epoch_nanos(span.end_time_unix_nano)).flatten();
    if let (Some(start), Some(end)) = (piece.start_time, piece.end_time) {
        // A clock that went backwards must not make a negative duration.
        if end < start {
            piece.end_time = Some(start);
        }
    }
    piece.events = span.events.into_iter().map(|event| event_to_json(form, event)).collect();

    let mut attributes = Attributes::new(key_values_to_map(form, span.attributes));
    let span_type = langsmith::span_type(&attributes, piece.name.as_deref())
        .or_else(|| genai::span_type(&attributes))
        .or_else(|| openinference::span_type(&attributes, piece.name.as_deref()))
        .or_else(|| legacy::span_type(&attributes))
        .unwrap_or(SpanType::Custom);
    piece.span_type = Some(span_type);
    if span_type.counts_tokens() {
        piece.model = genai::model(&mut attributes).or_else(|| openinference::model(&mut attributes));
        piece.provider = genai::provider(&mut attributes).or_else(|| openinference::provider(&mut attributes));
    }
    let mut usage = TokenUsage::default();
    genai::tokens(&mut attributes, &mut usage);
    openinference::tokens(&mut attributes, &mut usage);
    legacy::tokens(&mut attributes, &mut usage);
    piece.tokens = (!usage.is_empty()).then(|| usage.with_total());
    piece.input = genai::input(&mut attributes)
        .or_else(|| openinference::input(&mut attributes))
        .or_else(|| legacy::input(&mut attributes))
        .or_else(|| genai::input_from_events(&piece.events))
        .or_else(|| legacy::entity_input(&mut attributes));
    piece.output = genai::output(&mut attributes)
        .or_else(|| openinference::output(&mut attributes))
        .or_else(|| legacy::output(&mut attributes))
        .or_else(|| genai::output_from_events(&piece.events))
        .or_else(|| legacy::entity_output(&mut attributes));

    let status = span.status.unwrap_or_default();
    let status_message = text(form, &status.message);
    if status.code == super::wire::STATUS_CODE_ERROR {
        piece.status = Some(Status::Error);
        piece.error = Some(status_message)
            .filter(|message| !message.trim().is_empty())
            .or_else(|| exception_summary(&piece.events))
            .or_else(|| attributes.get_str("error.type").map(str::to_owned));
    } else if piece.end_time.is_some() {
        piece.status = Some(Status::Success);
    }

    let facts = SpanTraceFacts {
        is_root: piece.parent_span_id.is_none(),
        session_id: attributes.take_first(
            &[genai::SESSION_KEYS, openinference::SESSION_KEYS, langsmith::SESSION_KEYS, legacy::SESSION_KEYS].concat(),
            |value| value.as_str().filter(|text| !text.trim().is_empty()).map(str::to_owned),
        ),
        user_id: attributes
            .take_first(&[openinference::USER_KEYS, langsmith::USER_KEYS, legacy::USER_KEYS].concat(), |value| {
                value.as_str().filter(|text| !text.trim().is_empty()).map(str::to_owned)
            }),
        project: langsmith::project(&attributes).or_else(|| resource.project.clone()),
        tags: openinference::tags(&attributes),
    };

    openinference::parse_json_text(&mut attributes);
    let rebuilt_lists = attributes.take_all_flattened(openinference::FLATTENED_LISTS);
    let mut metadata = attributes.into_metadata();
    metadata.extend(rebuilt_lists);
    add_envelope(&mut metadata, form, &span.trace_state, span.kind, span.links, resource, scope);
    for (key, count) in [
        ("otel.dropped_attributes_count", span.dropped_attributes_count),
        ("otel.dropped_events_count", span.dropped_events_count),
        ("otel.dropped_links_count", span.dropped_links_count),
    ] {
        if count > 0 {
            metadata.insert(key.into(), json!(count));
        }
    }
    piece.metadata = metadata;
    Ok((piece, facts))
}

const SPAN_KIND_NAMES: [&str; 6] = ["unspecified", "internal", "server", "client", "producer", "consumer"];

fn add_envelope(
    metadata: &mut Map<String, Value>,
    form: WireForm,
    trace_state: &[u8],
    kind: i32,
    links: Vec<SpanLink>,
    resource: &ResourceContext,
    scope: &Option<Value>,
) {
    if let Some(name) = usize::try_from(kind).ok().and_then(|kind| SPAN_KIND_NAMES.get(kind)).filter(|_| kind > 0) {
        metadata.insert("otel.span_kind".into(), Value::String((*name).into()));
    }
    if !trace_state.is_empty() {
        metadata.insert("otel.trace_state".into(), Value::String(text(form, trace_state)));
    }
    if !links.is_empty() {
        let links = links.into_iter().map(|link| link_to_json(form, link)).collect();
        metadata.insert("otel.links".into(), Value::Array(links));
    }
    if let Some(resource) = &resource.metadata {
        metadata.insert("otel.resource".into(), resource.clone());
    }
    if let Some(scope) = scope {
        metadata.insert("otel.scope".into(), scope.clone());
    }
}

fn link_to_json(form: WireForm, link: SpanLink) -> Value {
    let id_text = |raw: &[u8], len: usize| match decode_id(form, raw, len) {
        Ok(Some(id)) => Value::String(id),
        _ => Value::String(text(form, raw)),
    };
    let mut fields = Map::new();
    fields.insert("trace_id".into(), id_text(&link.trace_id, TRACE_ID_BYTES));
    fields.insert("span_id".into(), id_text(&link.span_id, SPAN_ID_BYTES));
    if !link.trace_state.is_empty() {
        fields.insert("trace_state".into(), Value::String(into_text(form, link.trace_state)));
    }
    if !link.attributes.is_empty() {
        fields.insert("attributes".into(), Value::Object(key_values_to_object(form, link.attributes)));
    }
    Value::Object(fields)
}

/// A span event as stored: name, time (RFC 3339 with the nanoseconds the
/// client sent), attributes.
pub(super) fn event_to_json(form: WireForm, event: SpanEvent) -> Value {
    let mut fields = Map::new();
    fields.insert("name".into(), Value::String(into_text(form, event.name)));
    if let Some(time) = nanos_to_text(event.time_unix_nano) {
        fields.insert("time".into(), Value::String(time));
    }
    fields.insert("attributes".into(), Value::Object(key_values_to_object(form, event.attributes)));
    if event.dropped_attributes_count > 0 {
        fields.insert("dropped_attributes_count".into(), json!(event.dropped_attributes_count));
    }
    Value::Object(fields)
}

pub(super) fn nanos_to_text(nanos: u64) -> Option<String> {
    if nanos == 0 {
        return None;
    }
    let seconds = i64::try_from(nanos / 1_000_000_000).ok()?;
    let time = chrono::DateTime::from_timestamp(seconds, (nanos % 1_000_000_000) as u32)?;
    Some(time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// `Type: message` of the last exception event, for a failed span whose
/// status carries no message.
pub(super) fn exception_summary(events: &[Value]) -> Option<String> {
    let attributes = &events.iter().rev().find(|event| event["name"] == "exception")?["attributes"];
    let kind = attributes.get("exception.type").and_then(Value::as_str).filter(|text| !text.is_empty());
    let message = attributes.get("exception.message").and_then(Value::as_str).filter(|text| !text.is_empty());
    match (kind, message) {
        (Some(kind), Some(message)) => Some(format!("{kind}: {message}")),
        (Some(text), None) | (None, Some(text)) => Some(text.to_owned()),
        (None, None) => None,
    }
}
