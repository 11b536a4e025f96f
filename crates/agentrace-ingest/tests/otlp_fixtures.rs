//! Decodes every captured OTLP request in `tests/fixtures/otlp/` (bodies
//! the real OpenTelemetry Python exporters sent, and one hand-written
//! OTLP/JSON body full of edge cases) and checks the mapped rows column by
//! column. The protobuf, gzip and JSON captures of the same spans must map
//! to identical rows.

use std::io::Read;

use agentrace_core::SpanPiece;
use agentrace_ingest::otlp::{decode_traces, Encoding, TracesOutcome};
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/otlp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn gunzip(compressed: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(compressed).read_to_end(&mut body).expect("gzip fixture");
    body
}

fn decode(body: &[u8], encoding: Encoding) -> TracesOutcome {
    let outcome = decode_traces(body, encoding).expect("fixture decodes");
    assert!(outcome.ingest.rejected.is_empty(), "{:?}", outcome.ingest.rejected);
    assert_eq!(outcome.partial_success(), None);
    outcome
}

/// A span as stored, every column; the resource and scope, the same for
/// every span of a capture, are checked once by [`envelope`].
fn row(span: &SpanPiece) -> Value {
    let mut row = serde_json::to_value(span).expect("span serialises");
    let metadata = row["metadata"].as_object_mut().expect("metadata object");
    metadata.remove("otel.resource");
    metadata.remove("otel.scope");
    row
}

/// The expected row: columns not written are null (events and metadata empty).
fn expected(trace_id: &str, mut columns: Value) -> Value {
    let mut row = json!({
        "trace_id": trace_id, "span_id": null, "parent_span_id": null, "span_type": null, "name": null,
        "start_time": null, "end_time": null, "input": null, "output": null, "model": null, "provider": null,
        "tokens_used": null, "cost_usd": null, "status": null, "error": null, "metadata": {}, "events": [],
    });
    for (key, value) in columns.as_object_mut().expect("columns").iter_mut() {
        row[key] = value.take();
    }
    row
}

fn assert_rows(outcome: &TracesOutcome, expected_rows: Vec<Value>) {
    let rows: Vec<Value> = outcome.ingest.batch.spans.iter().map(row).collect();
    assert_eq!(rows.len(), expected_rows.len(), "span count");
    for (row, expected) in rows.iter().zip(&expected_rows) {
        assert_eq!(row, expected, "span {}", expected["span_id"]);
    }
}

fn traces(outcome: &TracesOutcome) -> Vec<Value> {
    outcome.ingest.batch.traces.iter().map(|trace| serde_json::to_value(trace).expect("trace serialises")).collect()
}

fn trace(trace_id: &str, session_id: &str, user_id: &str, project: &str, tags: &[&str]) -> Value {
    json!({
        "trace_id": trace_id, "session_id": session_id, "user_id": user_id, "project": project, "name": null,
        "start_time": null, "end_time": null, "input": null, "output": null, "status": null, "error": null,
        "metadata": {}, "tags": tags,
    })
}

/// The resource and scope every span of a capture carries in metadata.
fn envelope(outcome: &TracesOutcome, resource: Value, scope: Value) {
    for span in &outcome.ingest.batch.spans {
        assert_eq!(span.metadata["otel.resource"], resource, "resource of {}", span.span_id);
        assert_eq!(span.metadata["otel.scope"], scope, "scope of {}", span.span_id);
    }
}

fn fixture_resource() -> Value {
    json!({
        "deployment.environment.name": "test", "service.instance.id": "fixture-instance-1",
        "service.name": "fixture-agent", "service.version": "0.1.0",
    })
}

const GENAI_TRACE: &str = "f1a70001000000000000000000000001";
const GENAI_FAILED_TRACE: &str = "f1a70001000000000000000000000002";

