//! OTLP/JSON into the wire messages of [`super::wire`].
//!
//! OTLP/JSON is proto3 JSON with OTLP's own deviations, and real clients
//! stretch it further; every case below was seen from a real or hand-rolled
//! client and none may lose data:
//! - ids are hex, in any case (kept as text here; the conversion checks and
//!   lower-cases them, span by span);
//! - 64-bit integers come as decimal strings or as numbers;
//! - `doubleValue` may be `"NaN"`, `"Infinity"` or `"-Infinity"`;
//! - `null` means absent, anywhere;
//! - enums are integers, or (against the spec, but proto3 JSON allows it)
//!   their names;
//! - keys are lowerCamelCase; the original snake_case field names are read
//!   too, as proto3 JSON parsers do, rather than silently dropping a
//!   hand-rolled client's spans;
//! - unknown keys are ignored.
//!
//! The body is parsed after `sanitize_json`, so every string is already in
//! the escaped text form when it lands in a wire field ([`WireForm::Json`]).
//! A value of the wrong JSON type fails the whole request with the path of
//! the value, as an undecodable protobuf message would.

use agentrace_core::text::sanitize_json;
use base64::Engine;
use serde_json::{Map, Value};

use super::wire::{
    AnyValue, ArrayValue, ExportLogsServiceRequest, ExportTraceServiceRequest, InstrumentationScope, KeyValue,
    KeyValueList, LogRecord, Resource, ResourceLogs, ResourceSpans, ScopeLogs, ScopeSpans, Span, SpanEvent, SpanLink,
    SpanStatus, Value as WireValue,
};
use super::DecodeError;

/// Where a value sits in the document, rendered only for error messages.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'static str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(parent, key) => {
                let parent = parent.render();
                if parent.is_empty() {
                    (*key).to_owned()
                } else {
                    format!("{parent}.{key}")
                }
            }
            Path::Index(parent, index) => format!("{}[{index}]", parent.render()),
        }
    }
}

fn invalid(path: &Path<'_>, expected: &str) -> DecodeError {
    DecodeError::new(format!("`{}` must be {expected}", path.render()))
}

/// A JSON object whose fields are taken out by name.
struct Object {
    map: Map<String, Value>,
}

impl Object {
    fn new(value: Value, path: &Path<'_>) -> Result<Self, DecodeError> {
        match value {
            Value::Object(map) => Ok(Object { map }),
            _ => Err(invalid(path, "an object")),
        }
    }

    /// The field under its lowerCamelCase name, else its proto name; `null` is absent.
    fn take(&mut self, camel: &str, snake: &str) -> Option<Value> {
        let value = self.map.remove(camel).filter(|value| !value.is_null());
        value.or_else(|| self.map.remove(snake).filter(|value| !value.is_null()))
    }
}

fn array(value: Option<Value>, path: &Path<'_>) -> Result<Vec<Value>, DecodeError> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid(path, "an array")),
    }
}

fn text(value: Option<Value>, path: &Path<'_>) -> Result<Vec<u8>, DecodeError> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(text.into_bytes()),
        Some(_) => Err(invalid(path, "a string")),
    }
}

/// A 64-bit unsigned integer sent as a decimal string or a number.
fn uint64(value: Option<Value>, path: &Path<'_>) -> Result<u64, DecodeError> {
    let parsed = match &value {
        None => return Ok(0),
        Some(Value::Number(number)) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|float| integral_in_range(*float, 0.0, 1.8e19)).map(|f| f as u64)),
        Some(Value::String(text)) => text.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    parsed.ok_or_else(|| invalid(path, "an unsigned integer (a number or a decimal string)"))
}

fn int64(value: Value, path: &Path<'_>) -> Result<i64, DecodeError> {
    let parsed = match &value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().filter(|float| integral_in_range(*float, -9.2e18, 9.2e18)).map(|f| f as i64)),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| invalid(path, "an integer (a number or a decimal string)"))
}

fn integral_in_range(float: f64, low: f64, high: f64) -> bool {
    float.fract() == 0.0 && float >= low && float <= high
}

fn uint32(value: Option<Value>, path: &Path<'_>) -> Result<u32, DecodeError> {
    let wide = uint64(value, path)?;
    u32::try_from(wide).map_err(|_| invalid(path, "a 32-bit unsigned integer"))
}

