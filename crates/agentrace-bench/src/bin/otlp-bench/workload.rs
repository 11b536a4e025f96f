//! The OTLP requests the benchmark sends: the very rows of the native
//! benchmark's workload (`ingest-bench/workload.rs`: ten-span agent runs,
//! about 500 bytes of input and 500 of output text per span), written as an
//! OpenTelemetry GenAI instrumentation would export them, so that the OTLP
//! and native figures of one run compare the same data.
//!
//! Every native span becomes a GenAI span: `gen_ai.operation.name` from the
//! span type (MCP calls add `mcp.method.name`), messages as the JSON text
//! attributes `gen_ai.input.messages` / `gen_ai.output.messages`, tool
//! arguments and results, usage, model and provider, the conversation and
//! user on the agent span, and the native metadata as plain attributes.
//! Requests are serialised up front, like the native ones.

use agentrace_ingest::otlp::wire::{
    AnyValue, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Resource, ResourceSpans, ScopeSpans, Span,
    SpanStatus, Value as WireValue,
};
use bytes::Bytes;
use chrono::DateTime;
use prost::Message;
use serde_json::Value;

use crate::native_workload::{Workload, SPANS_PER_TRACE};

/// One request, ready to send.
pub struct Request {
    pub body: Bytes,
    pub spans: usize,
}

/// Trace ids of the OTLP phase start with these bytes (`0b7e…` in hex), so
/// the phase's rows can be told apart from the native phase's.
pub const TRACE_ID_PREFIX: [u8; 2] = [0x0b, 0x7e];
pub const TRACE_ID_HEX_PREFIX: &str = "0b7e";

fn trace_id(trace_number: usize) -> Vec<u8> {
    let mut id = Vec::with_capacity(16);
    id.extend_from_slice(&TRACE_ID_PREFIX);
    id.extend_from_slice(&[0; 6]);
    id.extend_from_slice(&(trace_number as u64 + 1).to_be_bytes());
    id
}

fn span_id(trace_number: usize, position: usize) -> Vec<u8> {
    let mut id = ((trace_number as u64 + 1) << 8).to_be_bytes();
    id[7] = position as u8 + 1;
    id.to_vec()
}

fn text_value(text: impl Into<String>) -> Option<AnyValue> {
    Some(AnyValue { value: Some(WireValue::String(text.into().into_bytes())) })
}

fn attribute(key: &str, value: &Value) -> Option<KeyValue> {
    let value = match value {
        Value::String(text) => WireValue::String(text.clone().into_bytes()),
        Value::Number(number) if number.is_i64() => WireValue::Int(number.as_i64().unwrap_or_default()),
        Value::Number(number) => WireValue::Double(number.as_f64().unwrap_or_default()),
        Value::Bool(flag) => WireValue::Bool(*flag),
        Value::Null => return None,
        other => WireValue::String(other.to_string().into_bytes()),
    };
    Some(KeyValue { key: key.as_bytes().to_vec(), value: Some(AnyValue { value: Some(value) }) })
}

fn text_attribute(key: &str, text: impl Into<String>) -> KeyValue {
    KeyValue { key: key.as_bytes().to_vec(), value: text_value(text) }
}

fn nanos(time: &Value) -> u64 {
    let millis = match time {
        Value::String(text) => DateTime::parse_from_rfc3339(text).map(|time| time.timestamp_millis()).unwrap_or(0),
        other => other.as_i64().unwrap_or(0),
    };
    millis as u64 * 1_000_000
}

/// The GenAI message schema for one text message.
fn message(role: &str, content: &Value) -> String {
    let content = content.as_str().map(str::to_owned).unwrap_or_else(|| content.to_string());
    serde_json::json!([{"role": role, "parts": [{"type": "text", "content": content}]}]).to_string()
}