fn genai_rows() -> Vec<Value> {
    let rows = vec![
        json!({
            "end_time": "2026-01-15T10:00:01.200Z",
            "input": [
                {"parts": [{"content": "You are a travel agent.", "type": "text"}], "role": "system"},
                {"parts": [{"content": "Weekend in Lisbon under 500 EUR?", "type": "text"}], "role": "user"}
            ],
            "metadata": {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.max_tokens": 1024,
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.request.temperature": 0.2,
                "gen_ai.response.finish_reasons": ["tool_calls"],
                "gen_ai.response.id": "chatcmpl-fx1",
                "otel.span_kind": "client",
                "server.address": "api.openai.com",
                "server.port": 443
            },
            "model": "gpt-4o-2024-08-06",
            "name": "chat gpt-4o",
            "output": [
                {"finish_reason": "tool_calls", "parts": [{"arguments": {"city": "Lisbon"}, "id": "call_fx1", "name": "get_weather", "type": "tool_call"}, {"arguments": {"to": "LIS"}, "id": "call_fx2", "name": "search_flights", "type": "tool_call"}], "role": "assistant"}
            ],
            "parent_span_id": "5b00000100000001",
            "provider": "openai",
            "span_id": "5b00000100000002",
            "span_type": "model_call",
            "start_time": "2026-01-15T10:00:00.100Z",
            "status": "success",
            "tokens_used": {"cache_read": 128, "completion": 38, "prompt": 412, "total": 450}
        }),
        json!({
            "end_time": "2026-01-15T10:00:01.400Z",
            "input": {"city": "Lisbon"},
            "metadata": {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.call.id": "call_fx1",
                "gen_ai.tool.description": "Current weather for a city",
                "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.type": "function",
                "otel.span_kind": "internal"
            },
            "name": "execute_tool get_weather",
            "output": {"sky": "sunny", "temp_c": 21},
            "parent_span_id": "5b00000100000001",
            "span_id": "5b00000100000003",
            "span_type": "tool_call",
            "start_time": "2026-01-15T10:00:01.250Z",
            "status": "success"
        }),
        json!({
            "end_time": "2026-01-15T10:00:02.100Z",
            "input": {"max_price": 300, "to": "LIS"},
            "metadata": {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.call.id": "call_fx2",
                "gen_ai.tool.name": "search_flights",
                "jsonrpc.request.id": "7",
                "mcp.method.name": "tools/call",
                "mcp.protocol.version": "2025-06-18",
                "mcp.session.id": "191c4850af6c49e08843a3f6c80e5046",
                "network.transport": "pipe",
                "otel.span_kind": "client"
            },
            "name": "tools/call search_flights",
            "output": {"flights": [{"id": "TP1351", "price": 189.5}]},
            "parent_span_id": "5b00000100000001",
            "span_id": "5b00000100000004",
            "span_type": "mcp_call",
            "start_time": "2026-01-15T10:00:01.400Z",
            "status": "success"
        }),
        json!({
            "end_time": "2026-01-15T10:00:03.900Z",
            "input": [
                {"parts": [{"content": "Weekend in Lisbon under 500 EUR?", "type": "text"}], "role": "user"},
                {"parts": [{"id": "call_fx1", "result": "sunny, 21C", "type": "tool_call_response"}], "role": "tool"}
            ],
            "metadata": {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.response.id": "chatcmpl-fx2",
                "otel.span_kind": "client"
            },
            "model": "gpt-4o-2024-08-06",
            "name": "chat gpt-4o",
            "output": [
                {"finish_reason": "stop", "parts": [{"content": "Fly Friday, stay in Alfama.", "type": "text"}], "role": "assistant"}
            ],
            "parent_span_id": "5b00000100000001",
            "provider": "openai",
            "span_id": "5b00000100000005",
            "span_type": "model_call",
            "start_time": "2026-01-15T10:00:02.150Z",
            "status": "success",
            "tokens_used": {"completion": 211, "prompt": 980, "reasoning": 64, "total": 1191}
        }),
        json!({
            "end_time": "2026-01-15T10:00:04Z",
            "input": [
                {"parts": [{"content": "Weekend in Lisbon under 500 EUR?", "type": "text"}], "role": "user"}
            ],
            "metadata": {
                "gen_ai.agent.id": "agent_trip_01",
                "gen_ai.agent.name": "trip-planner",
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "otel.span_kind": "internal"
            },
            "name": "invoke_agent trip-planner",
            "output": [
                {"finish_reason": "stop", "parts": [{"content": "Fly Friday, stay in Alfama.", "type": "text"}], "role": "assistant"}
            ],
            "span_id": "5b00000100000001",
            "span_type": "agent",
            "start_time": "2026-01-15T10:00:00Z",
            "status": "success"
        }),
        json!({
            "end_time": "2026-01-15T10:00:05.500Z",
            "error": "429 rate_limit_error: too many requests",
            "events": [
                {"attributes": {"exception.escaped": "False", "exception.message": "429 rate_limit_error: too many requests", "exception.stacktrace": "RateLimitError: 429 rate_limit_error: too many requests\n", "exception.type": "__main__.RateLimitError"}, "name": "exception", "time": "2026-01-15T10:00:05.499Z"}
            ],
            "metadata": {
                "error.type": "rate_limit_error",
                "gen_ai.operation.name": "chat",
                "otel.span_kind": "client",
                "server.address": "api.anthropic.com"
            },
            "model": "claude-sonnet-4-5",
            "name": "chat claude-sonnet-4-5",
            "parent_span_id": "5b00000100000006",
            "provider": "anthropic",
            "span_id": "5b00000100000007",
            "span_type": "model_call",
            "start_time": "2026-01-15T10:00:05.010Z",
            "status": "error"
        }),
        json!({
            "end_time": "2026-01-15T10:00:05.600Z",
            "error": "model call failed",
            "events": [
                {"attributes": {"exception.escaped": "False", "exception.message": "429 rate_limit_error: too many requests", "exception.stacktrace": "RateLimitError: 429 rate_limit_error: too many requests\n", "exception.type": "__main__.RateLimitError"}, "name": "exception", "time": "2026-01-15T10:00:05.599Z"}
            ],
            "metadata": {
                "error.type": "RateLimitError",
                "gen_ai.agent.name": "trip-planner",
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.provider.name": "anthropic",
                "otel.span_kind": "internal"
            },
            "name": "invoke_agent trip-planner",
            "span_id": "5b00000100000006",
            "span_type": "agent",
            "start_time": "2026-01-15T10:00:05Z",
            "status": "error"
        }),
    ];
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| expected(if index < 5 { GENAI_TRACE } else { GENAI_FAILED_TRACE }, row))
        .collect()
}

