//! The traces the benchmark sends: agent runs shaped like the ones agentrace
//! exists for, so that the server parses, merges and stores what it would in
//! production rather than a flattering stand-in.
//!
//! Every trace is one agent run of ten spans (graph nodes, model calls, a
//! tool call and an MCP call, each with its parent), and every span carries
//! about 500 bytes of input and 500 bytes of output text, about 1.5 KB in
//! all. The text is drawn from a word list by a seeded generator: repeated
//! characters would compress and hash unrealistically well. Half the traces
//! give timestamps as RFC 3339 strings and half as epoch milliseconds, the
//! two forms the native API accepts.

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

/// (span_type, name, index of the parent span, start offset ms, duration ms)
type SpanShape = (&'static str, &'static str, Option<usize>, i64, i64);

const TRACE_SHAPE: [SpanShape; 10] = [
    ("agent", "support-agent", None, 0, 9_000),
    ("node", "ReasonNode", Some(0), 10, 2_000),
    ("model_call", "gpt-4o", Some(1), 20, 1_900),
    ("node", "ToolNode", Some(0), 2_100, 3_000),
    ("tool_call", "search_web", Some(3), 2_150, 1_200),
    ("mcp_call", "filesystem.read_file", Some(3), 3_400, 600),
    ("node", "ReasonNode", Some(0), 5_200, 1_800),
    ("model_call", "claude-sonnet-4", Some(6), 5_210, 1_700),
    ("node", "ResponseNode", Some(0), 7_100, 1_800),
    ("model_call", "gpt-4o-mini", Some(8), 7_110, 1_700),
];

pub const SPANS_PER_TRACE: usize = TRACE_SHAPE.len();

/// 2026-03-01T00:00:00Z, the start of the first trace.
const FIRST_TRACE_EPOCH_MS: i64 = 1_772_323_200_000;

const TEXT_BYTES: usize = 500;

const WORDS: &[&str] = &[
    "the",
    "customer",
    "asked",
    "about",
    "their",
    "order",
    "refund",
    "policy",
    "shipping",
    "delay",
    "invoice",
    "account",
    "password",
    "reset",
    "search",
    "results",
    "found",
    "three",
    "relevant",
    "documents",
    "summarise",
    "answer",
    "politely",
    "check",
    "inventory",
    "warehouse",
    "tracking",
    "number",
    "carrier",
    "estimated",
    "delivery",
    "weekend",
    "apologise",
    "escalate",
    "agent",
    "tool",
    "call",
    "returned",
    "status",
    "pending",
    "approved",
    "subscription",
    "renewal",
    "discount",
    "coupon",
    "expired",
    "valid",
    "region",
    "europe",
    "pricing",
    "tier",
    "enterprise",
    "support",
    "ticket",
    "opened",
    "closed",
    "priority",
    "high",
    "low",
    "because",
    "which",
    "would",
    "should",
    "could",
    "before",
    "after",
    "while",
    "context",
    "window",
    "retrieved",
    "knowledge",
    "base",
    "article",
    "section",
    "paragraph",
    "quote",
    "verbatim",
    "json",
    "schema",
    "field",
    "missing",
    "required",
];

/// One request of a phase, ready to send.
pub struct Request {
    pub body: Bytes,
    pub spans: usize,
    /// A span of this request, read back to measure acknowledgement-to-queryable.
    pub probe_trace_id: String,
    pub probe_span_id: String,
}

/// A deterministic generator (SplitMix64): the same run sends the same bytes.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn text(&mut self, bytes: usize) -> String {
        let mut text = String::with_capacity(bytes + 16);
        while text.len() < bytes {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(WORDS[self.below(WORDS.len() as u64) as usize]);
        }
        text.truncate(bytes);
        text
    }
}

/// The spans of one benchmark phase: `total_spans` spans in traces named
/// `<prefix>-<number>`, so each phase's rows can be told apart afterwards.
pub struct Workload {
    pub prefix: String,
    pub total_spans: usize,
}

impl Workload {
    pub fn trace_id(&self, span_index: usize) -> String {
        format!("{}-{:07}", self.prefix, span_index / SPANS_PER_TRACE)
    }

    pub fn span_id(span_index: usize) -> String {
        format!("s{}", span_index % SPANS_PER_TRACE)
    }