/// The native span `index` of `workload`, as a GenAI OTLP span.
pub fn span(workload: &Workload, index: usize) -> Span {
    let native = workload.span(index);
    let trace_number = index / SPANS_PER_TRACE;
    let position = index % SPANS_PER_TRACE;
    let span_type = native["span_type"].as_str().unwrap_or_default();
    let mut attributes = Vec::with_capacity(16);
    let operation = match span_type {
        "agent" => "invoke_agent",
        "model_call" => "chat",
        "tool_call" | "mcp_call" => "execute_tool",
        _ => "plan",
    };
    attributes.push(text_attribute("gen_ai.operation.name", operation));
    match span_type {
        "agent" => {
            attributes.push(text_attribute("gen_ai.agent.name", native["name"].as_str().unwrap_or_default()));
            attributes.extend(attribute("gen_ai.conversation.id", &native["session_id"]));
            attributes.extend(attribute("user.id", &native["user_id"]));
            attributes.push(text_attribute("gen_ai.input.messages", message("user", &native["input"]["question"])));
            attributes
                .push(text_attribute("gen_ai.output.messages", message("assistant", &native["output"]["answer"])));
        }
        "model_call" => {
            attributes.extend(attribute("gen_ai.provider.name", &native["provider"]));
            attributes.extend(attribute("gen_ai.request.model", &native["model"]));
            attributes.extend(attribute("gen_ai.response.model", &native["model"]));
            attributes.extend(attribute("gen_ai.usage.input_tokens", &native["tokens_used"]["prompt"]));
            attributes.extend(attribute("gen_ai.usage.output_tokens", &native["tokens_used"]["completion"]));
            let input = &native["input"]["messages"][0]["content"];
            attributes.push(text_attribute("gen_ai.input.messages", message("user", input)));
            attributes
                .push(text_attribute("gen_ai.output.messages", message("assistant", &native["output"]["content"])));
        }
        "tool_call" | "mcp_call" => {
            attributes.push(text_attribute("gen_ai.tool.name", native["name"].as_str().unwrap_or_default()));
            if span_type == "mcp_call" {
                attributes.push(text_attribute("mcp.method.name", "tools/call"));
            }
            attributes.push(text_attribute("gen_ai.tool.call.arguments", native["input"].to_string()));
            attributes.push(text_attribute("gen_ai.tool.call.result", native["output"].to_string()));
        }
        _ => {
            attributes.push(text_attribute("gen_ai.input.messages", message("user", &native["input"]["state"])));
            attributes.push(text_attribute("gen_ai.output.messages", message("assistant", &native["output"]["state"])));
        }
    }
    if let Some(metadata) = native["metadata"].as_object() {
        attributes.extend(metadata.iter().filter_map(|(key, value)| attribute(key, value)));
    }
    let failed = native["status"] == "error";
    Span {
        trace_id: trace_id(trace_number),
        span_id: span_id(trace_number, position),
        parent_span_id: native["parent_span_id"]
            .as_str()
            .and_then(|parent| parent.strip_prefix('s')?.parse::<usize>().ok())
            .map(|parent| span_id(trace_number, parent))
            .unwrap_or_default(),
        name: native["name"].as_str().unwrap_or_default().as_bytes().to_vec(),
        kind: if span_type == "model_call" || span_type == "mcp_call" { 3 } else { 1 },
        start_time_unix_nano: nanos(&native["start_time"]),
        end_time_unix_nano: nanos(&native["end_time"]),
        attributes,
        status: Some(SpanStatus {
            code: if failed { 2 } else { 0 },
            message: native["error"].as_str().unwrap_or_default().as_bytes().to_vec(),
        }),
        flags: 256,
        ..Span::default()
    }
}

fn resource() -> Resource {
    Resource {
        attributes: vec![
            text_attribute("service.name", "support-agent"),
            text_attribute("service.version", "2026.03.1"),
            text_attribute("telemetry.sdk.language", "python"),
            text_attribute("telemetry.sdk.name", "opentelemetry"),
            text_attribute("telemetry.sdk.version", "1.45.1"),
        ],
        dropped_attributes_count: 0,
    }
}

/// The workload's spans as OTLP/HTTP protobuf bodies of `spans_per_request` spans.
pub fn requests(workload: &Workload, spans_per_request: usize) -> Vec<Request> {
    let spans_per_request = spans_per_request.max(1);
    (0..workload.total_spans)
        .step_by(spans_per_request)
        .map(|first| {
            let last = (first + spans_per_request).min(workload.total_spans);
            let spans: Vec<Span> = (first..last).map(|index| span(workload, index)).collect();
            let request = ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(resource()),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: b"opentelemetry.instrumentation.openai_v2".to_vec(),
                            version: b"2.1b0".to_vec(),
                            ..InstrumentationScope::default()
                        }),
                        spans,
                        schema_url: Vec::new(),
                    }],
                    schema_url: Vec::new(),
                }],
            };
            Request { body: Bytes::from(request.encode_to_vec()), spans: last - first }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_spans_are_about_one_and_a_half_kilobytes() {
        let workload = Workload { prefix: "otlp".into(), total_spans: 1_000 };
        let requests = requests(&workload, 500);
        let bytes: usize = requests.iter().map(|request| request.body.len()).sum();
        let mean = bytes / 1_000;
        assert!((1_300..=1_700).contains(&mean), "mean OTLP span size {mean} B");
    }

    #[test]
    fn every_span_converts_with_its_parent() {
        let workload = Workload { prefix: "otlp".into(), total_spans: 20 };
        let root = span(&workload, 10);
        let child = span(&workload, 12);
        assert!(root.parent_span_id.is_empty());
        assert_eq!(child.parent_span_id, span(&workload, 11).span_id);
        assert_eq!(child.trace_id, root.trace_id);
        assert_ne!(root.trace_id, span(&workload, 0).trace_id);
    }
}