fn double(value: Value, path: &Path<'_>) -> Result<f64, DecodeError> {
    match &value {
        Value::Number(number) => number.as_f64().ok_or_else(|| invalid(path, "a number")),
        Value::String(text) => match text.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other
                .trim()
                .parse::<f64>()
                .map_err(|_| invalid(path, "a number, \"NaN\", \"Infinity\" or \"-Infinity\"")),
        },
        _ => Err(invalid(path, "a number, \"NaN\", \"Infinity\" or \"-Infinity\"")),
    }
}

/// An enum as its number or its name (`names[i]` is the name of value `i`).
fn enumeration(value: Option<Value>, names: &[&str], path: &Path<'_>) -> Result<i32, DecodeError> {
    match value {
        None => Ok(0),
        Some(Value::String(name)) if !name.chars().all(|c| c.is_ascii_digit()) => names
            .iter()
            .position(|known| known.eq_ignore_ascii_case(&name))
            .map(|index| index as i32)
            .ok_or_else(|| invalid(path, &format!("one of {}", names.join(", ")))),
        Some(other) => {
            let number = int64(other, path)?;
            i32::try_from(number).map_err(|_| invalid(path, "a 32-bit integer"))
        }
    }
}

const SPAN_KINDS: &[&str] = &[
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];
const STATUS_CODES: &[&str] = &["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];
const SEVERITIES: &[&str] = &[
    "SEVERITY_NUMBER_UNSPECIFIED",
    "SEVERITY_NUMBER_TRACE",
    "SEVERITY_NUMBER_TRACE2",
    "SEVERITY_NUMBER_TRACE3",
    "SEVERITY_NUMBER_TRACE4",
    "SEVERITY_NUMBER_DEBUG",
    "SEVERITY_NUMBER_DEBUG2",
    "SEVERITY_NUMBER_DEBUG3",
    "SEVERITY_NUMBER_DEBUG4",
    "SEVERITY_NUMBER_INFO",
    "SEVERITY_NUMBER_INFO2",
    "SEVERITY_NUMBER_INFO3",
    "SEVERITY_NUMBER_INFO4",
    "SEVERITY_NUMBER_WARN",
    "SEVERITY_NUMBER_WARN2",
    "SEVERITY_NUMBER_WARN3",
    "SEVERITY_NUMBER_WARN4",
    "SEVERITY_NUMBER_ERROR",
    "SEVERITY_NUMBER_ERROR2",
    "SEVERITY_NUMBER_ERROR3",
    "SEVERITY_NUMBER_ERROR4",
    "SEVERITY_NUMBER_FATAL",
    "SEVERITY_NUMBER_FATAL2",
    "SEVERITY_NUMBER_FATAL3",
    "SEVERITY_NUMBER_FATAL4",
];

/// Parses a body into a JSON document whose strings are in the escaped form.
fn parse_document(body: &[u8]) -> Result<Value, DecodeError> {
    let sanitized = sanitize_json(body);
    serde_json::from_slice(&sanitized).map_err(|error| {
        let message = error.to_string();
        let message = message.split(" at line ").next().unwrap_or_default();
        DecodeError::new(format!("malformed JSON at line {}, column {}: {message}", error.line(), error.column()))
    })
}

pub fn decode_trace_request(body: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    let root = Path::Root;
    let mut document = Object::new(parse_document(body)?, &root)?;
    let path = Path::Key(&root, "resourceSpans");
    let items = array(document.take("resourceSpans", "resource_spans"), &path)?;
    let resource_spans = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| resource_spans(item, &Path::Index(&path, index)))
        .collect::<Result<_, _>>()?;
    Ok(ExportTraceServiceRequest { resource_spans })
}

pub fn decode_logs_request(body: &[u8]) -> Result<ExportLogsServiceRequest, DecodeError> {
    let root = Path::Root;
    let mut document = Object::new(parse_document(body)?, &root)?;
    let path = Path::Key(&root, "resourceLogs");
    let items = array(document.take("resourceLogs", "resource_logs"), &path)?;
    let resource_logs = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| resource_logs(item, &Path::Index(&path, index)))
        .collect::<Result<_, _>>()?;
    Ok(ExportLogsServiceRequest { resource_logs })
}

