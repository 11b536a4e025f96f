//! Known traces the browser tests seed through the native ingest API.
//!
//! Times are relative to the test's start (the UI's time ranges are
//! relative to now), so every test computes what the UI must show from the
//! same numbers it sent.

use serde_json::{json, Value};

/// The session with three turns, in start order.
pub const SESSION_WITH_TURNS: &str = "sess-a";

/// The trace with the full tree: its spans in tree pre-order with their
/// depth. The orphan (its parent never arrived) is a root, after the real
/// root because it starts later.
pub const TREE_TRACE: &str = "checkout-1";
pub const TREE_SPANS_IN_ORDER: [(&str, u32); 9] = [
    ("root", 0),
    ("plan", 1),
    ("llm-plan", 2),
    ("lookup", 1),
    ("search-orders", 2),
    ("mcp-fetch", 2),
    ("respond", 1),
    ("llm-answer", 2),
    ("late-child", 0),
];

/// (span id, start offset ms, end offset ms) of the tree trace's timed spans.
pub const TREE_SPAN_TIMES: [(&str, i64, i64); 9] = [
    ("root", 0, 2000),
    ("plan", 50, 700),
    ("llm-plan", 100, 650),
    ("lookup", 700, 1500),
    ("search-orders", 720, 1400),
    ("late-child", 1200, 1300),
    ("mcp-fetch", 1400, 1480),
    ("respond", 1500, 1990),
    ("llm-answer", 1510, 1980),
];

/// Trace ids, newest first, and their names.
pub const TRACES_NEWEST_FIRST: [(&str, &str); 5] = [
    ("running-1", "long research"),
    ("failing-1", "refund request"),
    ("followup-2", "thanks"),
    ("followup-1", "follow-up"),
    ("checkout-1", "answer question"),
];

/// Trace ids, slowest first (the running trace has no duration: last).
pub const TRACES_SLOWEST_FIRST: [&str; 5] = ["checkout-1", "followup-1", "failing-1", "followup-2", "running-1"];

/// Milliseconds since the epoch, now, rounded down to the second.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970");
    (now.as_millis() as i64) / 1000 * 1000
}

fn span(trace_id: &str, span_id: &str, parent: Option<&str>, span_type: &str, name: &str, times: (i64, i64)) -> Value {
    let mut span = json!({
        "trace_id": trace_id, "span_id": span_id, "span_type": span_type, "name": name,
        "start_time": times.0, "end_time": times.1, "status": "success",
    });
    if let Some(parent) = parent {
        span["parent_span_id"] = json!(parent);
    }
    span
}

fn with(mut value: Value, extra: Value) -> Value {
    for (key, field) in extra.as_object().expect("an object of fields") {
        value[key] = field.clone();
    }
    value
}

/// The tree trace, starting at `base` (epoch ms): an agent that plans with
/// one model, looks the order up with a tool and an MCP call, and answers
/// with another model; one span's parent never arrived.
pub fn tree_trace(base: i64) -> Value {
    let t = |offset: i64| base + offset;
    let times = |id: &str| {
        let (_, start, end) = TREE_SPAN_TIMES.iter().find(|(span_id, _, _)| *span_id == id).expect("known span");
        (t(*start), t(*end))
    };
    let id = TREE_TRACE;
    json!({
        "traces": [{
            "trace_id": id, "session_id": SESSION_WITH_TURNS, "user_id": "alice", "project": "shop",
            "name": "answer question", "tags": ["checkout"],
            "input": {"messages": [{"role": "user", "content": "Where is my order?"}]},
            "output": {"role": "assistant", "content": "Your order ships tomorrow."},
        }],
        "spans": [
            with(span(id, "root", None, "agent", "support agent", times("root")), json!({
                "input": {"messages": [{"role": "user", "content": "Where is my order?"}]},
                "output": {"role": "assistant", "content": "Your order ships tomorrow."},
            })),
            span(id, "plan", Some("root"), "node", "PlanNode", times("plan")),
            with(span(id, "llm-plan", Some("plan"), "model_call", "chat gpt-4o", times("llm-plan")), json!({
                "model": "gpt-4o", "provider": "openai", "cost_usd": 0.0021,
                "tokens_used": {"prompt": 120, "completion": 30, "cache_read": 40, "reasoning": 12},
                "input": [
                    {"role": "system", "content": "You are a helpful shop assistant."},
                    {"role": "user", "content": "Where is my order?"},
                ],
                "output": {"role": "assistant", "content": "I will look the order up.",
                           "tool_calls": [{"id": "call-1", "type": "function",
                                           "function": {"name": "search_orders", "arguments": "{\"customer\": \"alice\"}"}}]},
                "metadata": {"temperature": 0.2},
            })),
            span(id, "lookup", Some("root"), "node", "ToolNode", times("lookup")),
            with(span(id, "search-orders", Some("lookup"), "tool_call", "search_orders", times("search-orders")), json!({
                "input": {"customer": "alice"},
                "output": {"orders": [{"id": "o-17", "status": "packed"}]},
                "metadata": {"db": "orders"},
                "events": [{"name": "retry", "time": t(900), "attributes": {"attempt": 2}}],
            })),
            with(span(id, "late-child", Some("missing-parent"), "custom", "late child", times("late-child")),
                 json!({"metadata": {"note": "its parent was never sent"}})),
            span(id, "mcp-fetch", Some("lookup"), "mcp_call", "tools/call shipping", times("mcp-fetch")),
            span(id, "respond", Some("root"), "node", "ResponseNode", times("respond")),
            with(span(id, "llm-answer", Some("respond"), "model_call", "chat claude", times("llm-answer")), json!({
                "model": "claude-sonnet-4", "provider": "anthropic", "cost_usd": 0.0054,
                "tokens_used": {"prompt": 300, "completion": 80},
                "input": [{"role": "user", "content": "Order o-17 is packed. Tell the customer."}],
                "output": {"role": "assistant", "content": "Your order ships tomorrow."},
            })),
        ],
    })
}