    /// The span at `span_index` (the `span_index % 10`-th span of its trace).
    pub fn span(&self, span_index: usize) -> Value {
        let trace_number = span_index / SPANS_PER_TRACE;
        let position = span_index % SPANS_PER_TRACE;
        let (span_type, name, parent, offset_ms, duration_ms) = TRACE_SHAPE[position];
        let mut random = Random((trace_number as u64) << 8 | position as u64);
        let start_ms = FIRST_TRACE_EPOCH_MS + trace_number as i64 * 1_000 + offset_ms;
        let end_ms = start_ms + duration_ms + random.below(50) as i64;
        let time = |epoch_ms: i64| -> Value {
            if trace_number % 2 == 0 {
                let instant = DateTime::<Utc>::from_timestamp_millis(epoch_ms).unwrap_or_default();
                Value::String(instant.to_rfc3339_opts(SecondsFormat::Millis, true))
            } else {
                json!(epoch_ms)
            }
        };

        let mut span = Map::new();
        span.insert("trace_id".into(), json!(self.trace_id(span_index)));
        span.insert("span_id".into(), json!(Self::span_id(span_index)));
        if let Some(parent) = parent {
            span.insert("parent_span_id".into(), json!(format!("s{parent}")));
        }
        span.insert("span_type".into(), json!(span_type));
        span.insert("name".into(), json!(name));
        span.insert("start_time".into(), time(start_ms));
        span.insert("end_time".into(), time(end_ms));
        let failed = span_type == "tool_call" && random.below(50) == 0;
        span.insert("status".into(), json!(if failed { "error" } else { "success" }));
        if failed {
            span.insert("error".into(), json!("upstream search service timed out after 1200 ms"));
        }
        // Attributes every span of an instrumented agent carries, kept in metadata.
        let mut metadata = json!({
            "thread_id": format!("thread-{}", trace_number / 4),
            "run_id": format!("{:016x}-{:016x}", random.next(), random.next()),
            "agent.version": "2026.03.1",
        });
        match span_type {
            "agent" => {
                span.insert("session_id".into(), json!(format!("session-{}", trace_number / 4)));
                span.insert("user_id".into(), json!(format!("user-{}", trace_number % 97)));
                span.insert("input".into(), json!({"question": random.text(TEXT_BYTES)}));
                span.insert("output".into(), json!({"answer": random.text(TEXT_BYTES)}));
            }
            "model_call" => {
                let provider = if name.starts_with("claude") { "anthropic" } else { "openai" };
                span.insert("model".into(), json!(name));
                span.insert("provider".into(), json!(provider));
                let prompt = 400 + random.below(2_000) as i64;
                let completion = 50 + random.below(400) as i64;
                span.insert("tokens_used".into(), json!({"prompt": prompt, "completion": completion}));
                span.insert("cost_usd".into(), json!((prompt * 3 + completion * 12) as f64 / 1_000_000.0));
                span.insert(
                    "input".into(),
                    json!({"messages": [{"role": "user", "content": random.text(TEXT_BYTES)}]}),
                );
                span.insert("output".into(), json!({"role": "assistant", "content": random.text(TEXT_BYTES)}));
                metadata["gen_ai.response.id"] = json!(format!("resp_{:016x}", random.next()));
                metadata["gen_ai.request.temperature"] = json!(0.2);
            }
            "tool_call" | "mcp_call" => {
                span.insert("input".into(), json!({"arguments": random.text(TEXT_BYTES)}));
                span.insert("output".into(), json!({"result": random.text(TEXT_BYTES)}));
                metadata["tool.call.id"] = json!(format!("call_{:016x}", random.next()));
            }
            _ => {
                span.insert("input".into(), json!({"state": random.text(TEXT_BYTES)}));
                span.insert("output".into(), json!({"state": random.text(TEXT_BYTES)}));
                metadata["langgraph_node"] = json!(name);
                metadata["langgraph_step"] = json!(position);
            }
        }
        span.insert("metadata".into(), metadata);
        Value::Object(span)
    }

    /// The phase's spans cut into requests of `spans_per_request` each,
    /// serialised up front so that the clients spend no time building them
    /// while the clock runs.
    pub fn requests(&self, spans_per_request: usize) -> Vec<Request> {
        let spans_per_request = spans_per_request.max(1);
        (0..self.total_spans)
            .step_by(spans_per_request)
            .map(|first| {
                let last = (first + spans_per_request).min(self.total_spans);
                let spans: Vec<Value> = (first..last).map(|index| self.span(index)).collect();
                let body = serde_json::to_vec(&json!({ "spans": spans })).unwrap_or_default();
                Request {
                    body: Bytes::from(body),
                    spans: last - first,
                    probe_trace_id: self.trace_id(last - 1),
                    probe_span_id: Self::span_id(last - 1),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_about_one_and_a_half_kilobytes() {
        let workload = Workload { prefix: "t".into(), total_spans: 1_000 };
        let total: usize = (0..1_000).map(|index| workload.span(index).to_string().len()).sum();
        let mean = total / 1_000;
        assert!((1_400..=1_600).contains(&mean), "mean span size {mean} B");
    }

    #[test]
    fn requests_cover_every_span_once() {
        let workload = Workload { prefix: "t".into(), total_spans: 1_234 };
        let requests = workload.requests(500);
        assert_eq!(requests.iter().map(|request| request.spans).collect::<Vec<_>>(), [500, 500, 234]);
        assert_eq!(requests[2].probe_trace_id, "t-0000123");
        assert_eq!(requests[2].probe_span_id, "s3");
    }
}
