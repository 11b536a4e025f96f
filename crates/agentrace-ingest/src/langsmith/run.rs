//! One LangSmith run operation (a post or a patch) and how it maps onto a
//! span and, for a root run, a trace piece (DESIGN.md §5).
//!
//! A post says how a run started, a patch how it ended; either may come
//! first, and a patch's `null`s mean "unchanged". Every field here is
//! therefore optional, a `null` is the same as an absent field, and the
//! merge rules of `agentrace_core::merge` fold the pieces together in the
//! store.

use agentrace_core::merge::is_placeholder_json;
use agentrace_core::time::{from_epoch_millis, parse_rfc3339, to_micros_precision, Timestamp};
use agentrace_core::{Attachment, SpanId, SpanPiece, SpanType, Status, TokenUsage, TraceId, TracePiece};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::dotted_order;
use crate::native::ORIGINAL_SPAN_TYPE_KEY;
use crate::rejection::ItemRejection;

/// Span metadata keys for what a run says beyond `extra.metadata`.
pub mod keys {
    pub const RUN_TYPE: &str = "langsmith.run_type";
    pub const DOTTED_ORDER: &str = "langsmith.dotted_order";
    pub const TAGS: &str = "langsmith.tags";
    /// `extra` without its `metadata` (the SDK's `runtime` and the like).
    pub const EXTRA: &str = "langsmith.extra";
    pub const SERIALIZED: &str = "langsmith.serialized";
    pub const REFERENCE_EXAMPLE_ID: &str = "langsmith.reference_example_id";
    /// The wire `session_id`: the LangSmith *project*'s id, not a conversation.
    pub const PROJECT_ID: &str = "langsmith.session_id";
    pub const ADDRESS: &str = "langsmith.address";
    /// Trace metadata: which run metadata key named the trace's session.
    pub const SESSION_KEY: &str = "langsmith.session_key";
}