fn resource_spans(value: Value, path: &Path<'_>) -> Result<ResourceSpans, DecodeError> {
    let mut object = Object::new(value, path)?;
    let scopes_path = Path::Key(path, "scopeSpans");
    let scope_spans = array(object.take("scopeSpans", "scope_spans"), &scopes_path)?
        .into_iter()
        .enumerate()
        .map(|(index, item)| scope_spans(item, &Path::Index(&scopes_path, index)))
        .collect::<Result<_, _>>()?;
    Ok(ResourceSpans {
        resource: object
            .take("resource", "resource")
            .map(|value| resource(value, &Path::Key(path, "resource")))
            .transpose()?,
        scope_spans,
        schema_url: text(object.take("schemaUrl", "schema_url"), &Path::Key(path, "schemaUrl"))?,
    })
}

fn resource_logs(value: Value, path: &Path<'_>) -> Result<ResourceLogs, DecodeError> {
    let mut object = Object::new(value, path)?;
    let scopes_path = Path::Key(path, "scopeLogs");
    let scope_logs = array(object.take("scopeLogs", "scope_logs"), &scopes_path)?
        .into_iter()
        .enumerate()
        .map(|(index, item)| scope_logs(item, &Path::Index(&scopes_path, index)))
        .collect::<Result<_, _>>()?;
    Ok(ResourceLogs {
        resource: object
            .take("resource", "resource")
            .map(|value| resource(value, &Path::Key(path, "resource")))
            .transpose()?,
        scope_logs,
        schema_url: text(object.take("schemaUrl", "schema_url"), &Path::Key(path, "schemaUrl"))?,
    })
}

fn resource(value: Value, path: &Path<'_>) -> Result<Resource, DecodeError> {
    let mut object = Object::new(value, path)?;
    Ok(Resource {
        attributes: attributes(object.take("attributes", "attributes"), &Path::Key(path, "attributes"))?,
        dropped_attributes_count: uint32(
            object.take("droppedAttributesCount", "dropped_attributes_count"),
            &Path::Key(path, "droppedAttributesCount"),
        )?,
    })
}

fn scope(value: Option<Value>, path: &Path<'_>) -> Result<Option<InstrumentationScope>, DecodeError> {
    let Some(value) = value else { return Ok(None) };
    let mut object = Object::new(value, path)?;
    Ok(Some(InstrumentationScope {
        name: text(object.take("name", "name"), &Path::Key(path, "name"))?,
        version: text(object.take("version", "version"), &Path::Key(path, "version"))?,
        attributes: attributes(object.take("attributes", "attributes"), &Path::Key(path, "attributes"))?,
        dropped_attributes_count: uint32(
            object.take("droppedAttributesCount", "dropped_attributes_count"),
            &Path::Key(path, "droppedAttributesCount"),
        )?,
    }))
}

fn scope_spans(value: Value, path: &Path<'_>) -> Result<ScopeSpans, DecodeError> {
    let mut object = Object::new(value, path)?;
    let spans_path = Path::Key(path, "spans");
    let spans = array(object.take("spans", "spans"), &spans_path)?
        .into_iter()
        .enumerate()
        .map(|(index, item)| span(item, &Path::Index(&spans_path, index)))
        .collect::<Result<_, _>>()?;
    Ok(ScopeSpans {
        scope: scope(object.take("scope", "scope"), &Path::Key(path, "scope"))?,
        spans,
        schema_url: text(object.take("schemaUrl", "schema_url"), &Path::Key(path, "schemaUrl"))?,
    })
}

fn scope_logs(value: Value, path: &Path<'_>) -> Result<ScopeLogs, DecodeError> {
    let mut object = Object::new(value, path)?;
    let records_path = Path::Key(path, "logRecords");
    let log_records = array(object.take("logRecords", "log_records"), &records_path)?
        .into_iter()
        .enumerate()
        .map(|(index, item)| log_record(item, &Path::Index(&records_path, index)))
        .collect::<Result<_, _>>()?;
    Ok(ScopeLogs {
        scope: scope(object.take("scope", "scope"), &Path::Key(path, "scope"))?,
        log_records,
        schema_url: text(object.take("schemaUrl", "schema_url"), &Path::Key(path, "schemaUrl"))?,
    })
}