#[test]
fn genai_protobuf_maps_every_column() {
    let outcome = decode(&fixture("genai.http-protobuf.bin"), Encoding::Protobuf);
    assert_rows(&outcome, genai_rows());
    envelope(&outcome, fixture_resource(), json!({"name": "fixture.emitter", "version": "1.0.0"}));
    assert_eq!(
        traces(&outcome),
        [
            trace(GENAI_TRACE, "conv_fixture_001", "user-42", "fixture-agent", &[]),
            trace(GENAI_FAILED_TRACE, "conv_fixture_001", "user-42", "fixture-agent", &[]),
        ]
    );
}

#[test]
fn genai_gzip_and_json_captures_map_like_protobuf() {
    let protobuf = decode(&fixture("genai.http-protobuf.bin"), Encoding::Protobuf);
    let gzip = decode(&gunzip(&fixture("genai.http-protobuf.gzip.bin")), Encoding::Protobuf);
    let json = decode(&fixture("genai.http-json.json"), Encoding::Json);
    for other in [&gzip, &json] {
        assert_eq!(other.ingest.batch.spans, protobuf.ingest.batch.spans);
        assert_eq!(other.ingest.batch.traces, protobuf.ingest.batch.traces);
    }
}

const OPENINFERENCE_TRACE: &str = "f1a70002000000000000000000000001";

