//! The one internal model every protocol converts into.
//!
//! A [`SpanPiece`] or [`TracePiece`] is what one message said about a span or
//! a trace: every field is optional because clients send spans in pieces
//! (started, then ended with output and tokens). Pieces are folded together
//! by [`crate::merge`]; stores persist the folded result.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{SpanId, TraceId};
use crate::time::Timestamp;

/// What kind of operation a span is (DESIGN.md's vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanType {
    Agent,
    Node,
    Chain,
    ModelCall,
    Embedding,
    ToolCall,
    McpCall,
    Retriever,
    Guardrail,
    Evaluator,
    Custom,
}

impl SpanType {
    pub const ALL: [SpanType; 11] = [
        SpanType::Agent,
        SpanType::Node,
        SpanType::Chain,
        SpanType::ModelCall,
        SpanType::Embedding,
        SpanType::ToolCall,
        SpanType::McpCall,
        SpanType::Retriever,
        SpanType::Guardrail,
        SpanType::Evaluator,
        SpanType::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SpanType::Agent => "agent",
            SpanType::Node => "node",
            SpanType::Chain => "chain",
            SpanType::ModelCall => "model_call",
            SpanType::Embedding => "embedding",
            SpanType::ToolCall => "tool_call",
            SpanType::McpCall => "mcp_call",
            SpanType::Retriever => "retriever",
            SpanType::Guardrail => "guardrail",
            SpanType::Evaluator => "evaluator",
            SpanType::Custom => "custom",
        }
    }

    /// Spans whose token usage counts toward a trace's totals. Agent and
    /// chain spans may carry the run's aggregate usage; summing them too
    /// would count every token twice.
    pub fn counts_tokens(self) -> bool {
        matches!(self, SpanType::ModelCall | SpanType::Embedding)
    }
}

impl fmt::Display for SpanType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownVariant(pub String);

impl FromStr for SpanType {
    type Err = UnknownVariant;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SpanType::ALL.into_iter().find(|kind| kind.as_str() == text).ok_or_else(|| UnknownVariant(text.to_owned()))
    }
}

/// A span's or trace's outcome. `Running` is provisional: it is what a
/// span is until some piece says how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Success,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Success => "success",
            Status::Error => "error",
        }
    }

    pub fn is_final(self) -> bool {
        !matches!(self, Status::Running)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = UnknownVariant;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "running" => Ok(Status::Running),
            "success" => Ok(Status::Success),
            "error" => Ok(Status::Error),
            other => Err(UnknownVariant(other.to_owned())),
        }
    }
}

/// Token counts of one model call. `prompt` includes cached tokens and
/// `completion` includes reasoning tokens: the extra keys are subsets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<i64>,
}

impl TokenUsage {
    pub fn is_empty(&self) -> bool {
        *self == TokenUsage::default()
    }

    /// Fills `total` from prompt + completion when the client sent none.
    pub fn with_total(mut self) -> Self {
        if self.total.is_none() {
            if let (Some(prompt), Some(completion)) = (self.prompt, self.completion) {
                self.total = Some(prompt + completion);
            }
        }
        self
    }
}

/// What one message said about a span; also the folded state of a stored span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanPiece {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub span_type: Option<SpanType>,
    pub name: Option<String>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub model: Option<String>,
    pub provider: Option<String>,
    #[serde(rename = "tokens_used")]
    pub tokens: Option<TokenUsage>,
    pub cost_usd: Option<f64>,
    pub status: Option<Status>,
    pub error: Option<String>,
    pub metadata: Map<String, Value>,
    pub events: Vec<Value>,
}

impl SpanPiece {
    pub fn new(trace_id: TraceId, span_id: SpanId) -> Self {
        SpanPiece {
            trace_id,
            span_id,
            parent_span_id: None,
            span_type: None,
            name: None,
            start_time: None,
            end_time: None,
            input: None,
            output: None,
            model: None,
            provider: None,
            tokens: None,
            cost_usd: None,
            status: None,
            error: None,
            metadata: Map::new(),
            events: Vec::new(),
        }
    }

    /// Whether this piece describes the span after it ended.
    pub fn has_ended(&self) -> bool {
        self.end_time.is_some() || self.status.is_some_and(Status::is_final)
    }

    pub fn duration_ms(&self) -> Option<i64> {
        Some(crate::time::duration_ms(self.start_time?, self.end_time?))
    }

    /// An approximation of the memory this piece occupies (the struct and
    /// everything it owns), for the ingest queue's memory budget.
    pub fn approximate_size(&self) -> usize {
        let json_size = |value: &Option<Value>| value.as_ref().map_or(0, approximate_json_size);
        let text_size = |text: &Option<String>| text.as_deref().map_or(0, approximate_text_size);
        std::mem::size_of::<SpanPiece>()
            + approximate_text_size(self.trace_id.as_str())
            + approximate_text_size(self.span_id.as_str())
            + self.parent_span_id.as_ref().map_or(0, |parent| approximate_text_size(parent.as_str()))
            + text_size(&self.name)
            + text_size(&self.model)
            + text_size(&self.provider)
            + text_size(&self.error)
            + json_size(&self.input)
            + json_size(&self.output)
            + approximate_map_size(&self.metadata)
            + allocation_size(self.events.len() * std::mem::size_of::<Value>())
            + self.events.iter().map(approximate_json_size).sum::<usize>()
    }
}

/// What one message said about a trace; also the folded explicit fields of
/// a stored trace (fields derived from spans are not part of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TracePiece {
    pub trace_id: TraceId,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub project: Option<String>,
    pub name: Option<String>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub status: Option<Status>,
    pub error: Option<String>,
    pub metadata: Map<String, Value>,
    pub tags: Vec<String>,
}