fn turn(
    trace_id: &str,
    name: &str,
    base: i64,
    duration: i64,
    question: &str,
    answer: &str,
    tokens: (i64, i64),
) -> Value {
    json!({
        "traces": [{
            "trace_id": trace_id, "session_id": SESSION_WITH_TURNS, "user_id": "alice", "project": "shop", "name": name,
            "input": {"messages": [{"role": "user", "content": question}]},
            "output": {"role": "assistant", "content": answer},
        }],
        "spans": [
            span(trace_id, "root", None, "agent", "support agent", (base, base + duration)),
            with(span(trace_id, "llm", Some("root"), "model_call", "chat gpt-4o", (base + 10, base + duration - 10)), json!({
                "model": "gpt-4o", "provider": "openai", "tokens_used": {"prompt": tokens.0, "completion": tokens.1},
                "cost_usd": 0.001,
            })),
        ],
    })
}

/// Every known trace, the first starting at `base` (epoch ms): the tree
/// trace and two later turns of its session, a failed trace and a running one.
pub fn all_traces(base: i64) -> Vec<Value> {
    let minute = 60_000;
    let refund_error = "RefundError: refund limit exceeded\n  at refund (refund.py:42)\n  at handle (agent.py:7)";
    vec![
        tree_trace(base),
        turn("followup-1", "follow-up", base + 2 * minute, 1200, "When exactly?", "Tomorrow before noon.", (200, 40)),
        turn("followup-2", "thanks", base + 4 * minute, 400, "Thanks!", "You're welcome.", (90, 10)),
        json!({
            "traces": [{"trace_id": "failing-1", "session_id": "sess-b", "user_id": "bob", "project": "shop",
                        "name": "refund request",
                        "input": {"messages": [{"role": "user", "content": "Please refund order o-9"}]}}],
            "spans": [
                with(span("failing-1", "root", None, "agent", "support agent", (base + 5 * minute, base + 5 * minute + 900)),
                     json!({"status": "error", "error": refund_error})),
                with(span("failing-1", "llm", Some("root"), "model_call", "chat gpt-4o-mini", (base + 5 * minute + 10, base + 5 * minute + 300)),
                     json!({"model": "gpt-4o-mini", "provider": "openai", "tokens_used": {"prompt": 50, "completion": 20}})),
                with(span("failing-1", "refund-tool", Some("root"), "tool_call", "refund", (base + 5 * minute + 310, base + 5 * minute + 890)),
                     json!({"status": "error", "error": refund_error})),
            ],
        }),
        json!({
            "traces": [{"trace_id": "running-1", "session_id": "sess-c", "user_id": "carol", "project": "research",
                        "name": "long research"}],
            "spans": [
                {"trace_id": "running-1", "span_id": "root", "span_type": "agent", "name": "research agent",
                 "start_time": base + 10 * minute, "status": "running"},
                with(span("running-1", "llm", Some("root"), "model_call", "chat gpt-4o", (base + 10 * minute + 5, base + 10 * minute + 800)),
                     json!({"model": "gpt-4o", "provider": "openai", "tokens_used": {"prompt": 70, "completion": 25}})),
            ],
        }),
    ]
}

/// A trace of exactly `count` spans: a root, 100 nodes under it, and the
/// rest spread over the nodes as leaves, each 1 ms apart.
pub fn large_trace(trace_id: &str, base: i64, count: usize) -> Value {
    let nodes = 100;
    let mut spans = vec![span(trace_id, "root", None, "agent", "big agent", (base, base + count as i64 + 10))];
    for node in 0..nodes {
        let start = base + node as i64;
        spans.push(span(
            trace_id,
            &format!("node-{node:03}"),
            Some("root"),
            "node",
            &format!("node {node}"),
            (start, start + 5),
        ));
    }
    for leaf in 0..count - 1 - nodes {
        let start = base + leaf as i64;
        let parent = format!("node-{:03}", leaf % nodes);
        let span_type = if leaf % 3 == 0 { "model_call" } else { "tool_call" };
        spans.push(span(
            trace_id,
            &format!("leaf-{leaf:05}"),
            Some(&parent),
            span_type,
            &format!("step {leaf}"),
            (start, start + 3),
        ));
    }
    json!({"traces": [{"trace_id": trace_id, "name": "large trace"}], "spans": spans})
}
