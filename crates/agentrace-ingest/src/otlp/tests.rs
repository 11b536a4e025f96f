//! The decoding quirks of issue 4 that must not lose data, each with the
//! smallest request that shows it.

use prost::Message;
use serde_json::{json, Value};

use super::wire::{
    AnyValue, ExportLogsServiceRequest, ExportTraceServiceRequest, KeyValue, LogRecord, ResourceLogs, ResourceSpans,
    ScopeLogs, ScopeSpans, Span, Value as WireValue,
};
use super::{decode_logs, decode_traces, Encoding, PartialSuccess};

const TRACE: [u8; 16] = [0xf1, 0xa7, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const TRACE_HEX: &str = "f1a70009000000000000000000000001";

fn span_id(n: u8) -> Vec<u8> {
    vec![0x5b, 0, 0, 9, 0, 0, 0, n]
}

fn span(n: u8) -> Span {
    Span {
        trace_id: TRACE.to_vec(),
        span_id: span_id(n),
        name: format!("span {n}").into_bytes(),
        start_time_unix_nano: 1_768_471_200_000_000_000,
        end_time_unix_nano: 1_768_471_201_000_000_000,
        ..Span::default()
    }
}

fn string_attribute(key: &str, value: &[u8]) -> KeyValue {
    KeyValue { key: key.as_bytes().to_vec(), value: Some(AnyValue { value: Some(WireValue::String(value.to_vec())) }) }
}

fn protobuf(spans: Vec<Span>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..ScopeSpans::default() }],
            ..ResourceSpans::default()
        }],
    }
    .encode_to_vec()
}

fn json_request(spans: Value) -> Vec<u8> {
    json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).to_string().into_bytes()
}

#[test]
fn json_doubles_may_be_nan_or_infinite_strings() {
    let body = json_request(json!([{
        "traceId": TRACE_HEX, "spanId": "5b00000900000001", "name": "doubles",
        "attributes": [
            {"key": "nan", "value": {"doubleValue": "NaN"}},
            {"key": "up", "value": {"doubleValue": "Infinity"}},
            {"key": "down", "value": {"doubleValue": "-Infinity"}},
            {"key": "text", "value": {"doubleValue": "0.25"}},
            {"key": "plain", "value": {"doubleValue": 1.5}}
        ]
    }]));
    let outcome = decode_traces(&body, Encoding::Json).unwrap();
    let metadata = &outcome.ingest.batch.spans[0].metadata;
    assert_eq!(
        [&metadata["nan"], &metadata["up"], &metadata["down"], &metadata["text"], &metadata["plain"]],
        [&json!("NaN"), &json!("Infinity"), &json!("-Infinity"), &json!(0.25), &json!(1.5)]
    );
    // The same values from protobuf, where they are real doubles.
    let mut nan_span = span(1);
    nan_span.attributes =
        vec![KeyValue { key: b"nan".to_vec(), value: Some(AnyValue { value: Some(WireValue::Double(f64::NAN)) }) }];
    let outcome = decode_traces(&protobuf(vec![nan_span]), Encoding::Protobuf).unwrap();
    assert_eq!(outcome.ingest.batch.spans[0].metadata["nan"], "NaN");
}

#[test]
fn json_nulls_mean_absent() {
    let body = json_request(json!([{
        "traceId": TRACE_HEX, "spanId": "5b00000900000001", "parentSpanId": null, "name": "nulls",
        "traceState": null, "kind": null, "startTimeUnixNano": "1768471200000000000", "endTimeUnixNano": null,
        "attributes": [{"key": "a", "value": null}, {"key": "b", "value": {"stringValue": null, "intValue": "7"}}],
        "events": null, "links": null, "status": null
    }]));
    let outcome = decode_traces(&body, Encoding::Json).unwrap();
    assert!(outcome.ingest.rejected.is_empty());
    let span = &outcome.ingest.batch.spans[0];
    assert_eq!(span.parent_span_id, None);
    assert_eq!(span.end_time, None);
    assert_eq!(span.status, None, "a span without an end is still running");
    assert_eq!(span.metadata["a"], Value::Null);
    assert_eq!(span.metadata["b"], 7);
}

#[test]
fn json_ids_in_upper_case_are_stored_lower_case() {
    let body = json_request(json!([
        {"traceId": TRACE_HEX.to_uppercase(), "spanId": "5B00000900000002", "parentSpanId": "5B00000900000001"}
    ]));
    let outcome = decode_traces(&body, Encoding::Json).unwrap();
    let span = &outcome.ingest.batch.spans[0];
    assert_eq!(span.trace_id.as_str(), TRACE_HEX);
    assert_eq!(span.span_id.as_str(), "5b00000900000002");
    assert_eq!(span.parent_span_id.as_ref().unwrap().as_str(), "5b00000900000001");
}

