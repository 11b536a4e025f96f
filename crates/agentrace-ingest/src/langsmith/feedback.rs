//! LangSmith feedback (`feedback.<id>` multipart parts and `POST /feedback`
//! bodies) as agentrace feedback. The fields agentrace has columns for are
//! taken out; everything else the SDK sends (`session_id`, `feedback_config`,
//! `comparative_experiment_id`, …) is kept in its metadata.

use agentrace_core::{Feedback, SpanId, TraceId};
use serde_json::{Map, Value};

use super::run::parse_iso_time;
use crate::rejection::ItemRejection;

pub fn parse_feedback(index: usize, item: Value, id_hint: Option<&str>) -> Result<Feedback, ItemRejection> {
    let shown_id = item.get("id").and_then(Value::as_str).or(id_hint).map(str::to_owned);
    let fail = |field: &str, message: &str| ItemRejection {
        kind: "feedback",
        index,
        id: shown_id.clone(),
        field: field.to_owned(),
        message: message.to_owned(),
    };
    let Value::Object(mut fields) = item else {
        return Err(fail("", "feedback must be a JSON object"));
    };
    let mut take = |key: &str| fields.remove(key).filter(|value| !value.is_null());
    let feedback_id = match (take("id"), id_hint) {
        (Some(Value::String(body)), Some(hint)) if body != hint => {
            return Err(fail("id", "differs from the id in the part name"))
        }
        (Some(Value::String(id)), _) => id,
        (None, Some(hint)) => hint.to_owned(),
        (Some(_), _) => return Err(fail("id", "must be a string")),
        (None, None) => return Err(fail("id", "is required")),
    };
    // Feedback ids follow the rules of span ids: non-empty, bounded, no control characters.
    let feedback_id = SpanId::parse(feedback_id).map_err(|error| fail("id", &error.to_string()))?.into_string();
    let trace_id = match take("trace_id") {
        None => None,
        Some(Value::String(id)) => Some(TraceId::parse(id).map_err(|error| fail("trace_id", &error.to_string()))?),
        Some(_) => return Err(fail("trace_id", "must be a string")),
    };
    let span_id = match take("run_id") {
        None => None,
        Some(Value::String(id)) => Some(SpanId::parse(id).map_err(|error| fail("run_id", &error.to_string()))?),
        Some(_) => return Err(fail("run_id", "must be a string")),
    };
    if trace_id.is_none() && span_id.is_none() {
        return Err(fail("run_id", "feedback must name a run_id or a trace_id"));
    }
    let key = match take("key") {
        Some(Value::String(key)) if !key.is_empty() => key,
        _ => return Err(fail("key", "is required and must be a non-empty string")),
    };
    let score = match take("score") {
        None => None,
        Some(Value::Bool(flag)) => Some(if flag { 1.0 } else { 0.0 }),
        Some(Value::Number(number)) => number.as_f64(),
        Some(_) => return Err(fail("score", "must be a number or a boolean")),
    };
    let comment = match take("comment") {
        None => None,
        Some(Value::String(comment)) => Some(comment),
        Some(other) => Some(other.to_string()),
    };
    let created_at = match take("created_at") {
        None => None,
        Some(Value::String(text)) => {
            Some(parse_iso_time(&text).ok_or_else(|| fail("created_at", "is not an ISO 8601 time"))?)
        }
        Some(_) => return Err(fail("created_at", "must be an ISO 8601 time string")),
    };
    let value = take("value");
    let correction = take("correction");
    let source = take("feedback_source");
    let mut metadata = match take("extra") {
        Some(Value::Object(extra)) => extra,
        _ => Map::new(),
    };
    for (key, value) in fields {
        if !value.is_null() && !metadata.contains_key(&key) {
            metadata.insert(key, value);
        }
    }
    Ok(Feedback {
        feedback_id,
        trace_id,
        span_id,
        key,
        score,
        value,
        comment,
        correction,
        source,
        metadata,
        created_at,
    })
}