#[test]
fn openinference_protobuf_maps_every_column() {
    let outcome = decode(&fixture("openinference.http-protobuf.bin"), Encoding::Protobuf);
    let rows = vec![
        json!({
            "end_time": "2026-01-15T10:00:01.400Z",
            "input": {"messages": [{"content": "Plan a weekend in Lisbon", "role": "user"}]},
            "metadata": {
                "llm.input_messages": [
                    {"content": "Route the request.", "role": "system"},
                    {"content": "Plan a weekend in Lisbon", "role": "user"}
                ],
                "llm.invocation_parameters": {"max_tokens": 512, "temperature": 0},
                "llm.output_messages": [
                    {"role": "assistant", "tool_calls": [{"function": {"arguments": {"city": "Lisbon"}, "name": "get_weather"}, "id": "call_oi1"}]}
                ],
                "openinference.span.kind": "LLM",
                "otel.span_kind": "internal"
            },
            "model": "gpt-4o-mini",
            "name": "ChatOpenAI",
            "output": {"tool_calls": [{"name": "get_weather"}]},
            "parent_span_id": "5b00000200000002",
            "provider": "openai",
            "span_id": "5b00000200000003",
            "span_type": "model_call",
            "start_time": "2026-01-15T10:00:00.100Z",
            "status": "success",
            "tokens_used": {"cache_read": 0, "completion": 45, "prompt": 321, "total": 366}
        }),
        json!({
            "end_time": "2026-01-15T10:00:01.500Z",
            "input": {"query": "Plan a weekend in Lisbon"},
            "metadata": {
                "graph.node.id": "router",
                "graph.node.name": "router",
                "openinference.span.kind": "CHAIN",
                "otel.span_kind": "internal"
            },
            "name": "router",
            "output": {"route": "planner"},
            "parent_span_id": "5b00000200000001",
            "span_id": "5b00000200000002",
            "span_type": "node",
            "start_time": "2026-01-15T10:00:00.050Z",
            "status": "success"
        }),
        json!({
            "end_time": "2026-01-15T10:00:01.700Z",
            "input": {"city": "Lisbon"},
            "metadata": {
                "openinference.span.kind": "TOOL",
                "otel.span_kind": "internal",
                "tool.description": "Current weather for a city",
                "tool.name": "get_weather",
                "tool.parameters": {"properties": {"city": {"type": "string"}}, "type": "object"}
            },
            "name": "get_weather",
            "output": "sunny, 21C",
            "parent_span_id": "5b00000200000001",
            "span_id": "5b00000200000004",
            "span_type": "tool_call",
            "start_time": "2026-01-15T10:00:01.500Z",
            "status": "success"
        }),
        json!({
            "end_time": "2026-01-15T10:00:02Z",
            "input": "hotels in Alfama",
            "metadata": {
                "openinference.span.kind": "RETRIEVER",
                "otel.span_kind": "internal"
            },
            "name": "vector_search",
            "output": [
                {"content": "Hotel Alfama Patio, 95 EUR/night", "id": "doc-1", "metadata": {"source": "hotels.csv"}, "score": 0.91},
                {"content": "Memmo Alfama, 180 EUR/night", "id": "doc-2", "score": 0.84}
            ],
            "parent_span_id": "5b00000200000001",
            "span_id": "5b00000200000005",
            "span_type": "retriever",
            "start_time": "2026-01-15T10:00:01.700Z",
            "status": "success"
        }),
        json!({
            "end_time": "2026-01-15T10:00:02.300Z",
            "error": "HotelApiError: sold out",
            "events": [
                {"attributes": {"exception.escaped": "False", "exception.message": "sold out", "exception.stacktrace": "HotelApiError: sold out\n", "exception.type": "__main__.HotelApiError"}, "name": "exception", "time": "2026-01-15T10:00:02.299Z"}
            ],
            "input": {"hotel": "doc-1", "nights": 2},
            "metadata": {
                "openinference.span.kind": "TOOL",
                "otel.span_kind": "internal",
                "tool.name": "book_hotel"
            },
            "name": "book_hotel",
            "parent_span_id": "5b00000200000001",
            "span_id": "5b00000200000006",
            "span_type": "tool_call",
            "start_time": "2026-01-15T10:00:02Z",
            "status": "error"
        }),
        json!({
            "end_time": "2026-01-15T10:00:05.900Z",
            "input": [{"content": "Summarise the plan", "role": "user"}],
            "metadata": {
                "openinference.span.kind": "LLM",
                "otel.span_kind": "internal"
            },
            "model": "gpt-4o-mini",
            "name": "ChatOpenAI",
            "output": [{"content": "Fly Friday, stay in Alfama.", "role": "assistant"}],
            "parent_span_id": "5b00000200000001",
            "provider": "openai",
            "span_id": "5b00000200000007",
            "span_type": "model_call",
            "start_time": "2026-01-15T10:00:02.400Z",
            "status": "success",
            "tokens_used": {"completion": 128, "prompt": 512, "total": 640}
        }),
        json!({
            "end_time": "2026-01-15T10:00:06Z",
            "input": "Plan a weekend in Lisbon",
            "metadata": {
                "agent.name": "TravelAgent",
                "metadata": {"experiment": "b", "tier": "pro"},
                "openinference.span.kind": "AGENT",
                "otel.span_kind": "internal",
                "tag.tags": ["travel", "fixture"]
            },
            "name": "TravelAgent",
            "output": "Fly Friday, stay in Alfama.",
            "span_id": "5b00000200000001",
            "span_type": "agent",
            "start_time": "2026-01-15T10:00:00Z",
            "status": "success"
        }),
    ];
    assert_rows(&outcome, rows.into_iter().map(|row| expected(OPENINFERENCE_TRACE, row)).collect());
    let mut resource = fixture_resource();
    resource["openinference.project.name"] = json!("fixture-project");
    envelope(&outcome, resource, json!({"name": "fixture.emitter", "version": "1.0.0"}));
    assert_eq!(
        traces(&outcome),
        [trace(OPENINFERENCE_TRACE, "sess_fixture_oi_01", "user-7", "fixture-project", &["travel", "fixture"])]
    );
}