/// Run metadata keys that name the conversation, in order of precedence.
pub const SESSION_KEYS: [&str; 3] = ["session_id", "thread_id", "conversation_id"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Post,
    Patch,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Post => "post",
            Op::Patch => "patch",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WireTime {
    Text(String),
    EpochMillis(f64),
}

/// The fields of a run agentrace reads; unknown fields are ignored, since
/// the SDK adds some from release to release.
#[derive(Debug, Default, Deserialize)]
pub struct WireRun {
    id: Option<String>,
    trace_id: Option<String>,
    parent_run_id: Option<String>,
    dotted_order: Option<String>,
    name: Option<String>,
    run_type: Option<String>,
    start_time: Option<WireTime>,
    end_time: Option<WireTime>,
    inputs: Option<Value>,
    outputs: Option<Value>,
    error: Option<Value>,
    extra: Option<Map<String, Value>>,
    tags: Option<Vec<String>>,
    events: Option<Vec<Value>>,
    serialized: Option<Value>,
    session_name: Option<String>,
    session_id: Option<String>,
    reference_example_id: Option<String>,
    address: Option<String>,
    attachments: Option<Map<String, Value>>,
}

/// A run whose ids are read and checked; its trace may still be unknown
/// (legacy runs without `trace_id` or `dotted_order`).
#[derive(Debug)]
pub struct ParsedRun {
    pub op: Op,
    pub index: usize,
    pub run_id: SpanId,
    pub trace_id: Option<TraceId>,
    pub parent_id: Option<SpanId>,
    start_time: Option<Timestamp>,
    end_time: Option<Timestamp>,
    wire: WireRun,
}

/// What one run became.
pub struct RunPieces {
    pub span: SpanPiece,
    pub trace: Option<TracePiece>,
    pub attachments: Vec<Attachment>,
    pub rejected: Vec<ItemRejection>,
}

fn reject(op: Op, index: usize, id: Option<&str>, field: &str, message: impl Into<String>) -> ItemRejection {
    ItemRejection {
        kind: op.as_str(),
        index,
        id: id.map(str::to_owned),
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Reads one run. `id_hint` is the id from a part name or a URL, which the
/// body may repeat but not contradict.
pub fn parse_run(op: Op, index: usize, item: Value, id_hint: Option<&str>) -> Result<ParsedRun, ItemRejection> {
    let body_id = item.get("id").and_then(Value::as_str).map(str::to_owned);
    let shown_id = body_id.clone().or_else(|| id_hint.map(str::to_owned));
    let fail = |field: &str, message: String| reject(op, index, shown_id.as_deref(), field, message);
    if !item.is_object() {
        return Err(fail("", "a run must be a JSON object".into()));
    }
    let wire: WireRun = serde_path_to_error::deserialize(item).map_err(|error| {
        let field = error.path().to_string();
        fail(&field, error.into_inner().to_string())
    })?;
    let run_id = match (wire.id.as_deref(), id_hint) {
        (Some(body), Some(hint)) if body != hint => {
            return Err(fail("id", format!("is {body:?} in the body but {hint:?} in the part name or URL")))
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(fail("id", "is required".into())),
    };
    let run_id = SpanId::parse(run_id).map_err(|error| fail("id", error.to_string()))?;
    let mut trace_id = wire
        .trace_id
        .as_deref()
        .map(|id| TraceId::parse(id).map_err(|error| fail("trace_id", error.to_string())))
        .transpose()?;
    let mut parent_id = wire
        .parent_run_id
        .as_deref()
        .map(|id| SpanId::parse(id).map_err(|error| fail("parent_run_id", error.to_string())))
        .transpose()?;
    if let Some(text) = wire.dotted_order.as_deref() {
        let order = dotted_order::parse(text).map_err(|message| fail("dotted_order", message))?;
        if order.run_id != run_id.as_str() {
            return Err(fail("dotted_order", format!("ends with run {:?}, not this run's id", order.run_id)));
        }
        let named_trace = TraceId::parse(order.trace_id).map_err(|error| fail("dotted_order", error.to_string()))?;
        if trace_id.as_ref().is_some_and(|trace_id| *trace_id != named_trace) {
            return Err(fail("trace_id", format!("contradicts dotted_order, whose root is {:?}", order.trace_id)));
        }
        let named_parent = order
            .parent_id
            .map(|parent| SpanId::parse(parent).map_err(|error| fail("dotted_order", error.to_string())))
            .transpose()?;
        if parent_id.is_some() && parent_id != named_parent {
            return Err(fail("parent_run_id", "contradicts dotted_order".into()));
        }
        trace_id = Some(named_trace);
        parent_id = named_parent;
    }
    let start_time = parse_time(wire.start_time.as_ref()).map_err(|message| fail("start_time", message))?;
    let end_time = parse_time(wire.end_time.as_ref()).map_err(|message| fail("end_time", message))?;
    if let (Some(start), Some(end)) = (start_time, end_time) {
        if end < start {
            return Err(fail("end_time", format!("{} is before start_time {}", end.to_rfc3339(), start.to_rfc3339())));
        }
    }
    Ok(ParsedRun { op, index, run_id, trace_id, parent_id, start_time, end_time, wire })
}

/// ISO 8601 with or without an offset (a naive time is UTC, as the SDK
/// means it), or epoch milliseconds.
fn parse_time(wire: Option<&WireTime>) -> Result<Option<Timestamp>, String> {
    let Some(wire) = wire else { return Ok(None) };
    let parsed = match wire {
        WireTime::Text(text) => parse_iso_time(text),
        WireTime::EpochMillis(millis) => from_epoch_millis(*millis),
    };
    parsed.map(Some).ok_or_else(|| "must be an ISO 8601 timestamp or epoch milliseconds".to_owned())
}

/// RFC 3339, or ISO 8601 without an offset, which the SDK sends for naive
/// datetimes and means as UTC.
pub fn parse_iso_time(text: &str) -> Option<Timestamp> {
    parse_rfc3339(text).or_else(|| {
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"].iter().find_map(|format| {
            chrono::NaiveDateTime::parse_from_str(text, format).ok().map(|naive| to_micros_precision(naive.and_utc()))
        })
    })
}

impl ParsedRun {
    /// Whether this operation says the run has no parent. A patch's `null`
    /// parent means "unchanged", so only a post or a dotted order can say so.
    pub fn says_root(&self) -> bool {
        self.parent_id.is_none() && (self.op == Op::Post || self.wire.dotted_order.is_some())
    }

    /// Maps the run onto agentrace's model, now that its trace is known.
    pub fn into_pieces(self, trace_id: TraceId) -> RunPieces {
        let ParsedRun { op, index, run_id, parent_id, start_time, end_time, wire, .. } = self;
        let run_type = wire.run_type.filter(|kind| !kind.is_empty());
        let mut metadata = Map::new();
        if let Some(mut extra) = wire.extra {
            if let Some(Value::Object(user_metadata)) = extra.remove("metadata") {
                metadata.extend(user_metadata);
            }
            extra.retain(|_, value| !value.is_null());
            if !extra.is_empty() {
                metadata.insert(keys::EXTRA.into(), Value::Object(extra));
            }
        }
        let span_type = run_type.as_deref().map(|kind| span_type(kind, wire.name.as_deref(), &metadata));
        if let (Some(kind), Some(SpanType::Custom)) = (run_type.as_deref(), span_type) {
            metadata.insert(ORIGINAL_SPAN_TYPE_KEY.into(), Value::String(kind.to_owned()));
        }
        // Children inherit their parent's metadata, model names included:
        // only model calls (or runs whose kind this piece does not say) take
        // model, provider and tokens from it.
        let model_run = matches!(run_type.as_deref(), None | Some("llm" | "embedding"));
        let (tokens, cost_usd) = if matches!(run_type.as_deref(), None | Some("llm")) {
            usage(wire.outputs.as_ref(), &metadata)
        } else {
            (None, None)
        };
        let model = model_run.then(|| text_value(metadata.get("ls_model_name"))).flatten();
        let provider =
            model_run.then(|| text_value(metadata.get("ls_provider"))).flatten().map(|raw| normalize_provider(&raw));
        let error = match wire.error {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text),
            Some(other) => Some(other.to_string()),
        }
        .filter(|text| !text.is_empty());
        let status = if error.is_some() {
            Some(Status::Error)
        } else if end_time.is_some() {
            Some(Status::Success)
        } else {
            (op == Op::Post).then_some(Status::Running)
        };

        let is_root = trace_id.as_str() == run_id.as_str();
        let trace =
            is_root.then(|| trace_piece(&trace_id, &metadata, &wire.session_name, &wire.address, &wire.tags)).flatten();

        let mut add = |key: &str, value: Option<Value>| {
            if let Some(value) = value.filter(|value| !is_placeholder_json(value)) {
                metadata.insert(key.to_owned(), value);
            }
        };
        add(keys::RUN_TYPE, run_type.map(Value::String));
        add(keys::DOTTED_ORDER, wire.dotted_order.map(Value::String));
        add(keys::TAGS, wire.tags.map(|tags| Value::Array(tags.into_iter().map(Value::String).collect())));
        add(keys::SERIALIZED, wire.serialized);
        add(keys::REFERENCE_EXAMPLE_ID, wire.reference_example_id.map(Value::String));
        add(keys::PROJECT_ID, wire.session_id.map(Value::String));
        add(keys::ADDRESS, wire.address.map(Value::String));

        let mut rejected = Vec::new();
        let mut attachments = Vec::new();
        for (name, value) in wire.attachments.unwrap_or_default() {
            if value.is_null() {
                continue;
            }
            match inline_attachment(&value) {
                Ok((content_type, content)) => attachments.push(Attachment {
                    trace_id: trace_id.clone(),
                    span_id: run_id.clone(),
                    name,
                    content_type,
                    content,
                }),
                Err(message) => rejected.push(ItemRejection {
                    kind: "attachment",
                    index,
                    id: Some(run_id.to_string()),
                    field: format!("attachments.{name}"),
                    message,
                }),
            }
        }

        let span = SpanPiece {
            trace_id,
            span_id: run_id,
            parent_span_id: parent_id,
            span_type,
            name: wire.name,
            start_time,
            end_time,
            input: wire.inputs,
            output: wire.outputs,
            model,
            provider,
            tokens,
            cost_usd,
            status,
            error,
            metadata,
            events: wire.events.unwrap_or_default(),
        };
        RunPieces { span, trace, attachments, rejected }
    }
}

fn span_type(run_type: &str, name: Option<&str>, metadata: &Map<String, Value>) -> SpanType {
    span_type_of_run(run_type, name, metadata.get("langgraph_node").and_then(Value::as_str))
}

/// run_type → span_type (DESIGN.md §5). The kind comes from run_type only:
/// metadata is inherited by children and says nothing about a run's kind,
/// except that a chain named after its own `langgraph_node` is that node.
pub fn span_type_of_run(run_type: &str, name: Option<&str>, langgraph_node: Option<&str>) -> SpanType {
    match run_type {
        "llm" => SpanType::ModelCall,
        "tool" => SpanType::ToolCall,
        "retriever" => SpanType::Retriever,
        "embedding" => SpanType::Embedding,
        "chain" => {
            if name.is_some() && name == langgraph_node {
                SpanType::Node
            } else {
                SpanType::Chain
            }
        }
        "prompt" | "parser" => SpanType::Chain,
        _ => SpanType::Custom,
    }
}

/// A metadata value as text: strings as they are, numbers printed.
fn text_value(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// LangSmith's `ls_provider` names, as OpenTelemetry GenAI provider names;
/// the raw value stays in the metadata.
pub fn normalize_provider(raw: &str) -> String {
    let lowered = raw.trim().to_ascii_lowercase();
    let normalized = match lowered.as_str() {
        "azure" | "azure_openai" | "azureopenai" => "azure.ai.openai",
        "azure_ai" | "azure_ai_inference" => "azure.ai.inference",
        "bedrock" | "amazon_bedrock" | "bedrock_converse" | "aws_bedrock" => "aws.bedrock",
        "google_vertexai" | "vertexai" | "vertex_ai" | "google_anthropic_vertex" => "gcp.vertex_ai",
        "google_genai" | "google_ai" | "gemini" => "gcp.gemini",
        "mistralai" | "mistral" => "mistral_ai",
        "xai" => "x_ai",
        "ibm" | "watsonx" => "ibm.watsonx.ai",
        other => other,
    };
    normalized.to_owned()
}

/// Token usage and cost of a model call: `outputs.usage_metadata`, else
/// `extra.metadata.usage_metadata` (where `RunTree.set(usage_metadata=…)`
/// puts it).
fn usage(outputs: Option<&Value>, metadata: &Map<String, Value>) -> (Option<TokenUsage>, Option<f64>) {
    let from_outputs = outputs.and_then(|outputs| outputs.get("usage_metadata")).filter(|usage| usage.is_object());
    let Some(usage) = from_outputs.or_else(|| metadata.get("usage_metadata").filter(|usage| usage.is_object())) else {
        return (None, None);
    };
    let count = |value: Option<&Value>| -> Option<i64> {
        let value = value?;
        value
            .as_i64()
            .or_else(|| value.as_f64().filter(|n| n.fract() == 0.0 && n.abs() < 9e15).map(|n| n as i64))
            .filter(|count| *count >= 0)
    };
    let detail = |group: &str, key: &str| count(usage.get(group).and_then(|details| details.get(key)));
    let tokens = TokenUsage {
        prompt: count(usage.get("input_tokens")),
        completion: count(usage.get("output_tokens")),
        total: count(usage.get("total_tokens")),
        cache_read: detail("input_token_details", "cache_read"),
        cache_creation: detail("input_token_details", "cache_creation"),
        reasoning: detail("output_token_details", "reasoning"),
    }
    .with_total();
    let cost = usage.get("total_cost").and_then(Value::as_f64).filter(|cost| cost.is_finite() && *cost >= 0.0);
    ((!tokens.is_empty()).then_some(tokens), cost)
}

/// What a root run says about its trace: the conversation, the project,
/// the user and the tags.
fn trace_piece(
    trace_id: &TraceId,
    metadata: &Map<String, Value>,
    session_name: &Option<String>,
    address: &Option<String>,
    tags: &Option<Vec<String>>,
) -> Option<TracePiece> {
    let mut trace = TracePiece::new(trace_id.clone());
    if let Some((key, session)) =
        SESSION_KEYS.iter().find_map(|key| text_value(metadata.get(*key)).map(|session| (*key, session)))
    {
        trace.session_id = Some(session);
        trace.metadata.insert(keys::SESSION_KEY.into(), Value::String(key.to_owned()));
    }
    trace.project = session_name.clone().or_else(|| address.clone()).filter(|project| !project.is_empty());
    trace.user_id = text_value(metadata.get("user_id"));
    trace.tags = tags.clone().unwrap_or_default();
    let says_something =
        trace.session_id.is_some() || trace.project.is_some() || trace.user_id.is_some() || !trace.tags.is_empty();
    says_something.then_some(trace)
}

/// An attachment sent inside JSON: `[mime, base64]` (what the SDK sends to
/// `POST /runs`) or `{"mime_type": …, "data": base64}`.
fn inline_attachment(value: &Value) -> Result<(String, Vec<u8>), String> {
    let (content_type, data) = match value {
        Value::Array(pair) if pair.len() == 2 => (pair[0].as_str(), pair[1].as_str()),
        Value::Object(map) => (
            map.get("mime_type").or_else(|| map.get("content_type")).and_then(Value::as_str),
            map.get("data").and_then(Value::as_str),
        ),
        _ => (None, None),
    };
    let data = data.ok_or("must be [mime type, base64 data] or {\"mime_type\": …, \"data\": base64}")?;
    let content = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|error| format!("the data is not base64: {error}"))?;
    let content_type =
        content_type.filter(|mime| !mime.is_empty()).unwrap_or(agentrace_core::attachment::DEFAULT_CONTENT_TYPE);
    Ok((content_type.to_owned(), content))
}
