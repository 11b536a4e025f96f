//! The OpenInference conventions (Arize Phoenix and its instrumentations)
//! onto agentrace's columns: a span kind noun instead of an operation verb,
//! a split hosting provider / model system pair, generic `input.value` /
//! `output.value` on every span, and lists flattened into indexed keys.

use agentrace_core::{SpanType, TokenUsage};
use serde_json::Value;

use super::attributes::Attributes;
use super::genai::{fill, normalise_provider};
use super::value::{as_text, json_or_text, parse_embedded_json};

pub const SESSION_KEYS: &[&str] = &["session.id"];
pub const USER_KEYS: &[&str] = &["user.id"];

/// Flattened lists kept in metadata (rebuilt) when no column took them.
pub const FLATTENED_LISTS: &[&str] = &[
    "llm.input_messages",
    "llm.output_messages",
    "llm.tools",
    "retrieval.documents",
    "reranker.input_documents",
    "reranker.output_documents",
    "embedding.embeddings",
];

/// `openinference.span.kind`; CHAIN is a graph node only when the span says
/// so (`graph.node.*`, or LangGraph's `langgraph_node` metadata naming this
/// very span: children inherit that metadata, so its mere presence proves
/// nothing).
pub fn span_type(attributes: &Attributes, span_name: Option<&str>) -> Option<SpanType> {
    let kind = attributes.get_str("openinference.span.kind")?.trim().to_ascii_uppercase();
    let span_type = match kind.as_str() {
        "LLM" => SpanType::ModelCall,
        "TOOL" => SpanType::ToolCall,
        "AGENT" => SpanType::Agent,
        "RETRIEVER" | "RERANKER" => SpanType::Retriever,
        "EMBEDDING" => SpanType::Embedding,
        "CHAIN" if is_graph_node(attributes, span_name) => SpanType::Node,
        "CHAIN" | "PROMPT" => SpanType::Chain,
        "GUARDRAIL" => SpanType::Guardrail,
        "EVALUATOR" => SpanType::Evaluator,
        _ => return None,
    };
    Some(span_type)
}

fn is_graph_node(attributes: &Attributes, span_name: Option<&str>) -> bool {
    if attributes.has_prefix("graph.node.") {
        return true;
    }
    let node = match attributes.get("metadata") {
        Some(Value::String(text)) => parse_embedded_json(text).and_then(|parsed| parsed.get("langgraph_node").cloned()),
        Some(Value::Object(fields)) => fields.get("langgraph_node").cloned(),
        _ => None,
    };
    matches!((node, span_name), (Some(Value::String(node)), Some(name)) if node == name)
}

pub fn model(attributes: &mut Attributes) -> Option<String> {
    attributes.take_first(
        &["llm.response.model_name", "llm.model_name", "llm.request.model_name", "embedding.model_name"],
        |value| as_text(value).map(str::to_owned),
    )
}

/// `llm.provider` names the host and `llm.system` the model family; the
/// pair maps onto one GenAI provider name (`azure` + `openai` →
/// `azure.ai.openai`). Raw values that differ from the result stay in
/// metadata.
pub fn provider(attributes: &mut Attributes) -> Option<String> {
    let host = attributes.get("llm.provider").and_then(as_text).map(|text| text.trim().to_ascii_lowercase());
    let system = attributes.get("llm.system").and_then(as_text).map(|text| text.trim().to_ascii_lowercase());
    let provider = match (host.as_deref(), system.as_deref()) {
        (None, None) => return None,
        (Some("azure"), Some("openai") | None) => "azure.ai.openai".to_owned(),
        (Some("azure"), Some(_)) => "azure.ai.inference".to_owned(),
        (Some("aws"), _) => "aws.bedrock".to_owned(),
        (Some("google"), Some("vertexai")) => "gcp.vertex_ai".to_owned(),
        (Some("google"), Some("gemini") | None) => "gcp.gemini".to_owned(),
        (Some(host), _) => normalise_provider(host),
        (None, Some(system)) => normalise_provider(system),
    };
    for key in ["llm.provider", "llm.system"] {
        if attributes.get_str(key) == Some(provider.as_str()) {
            attributes.take(key);
        }
    }
    Some(provider)
}

pub fn tokens(attributes: &mut Attributes, usage: &mut TokenUsage) {
    fill(&mut usage.prompt, attributes, &["llm.token_count.prompt"]);
    fill(&mut usage.completion, attributes, &["llm.token_count.completion"]);
    fill(&mut usage.total, attributes, &["llm.token_count.total"]);
    fill(&mut usage.cache_read, attributes, &["llm.token_count.prompt_details.cache_read"]);
    fill(&mut usage.cache_creation, attributes, &["llm.token_count.prompt_details.cache_write"]);
    fill(&mut usage.reasoning, attributes, &["llm.token_count.completion_details.reasoning"]);
}

pub fn input(attributes: &mut Attributes) -> Option<Value> {
    generic_value(attributes, "input.value", "input.mime_type")
        .or_else(|| attributes.take_flattened("llm.input_messages"))
}

pub fn output(attributes: &mut Attributes) -> Option<Value> {
    generic_value(attributes, "output.value", "output.mime_type")
        .or_else(|| attributes.take_flattened("llm.output_messages"))
        .or_else(|| attributes.take_flattened("retrieval.documents"))
        .or_else(|| attributes.take_flattened("reranker.output_documents"))
}

/// `input.value` / `output.value`: JSON when the mime type says so (or
/// when none is given and the text is a JSON object or array), else text.
fn generic_value(attributes: &mut Attributes, value_key: &str, mime_key: &str) -> Option<Value> {
    let value = attributes.take(value_key)?;
    let mime = attributes.take(mime_key);
    let declared_json = mime.as_ref().and_then(Value::as_str).map(|mime| mime.to_ascii_lowercase().contains("json"));
    Some(match (value, declared_json) {
        (Value::String(text), Some(true)) => parse_embedded_json(&text).unwrap_or(Value::String(text)),
        (text @ Value::String(_), None) => json_or_text(text),
        (other, _) => other,
    })
}

/// Attributes OpenInference defines as JSON text; stored parsed, under their
/// own keys, so that metadata is queryable JSON rather than strings.
const JSON_TEXT_KEYS: &[&str] =
    &["metadata", "llm.invocation_parameters", "tool.parameters", "llm.prompt_template.variables"];

pub fn parse_json_text(attributes: &mut Attributes) {
    for key in JSON_TEXT_KEYS {
        attributes.replace(key, |value| match value {
            Value::String(text) => parse_embedded_json(&text).filter(Value::is_object).unwrap_or(Value::String(text)),
            other => other,
        });
    }
}

/// `tag.tags`, which agentrace also puts on the trace's tags.
pub fn tags(attributes: &Attributes) -> Vec<String> {
    match attributes.get("tag.tags") {
        Some(Value::Array(items)) => items.iter().filter_map(as_text).map(str::to_owned).collect(),
        Some(Value::String(text)) => vec![text.clone()],
        _ => Vec::new(),
    }
}