#[test]
fn json_64_bit_integers_may_be_strings_or_numbers() {
    let body = json_request(json!([{
        "traceId": TRACE_HEX, "spanId": "5b00000900000001", "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": 1_768_471_200_000_000_000_u64, "endTimeUnixNano": "1768471201500000000",
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": 1500}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "230"}},
            {"key": "big", "value": {"intValue": "9223372036854775807"}}
        ],
        "status": {"code": "STATUS_CODE_OK"}
    }]));
    let outcome = decode_traces(&body, Encoding::Json).unwrap();
    let span = &outcome.ingest.batch.spans[0];
    assert_eq!(span.start_time.unwrap().to_rfc3339(), "2026-01-15T10:00:00+00:00");
    assert_eq!(span.end_time.unwrap().to_rfc3339(), "2026-01-15T10:00:01.500+00:00");
    let tokens = span.tokens.unwrap();
    assert_eq!((tokens.prompt, tokens.completion, tokens.total), (Some(1500), Some(230), Some(1730)));
    assert_eq!(span.metadata["big"], json!(i64::MAX));
    assert_eq!(span.metadata["otel.span_kind"], "client");
}

#[test]
fn a_non_empty_body_without_spans_answers_with_a_warning() {
    for (body, encoding) in [
        (br#"{"resourceLogs": [{"scopeLogs": []}]}"#.to_vec(), Encoding::Json),
        (b"{}".to_vec(), Encoding::Json),
        (protobuf(Vec::new()), Encoding::Protobuf),
    ] {
        let outcome = decode_traces(&body, encoding).unwrap();
        let partial = outcome.partial_success().expect("a warning");
        assert_eq!(partial.rejected, 0);
        assert!(partial.message.contains("decoded to no spans"), "{}", partial.message);
    }
    assert_eq!(decode_traces(b"", Encoding::Protobuf).unwrap().partial_success(), None);
}

#[test]
fn invalid_spans_are_rejected_one_by_one_and_counted() {
    let mut missing_trace = span(1);
    missing_trace.trace_id.clear();
    let mut short_trace = span(2);
    short_trace.trace_id.truncate(15);
    let mut zero_span = span(3);
    zero_span.span_id = vec![0; 8];
    let mut long_parent = span(4);
    long_parent.parent_span_id = vec![1; 9];
    let mut zero_parent = span(5);
    zero_parent.parent_span_id = vec![0; 8];
    let body = protobuf(vec![missing_trace, short_trace, span(6), zero_span, long_parent, zero_parent]);
    let outcome = decode_traces(&body, Encoding::Protobuf).unwrap();
    let stored: Vec<&str> = outcome.ingest.batch.spans.iter().map(|span| span.span_id.as_str()).collect();
    assert_eq!(stored, ["5b00000900000006", "5b00000900000005"], "an all-zero parent means a root");
    assert_eq!(outcome.ingest.batch.spans[1].parent_span_id, None);
    let rejected: Vec<(usize, &str, &str)> = outcome
        .ingest
        .rejected
        .iter()
        .map(|rejection| (rejection.index, rejection.field.as_str(), rejection.message.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (0, "resourceSpans[0].scopeSpans[0].spans[0].traceId", "is missing"),
            (1, "resourceSpans[0].scopeSpans[0].spans[1].traceId", "is 15 bytes long; must be 16"),
            (3, "resourceSpans[0].scopeSpans[0].spans[3].spanId", "is all zeros, which OTLP defines as an invalid id"),
            (4, "resourceSpans[0].scopeSpans[0].spans[4].parentSpanId", "is 9 bytes long; must be 8"),
        ]
    );
    assert_eq!(
        outcome.partial_success(),
        Some(PartialSuccess {
            rejected: 4,
            message: "4 of 6 spans rejected: resourceSpans[0].scopeSpans[0].spans[0].traceId is missing; \
                      resourceSpans[0].scopeSpans[0].spans[1].traceId is 15 bytes long; must be 16; \
                      resourceSpans[0].scopeSpans[0].spans[3].spanId is all zeros, which OTLP defines as an \
                      invalid id; and 1 more"
                .into(),
        })
    );
}

#[test]
fn json_spans_with_unreadable_ids_are_rejected_alone() {
    let body = json_request(json!([
        {"traceId": "not hex at all", "spanId": "5b00000900000001"},
        {"traceId": TRACE_HEX, "spanId": "5b00000900000002"}
    ]));
    let outcome = decode_traces(&body, Encoding::Json).unwrap();
    assert_eq!(outcome.ingest.accepted_spans, 1);
    assert_eq!(outcome.ingest.rejected[0].field, "resourceSpans[0].scopeSpans[0].spans[0].traceId");
    assert_eq!(outcome.ingest.rejected[0].id.as_deref(), Some("5b00000900000001"));
}

#[test]
fn nul_and_invalid_utf8_are_stored_escaped_with_the_rest_of_the_batch() {
    let mut odd = span(1);
    odd.name = b"tool\xFFcall".to_vec();
    odd.attributes = vec![
        string_attribute("gen_ai.operation.name", b"execute_tool"),
        string_attribute("note", b"before\0after"),
        string_attribute("gen_ai.tool.call.arguments", b"{\"q\": \"a\\u0000b\", \"raw\": \"x\0y\"}"),
    ];
    let outcome = decode_traces(&protobuf(vec![odd, span(2)]), Encoding::Protobuf).unwrap();
    assert!(outcome.ingest.rejected.is_empty());
    assert_eq!(outcome.ingest.batch.spans.len(), 2);
    let stored = &outcome.ingest.batch.spans[0];
    assert_eq!(stored.name.as_deref(), Some("tool\u{2400}xFFcall"));
    assert_eq!(stored.metadata["note"], "before\u{2400}0after");
    assert_eq!(stored.input, Some(json!({"q": "a\u{2400}0b", "raw": "x\u{2400}0y"})));

    let body = json_request(json!([{
        "traceId": TRACE_HEX, "spanId": "5b00000900000001",
        "attributes": [{"key": "note", "value": {"stringValue": "before\u{0}after"}}]
    }]));
    let outcome = decode_traces(&body, Encoding::Json).unwrap();
    assert_eq!(outcome.ingest.batch.spans[0].metadata["note"], "before\u{2400}0after");
}

#[test]
fn undecodable_bodies_are_errors_naming_the_problem() {
    let error = decode_traces(b"{\"resourceSpans\": [", Encoding::Json).unwrap_err();
    assert!(error.to_string().starts_with("malformed JSON at line 1, column 19"), "{error}");
    let error = decode_traces(&json_request(json!([{"startTimeUnixNano": "soon"}])), Encoding::Json).unwrap_err();
    assert_eq!(
        error.to_string(),
        "`resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano` must be an unsigned integer \
         (a number or a decimal string)"
    );
    assert!(decode_traces(b"\xFF\xFF\xFF", Encoding::Protobuf).is_err());
}

#[test]
fn json_keys_in_snake_case_are_read_too() {
    let body = json!({"resource_spans": [{"scope_spans": [{"spans": [
        {"trace_id": TRACE_HEX, "span_id": "5b00000900000001", "start_time_unix_nano": "1768471200000000000"}
    ]}]}]});
    let outcome = decode_traces(body.to_string().as_bytes(), Encoding::Json).unwrap();
    assert_eq!(outcome.ingest.accepted_spans, 1);
    assert!(outcome.ingest.batch.spans[0].start_time.is_some());
}

fn log_record(span: Option<u8>, event_name: &str, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_768_471_200_500_000_000,
        trace_id: span.map(|_| TRACE.to_vec()).unwrap_or_default(),
        span_id: span.map(span_id).unwrap_or_default(),
        event_name: event_name.as_bytes().to_vec(),
        attributes,
        ..LogRecord::default()
    }
}

