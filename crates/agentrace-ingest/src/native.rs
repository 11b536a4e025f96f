//! agentrace's own JSON ingest format (`POST /api/v1/ingest` and the single
//! create / update routes).
//!
//! ```json
//! {"traces": [{"trace_id": "t1", "session_id": "s1", "name": "checkout"}],
//!  "spans":  [{"trace_id": "t1", "span_id": "a", "span_type": "model_call",
//!              "name": "gpt-4o", "start_time": "2026-01-01T00:00:00Z",
//!              "end_time": 1767225601500, "model": "gpt-4o",
//!              "tokens_used": {"prompt": 12, "completion": 3}}]}
//! ```
//! Timestamps are RFC 3339 strings or epoch milliseconds as JSON numbers.
//! Each item is validated on its own: a bad item is rejected with its index,
//! id and field, and the rest of the request is still stored.

use std::collections::BTreeMap;

use agentrace_core::text::sanitize_json;
use agentrace_core::time::{from_epoch_millis, parse_rfc3339, Timestamp};
use agentrace_core::{SpanId, SpanPiece, SpanType, Status, TokenUsage, TraceId, TracePiece};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::rejection::{IngestOutcome, ItemRejection};

/// Why a whole request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Malformed { line: usize, column: usize, message: String },
    #[error("{0}")]
    Shape(String),
}

/// The metadata key keeping a span type this API does not know.
pub const ORIGINAL_SPAN_TYPE_KEY: &str = "agentrace.original_span_type";

#[derive(Debug)]
enum WireTime {
    Text(String),
    EpochMillis(f64),
}