/// Bits of `agent.traces.sent_fields`: the trace fields a client sent
/// explicitly, which values derived from the trace's spans never replace.
pub mod sent {
    pub const SESSION_ID: i32 = 1;
    pub const USER_ID: i32 = 2;
    pub const NAME: i32 = 4;
    pub const START_TIME: i32 = 8;
    pub const END_TIME: i32 = 16;
    pub const INPUT: i32 = 32;
    pub const OUTPUT: i32 = 64;
    pub const STATUS: i32 = 128;
    pub const PROJECT: i32 = 256;
}

impl TracePiece {
    pub fn new(trace_id: TraceId) -> Self {
        TracePiece {
            trace_id,
            session_id: None,
            user_id: None,
            project: None,
            name: None,
            start_time: None,
            end_time: None,
            input: None,
            output: None,
            status: None,
            error: None,
            metadata: Map::new(),
            tags: Vec::new(),
        }
    }

    pub fn has_ended(&self) -> bool {
        self.end_time.is_some() || self.status.is_some_and(Status::is_final)
    }

    /// The `sent_fields` bitmask of this piece.
    pub fn sent_fields(&self) -> i32 {
        let flags = [
            (self.session_id.is_some(), sent::SESSION_ID),
            (self.user_id.is_some(), sent::USER_ID),
            (self.name.is_some(), sent::NAME),
            (self.start_time.is_some(), sent::START_TIME),
            (self.end_time.is_some(), sent::END_TIME),
            (self.input.is_some(), sent::INPUT),
            (self.output.is_some(), sent::OUTPUT),
            (self.status.is_some() || self.error.is_some(), sent::STATUS),
            (self.project.is_some(), sent::PROJECT),
        ];
        flags.into_iter().filter(|(present, _)| *present).fold(0, |mask, (_, bit)| mask | bit)
    }

    /// An approximation of the memory this piece occupies, as for spans.
    pub fn approximate_size(&self) -> usize {
        let json_size = |value: &Option<Value>| value.as_ref().map_or(0, approximate_json_size);
        let text_size = |text: &Option<String>| text.as_deref().map_or(0, approximate_text_size);
        std::mem::size_of::<TracePiece>()
            + approximate_text_size(self.trace_id.as_str())
            + text_size(&self.session_id)
            + text_size(&self.user_id)
            + text_size(&self.project)
            + text_size(&self.name)
            + text_size(&self.error)
            + json_size(&self.input)
            + json_size(&self.output)
            + approximate_map_size(&self.metadata)
            + allocation_size(self.tags.len() * std::mem::size_of::<String>())
            + self.tags.iter().map(|tag| approximate_text_size(tag)).sum::<usize>()
    }
}

/// A stored span as read back, with the columns the store computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSpan {
    #[serde(flatten)]
    pub span: SpanPiece,
    pub duration_ms: Option<i64>,
}

/// A stored trace as read back: explicit and derived fields together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTrace {
    pub trace_id: TraceId,
    pub session_id: String,
    pub user_id: Option<String>,
    pub project: String,
    pub name: Option<String>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub duration_ms: Option<i64>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub status: Status,
    pub error: Option<String>,
    pub metadata: Map<String, Value>,
    pub tags: Vec<String>,
}

/// The heap memory a parsed JSON value owns (not its serialised length,
/// which is less than half of it for typical span input: every object is a
/// B-tree node of eleven key and value slots, every string its own
/// allocation). The ingest queue budgets memory with this, so it must not
/// flatter; it counts without serialising.
pub fn approximate_json_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(text) => approximate_text_size(text),
        Value::Array(items) => {
            allocation_size(items.len() * std::mem::size_of::<Value>())
                + items.iter().map(approximate_json_size).sum::<usize>()
        }
        Value::Object(map) => approximate_map_size(map),
    }
}

/// The heap memory of a JSON object's entries (see [`approximate_json_size`]).
pub fn approximate_map_size(map: &Map<String, Value>) -> usize {
    // serde_json's Map is a BTreeMap: a node holds up to 11 entries, and
    // nodes built by insertion run about two-thirds full.
    const ENTRIES_PER_NODE: usize = 11;
    let node = ENTRIES_PER_NODE * (std::mem::size_of::<String>() + std::mem::size_of::<Value>()) + 16;
    let nodes = match map.len() {
        0 => 0,
        len if len <= ENTRIES_PER_NODE => 1,
        len => len.div_ceil(ENTRIES_PER_NODE * 2 / 3),
    };
    nodes * allocation_size(node)
        + map.iter().map(|(key, value)| approximate_text_size(key) + approximate_json_size(value)).sum::<usize>()
}

fn approximate_text_size(text: &str) -> usize {
    allocation_size(text.len())
}

/// What the allocator spends on a block of `bytes`: glibc adds an 8-byte
/// header and rounds to 16.
fn allocation_size(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        (bytes + 8).next_multiple_of(16)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_span_is_budgeted_at_its_memory_not_its_json_length() {
        let mut span = SpanPiece::new(TraceId::parse("trace-1").unwrap(), SpanId::parse("span-1").unwrap());
        let text = "x".repeat(500);
        span.input = Some(json!({"messages": [{"role": "user", "content": text}]}));
        span.output = Some(json!({"role": "assistant", "content": text}));
        span.metadata = json!({"thread_id": "thread-1", "langgraph_node": "ReasonNode"}).as_object().unwrap().clone();
        let json_length = serde_json::to_string(&span).unwrap().len();
        // Four objects of one B-tree node each, the strings, and the struct.
        let estimate = span.approximate_size();
        assert!(estimate > 2 * json_length, "estimate {estimate} B for a span of {json_length} B of JSON");
        assert!(estimate < 4 * json_length, "estimate {estimate} B for a span of {json_length} B of JSON");
    }
}