#[test]
fn log_records_join_their_span_and_fill_its_input_output_and_error() {
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    log_record(
                        Some(1),
                        "gen_ai.client.inference.operation.details",
                        vec![
                            string_attribute("gen_ai.input.messages", br#"[{"role": "user", "parts": []}]"#),
                            string_attribute("gen_ai.output.messages", br#"[{"role": "assistant", "parts": []}]"#),
                        ],
                    ),
                    log_record(
                        Some(2),
                        "exception",
                        vec![
                            string_attribute("exception.type", b"TimeoutError"),
                            string_attribute("exception.message", b"too slow"),
                        ],
                    ),
                    log_record(None, "app.started", Vec::new()),
                ],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    let outcome = decode_logs(&request.encode_to_vec(), Encoding::Protobuf).unwrap();
    assert_eq!((outcome.records_seen, outcome.unattached, outcome.ingest.accepted_spans), (3, 1, 2));
    let details = &outcome.ingest.batch.spans[0];
    assert_eq!(details.span_id.as_str(), "5b00000900000001");
    assert_eq!(details.input, Some(json!([{"role": "user", "parts": []}])));
    assert_eq!(details.output, Some(json!([{"role": "assistant", "parts": []}])));
    assert_eq!(details.events[0]["name"], "gen_ai.client.inference.operation.details");
    assert_eq!(details.events[0]["time"], "2026-01-15T10:00:00.500Z");
    assert!(!details.has_ended(), "a log record never ends its span");
    let failure = &outcome.ingest.batch.spans[1];
    assert_eq!(failure.error.as_deref(), Some("TimeoutError: too slow"));
    assert_eq!(failure.status, None);
}