// By hand rather than `#[serde(untagged)]`: an untagged enum buffers the
// value and builds (and formats) an error for every variant it tries first,
// which for the numbers was a measurable share of parsing a one-span request.
impl<'de> Deserialize<'de> for WireTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;

        impl serde::de::Visitor<'_> for TimeVisitor {
            type Value = WireTime;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("an RFC 3339 timestamp string or epoch milliseconds as a number")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<WireTime, E> {
                Ok(WireTime::Text(text.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<WireTime, E> {
                Ok(WireTime::Text(text))
            }

            fn visit_f64<E: serde::de::Error>(self, millis: f64) -> Result<WireTime, E> {
                Ok(WireTime::EpochMillis(millis))
            }

            fn visit_i64<E: serde::de::Error>(self, millis: i64) -> Result<WireTime, E> {
                Ok(WireTime::EpochMillis(millis as f64))
            }

            fn visit_u64<E: serde::de::Error>(self, millis: u64) -> Result<WireTime, E> {
                Ok(WireTime::EpochMillis(millis as f64))
            }
        }

        deserializer.deserialize_any(TimeVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTokens {
    prompt: Option<i64>,
    completion: Option<i64>,
    total: Option<i64>,
    cache_read: Option<i64>,
    cache_creation: Option<i64>,
    reasoning: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSpan {
    trace_id: Option<String>,
    span_id: Option<String>,
    parent_span_id: Option<String>,
    span_type: Option<String>,
    name: Option<String>,
    start_time: Option<WireTime>,
    end_time: Option<WireTime>,
    input: Option<Value>,
    output: Option<Value>,
    model: Option<String>,
    provider: Option<String>,
    #[serde(alias = "tokens")]
    tokens_used: Option<WireTokens>,
    cost_usd: Option<f64>,
    status: Option<String>,
    error: Option<String>,
    metadata: Option<Map<String, Value>>,
    events: Option<Vec<Value>>,
    session_id: Option<String>,
    user_id: Option<String>,
    project: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTrace {
    trace_id: Option<String>,
    session_id: Option<String>,
    user_id: Option<String>,
    project: Option<String>,
    name: Option<String>,
    start_time: Option<WireTime>,
    end_time: Option<WireTime>,
    input: Option<Value>,
    output: Option<Value>,
    status: Option<String>,
    error: Option<String>,
    metadata: Option<Map<String, Value>>,
    tags: Option<Vec<String>>,
}

/// A field-level problem inside one item.
struct FieldError {
    field: String,
    message: String,
}

fn field_error(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), message: message.into() }
}

/// Parses a request body into a JSON value, with the escaped text form
/// applied to every string (see `agentrace_core::text`).
pub fn parse_body(body: &[u8]) -> Result<Value, BodyError> {
    serde_json::from_slice(&sanitize_json(body)).map_err(malformed)
}

fn malformed(error: serde_json::Error) -> BodyError {
    BodyError::Malformed { line: error.line(), column: error.column(), message: without_position(&error) }
}

/// serde_json's message without the " at line L column C" it appends when
/// reading text: the position is reported on its own, or is the item's.
fn without_position(error: &serde_json::Error) -> String {
    error.to_string().split(" at line ").next().unwrap_or_default().to_owned()
}

// Items are read straight from their text (`RawValue` marks where each one
// lies) into the wire structs, rather than through a `serde_json::Value`
// tree of the whole body: that tree was built, then taken apart again, for
// every item, and was half the server's parsing time of a span.

/// Reads a batch request: `{"traces": [...], "spans": [...]}`.
pub fn parse_ingest(body: &[u8]) -> Result<IngestOutcome, BodyError> {
    let sanitized = sanitize_json(body);
    let mut document: BTreeMap<String, &RawValue> = serde_json::from_slice(&sanitized).map_err(|error| {
        if error.is_data() {
            BodyError::Shape("the body must be a JSON object with `traces` and/or `spans` arrays".into())
        } else {
            malformed(error)
        }
    })?;
    let mut take_array = |key: &str| match document.remove(key) {
        None => Ok(Vec::new()),
        Some(raw) => serde_json::from_str::<Option<Vec<&RawValue>>>(raw.get())
            .map(Option::unwrap_or_default)
            .map_err(|_| BodyError::Shape(format!("`{key}` must be an array"))),
    };
    let traces = take_array("traces")?;
    let spans = take_array("spans")?;
    if let Some(unknown) = document.keys().next() {
        return Err(BodyError::Shape(format!("unknown top-level field `{unknown}`; expected `traces` and `spans`")));
    }
    let mut outcome = IngestOutcome::default();
    for (index, item) in traces.into_iter().enumerate() {
        add_trace(&mut outcome, index, item, None);
    }
    for (index, item) in spans.into_iter().enumerate() {
        add_span(&mut outcome, index, item, None, None);
    }
    Ok(outcome)
}

/// Reads a body that is one item.
fn parse_item_body(body: &[u8], read: impl FnOnce(&RawValue)) -> Result<(), BodyError> {
    let sanitized = sanitize_json(body);
    let item: &RawValue = serde_json::from_slice(&sanitized).map_err(malformed)?;
    read(item);
    Ok(())
}

/// Reads one trace (create or partial update). `path_trace_id` is the id
/// from the URL, which the body may repeat but not contradict.
pub fn parse_single_trace(body: &[u8], path_trace_id: Option<&str>) -> Result<IngestOutcome, BodyError> {
    let mut outcome = IngestOutcome::default();
    parse_item_body(body, |item| add_trace(&mut outcome, 0, item, path_trace_id))?;
    Ok(outcome)
}

/// Reads one span (create or partial update) of the trace named in the URL.
pub fn parse_single_span(
    body: &[u8],
    path_trace_id: &str,
    path_span_id: Option<&str>,
) -> Result<IngestOutcome, BodyError> {
    let mut outcome = IngestOutcome::default();
    parse_item_body(body, |item| add_span(&mut outcome, 0, item, Some(path_trace_id), path_span_id))?;
    Ok(outcome)
}

/// The item's own `key` (its id), for its rejection. Only a rejected item
/// is read a second time for it.
fn item_id(item: &RawValue, key: &str) -> Option<String> {
    let Ok(Value::Object(mut fields)) = serde_json::from_str(item.get()) else {
        return None;
    };
    match fields.remove(key) {
        Some(Value::String(id)) => Some(id),
        _ => None,
    }
}

fn deserialize_item<T: serde::de::DeserializeOwned>(item: &RawValue) -> Result<T, FieldError> {
    if !item.get().starts_with('{') {
        return Err(field_error("", "each item must be a JSON object"));
    }
    // Tracking the path costs on every field, and only a rejected item
    // needs it: that one is read again, with the tracking.
    if let Ok(wire) = serde_json::from_str(item.get()) {
        return Ok(wire);
    }
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(item.get())).map_err(|error| {
        let path = error.path().to_string();
        let message = without_position(error.inner());
        // Errors about a field's name rather than its value sit at the
        // item's own level; the name is in the message.
        let field = if path == "." {
            message
                .strip_prefix("unknown field `")
                .or_else(|| message.strip_prefix("duplicate field `"))
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
                .unwrap_or_default()
        } else {
            path
        };
        field_error(field, message)
    })
}

fn add_trace(outcome: &mut IngestOutcome, index: usize, item: &RawValue, path_trace_id: Option<&str>) {
    match deserialize_item::<WireTrace>(item).and_then(|wire| convert_trace(wire, path_trace_id)) {
        Ok(piece) => {
            outcome.batch.traces.push(piece);
            outcome.accepted_traces += 1;
        }
        Err(FieldError { field, message }) => {
            let id = item_id(item, "trace_id").or_else(|| path_trace_id.map(str::to_owned));
            outcome.rejected.push(ItemRejection { kind: "trace", index, id, field, message });
        }
    }
}

fn add_span(
    outcome: &mut IngestOutcome,
    index: usize,
    item: &RawValue,
    path_trace_id: Option<&str>,
    path_span_id: Option<&str>,
) {
    match deserialize_item::<WireSpan>(item).and_then(|wire| convert_span(wire, path_trace_id, path_span_id)) {
        Ok((span, trace)) => {
            outcome.batch.spans.push(span);
            outcome.batch.traces.extend(trace);
            outcome.accepted_spans += 1;
        }
        Err(FieldError { field, message }) => {
            let id = item_id(item, "span_id").or_else(|| path_span_id.map(str::to_owned));
            outcome.rejected.push(ItemRejection { kind: "span", index, id, field, message });
        }
    }
}

fn resolve_id(body_id: Option<String>, path_id: Option<&str>, field: &str) -> Result<String, FieldError> {
    match (body_id, path_id) {
        (Some(body), Some(path)) if body != path => {
            Err(field_error(field, format!("is {body:?} in the body but {path:?} in the URL")))
        }
        (Some(id), _) => Ok(id),
        (None, Some(path)) => Ok(path.to_owned()),
        (None, None) => Err(field_error(field, "is required")),
    }
}

fn parse_time(wire: Option<WireTime>, field: &str) -> Result<Option<Timestamp>, FieldError> {
    let Some(wire) = wire else {
        return Ok(None);
    };
    let parsed = match &wire {
        WireTime::Text(text) => parse_rfc3339(text),
        WireTime::EpochMillis(millis) => from_epoch_millis(*millis),
    };
    parsed
        .map(Some)
        .ok_or_else(|| field_error(field, "must be an RFC 3339 timestamp string or epoch milliseconds as a number"))
}

fn check_order(start: Option<Timestamp>, end: Option<Timestamp>) -> Result<(), FieldError> {
    match (start, end) {
        (Some(start), Some(end)) if end < start => {
            Err(field_error("end_time", format!("{} is before start_time {}", end.to_rfc3339(), start.to_rfc3339())))
        }
        _ => Ok(()),
    }
}

fn parse_status(status: Option<String>) -> Result<Option<Status>, FieldError> {
    status
        .map(|status| {
            status
                .parse::<Status>()
                .map_err(|_| field_error("status", format!("is {status:?}; expected running, success or error")))
        })
        .transpose()
}

fn convert_tokens(wire: WireTokens) -> Result<TokenUsage, FieldError> {
    let fields = [
        ("prompt", wire.prompt),
        ("completion", wire.completion),
        ("total", wire.total),
        ("cache_read", wire.cache_read),
        ("cache_creation", wire.cache_creation),
        ("reasoning", wire.reasoning),
    ];
    if let Some((name, _)) = fields.iter().find(|(_, count)| count.is_some_and(|count| count < 0)) {
        return Err(field_error(format!("tokens_used.{name}"), "must not be negative"));
    }
    Ok(TokenUsage {
        prompt: wire.prompt,
        completion: wire.completion,
        total: wire.total,
        cache_read: wire.cache_read,
        cache_creation: wire.cache_creation,
        reasoning: wire.reasoning,
    })
}

fn convert_trace(wire: WireTrace, path_trace_id: Option<&str>) -> Result<TracePiece, FieldError> {
    let trace_id = resolve_id(wire.trace_id, path_trace_id, "trace_id")?;
    let trace_id = TraceId::parse(trace_id).map_err(|error| field_error("trace_id", error.to_string()))?;
    let start_time = parse_time(wire.start_time, "start_time")?;
    let end_time = parse_time(wire.end_time, "end_time")?;
    check_order(start_time, end_time)?;
    Ok(TracePiece {
        trace_id,
        session_id: wire.session_id,
        user_id: wire.user_id,
        project: wire.project,
        name: wire.name,
        start_time,
        end_time,
        input: wire.input,
        output: wire.output,
        status: parse_status(wire.status)?,
        error: wire.error,
        metadata: wire.metadata.unwrap_or_default(),
        tags: wire.tags.unwrap_or_default(),
    })
}

fn convert_span(
    wire: WireSpan,
    path_trace_id: Option<&str>,
    path_span_id: Option<&str>,
) -> Result<(SpanPiece, Option<TracePiece>), FieldError> {
    let trace_id = resolve_id(wire.trace_id, path_trace_id, "trace_id")?;
    let trace_id = TraceId::parse(trace_id).map_err(|error| field_error("trace_id", error.to_string()))?;
    let span_id = resolve_id(wire.span_id, path_span_id, "span_id")?;
    let span_id = SpanId::parse(span_id).map_err(|error| field_error("span_id", error.to_string()))?;
    let parent_span_id = wire
        .parent_span_id
        .map(|parent| SpanId::parse(parent).map_err(|error| field_error("parent_span_id", error.to_string())))
        .transpose()?;
    let start_time = parse_time(wire.start_time, "start_time")?;
    let end_time = parse_time(wire.end_time, "end_time")?;
    check_order(start_time, end_time)?;
    if let Some(cost) = wire.cost_usd.filter(|cost| !cost.is_finite() || *cost < 0.0) {
        return Err(field_error("cost_usd", format!("is {cost}; must be a non-negative number")));
    }
    let mut metadata = wire.metadata.unwrap_or_default();
    let span_type = wire.span_type.map(|kind| {
        kind.parse::<SpanType>().unwrap_or_else(|_| {
            metadata.insert(ORIGINAL_SPAN_TYPE_KEY.into(), Value::String(kind));
            SpanType::Custom
        })
    });
    let trace = (wire.session_id.is_some() || wire.user_id.is_some() || wire.project.is_some()).then(|| {
        let mut trace = TracePiece::new(trace_id.clone());
        trace.session_id = wire.session_id;
        trace.user_id = wire.user_id;
        trace.project = wire.project;
        trace
    });
    let span = SpanPiece {
        trace_id,
        span_id,
        parent_span_id,
        span_type,
        name: wire.name,
        start_time,
        end_time,
        input: wire.input,
        output: wire.output,
        model: wire.model,
        provider: wire.provider,
        tokens: wire.tokens_used.map(convert_tokens).transpose()?,
        cost_usd: wire.cost_usd,
        status: parse_status(wire.status)?,
        error: wire.error,
        metadata,
        events: wire.events.unwrap_or_default(),
    };
    Ok((span, trace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_items_are_rejected_with_index_id_and_field() {
        let body = br#"{"spans": [
            {"trace_id": "t", "span_id": "ok", "start_time": 1767225600000, "end_time": "2026-01-01T00:00:01Z"},
            {"trace_id": "t", "span_id": "backwards", "start_time": "2026-01-01T00:00:05Z", "end_time": "2026-01-01T00:00:01Z"},
            {"trace_id": "t", "span_id": "bad-tokens", "tokens_used": {"prompt": "many"}},
            {"trace_id": "t", "span_id": "typo", "strat_time": 1},
            {"span_id": "orphan"}
        ]}"#;
        let outcome = parse_ingest(body).unwrap();
        assert_eq!(outcome.accepted_spans, 1);
        let fields: Vec<(usize, Option<&str>, &str)> =
            outcome.rejected.iter().map(|r| (r.index, r.id.as_deref(), r.field.as_str())).collect();
        assert_eq!(
            fields,
            [
                (1, Some("backwards"), "end_time"),
                (2, Some("bad-tokens"), "tokens_used.prompt"),
                (3, Some("typo"), "strat_time"),
                (4, Some("orphan"), "trace_id"),
            ]
        );
    }

    #[test]
    fn timestamps_are_rfc3339_text_or_epoch_milliseconds() {
        let body = br#"{"spans": [
            {"trace_id": "t", "span_id": "text", "start_time": "2026-01-01T00:00:00.250Z"},
            {"trace_id": "t", "span_id": "integer", "start_time": 1767225600250},
            {"trace_id": "t", "span_id": "fraction", "start_time": 1767225600250.0},
            {"trace_id": "t", "span_id": "boolean", "start_time": true}
        ]}"#;
        let outcome = parse_ingest(body).unwrap();
        let starts: Vec<String> =
            outcome.batch.spans.iter().map(|span| span.start_time.unwrap().to_rfc3339()).collect();
        assert_eq!(starts, ["2026-01-01T00:00:00.250+00:00"; 3]);
        let rejection = &outcome.rejected[0];
        assert_eq!((rejection.index, rejection.field.as_str()), (3, "start_time"));
        assert!(
            rejection.message.contains("an RFC 3339 timestamp string or epoch milliseconds"),
            "{}",
            rejection.message
        );
    }

    #[test]
    fn the_body_and_its_items_must_have_their_shapes() {
        let shape = |body: &[u8]| match parse_ingest(body) {
            Err(BodyError::Shape(message)) => message,
            other => panic!("expected a shape error, got {other:?}"),
        };
        assert!(shape(b"[]").starts_with("the body must be a JSON object"));
        assert_eq!(shape(br#"{"spans": {"trace_id": "t"}}"#), "`spans` must be an array");
        assert!(shape(br#"{"spans": [], "span": []}"#).starts_with("unknown top-level field `span`"));

        let outcome = parse_ingest(
            br#"{"traces": null, "spans": [ 7 ,
            {"trace_id": "t", "span_id": "s", "name": "n", "name": "again"}, {"trace_id": "t", "span_id": "ok"}]}"#,
        )
        .unwrap();
        assert_eq!(outcome.accepted_spans, 1);
        let rejected: Vec<(usize, Option<&str>, &str, &str)> =
            outcome.rejected.iter().map(|r| (r.index, r.id.as_deref(), r.field.as_str(), r.message.as_str())).collect();
        assert_eq!(
            rejected,
            [(0, None, "", "each item must be a JSON object"), (1, Some("s"), "name", "duplicate field `name`")]
        );
    }

    #[test]
    fn malformed_json_reports_its_position() {
        match parse_ingest(b"{\"spans\": [\n  {\"trace_id\": }]}") {
            Err(BodyError::Malformed { line, column, .. }) => assert_eq!((line, column), (2, 16)),
            other => panic!("expected a malformed-body error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_span_types_become_custom_and_are_kept() {
        let outcome =
            parse_ingest(br#"{"spans": [{"trace_id": "t", "span_id": "s", "span_type": "planner"}]}"#).unwrap();
        let span = &outcome.batch.spans[0];
        assert_eq!(span.span_type, Some(SpanType::Custom));
        assert_eq!(span.metadata[ORIGINAL_SPAN_TYPE_KEY], "planner");
    }
}