#[test]
fn openinference_json_capture_maps_like_protobuf() {
    let protobuf = decode(&fixture("openinference.http-protobuf.bin"), Encoding::Protobuf);
    let json = decode(&fixture("openinference.http-json.json"), Encoding::Json);
    assert_eq!(json.ingest.batch.spans, protobuf.ingest.batch.spans);
    assert_eq!(json.ingest.batch.traces, protobuf.ingest.batch.traces);
}

const LEGACY_TRACE: &str = "f1a70003000000000000000000000001";

#[test]
fn legacy_names_map_every_column() {
    let outcome = decode(&fixture("legacy.http-protobuf.bin"), Encoding::Protobuf);
    let rows = vec![
        json!({
            "end_time": "2026-01-15T10:00:01.500Z",
            "input": [{"content": "Suggest a Lisbon itinerary", "role": "user"}],
            "metadata": {
                "gen_ai.system": "Anthropic",
                "llm.request.type": "chat",
                "otel.span_kind": "client"
            },
            "model": "claude-3-5-sonnet-20241022",
            "name": "anthropic.chat",
            "output": [
                {"content": "Day 1: Alfama. Day 2: Belem.", "finish_reason": "end_turn", "role": "assistant"}
            ],
            "parent_span_id": "5b00000300000001",
            "provider": "anthropic",
            "span_id": "5b00000300000002",
            "span_type": "model_call",
            "start_time": "2026-01-15T10:00:00.100Z",
            "status": "success",
            "tokens_used": {"completion": 120, "prompt": 55, "total": 175}
        }),
        json!({
            "end_time": "2026-01-15T10:00:02.900Z",
            "events": [
                {"attributes": {"gen_ai.prompt": "[{\"role\": \"user\", \"content\": \"Cheapest day to fly?\"}]"}, "name": "gen_ai.content.prompt", "time": "2026-01-15T10:00:01.601Z"},
                {"attributes": {"gen_ai.completion": "[{\"role\": \"assistant\", \"content\": \"Tuesday.\"}]"}, "name": "gen_ai.content.completion", "time": "2026-01-15T10:00:02.899Z"},
                {"attributes": {"content": "Cheapest day to fly?", "gen_ai.system": "openai"}, "name": "gen_ai.user.message", "time": "2026-01-15T10:00:01.602Z"},
                {"attributes": {"finish_reason": "stop", "gen_ai.system": "openai", "index": 0, "message": "{\"role\": \"assistant\", \"content\": \"Tuesday.\"}"}, "name": "gen_ai.choice", "time": "2026-01-15T10:00:02.898Z"}
            ],
            "input": [{"content": "Cheapest day to fly?", "role": "user"}],
            "metadata": {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "otel.span_kind": "client"
            },
            "model": "gpt-4o-mini-2024-07-18",
            "name": "chat gpt-4o-mini",
            "output": [{"content": "Tuesday.", "role": "assistant"}],
            "parent_span_id": "5b00000300000001",
            "provider": "openai",
            "span_id": "5b00000300000003",
            "span_type": "model_call",
            "start_time": "2026-01-15T10:00:01.600Z",
            "status": "success",
            "tokens_used": {"completion": 12, "prompt": 40, "total": 52}
        }),
        json!({
            "end_time": "2026-01-15T10:00:03Z",
            "metadata": {
                "otel.span_kind": "internal",
                "traceloop.entity.name": "trip_workflow",
                "traceloop.span.kind": "workflow"
            },
            "name": "trip_workflow.workflow",
            "span_id": "5b00000300000001",
            "span_type": "chain",
            "start_time": "2026-01-15T10:00:00Z",
            "status": "success"
        }),
    ];
    assert_rows(&outcome, rows.into_iter().map(|row| expected(LEGACY_TRACE, row)).collect());
    envelope(&outcome, fixture_resource(), json!({"name": "fixture.emitter", "version": "1.0.0"}));
    assert_eq!(traces(&outcome), [trace(LEGACY_TRACE, "sess_legacy_01", "user-legacy", "fixture-agent", &[])]);
}

