//! Five traces in three sessions and three projects, with fixed times, for
//! the read API and CLI tests. Every filter matches some of them and not
//! the others, so the rest act as counterexamples:
//!
//! | trace     | session | user  | project | name          | start (2026-03-01) | ms     | status  | notes                                   |
//! |-----------|---------|-------|---------|---------------|--------------------|--------|---------|-----------------------------------------|
//! | trip-1    | s-paris | alice | travel  | plan-trip     | 10:00:00           | 4000   | success | gpt-4o; tag prod; tier gold, release 1.2 |
//! | trip-2    | s-paris | alice | travel  | plan-trip     | 10:05:00           | 2000   | success | claude-sonnet-4; a tool span failed      |
//! | support-1 | s-help  | bob   | support | answer-ticket | 11:00:00           | 10000  | error   | gpt-4o; tag beta; tier gold              |
//! | live-1    | s-help  | bob   | support | answer-ticket | 11:30:00           | -      | running |                                         |
//! | nightly-1 | s-batch | -     | default | nightly-eval  | 12:00:00           | 250    | success | acme-7b without a price; "Refund"        |

use serde_json::{json, Value};

pub const ALL_NEWEST_FIRST: [&str; 5] = ["nightly-1", "live-1", "support-1", "trip-2", "trip-1"];

fn at(time: &str) -> String {
    format!("2026-03-01T{time}Z")
}

/// (trace, span, parent, type, name, start, end, status, error)
type SpanRow = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
);

#[rustfmt::skip]
const SPANS: &[SpanRow] = &[
    ("trip-1", "t1-root", None, "agent", "plan-trip", "10:00:00", Some("10:00:04"), "success", None),
    ("trip-1", "t1-llm", Some("t1-root"), "model_call", "chat gpt-4o", "10:00:00.500", Some("10:00:02"), "success", None),
    ("trip-1", "t1-tool", Some("t1-root"), "tool_call", "search_web", "10:00:02", Some("10:00:03.500"), "success", None),
    ("trip-2", "t2-root", None, "agent", "plan-trip", "10:05:00", Some("10:05:02"), "success", None),
    ("trip-2", "t2-llm", Some("t2-root"), "model_call", "chat claude", "10:05:00.100", Some("10:05:01"), "success", None),
    ("trip-2", "t2-tool", Some("t2-root"), "tool_call", "search_web", "10:05:01", Some("10:05:01.900"), "error", Some("timeout")),
    ("support-1", "s1-root", None, "agent", "answer-ticket", "11:00:00", Some("11:00:10"), "error", Some("upstream 500")),
    ("support-1", "s1-llm", Some("s1-root"), "model_call", "chat gpt-4o", "11:00:01", Some("11:00:05"), "success", None),
    ("support-1", "s1-mcp", Some("s1-root"), "mcp_call", "tools/call lookup_order", "11:00:05", Some("11:00:09"), "success", None),
    ("live-1", "l1-root", None, "agent", "answer-ticket", "11:30:00", None, "running", None),
    ("nightly-1", "n1-root", None, "chain", "nightly-eval", "12:00:00", Some("12:00:00.250"), "success", None),
    ("nightly-1", "n1-llm", Some("n1-root"), "model_call", "chat acme", "12:00:00.010", Some("12:00:00.200"), "success", None),
];

/// (span, model, provider, prompt tokens, completion tokens, cost). The
/// last has no cost and a model no price table knows: its cost stays unknown.
type ModelCallRow = (&'static str, &'static str, &'static str, i64, i64, Option<f64>);

const MODEL_CALLS: &[ModelCallRow] = &[
    ("t1-llm", "gpt-4o", "openai", 120, 30, Some(0.0012)),
    ("t2-llm", "claude-sonnet-4", "anthropic", 200, 50, Some(0.002)),
    ("s1-llm", "gpt-4o", "openai", 500, 100, Some(0.005)),
    ("n1-llm", "acme-7b", "acme", 10, 5, None),
];

/// The native ingest body that stores the fixture.
pub fn ingest_body() -> Value {
    let traces = json!([
        {"trace_id": "trip-1", "session_id": "s-paris", "user_id": "alice", "project": "travel", "name": "plan-trip",
         "tags": ["prod"], "metadata": {"tier": "gold", "release": 1.2},
         "input": {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]},
         "output": {"answer": "Sunny, 22°C"}},
        {"trace_id": "trip-2", "session_id": "s-paris", "user_id": "alice", "project": "travel", "name": "plan-trip",
         "tags": ["prod"], "metadata": {"tier": "silver"},
         "input": "And tomorrow?", "output": {"answer": "Rain expected"}},
        {"trace_id": "support-1", "session_id": "s-help", "user_id": "bob", "project": "support", "name": "answer-ticket",
         "tags": ["beta"], "metadata": {"tier": "gold"},
         "input": {"question": "Where is my order?"}},
        {"trace_id": "live-1", "session_id": "s-help", "user_id": "bob", "project": "support", "name": "answer-ticket",
         "input": {"question": "Still there?"}},
        {"trace_id": "nightly-1", "session_id": "s-batch", "name": "nightly-eval",
         "input": {"prompt": "Summarise the policy"}, "output": {"text": "Refund within 30 days."}}
    ]);
    let spans: Vec<Value> = SPANS
        .iter()
        .map(|&(trace, id, parent, kind, name, start, end, status, error)| {
            let mut span = json!({"trace_id": trace, "span_id": id, "parent_span_id": parent, "span_type": kind,
                                  "name": name, "start_time": at(start), "end_time": end.map(at), "status": status,
                                  "error": error});
            if let Some(&(_, model, provider, prompt, completion, cost)) = MODEL_CALLS.iter().find(|call| call.0 == id)
            {
                span["model"] = json!(model);
                span["provider"] = json!(provider);
                span["tokens_used"] = json!({"prompt": prompt, "completion": completion});
                span["cost_usd"] = json!(cost);
            }
            span
        })
        .collect();
    json!({"traces": traces, "spans": spans})
}