fn span(value: Value, path: &Path<'_>) -> Result<Span, DecodeError> {
    let mut object = Object::new(value, path)?;
    let field = |key: &'static str| Path::Key(path, key);
    let events_path = field("events");
    let events = array(object.take("events", "events"), &events_path)?
        .into_iter()
        .enumerate()
        .map(|(index, item)| event(item, &Path::Index(&events_path, index)))
        .collect::<Result<_, _>>()?;
    let links_path = field("links");
    let links = array(object.take("links", "links"), &links_path)?
        .into_iter()
        .enumerate()
        .map(|(index, item)| link(item, &Path::Index(&links_path, index)))
        .collect::<Result<_, _>>()?;
    Ok(Span {
        trace_id: text(object.take("traceId", "trace_id"), &field("traceId"))?,
        span_id: text(object.take("spanId", "span_id"), &field("spanId"))?,
        trace_state: text(object.take("traceState", "trace_state"), &field("traceState"))?,
        parent_span_id: text(object.take("parentSpanId", "parent_span_id"), &field("parentSpanId"))?,
        name: text(object.take("name", "name"), &field("name"))?,
        kind: enumeration(object.take("kind", "kind"), SPAN_KINDS, &field("kind"))?,
        start_time_unix_nano: uint64(
            object.take("startTimeUnixNano", "start_time_unix_nano"),
            &field("startTimeUnixNano"),
        )?,
        end_time_unix_nano: uint64(object.take("endTimeUnixNano", "end_time_unix_nano"), &field("endTimeUnixNano"))?,
        attributes: attributes(object.take("attributes", "attributes"), &field("attributes"))?,
        dropped_attributes_count: uint32(
            object.take("droppedAttributesCount", "dropped_attributes_count"),
            &field("droppedAttributesCount"),
        )?,
        events,
        dropped_events_count: uint32(
            object.take("droppedEventsCount", "dropped_events_count"),
            &field("droppedEventsCount"),
        )?,
        links,
        dropped_links_count: uint32(
            object.take("droppedLinksCount", "dropped_links_count"),
            &field("droppedLinksCount"),
        )?,
        status: object.take("status", "status").map(|value| status(value, &field("status"))).transpose()?,
        flags: uint32(object.take("flags", "flags"), &field("flags"))?,
    })
}

fn status(value: Value, path: &Path<'_>) -> Result<SpanStatus, DecodeError> {
    let mut object = Object::new(value, path)?;
    Ok(SpanStatus {
        message: text(object.take("message", "message"), &Path::Key(path, "message"))?,
        code: enumeration(object.take("code", "code"), STATUS_CODES, &Path::Key(path, "code"))?,
    })
}

fn event(value: Value, path: &Path<'_>) -> Result<SpanEvent, DecodeError> {
    let mut object = Object::new(value, path)?;
    Ok(SpanEvent {
        time_unix_nano: uint64(object.take("timeUnixNano", "time_unix_nano"), &Path::Key(path, "timeUnixNano"))?,
        name: text(object.take("name", "name"), &Path::Key(path, "name"))?,
        attributes: attributes(object.take("attributes", "attributes"), &Path::Key(path, "attributes"))?,
        dropped_attributes_count: uint32(
            object.take("droppedAttributesCount", "dropped_attributes_count"),
            &Path::Key(path, "droppedAttributesCount"),
        )?,
    })
}

fn link(value: Value, path: &Path<'_>) -> Result<SpanLink, DecodeError> {
    let mut object = Object::new(value, path)?;
    Ok(SpanLink {
        trace_id: text(object.take("traceId", "trace_id"), &Path::Key(path, "traceId"))?,
        span_id: text(object.take("spanId", "span_id"), &Path::Key(path, "spanId"))?,
        trace_state: text(object.take("traceState", "trace_state"), &Path::Key(path, "traceState"))?,
        attributes: attributes(object.take("attributes", "attributes"), &Path::Key(path, "attributes"))?,
        dropped_attributes_count: uint32(
            object.take("droppedAttributesCount", "dropped_attributes_count"),
            &Path::Key(path, "droppedAttributesCount"),
        )?,
        flags: uint32(object.take("flags", "flags"), &Path::Key(path, "flags"))?,
    })
}