#[test]
fn legacy_gzip_json_capture_maps_like_protobuf() {
    let protobuf = decode(&fixture("legacy.http-protobuf.bin"), Encoding::Protobuf);
    let json = decode(&gunzip(&fixture("legacy.http-json.gzip.bin")), Encoding::Json);
    assert_eq!(json.ingest.batch.spans, protobuf.ingest.batch.spans);
    assert_eq!(json.ingest.batch.traces, protobuf.ingest.batch.traces);
}

const HANDMADE_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// Upper-case hex ids, `parentSpanId: ""`, 64-bit values as JSON numbers,
/// bytes, kvlist and array values, a link, trace state, an unknown field,
/// `\u` escapes outside the BMP, and a failed tool call.
#[test]
fn handmade_json_maps_every_column() {
    let outcome = decode(&fixture("handmade.otlp.json"), Encoding::Json);
    let rows = vec![
        json!({
            "end_time": "2026-01-15T11:00:03.500Z",
            "metadata": {
                "app.blob": "3q2+7w==",
                "app.debug": true,
                "app.tags": ["vip", "eu"],
                "gen_ai.agent.name": "support-bot",
                "gen_ai.operation.name": "invoke_agent",
                "otel.links": [
                    {"attributes": {"link.reason": "follow-up of previous turn"}, "span_id": "eee19b7ec3c1b174", "trace_id": "5b8efff798038103d269b633813fc60c"}
                ],
                "otel.span_kind": "internal",
                "otel.trace_state": "vendor=abc"
            },
            "name": "invoke_agent support-bot",
            "span_id": "b7ad6b7169203331",
            "span_type": "agent",
            "start_time": "2026-01-15T11:00:00Z",
            "status": "success"
        }),
        json!({
            "end_time": "2026-01-15T11:00:02Z",
            "input": [
                {"parts": [{"content": "Mon colis est en retard 📦 — 请帮我", "type": "text"}], "role": "user"}
            ],
            "metadata": {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "mistral-large-latest",
                "gen_ai.request.temperature": 0.7,
                "gen_ai.request.top_p": 1.0,
                "gen_ai.response.finish_reasons": ["stop"],
                "otel.span_kind": "client"
            },
            "model": "mistral-large-2411",
            "name": "chat mistral-large-latest",
            "parent_span_id": "b7ad6b7169203331",
            "provider": "mistral_ai",
            "span_id": "00f067aa0ba902b7",
            "span_type": "model_call",
            "start_time": "2026-01-15T11:00:00.100Z",
            "status": "success",
            "tokens_used": {"completion": 230, "prompt": 1500, "total": 1730}
        }),
        json!({
            "end_time": "2026-01-15T11:00:03.400Z",
            "error": "orders API timed out",
            "events": [
                {"attributes": {"exception.message": "orders API timed out after 1.3s", "exception.type": "TimeoutError"}, "name": "exception", "time": "2026-01-15T11:00:03.390Z"}
            ],
            "input": {"include_history": false, "order_id": "A-1001"},
            "metadata": {
                "error.type": "TimeoutError",
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.call.id": "call_hm1",
                "gen_ai.tool.name": "lookup_order",
                "otel.span_kind": "internal"
            },
            "name": "execute_tool lookup_order",
            "parent_span_id": "b7ad6b7169203331",
            "span_id": "a1b2c3d4e5f60718",
            "span_type": "tool_call",
            "start_time": "2026-01-15T11:00:02.100Z",
            "status": "error"
        }),
    ];
    assert_rows(&outcome, rows.into_iter().map(|row| expected(HANDMADE_TRACE, row)).collect());
    envelope(
        &outcome,
        json!({"service.name": "handmade-agent", "service.version": "2.0.0"}),
        json!({"name": "handmade.instrumentation", "version": "0.0.1", "attributes": {"scope.kind": "manual"}}),
    );
    assert_eq!(traces(&outcome), [trace(HANDMADE_TRACE, "conv_handmade_1", "u-123", "handmade-agent", &[])]);
}