fn log_record(value: Value, path: &Path<'_>) -> Result<LogRecord, DecodeError> {
    let mut object = Object::new(value, path)?;
    let field = |key: &'static str| Path::Key(path, key);
    Ok(LogRecord {
        time_unix_nano: uint64(object.take("timeUnixNano", "time_unix_nano"), &field("timeUnixNano"))?,
        observed_time_unix_nano: uint64(
            object.take("observedTimeUnixNano", "observed_time_unix_nano"),
            &field("observedTimeUnixNano"),
        )?,
        severity_number: enumeration(
            object.take("severityNumber", "severity_number"),
            SEVERITIES,
            &field("severityNumber"),
        )?,
        severity_text: text(object.take("severityText", "severity_text"), &field("severityText"))?,
        body: object.take("body", "body").map(|value| any_value(value, &field("body"))).transpose()?,
        attributes: attributes(object.take("attributes", "attributes"), &field("attributes"))?,
        dropped_attributes_count: uint32(
            object.take("droppedAttributesCount", "dropped_attributes_count"),
            &field("droppedAttributesCount"),
        )?,
        flags: uint32(object.take("flags", "flags"), &field("flags"))?,
        trace_id: text(object.take("traceId", "trace_id"), &field("traceId"))?,
        span_id: text(object.take("spanId", "span_id"), &field("spanId"))?,
        event_name: text(object.take("eventName", "event_name"), &field("eventName"))?,
    })
}

fn attributes(value: Option<Value>, path: &Path<'_>) -> Result<Vec<KeyValue>, DecodeError> {
    array(value, path)?
        .into_iter()
        .enumerate()
        .map(|(index, item)| key_value(item, &Path::Index(path, index)))
        .collect()
}

fn key_value(value: Value, path: &Path<'_>) -> Result<KeyValue, DecodeError> {
    let mut object = Object::new(value, path)?;
    Ok(KeyValue {
        key: text(object.take("key", "key"), &Path::Key(path, "key"))?,
        value: object.take("value", "value").map(|value| any_value(value, &Path::Key(path, "value"))).transpose()?,
    })
}

fn any_value(value: Value, path: &Path<'_>) -> Result<AnyValue, DecodeError> {
    let mut object = Object::new(value, path)?;
    // A oneof: the first variant present wins; an object with none is an empty value.
    if let Some(value) = object.take("stringValue", "string_value") {
        return Ok(wrap(WireValue::String(text(Some(value), &Path::Key(path, "stringValue"))?)));
    }
    if let Some(value) = object.take("boolValue", "bool_value") {
        return match value {
            Value::Bool(flag) => Ok(wrap(WireValue::Bool(flag))),
            _ => Err(invalid(&Path::Key(path, "boolValue"), "true or false")),
        };
    }
    if let Some(value) = object.take("intValue", "int_value") {
        return Ok(wrap(WireValue::Int(int64(value, &Path::Key(path, "intValue"))?)));
    }
    if let Some(value) = object.take("doubleValue", "double_value") {
        return Ok(wrap(WireValue::Double(double(value, &Path::Key(path, "doubleValue"))?)));
    }
    if let Some(value) = object.take("arrayValue", "array_value") {
        let array_path = Path::Key(path, "arrayValue");
        let mut inner = Object::new(value, &array_path)?;
        let values_path = Path::Key(&array_path, "values");
        let values = array(inner.take("values", "values"), &values_path)?
            .into_iter()
            .enumerate()
            .map(|(index, item)| any_value(item, &Path::Index(&values_path, index)))
            .collect::<Result<_, _>>()?;
        return Ok(wrap(WireValue::Array(ArrayValue { values })));
    }
    if let Some(value) = object.take("kvlistValue", "kvlist_value") {
        let list_path = Path::Key(path, "kvlistValue");
        let mut inner = Object::new(value, &list_path)?;
        let values = attributes(inner.take("values", "values"), &Path::Key(&list_path, "values"))?;
        return Ok(wrap(WireValue::Kvlist(KeyValueList { values })));
    }
    if let Some(value) = object.take("bytesValue", "bytes_value") {
        let bytes_path = Path::Key(path, "bytesValue");
        let Value::String(encoded) = value else { return Err(invalid(&bytes_path, "a base64 string")) };
        let decoded = decode_base64(&encoded).ok_or_else(|| invalid(&bytes_path, "a base64 string"))?;
        return Ok(wrap(WireValue::Bytes(decoded)));
    }
    Ok(AnyValue { value: None })
}

fn wrap(value: WireValue) -> AnyValue {
    AnyValue { value: Some(value) }
}

/// proto3 JSON writes bytes as standard base64 but parsers accept the URL-safe
/// alphabet and missing padding too.
pub(super) fn decode_base64(encoded: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let encoded = encoded.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|engine| engine.decode(encoded).ok())
}
